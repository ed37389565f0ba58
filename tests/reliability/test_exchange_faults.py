"""Exchange faults end a tick with one line naming the cause, a meaningful exit code, a bounded
number of attempts, and a ledger exactly as it was: nothing from bad data is stored."""

import json
import time

import pytest

from papertrade.bootstrap import market_data_factory, open_ledger
from papertrade.services.tick import Mode, run_tick
from papertrade.settings import Settings
from tests.support.cli import run_inprocess
from tests.support.databases import ledger_state
from tests.support.live import HOUR

TEMPORARY, INVALID = 75, 1

# fault, exit code, what the message names, requests the tick makes before giving up
FAULTS = [
    ("hang", TEMPORARY, "did not answer in time", 3),
    ("reset", TEMPORARY, "cannot reach binance", 3),
    ("http-429", TEMPORARY, "rate limiting", 1),
    ("http-418", TEMPORARY, "rate limiting", 1),
    ("http-500", TEMPORARY, "failed to fetch", 3),
    ("http-503-html", TEMPORARY, "is unavailable", 3),
    ("empty", TEMPORARY, "sent no 1h candles", 1),
    ("only-forming", TEMPORARY, "no closed 1h candles", 1),
    ("stale", TEMPORARY, "stale data", 1),
    ("not-json", INVALID, "not JSON", 1),
    ("truncated", INVALID, "not JSON", 1),
    ("null-price", INVALID, "missing values", 1),
    ("nan-price", INVALID, "not a positive number", 1),
    ("zero-price", INVALID, "not a positive number", 1),
    ("negative-price", INVALID, "not a positive number", 1),
    ("high-below-close", INVALID, "high/low outside", 1),
    ("out-of-order", INVALID, "out of order", 1),
    ("duplicate", INVALID, "a duplicate", 1),
    ("off-grid", INVALID, "grid", 1),
]
TIMEOUT_MS = 1000


@pytest.fixture
def setup(live_exchange, cli_database, monkeypatch, capsys):
    config = live_exchange.ccxt_config(timeout_ms=TIMEOUT_MS)
    monkeypatch.setenv("PAPERTRADE_CCXT_CONFIG", json.dumps(config))
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", cli_database)
    monkeypatch.setenv("PAPERTRADE_EXCHANGE_BACKOFF", "0")
    assert run_inprocess(capsys, "create-portfolio", "bot", "10000").code == 0
    return live_exchange, cli_database


def trade(capsys):
    started = time.monotonic()
    result = run_inprocess(capsys, "trade", "1", "BTC/USDT", "LIVE")
    return result, time.monotonic() - started


@pytest.mark.parametrize(("fault", "code", "cause", "attempts"), FAULTS, ids=[f[0] for f in FAULTS])
def test_a_faulty_exchange_ends_the_first_tick_cleanly(setup, capsys, fault, code, cause, attempts):
    exchange, url = setup
    before = ledger_state(url)
    exchange.reset_counts()
    exchange.inject(fault, payload=2 * TIMEOUT_MS / 1000 if fault == "hang" else None)
    result, elapsed = trade(capsys)
    assert result.code == code
    assert len(result.error_lines) == 1 and cause in result.error_lines[0], result.stderr
    assert result.stdout == ""
    assert exchange.count("/klines") == attempts, "retries must be bounded; rate limits never retried"
    assert elapsed < attempts * (TIMEOUT_MS / 1000 + 1) + 5
    assert ledger_state(url) == before


# The first tick of a symbol asks for the market list: what a bad answer to it must mean.
MARKET_LIST_FAULTS = [
    ("not-json", INVALID, "not JSON"),  # an HTML maintenance page with 200 OK
    ("truncated", INVALID, "not JSON"),
    ("no-markets", INVALID, "market list without markets"),
    ("http-503-html", TEMPORARY, "is unavailable"),
    ("reset", TEMPORARY, "cannot reach binance"),
]


@pytest.mark.parametrize(("fault", "code", "cause"), MARKET_LIST_FAULTS, ids=[f[0] for f in MARKET_LIST_FAULTS])
def test_a_bad_market_list_is_never_taken_for_a_symbol_the_exchange_does_not_list(setup, capsys, fault, code, cause):
    exchange, url = setup
    before = ledger_state(url)
    exchange.inject(fault, path="/exchangeInfo")
    result, _ = trade(capsys)
    assert result.code == code, result.stderr
    assert len(result.error_lines) == 1 and cause in result.error_lines[0], result.stderr
    assert "does not list" not in result.stderr
    assert ledger_state(url) == before


