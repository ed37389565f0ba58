"""The tick's sync and `data download` against a second exchange whose candle API differs most
from Binance's: OKX (tests/support/fake_okx.py), through real ccxt, on the real clock with the
real candles shifted so that "now" falls on 2021-03-01. OKX answers newest first, caps a page
at 300, sends the still-forming candle, and serves only the latest 1,440 candles from its
`market/candles` endpoint (older ones from `market/history-candles`)."""

import json
import time

import pytest

from papertrade.bootstrap import market_data_factory
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.tick import Mode, Status, run_tick
from papertrade.settings import Settings
from tests.support.cli import run_inprocess
from tests.support.databases import migrate
from tests.support.fake_binance import load_rows
from tests.support.fake_okx import FakeOkx
from tests.support.live import HOUR, dataset_ms, wait_clear_of_boundary

ROWS = load_rows("binance_BTC-USDT_1h.csv")


@pytest.fixture(scope="module")
def okx():
    with FakeOkx() as server:
        server.align_now_to(dataset_ms("2021-03-01T00:00"))
        yield server


@pytest.fixture
def server(okx):
    okx.reset_counts()
    wait_clear_of_boundary(HOUR, margin_s=20)
    return okx


def shifted(server, first: int, last: int) -> list[tuple]:
    """The file's candles opening in [first, last] (exchange time), as the exchange serves them."""
    offset = server.state.offset_ms
    return [(ts + offset, *values) for ts, *values in ROWS if first <= ts + offset <= last]


def stored(ledger, exchange: str = "okx") -> list[tuple]:
    from papertrade.domain.money import to_plain

    with ledger.unit_of_work() as uow:
        bars = uow.candles.window(exchange, "BTC/USDT", "1h", until=2**62, count=None)
    return [(b.ts, *(to_plain(v) for v in (b.open, b.high, b.low, b.close, b.volume))) for b in bars]


def plain(rows: list[tuple]) -> list[tuple]:
    from decimal import Decimal

    from papertrade.domain.money import to_plain

    return [(ts, *(to_plain(Decimal(v)) for v in values)) for ts, *values in rows]


def test_a_tick_syncs_closed_candles_from_okx_and_never_the_forming_one(ledger, server):
    market_data_for = market_data_factory(Settings(ccxt_config=server.ccxt_config(), exchange_backoff=0))
    create_portfolio(ledger, parse_new_portfolio(name="okx bot", cash="10000", exchange="okx"), now=0)
    now = time.time_ns() // 1_000_000
    result = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, now)
    last_closed = now - now % HOUR - HOUR
    assert result.candle_ts == last_closed and result.status in (Status.NEUTRAL, Status.EXECUTED)
    candles = stored(ledger)
    assert candles == plain(shifted(server, candles[0][0], last_closed))
    assert len(candles) >= 275  # the RSI's warm-up of 250 candles and 10 % more
    assert (server.count("/market/candles"), server.count("/history-candles")) == (1, 0)  # one page of 300

    again = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, now)
    assert again.status is Status.DUPLICATE and stored(ledger) == candles
    assert server.count("/market/candles") == 1


def test_a_download_across_okx_history_border_equals_the_file(database_url, server, monkeypatch, capsys):
    if database_url.startswith("postgresql"):
        migrate(database_url)
    monkeypatch.setenv("PAPERTRADE_CCXT_CONFIG", json.dumps(server.ccxt_config()))
    now = time.time_ns() // 1_000_000
    since = now - now % HOUR - 2000 * HOUR  # 560 candles only the history endpoint still has
    args = ("--db", database_url, "data", "download", "okx", "BTC/USDT", "1h", "--since", str(since))
    result = run_inprocess(capsys, *args)
    assert result.code == 0, result.stderr
    assert server.count("/history-candles") >= 2 and server.count("/market/candles") >= 4
    from papertrade.bootstrap import open_ledger

    ledger = open_ledger(Settings(database_url=database_url))
    try:
        assert stored(ledger) == plain(shifted(server, since, now - now % HOUR - HOUR))
    finally:
        ledger.dispose()
