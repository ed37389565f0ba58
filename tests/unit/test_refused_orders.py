"""Entries that make no sense are refused where the strategy returns them, by one rule
(`orders.refusal`) that the desk applies for ticks, replays and backtests alike."""

import json
from decimal import Decimal

import pytest

from papertrade.domain.bars import Bar
from papertrade.domain.desk import Desk
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Book, Side
from papertrade.domain.orders import Entry, Exits, Level, OrderKind, price, refusal
from papertrade.domain.signals import Decision, Signal
from papertrade.services.tick import Mode, Status, TickRunner
from tests.support.cli import run_inprocess
from tests.support.paths import DATA
from tests.unit.fakes import FakeMarketData, hourly_bars
from tests.unit.test_tick_service import make, now_after

D = Decimal
HOUR = 3_600_000
MARKET = D(30_270)
NONSENSE = [
    (Decision.buy(stop_loss=price(31_500)), "stop-loss 31,500 is above the entry 30,270"),
    (Decision.buy(take_profit=price("29000.5")), "take-profit 29,000.5 is below the entry 30,270"),
    (Decision.buy(limit=30_300), "buy limit 30,300 is above the market 30,270"),
    (Decision.buy(stop=30_000), "buy stop 30,000 is below the market 30,270"),
    (Decision.buy(limit=29_000, stop_loss=price(29_500)), "stop-loss 29,500 is above the entry 29,000"),
    (Decision.buy(stop=31_000, take_profit=price(30_500)), "take-profit 30,500 is below the entry 31,000"),
]


@pytest.mark.parametrize(("decision", "reason"), NONSENSE, ids=[reason for _, reason in NONSENSE])
def test_each_level_on_the_wrong_side_is_refused_naming_the_rule(decision, reason):
    assert refusal(decision.entry, decision.entry.exits or Exits(), MARKET) == reason


@pytest.mark.parametrize(
    "decision",
    [
        Decision.buy(),
        Decision.buy(limit=30_270, stop_loss=price(30_000), take_profit=price(30_270)),  # at the close, break-even
        Decision.buy(stop=30_270),
        Decision.buy(limit=29_000, stop_loss=0.5, take_profit=0.9),  # distances cannot point the wrong way
        Decision.buy(stop=31_000, stop_loss=price(30_500), take_profit=price(32_000)),
    ],
)
def test_levels_on_their_own_side_or_at_their_reference_are_accepted(decision):
    assert refusal(decision.entry, decision.entry.exits or Exits(), MARKET) is None


def test_a_short_entry_is_checked_against_the_mirror_image():
    stop_loss_below = Exits(Level(D(29_000), absolute=True))
    assert refusal(Entry(), stop_loss_below, MARKET, Side.SELL) == "stop-loss 29,000 is below the entry 30,270"
    assert refusal(Entry(OrderKind.LIMIT, D(30_000)), Exits(), MARKET, Side.SELL) == (
        "sell limit 30,000 is below the market 30,270"
    )
    assert refusal(Entry(OrderKind.STOP, D(30_000)), Exits(), MARKET, Side.SELL) is None


def desk(exits=Exits()) -> Desk:
    btc = Market("BTC/USDT", "BTC", "USDT", amount_step=D("0.0001"))
    return Desk(Book(D(100_000), D(100_000)), btc, FillModel(D(0), D(0), D(1)), [], HOUR, exits)


def candle(i: int, low, high, close=30_270) -> Bar:
    return Bar(i * HOUR, D(close), D(high), D(low), D(close), D(1))


@pytest.mark.parametrize(("decision", "reason"), NONSENSE, ids=[reason for _, reason in NONSENSE])
def test_the_desk_holds_with_the_reason_and_never_fills(decision, reason):
    d = desk()
    held = d.act(decision, candle(1, 30_270, 30_270))
    assert held.signal is Signal.HOLD and held.reason.startswith(reason)
    d.on_candle(candle(2, 20_000, 40_000))  # a candle that would have filled anything
    assert not d.orders and not d.filled and d.refused == [(HOUR, reason)]


def test_the_portfolio_s_own_exits_are_checked_too():
    d = desk(exits=Exits(Level(D(31_500), absolute=True)))
    held = d.act(Decision(Signal.BUY, "cross"), candle(1, 30_270, 30_270))
    assert held.reason == "stop-loss 31,500 is above the entry 30,270 (BUY: cross)" and not d.filled


def test_a_tick_holds_with_the_reason_and_writes_no_trade_nor_order():
    bars = hourly_bars([30_270] * 6)
    ledger = make(strategy="tests.support.strategies:Misplaced")
    result = TickRunner(ledger, lambda exchange: FakeMarketData(bars)).tick(1, "BTC/USDT", Mode.LIVE,
                                                                            now_after(bars, 5))  # fmt: skip
    assert (result.signal, result.status) == (Signal.HOLD, Status.NEUTRAL)
    assert result.reason == "stop-loss 31,480.8 is above the entry 30,270 (BUY: misplaced)"
    assert ledger.state.trades == [] and ledger.state.portfolios[1].orders == ()


@pytest.mark.parametrize("rule", ["stop-loss", "take-profit", "limit", "stop"])
def test_a_backtest_reports_how_many_entries_it_refused_and_trades_none(capsys, rule):
    args = ("backtest", "--strategy", "tests.support.strategies:Misplaced", "--param", f"rule={rule}", "--data",
            str(DATA / "binance_BTC-USDT_1d.csv"), "--to", "2020-01-31")  # fmt: skip
    document = json.loads(run_inprocess(capsys, *args, "--json").stdout)
    refused = document["refused_entries"]
    assert refused["count"] == 31 and refused["first"]["candle_ts"] == 1577836800000  # every candle of January
    assert refused["first"]["reason"].startswith(f"{'buy ' if rule in ('limit', 'stop') else ''}{rule} ")
    assert document["trades"] == []
    text = run_inprocess(capsys, *args).stdout
    assert f"Refused entries: 31 (the first on 2020-01-01 00:00Z: {refused['first']['reason']}" in text