def test_only_a_well_formed_market_list_without_the_symbol_says_it_is_not_listed(setup, capsys):
    result = run_inprocess(capsys, "trade", "1", "DOGE/USDT", "LIVE")
    assert result.code == 2 and "binance does not list DOGE/USDT" in result.stderr


STEADY_FAULTS = [
    "http-503-html",
    "not-json",
    "null-price",
    "out-of-order",
    "duplicate",
    "empty",
    "only-forming",
]


@pytest.mark.parametrize("fault", STEADY_FAULTS)
def test_a_faulty_exchange_after_good_ticks_stores_nothing_new(setup, capsys, fault):
    exchange, url = setup
    settings = Settings(database_url=url, ccxt_config=exchange.ccxt_config(timeout_ms=TIMEOUT_MS))
    ledger = open_ledger(settings)
    an_hour_ago = int(time.time() * 1000) - HOUR  # a good tick on the previous candle
    run_tick(ledger, market_data_factory(settings), 1, "BTC/USDT", Mode.LIVE, an_hour_ago)
    ledger.dispose()
    before = ledger_state(url)
    exchange.inject(fault)
    result, _ = trade(capsys)
    assert result.code in (TEMPORARY, INVALID) and len(result.error_lines) == 1
    assert ledger_state(url) == before


def test_connection_refused_is_temporary(setup, capsys, monkeypatch):
    _, url = setup
    monkeypatch.setenv("PAPERTRADE_CCXT_CONFIG", json.dumps({"urls": {"api": {"public": "http://127.0.0.1:9/api/v3"}}}))
    before = ledger_state(url)
    result, _ = trade(capsys)
    assert result.code == TEMPORARY and result.error_lines[0].startswith("papertrade: error: cannot reach binance")
    assert ledger_state(url) == before


def test_retries_back_off_exponentially(setup, capsys, monkeypatch):
    exchange, _ = setup
    monkeypatch.setenv("PAPERTRADE_EXCHANGE_BACKOFF", "0.2")
    exchange.inject("http-503-html", path="/exchangeInfo")
    result, elapsed = trade(capsys)
    assert result.code == TEMPORARY and exchange.count("/exchangeInfo") == 3
    assert elapsed >= 0.2 + 0.4, "two retries wait 0.2 s and then 0.4 s"


def test_a_transient_fault_that_clears_is_ridden_out(setup, capsys):
    exchange, _ = setup
    exchange.inject("http-503-html", times=2)
    result, _ = trade(capsys)
    assert result.code == 0 and "[" in result.stdout
    assert exchange.count("/klines") == 3


def test_no_retries_when_configured_so(setup, capsys, monkeypatch):
    exchange, _ = setup
    monkeypatch.setenv("PAPERTRADE_EXCHANGE_RETRIES", "0")
    exchange.inject("reset")
    result, _ = trade(capsys)
    assert result.code == TEMPORARY and exchange.count("/klines") == 1


#: A 503 page as a hostile or broken proxy might send it: clear the screen, set the terminal's
#: title, reverse the text's direction, and go on for 20,000 characters.
HOSTILE_PAGE = ("\x1b[2J\x1b[H\x1b]0;owned\x07<html>\u202eevil\u202c\r\nBell\x07 " + "x" * 20_000 + "</html>").encode()


def test_an_error_page_s_control_characters_and_length_reach_neither_the_terminal_nor_the_ledger(setup, capsys):
    import sqlalchemy as sa

    from papertrade.adapters.schema import notify_streaks

    exchange, url = setup
    added = run_inprocess(capsys, "notify", "1", "--add", "json://127.0.0.1:9/down", "--events", "error")
    assert added.code == 0, added.stderr
    exchange.inject("http-503-html", path="/exchangeInfo", payload=HOSTILE_PAGE)  # a short URL: the page is quoted
    result, _ = trade(capsys)
    assert result.code == TEMPORARY and len(result.error_lines) == 1, result.stderr
    line = result.error_lines[0]
    assert "is unavailable" in line and "503" in line and len(line) < 400
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u202e\u202c" for c in result.stderr.rstrip("\n"))
    engine = sa.create_engine(url)
    with engine.connect() as connection:
        (stored,) = connection.execute(sa.select(notify_streaks.c.last_error)).scalars()
    engine.dispose()
    assert "503" in stored and len(stored) <= 500
    assert not any(ord(c) < 32 or 0x7F <= ord(c) < 0xA0 or c in "\u202e\u202c" for c in stored)
