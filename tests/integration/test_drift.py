"""`report --vs-backtest`: hourly ticks through real ccxt against the local Binance imitation, a
real ledger on SQLite and PostgreSQL, then the portfolio's backtest over the candles it
processed. A `close` portfolio that ticked every hour agrees fill for fill (settings changes
included); a `book` portfolio parts at its first book fill; a missed hour is named."""

import json
from decimal import Decimal

import pytest

from papertrade.domain.drift import BOOK_FILL, MISSED_CANDLE, PARTIAL_FILL
from papertrade.services.drift import vs_backtest
from papertrade.services.portfolios import SettingsChange, change_settings, create_portfolio, parse_new_portfolio
from papertrade.services.tick import Mode, TickRunner
from papertrade.settings import Settings
from tests.support.cli import run_inprocess
from tests.support.fake_binance import BookSpec
from tests.support.live import HOUR

ALTERNATE = "tests.support.strategies:Alternate"  # a trade on every candle: a few hours say a lot


def create(ledger, fill: str = "close", exits=(None, None, None), slippage_bps: str = "5"):
    request = parse_new_portfolio(name="bot", cash="10000", strategy=ALTERNATE, fee_rate="0.001", fill=fill,
                                  slippage_bps=slippage_bps, exits=exits)  # fmt: skip
    return create_portfolio(ledger, request, now=0)


def tick_hours(ledger, market_data_for, clock, hours: int) -> None:
    """One cron tick a hour, 30 s after each candle closes."""
    runner = TickRunner(ledger, market_data_for)
    for _ in range(hours):
        runner.tick(1, "BTC/USDT", Mode.LIVE, clock())
        clock.advance(HOUR)


def test_a_close_portfolio_ticked_every_hour_does_not_diverge(ledger, market_data_for, clock):
    create(ledger, exits=("0.002", None, None))  # stop-losses too: resting orders on the candles
    tick_hours(ledger, market_data_for, clock, 4)
    change_settings(ledger, 1, SettingsChange(fee_rate="0.002", slippage_bps="1"), now=clock())
    tick_hours(ledger, market_data_for, clock, 4)
    drift = vs_backtest(ledger, 1)
    fees = {round(fill.fee / fill.notional, 6) for fill in drift.paper.performance.fills}
    assert fees == {Decimal("0.001000"), Decimal("0.002000")}  # the backtest followed the change
    assert len(drift.paper.performance.fills) >= 4
    assert drift.divergence is None and drift.differing == [] and drift.missed == []
    assert drift.backtest.performance.equity.texts() == drift.paper.performance.equity.texts()
    assert drift.paper.slippage == drift.backtest.slippage > 0  # 5 bps, then 1 bps, on both


def test_a_close_portfolio_on_the_exchange_s_fees_does_not_diverge(ledger, exchange, clock):
    from papertrade.bootstrap import market_data_factory

    exchange.trading_fees = ("0.0002", "0.0007")  # maker and taker, neither the stored 0.001
    priced = market_data_factory(Settings(ccxt_config=exchange.ccxt_config(timeout_ms=3000), exchange_backoff=0))
    request = parse_new_portfolio(name="bot", cash="10000", strategy=ALTERNATE, exits=("0.002", "0.002", None))
    assert create_portfolio(ledger, request, now=0).config.fees_from_exchange
    tick_hours(ledger, priced, clock, 4)
    drift = vs_backtest(ledger, 1)
    rates = {fill.kind: round(fill.fee / fill.notional, 4) for fill in drift.backtest.performance.fills}
    assert rates.get("signal") == Decimal("0.0007") and rates.get("take-profit", Decimal("0.0002")) == Decimal("0.0002")
    assert drift.divergence is None and drift.differing == [] and drift.missed == []
    assert drift.backtest.performance.equity.texts() == drift.paper.performance.equity.texts()


def test_a_book_portfolio_parts_at_its_first_book_fill_and_shows_the_cost(ledger, market_data_for, clock):
    create(ledger, fill="book", slippage_bps="0")  # the backtest's fills cost nothing
    tick_hours(ledger, market_data_for, clock, 3)
    drift = vs_backtest(ledger, 1)
    first = drift.paper.performance.fills[0]
    assert drift.divergence.reason == BOOK_FILL
    assert drift.divergence.candle_ts == first.candle_ts and drift.divergence.pair.paper == first
    assert drift.divergence.pair.backtest.price != first.price
    assert drift.paper.slippage > 0 and drift.paper.slippage_bps > 0  # the spread and the depth cost
    assert drift.backtest.slippage == 0 and drift.backtest.slippage_bps == 0


def test_a_partial_book_fill_is_named(ledger, market_data_for, exchange, clock):
    create(ledger, fill="book", slippage_bps="0")
    exchange.state.book = BookSpec(spacing="0.02", amount="0.01")  # 0.06 BTC within the 5 % cap
    tick_hours(ledger, market_data_for, clock, 1)
    drift = vs_backtest(ledger, 1)
    assert drift.divergence.reason == PARTIAL_FILL and drift.divergence.pair.paper.quantity == Decimal("0.06")


def test_a_missed_candle_is_named(ledger, market_data_for, clock):
    create(ledger)
    tick_hours(ledger, market_data_for, clock, 2)
    missed = clock() - 30_000 - HOUR  # the candle that closed 30 s ago: cron does not run for it
    clock.advance(HOUR)
    tick_hours(ledger, market_data_for, clock, 2)
    drift = vs_backtest(ledger, 1)
    assert drift.missed == [missed]
    assert drift.divergence.reason == MISSED_CANDLE and drift.divergence.candle_ts == missed
    assert drift.differing  # the backtest traded on it, paper could not


def test_the_command_prints_both_sides_and_json(ledger, database_url, market_data_for, clock, monkeypatch, capsys):
    create(ledger, fill="book")
    tick_hours(ledger, market_data_for, clock, 2)
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", database_url)
    text = run_inprocess(capsys, "report", "1", "--vs-backtest")
    assert text.code == 0, text.stderr
    assert "PAPER" in text.stdout and "BACKTEST" in text.stdout and "Avg. Slippage [bps]" in text.stdout
    assert "First divergence:" in text.stdout and "(book_fill)" in text.stdout
    document = json.loads(run_inprocess(capsys, "report", "1", "--vs-backtest", "--json").stdout)
    assert document["divergence"]["reason"] == "book_fill"
    assert isinstance(document["paper"]["slippage"], str) and isinstance(document["backtest"]["fees"], str)
    assert document["differing_trades"][0]["paper"]["price"] == document["divergence"]["paper"]["price"]
    assert len(document["paper"]["equity_curve"]["equity"]) == len(document["backtest"]["equity_curve"]["equity"])
    refused = run_inprocess(capsys, "report", "1", "--vs-backtest", "--plot", "drift.png")
    assert refused.code == 2 and "--plot does not go with --vs-backtest" in refused.stderr


@pytest.mark.parametrize("database_url", ["sqlite"], indirect=True)
def test_a_portfolio_that_never_ticked_has_nothing_to_compare(ledger, database_url, monkeypatch, capsys):
    create(ledger)
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", database_url)
    result = run_inprocess(capsys, "report", "1", "--vs-backtest")
    assert result.code != 0 and "processed no candles" in result.stderr and "Traceback" not in result.stderr
