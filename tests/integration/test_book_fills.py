"""`--fill book` through the real tick: ccxt against the local Binance imitation's order book, a
real ledger on SQLite and PostgreSQL. The fill is the walk of the served book to the last decimal;
every unsound book exits 75 with the ledger untouched."""

from decimal import Decimal

import pytest

from papertrade.domain.book import BookLevel, OrderBook, size_entry
from papertrade.domain.ledger import Side
from papertrade.services.portfolios import create_portfolio, list_trades, parse_new_portfolio
from papertrade.services.tick import Mode, run_tick
from tests.support.cli import run_inprocess
from tests.support.databases import ledger_state
from tests.support.fake_binance import book_levels, load_rows

D = Decimal
CLOSE = D(load_rows("binance_BTC-USDT_1h.csv")[1000][4])  # the candle the `clock` fixture's tick decides on


def create(ledger, fill: str):
    request = parse_new_portfolio(name="bot", cash="10000", fee_rate="0.001", fill=fill,
                                  strategy="tests.support.strategies:AlwaysBuy")  # fmt: skip
    return create_portfolio(ledger, request, now=0)


def served_book(exchange) -> OrderBook:
    bids, asks = book_levels(exchange.state, "BTCUSDT")
    as_levels = lambda side: tuple(BookLevel(D(price), D(amount)) for price, amount in side)  # noqa: E731
    return OrderBook("BTC/USDT", as_levels(bids), as_levels(asks))


def test_a_book_portfolio_buys_at_the_walk_of_the_served_book(ledger, market_data_for, exchange, clock):
    create(ledger, "book")
    market = market_data_for("binance").market("BTC/USDT")
    expected, walked = size_entry(served_book(exchange), Side.BUY, market, D(10_000), D("0.001"), CLOSE, D("0.05"))
    exchange.reset_counts()
    result = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())
    assert result.fill == expected and result.fill.price == walked.price
    assert result.fill.price > CLOSE  # the spread and the depth cost something
    assert exchange.count("/depth") == 1
    (trade,) = list_trades(ledger, 1)
    assert (trade.quantity, trade.price, trade.fee) == (expected.quantity, expected.price, expected.fee)


def test_a_close_portfolio_never_asks_for_the_book(ledger, market_data_for, exchange, clock):
    create(ledger, "close")
    result = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())
    assert result.fill.price == CLOSE and exchange.count("/depth") == 0


@pytest.fixture
def here(cli_env, monkeypatch, capsys):
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    return lambda *args: run_inprocess(capsys, *args)


@pytest.mark.parametrize("fault", ["empty", "crossed", "stale", "http-503-html"])
def test_an_unsound_book_exits_75_and_writes_nothing(here, live_exchange, cli_database, fault):
    created = here("create-portfolio", "bot", "10000", "--fill", "book", "--strategy",
                   "tests.support.strategies:AlwaysBuy")  # fmt: skip
    assert created.code == 0, created.stderr
    before = ledger_state(cli_database)
    live_exchange.inject(fault, path="/depth")
    result = here("trade", "1", "BTC/USDT", "LIVE")
    assert result.code == 75, result.stderr
    assert len(result.error_lines) == 1 and "Traceback" not in result.stderr
    assert ledger_state(cli_database) == before


def test_portfolio_set_changes_the_fill_and_says_so(here):
    assert here("create-portfolio", "bot", "10000").code == 0
    changed = here("portfolio", "set", "1", "--fill", "book")
    assert changed.code == 0 and "fill: close -> book" in changed.stdout
    refused = here("portfolio", "set", "1", "--fill", "mid")
    assert refused.code == 2 and "fill must be close or book" in refused.stderr


def test_status_says_how_market_orders_fill(here):
    assert here("create-portfolio", "bot", "10000", "--fill", "BOOK").code == 0
    assert "from the order book (--fill book)" in here("status", "1").stdout
    assert '"fill": "book"' in here("status", "1", "--json").stdout
