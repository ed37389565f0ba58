"""`--fill book` through the real tick: ccxt against the local Binance imitation's order book, a
real ledger on SQLite and PostgreSQL. The fill is the walk of the served book to the last decimal;
every unsound book exits 75 with the ledger untouched."""

import json
from decimal import Decimal

import pytest

from papertrade.domain.book import BookLevel, OrderBook, size_entry
from papertrade.domain.ledger import Side
from papertrade.domain.money import to_plain
from papertrade.services.portfolios import create_portfolio, list_trades, parse_new_portfolio
from papertrade.services.tick import Mode, run_tick
from tests.support.cli import run_inprocess
from tests.support.databases import ledger_state
from tests.support.fake_binance import BookSpec, book_levels, load_rows

D = Decimal
CLOSE = D(load_rows("binance_BTC-USDT_1h.csv")[1000][4])  # the candle the `clock` fixture's tick decides on


def create(ledger, fill: str, max_slippage: str = "0.05"):
    request = parse_new_portfolio(name="bot", cash="10000", fee_rate="0.001", fill=fill, max_slippage=max_slippage,
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


def test_what_the_cap_leaves_of_a_book_entry_is_cancelled_and_said(ledger, market_data_for, exchange, clock):
    from papertrade.cli.trade import tick_json, tick_line
    from papertrade.domain.numbers import money

    create(ledger, "book")
    exchange.state.book = BookSpec(spacing="0.02", amount="0.01")  # 0.01, 0.02, 0.03 BTC within 5 %, then 6 %
    result = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())
    (partial,) = result.partial
    fill, cancelled = result.fill, partial.cancelled
    assert fill.quantity == D("0.06") and cancelled.limit == CLOSE * D("1.05")
    assert cancelled.budget == D(10_000) - fill.notional - fill.fee and cancelled.quantity is None
    assert f"partial BUY: {money(cancelled.budget, 'USDT')} USDT of the budget cancelled" in tick_line(result)
    (said,) = tick_json(result, Mode.LIVE)["cancelled"]
    assert (said["side"], said["budget"], said["quantity"]) == ("BUY", cancelled.budget, None)
    with ledger.unit_of_work() as uow:
        (journaled,) = uow.journal.entries(1, "fill")
    assert journaled.payload["cancelled"] == {"quantity": None, "budget": to_plain(cancelled.budget),
                                              "limit": to_plain(cancelled.limit)}  # fmt: skip


def test_a_book_entry_filled_whole_cancels_nothing(ledger, market_data_for, exchange, clock):
    from papertrade.cli.trade import tick_line

    create(ledger, "book")
    result = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())
    assert result.partial == () and "partial" not in tick_line(result)
    with ledger.unit_of_work() as uow:
        assert "cancelled" not in uow.journal.entries(1, "fill")[0].payload


def test_the_portfolio_s_max_slippage_caps_the_walk(ledger, market_data_for, exchange, clock):
    create(ledger, "book", max_slippage="0.03")
    exchange.state.book = BookSpec(spacing="0.02", amount="0.01")  # levels at 0.01 %, 2.01 %, 4.01 % from the close
    result = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())
    assert result.fill.quantity == D("0.03") and result.partial[0].cancelled.limit == CLOSE * D("1.03")


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


def test_max_slippage_is_stored_shown_and_changed(here):
    assert here("create-portfolio", "bot", "10000", "--fill", "book", "--max-slippage", "0.1").code == 0
    assert "at most 10 % from the close (--max-slippage)" in here("status", "1").stdout
    assert '"max_slippage": "0.1"' in here("status", "1", "--json").stdout
    changed = here("portfolio", "set", "1", "--max-slippage", "0.02")
    assert changed.code == 0 and "max slippage: 0.1 -> 0.02" in changed.stdout
    assert '"max_slippage": "0.02"' in here("status", "1", "--json").stdout


@pytest.mark.parametrize("value", ["0", "0.5", "NaN"])
def test_a_bad_max_slippage_exits_2_and_writes_nothing(here, cli_database, value):
    refused = here("create-portfolio", "bot", "10000", "--max-slippage", value)
    assert refused.code == 2 and len(refused.error_lines) == 1 and "Traceback" not in refused.stderr
    assert here("create-portfolio", "bot", "10000").code == 0
    before = ledger_state(cli_database)
    refused = here("portfolio", "set", "1", "--max-slippage", value)
    assert refused.code == 2 and len(refused.error_lines) == 1
    assert ledger_state(cli_database) == before


def test_each_fill_records_its_reference_and_trades_shows_its_slippage(here, live_exchange):
    from papertrade.domain.fills import slippage_bps

    assert here("create-portfolio", "bot", "10000", "--fill", "book", "--strategy",
                "tests.support.strategies:AlwaysBuy").code == 0  # fmt: skip
    assert here("trade", "1", "BTC/USDT", "LIVE").code == 0
    (trade,) = json.loads(here("trades", "1", "--json").stdout)
    price, reference = D(trade["price"]), D(trade["reference_price"])
    assert reference == D(json.loads(here("trade", "1", "BTC/USDT", "DRY", "--json").stdout)["close"])
    assert price > reference and D(trade["slippage_bps"]) == slippage_bps("BUY", price, reference) > 0
    listed = here("trades", "1").stdout
    assert "SLIPPAGE [bps]" in listed and f"{slippage_bps('BUY', price, reference):.2f}" in listed


def test_report_shows_the_slippage_and_the_fees_by_liquidity(ledger, market_data_for, exchange, clock):
    from papertrade.reports.statistics import statistics
    from papertrade.services.reports import from_ledger

    create(ledger, "book")
    fill = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock()).fill
    stats = statistics(from_ledger(ledger, 1))
    assert stats["Slippage [$]"] == (fill.price - CLOSE) * fill.quantity > 0
    assert (stats["Taker Fees [$]"], stats["Maker Fees [$]"]) == (fill.fee, 0)
