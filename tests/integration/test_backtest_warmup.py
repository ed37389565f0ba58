"""`backtest --from` warms the strategy up on the candles before `--from`, as a replay's stored
candles and freqtrade's startup candles do: the range then trades exactly as the same candles of
a backtest over the whole file."""

import json
from decimal import Decimal

import pytest

from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.portfolio import parse_exits, parse_fill_model
from papertrade.domain.timeframes import timestamp
from papertrade.reports.model import Warmup
from papertrade.services.backtest import backtest
from papertrade.strategies import registry
from tests.support.cli import run_inprocess
from tests.support.paths import DATA

BTC = DATA / "binance_BTC-USDT_1h.csv"
CANDLES = load_columns(BTC)
FILLS = parse_fill_model("0.001", "0", "1")
CASH = Decimal(10_000)


def flat_moment(full, after: int) -> tuple[int, Decimal]:
    """The first candle after `after` at which the full backtest holds nothing and no order
    rests (between two round trips), and its cash then."""
    exit_fill = next(f for f in full.fills if f.side == "SELL" and f.candle_ts >= after)
    start = int(CANDLES.ts[CANDLES.ts.searchsorted(exit_fill.candle_ts) + 1])
    return start, _cash_after(full, exit_fill)


def _cash_after(full, fill) -> Decimal:
    """Cash after `fill`: the initial cash, less every BUY's notional and fee, plus every SELL's."""
    cash = CASH
    for f in full.fills[: full.fills.index(fill) + 1]:
        cash += (f.notional - f.fee) if f.side == "SELL" else -(f.notional + f.fee)
    return cash


@pytest.mark.parametrize(
    ("strategy", "exits"),
    [("rsi", (None, None, None)), ("sma-cross", ("0.02", "0.04", None)), ("sma-cross", (None, None, "0.03"))],
)
def test_a_from_backtest_trades_exactly_as_the_same_candles_of_a_full_backtest(strategy, exits):
    chosen, protective = registry.build(strategy, {}), parse_exits(*exits)
    full = backtest(CANDLES, chosen, FILLS, CASH, "BTC/USDT", "USDT", protective)
    start, cash = flat_moment(full, int(CANDLES.ts[1200]))
    end = int(CANDLES.ts[2400])
    part = backtest(CANDLES.between(None, end), chosen, FILLS, cash, "BTC/USDT", "USDT", protective, start=start)
    in_range = [f for f in full.fills if start <= f.candle_ts <= end]
    assert len(in_range) >= 4 and part.fills == in_range
    low, high = (int(i) for i in (CANDLES.ts.searchsorted(start), CANDLES.ts.searchsorted(end) + 1))
    assert list(part.times) == list(CANDLES.ts[low:high])
    assert list(part.equity.floats()) == list(full.equity.floats()[low:high])
    assert part.warmup == Warmup(start, chosen.lookback - 1, chosen.lookback - 1)


def test_the_issue_s_week_trades_now_that_it_warms_up(capsys):
    args = ("backtest", "--strategy", "rsi", "--data", str(BTC), "--from", "2021-02-20", "--to", "2021-02-26")
    document = json.loads(run_inprocess(capsys, *args, "--json").stdout)
    assert document["trades"] and document["warmup"] == {
        "start_ts": 1613779200000,
        "candles": 249,
        "needed": 249,
        "enough": True,
        "first_decision_ts": 1613779200000,
    }
    human = run_inprocess(capsys, *args)
    assert "Warm-up: 249 candles before 2021-02-20 00:00Z (the strategy needs 249)" in human.stdout.splitlines()


def test_too_few_candles_before_from_is_said_in_the_output_and_the_json(capsys):
    second = timestamp(int(CANDLES.ts[10]))
    args = ("backtest", "--strategy", "rsi", "--data", str(BTC), "--from", str(int(CANDLES.ts[10])))
    document = json.loads(run_inprocess(capsys, *args, "--json").stdout)
    assert document["warmup"] == {
        "start_ts": int(CANDLES.ts[10]),
        "candles": 10,
        "needed": 249,
        "enough": False,
        "first_decision_ts": int(CANDLES.ts[249]),
    }
    human = run_inprocess(capsys, *args)
    assert (
        f"Warm-up: only 10 of the 249 candles the strategy needs before {second}: it decides from "
        f"{timestamp(int(CANDLES.ts[249]))}, after warming up on the range's own candles"
    ) in human.stdout.splitlines()
