"""The pure comparison behind `report --vs-backtest`: pairing fills, the slippage paid against the
close, undoing settings changes, and the reason given for the first divergence."""

from decimal import Decimal

from papertrade.domain.drift import (
    BOOK_FILL,
    FILL_DIFFERS,
    MANUAL_TRADE,
    MISSED_CANDLE,
    SETTINGS_CHANGE,
    SettingsEvent,
    first_divergence,
    paired_fills,
    settings_history,
    slippage,
)
from papertrade.reports.model import FillRow

D = Decimal
HOUR = 3_600_000


def fill(ts: int, side: str = "BUY", price: str = "100", quantity: str = "1", kind: str = "signal") -> FillRow:
    notional = D(price) * D(quantity)
    return FillRow(ts, "BTC/USDT", side, D(quantity), D(price), notional / 1000, notional, D(0), kind)


def close_everywhere(_ts: int) -> str:
    return "close"


def test_equal_fills_pair_up_and_a_fill_on_one_side_only_pairs_with_nothing():
    paper = [fill(HOUR), fill(2 * HOUR, "SELL", "101")]
    backtest = [fill(HOUR), fill(3 * HOUR, "SELL", "102")]
    pairs = paired_fills(paper, backtest)
    assert [(p.candle_ts, p.same) for p in pairs] == [(HOUR, True), (2 * HOUR, False), (3 * HOUR, False)]
    assert pairs[1].backtest is None and pairs[2].paper is None


def test_slippage_is_paid_against_the_close_of_fills_made_there_only():
    closes = {HOUR: D("100"), 2 * HOUR: D("110")}
    fills = [fill(HOUR, price="100.5", quantity="2"), fill(2 * HOUR, "SELL", "109", "2"),
             fill(2 * HOUR, "SELL", "90", kind="stop-loss")]  # fmt: skip
    cost, bps = slippage(fills, closes)
    assert cost == D("3.0")  # 0.5 x 2 on the buy, 1 x 2 on the sell; the stop's level is not a close
    assert round(bps, 12) == round(D(30_000) / D(420), 12)  # 71.43 bps of the 420 traded at the closes
    assert slippage([], closes) == (D(0), None)


def test_settings_are_undone_change_by_change():
    current = {"fee_rate": "0.003", "exits.stop_loss": "0.02"}
    first = {"fee_rate": "0.002", "exits.stop_loss": "0.01"}
    changes = [({"fee_rate": "0.001", "exits.stop_loss": None}, first), (first, current)]
    history = settings_history(current, changes)
    assert history == [{"fee_rate": "0.001"}, {"fee_rate": "0.002", "exits.stop_loss": "0.01"}, current]


def test_agreeing_fills_and_no_missed_candle_are_no_divergence():
    pairs = paired_fills([fill(HOUR)], [fill(HOUR)])
    assert first_divergence(pairs, [], close_everywhere) is None


def test_a_missed_candle_before_the_first_differing_fill_is_the_divergence():
    pairs = paired_fills([fill(HOUR), fill(4 * HOUR, "SELL")], [fill(HOUR), fill(3 * HOUR, "SELL")])
    divergence = first_divergence(pairs, [3 * HOUR], close_everywhere)
    assert (divergence.candle_ts, divergence.reason) == (3 * HOUR, MISSED_CANDLE)
    assert "the backtest SELL 1 at 100 (signal) on it" in divergence.detail


def test_the_reason_of_a_differing_fill():
    differs = paired_fills([fill(2 * HOUR, price="100.1")], [fill(2 * HOUR)])
    assert first_divergence(differs, [], lambda ts: "book").reason == BOOK_FILL
    assert first_divergence(differs, [], close_everywhere).reason == FILL_DIFFERS
    changed = [SettingsEvent(2 * HOUR, {"fee_rate": "0.001"}, {"fee_rate": "0.002"})]
    found = first_divergence(differs, [], close_everywhere, changes=changed)
    assert found.reason == SETTINGS_CHANGE and "fee_rate 0.001 -> 0.002" in found.detail
    manual = paired_fills([fill(2 * HOUR, kind="manual")], [])
    assert first_divergence(manual, [], lambda ts: "book").reason == MANUAL_TRADE
