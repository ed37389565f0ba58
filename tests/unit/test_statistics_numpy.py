"""The report's statistics are computed on numpy arrays (an optimisation computes them for every
trial); they must equal, to the last bit, what the pandas formulas they replaced computed
(`tests/support/pandas_statistics.py`), on real backtests of the shared files and on irregular
performances (gaps, days without a candle, a single candle, flat and losing equity)."""

from decimal import Decimal

import numpy as np
import pytest

from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.portfolio import parse_exits, parse_fill_model
from papertrade.reports.model import EquitySeries, FillRow, Performance
from papertrade.reports.statistics import STAT_NAMES, side_statistics, statistics
from papertrade.services.backtest import backtest
from papertrade.strategies import registry
from tests.support import pandas_statistics as reference
from tests.support.paths import DATA

D = Decimal


def same(a, b) -> bool:
    """Equal values of the same kind; floats bit for bit (NaN equals NaN, 0.0 is not -0.0)."""
    if isinstance(a, float) or isinstance(b, float):
        return type(a) is type(b) and repr(a) == repr(b)
    return type(a) is type(b) and a == b


def assert_same(performance: Performance) -> None:
    ours, theirs = statistics(performance), reference.statistics(performance)
    assert list(ours) == list(STAT_NAMES) == list(theirs)
    different = {name: (ours[name], theirs[name]) for name in STAT_NAMES if not same(ours[name], theirs[name])}
    assert not different
    ours, theirs = side_statistics(performance), reference.side_statistics(performance)
    for side in ("long", "short"):
        different = {n: (v, theirs[side][n]) for n, v in ours[side].items() if not same(v, theirs[side][n])}
        assert not different, side


RUNS = [  # file, strategy, params, fee rate, slippage bps, exits (stop, take, trail), shorts, candles (None: all)
    ("binance_BTC-USDT_1h.csv", "sma-cross", {"fast": 10, "slow": 30}, "0.001", "0", (None, None, None), False, None),
    ("binance_BTC-USDT_1h.csv", "rsi", {}, "0.001", "5", ("0.03", "0.06", None), False, None),
    ("binance_BTC-USDT_1h.csv", "sma-cross", {"fast": 5, "slow": 20}, "0.001", "5", (None, None, "0.02"), True, None),
    ("binance_ETH-USDT_1h.csv", "rsi", {}, "0", "0", (None, None, None), False, None),
    ("binance_BTC-USDT_1d.csv", "sma-cross", {"fast": 5, "slow": 20}, "0.001", "0", (None, None, None), True, None),
    ("quandl-wiki_IBM_1d.csv", "sma-cross", {"fast": 10, "slow": 40}, "0.001", "0", ("0.05", None, None), False, None),
    ("binance_BTC-USDT_5m.csv", "rsi", {}, "0.001", "0", (None, None, None), False, 6000),
    ("binance_BTC-USDT_1m.csv", "sma-cross", {"fast": 10, "slow": 30}, "0.001", "0", (None, None, None), True, 6000),
]


@pytest.mark.parametrize("run", RUNS, ids=[f"{r[0]}-{r[1]}-{'short' if r[6] else 'long'}" for r in RUNS])
def test_a_backtest_s_statistics_equal_the_pandas_formulas(run):
    name, strategy, params, fee, slippage, exits, shorts, count = run
    candles = load_columns(DATA / name)
    if count is not None:
        candles = candles.between(None, int(candles.ts[count - 1]))
    performance = backtest(candles, registry.build(strategy, params), parse_fill_model(fee, slippage, "1"),
                           D(10_000), "X/USDT", "USDT", parse_exits(*exits), allow_short=shorts)  # fmt: skip
    assert performance.round_trips()
    assert_same(performance)


def irregular(seed: int, count: int, step: int, gaps: bool) -> Performance:
    """Random equity over candles `step` ms apart (some missing when `gaps`), with random round trips."""
    rng = np.random.default_rng(seed)
    spacing = np.full(count, step)
    if gaps:
        spacing[rng.random(count) < 0.1] *= rng.integers(2, 40)
    times = 1_609_459_200_000 + np.cumsum(spacing) - step
    equity = [D(1000)]
    for change in rng.normal(0, 0.02, count - 1):
        equity.append(max(D(0), equity[-1] * (1 + D(str(round(change, 6)))).quantize(D("0.00000001"))))
    performance = Performance("USDT", D(1000))
    performance.times = times.tolist()
    performance.equity = EquitySeries.of(equity)
    performance.in_market = (rng.random(count) < 0.5).tolist()
    performance.prices = {"X/USDT": (times, np.array([float(e) + 1 for e in equity]))}
    fills, at = [], sorted(rng.choice(count, size=min(count, 2 * (count // 7)), replace=False).tolist())
    for entry, exit_ in zip(at[::2], at[1::2], strict=False):
        side = "BUY" if rng.random() < 0.6 else "SELL"
        price, later = D(str(round(rng.uniform(10, 20), 2))), D(str(round(rng.uniform(10, 20), 2)))
        fills.append(FillRow(int(times[entry]), "X/USDT", side, D(2), price, D("0.01"), 2 * price, D(0)))
        fills.append(FillRow(int(times[exit_]), "X/USDT", "SELL" if side == "BUY" else "BUY", D(2), later, D("0.01"),
                             2 * later, D(0)))  # fmt: skip
    performance.fills = fills
    return performance


@pytest.mark.parametrize("seed", range(12))
def test_irregular_performances_equal_the_pandas_formulas(seed):
    step = [60_000, 300_000, 3_600_000, 86_400_000, 90_000, 1_500][seed % 6]
    count = [1, 2, 3, 40, 400, 1500][seed % 6 if seed < 6 else (seed + 3) % 6]
    assert_same(irregular(seed, count, step, gaps=seed % 2 == 1))


def test_flat_equity_and_no_trades_equal_the_pandas_formulas():
    performance = Performance("USDT", D(500))
    performance.times = [1_609_459_200_000 + i * 3_600_000 for i in range(72)]
    performance.equity = EquitySeries.of([D(500)] * 72)
    performance.in_market = [False] * 72
    performance.prices = {"X/USDT": (performance.times, [1.0] * 72)}
    assert_same(performance)
