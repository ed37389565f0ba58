"""backtesting.py's statistics of a performance, with its names and formulas, so that paper and
backtest reports line up with each other and with what backtesting.py users know.

Every value is plain: money a `Decimal`, ratios and percentages floats (NaN where undefined, as
in backtesting.py), counts ints, times and durations integer milliseconds (None where
undefined). `STAT_KINDS` says which is which, for whoever formats them.
"""

from itertools import pairwise

from papertrade.errors import NotFound
from papertrade.reports.model import Performance

#: The statistics a report shows, in backtesting.py's order and with its names.
STAT_NAMES = (
    "Start", "End", "Duration", "Exposure Time [%]", "Equity Final [$]", "Equity Peak [$]", "Commissions [$]",
    "Maker Fees [$]", "Taker Fees [$]", "Slippage [$]", "Avg. Slippage [bps]", "Funding [$]", "Return [%]",
    "Buy & Hold Return [%]", "Return (Ann.) [%]", "Volatility (Ann.) [%]", "CAGR [%]",
    "Sharpe Ratio", "Sortino Ratio", "Calmar Ratio", "Max. Drawdown [%]", "Avg. Drawdown [%]",
    "Max. Drawdown Duration", "Avg. Drawdown Duration", "# Trades", "Win Rate [%]", "Best Trade [%]",
    "Worst Trade [%]", "Avg. Trade [%]", "Max. Trade Duration", "Avg. Trade Duration", "Profit Factor",
    "Expectancy [%]", "SQN",
)  # fmt: skip


#: What each statistic is: "time" and "duration" (ms), "money" (Decimal; "cost" when it was paid, shown
#: rounded up like every fee), "count" (int), "number".
STAT_KINDS = {
    **dict.fromkeys(STAT_NAMES, "number"),
    **dict.fromkeys(("Start", "End"), "time"),
    **dict.fromkeys(("Equity Final [$]", "Equity Peak [$]", "Funding [$]", "Slippage [$]"), "money"),
    **dict.fromkeys(("Commissions [$]", "Maker Fees [$]", "Taker Fees [$]"), "cost"),
    "# Trades": "count",
    **dict.fromkeys(
        ("Duration", "Max. Drawdown Duration", "Avg. Drawdown Duration", "Max. Trade Duration", "Avg. Trade Duration"),
        "duration",
    ),
}


#: The statistics of the long and of the short round trips apart (`side_statistics`), with
#: backtesting.py's names where it has one.
SIDE_STAT_NAMES = ("# Trades", "Win Rate [%]", "Best Trade [%]", "Worst Trade [%]", "Avg. Trade [%]",
                   "Profit Factor", "Expectancy [%]", "Net PnL [$]")  # fmt: skip
SIDE_STAT_KINDS = {**{name: STAT_KINDS[name] for name in SIDE_STAT_NAMES[:-1]}, "Net PnL [$]": "money"}


def side_statistics(performance: Performance) -> dict[str, dict[str, object]]:
    """The trade statistics of the long and of the short round trips apart ("long", "short"),
    computed as for all of them; "Net PnL [$]" is their profit after both legs' fees."""
    from papertrade.domain.money import ZERO, exact

    trips = performance.round_trips()
    split = {}
    for side in ("long", "short"):
        mine = [trip for trip in trips if trip.side == side]
        stats = _trade_stats(*_trip_columns(mine))
        with exact():
            stats["Net PnL [$]"] = sum((trip.pnl for trip in mine), ZERO)
        split[side] = {name: stats[name] for name in SIDE_STAT_NAMES}
    return split


def cost_of_execution(performance: Performance) -> dict[str, object]:
    """The fees split by liquidity (maker: resting limits and take-profits; taker: the rest) and
    the slippage against each fill's reference price: in money, and on average in basis points
    (NaN when no fill has a reference)."""
    maker, taker = performance.fees_by_liquidity()
    cost, bps = performance.slippage()
    return {"Maker Fees [$]": maker, "Taker Fees [$]": taker, "Slippage [$]": cost,
            "Avg. Slippage [bps]": float("nan") if bps is None else float(bps)}  # fmt: skip


def statistics(performance: Performance) -> dict[str, object]:
    """backtesting.py's statistics of a performance (risk-free rate 0), as plain values (see the
    module). Annualized figures use 365 days a year when the candles include weekends, 252 when
    they do not.

    The formulas are backtesting.py's, computed on numpy arrays the way pandas computes them
    (the same sums, in the same order, so the same floats to the last bit: every trial of an
    optimisation computes them, and pandas' Series, resampling and Timedeltas cost several
    times the backtest itself). Times are integer milliseconds throughout."""
    import numpy as np

    if len(performance.times) == 0:
        raise NotFound("nothing to report yet: the portfolio has processed no candles")
    times = np.asarray(performance.times, dtype=np.int64)
    equity = performance.equity.floats()
    initial = float(performance.initial_cash)  # every return is measured from the cash the portfolio started with
    unit = _period_unit(times)
    duration = int(times[-1] - times[0])
    stats: dict[str, object] = {
        "Start": int(times[0]),
        "End": int(times[-1]),
        "Duration": duration,
        "Exposure Time [%]": float(np.mean(performance.in_market)) * 100,
        "Equity Final [$]": performance.equity[-1],
        "Equity Peak [$]": max(performance.initial_cash, performance.equity.peak()),
        "Commissions [$]": performance.fees,
        **cost_of_execution(performance),
        "Funding [$]": performance.funding_paid,  # net paid by swap positions; negative: received
        "Return [%]": float((equity[-1] - initial) / initial * 100),
        "Buy & Hold Return [%]": _buy_and_hold(performance),
    }
    annualized = _risk(times, equity, initial, duration, stats)
    _drawdowns(times, equity, initial, unit, annualized, stats)
    _trades(performance.round_trips(), unit, stats)
    return {name: stats[name] for name in STAT_NAMES}


#: Milliseconds of each unit a duration is rounded up to, finest first (pandas' resolutions).
_UNITS = (1, 1_000, 60_000, 3_600_000, 86_400_000)


def _period_unit(times) -> int:
    """The unit (ms) durations are rounded up to: that of the median spacing of the last 100
    candles, its finest nonzero part (a day, an hour, a minute, ...); 0 (no rounding) for a
    single candle or a zero spacing."""
    import numpy as np

    if len(times) < 2:
        return 0
    spacing = int(np.int64(np.median(np.diff(times[-100:]).astype(np.float64))))
    if spacing == 0:
        return 0
    for finer, coarser in pairwise((*_UNITS, None)):
        if coarser is None or spacing % coarser:
            return finer
    raise AssertionError("unreachable")


def _ceil(value: int | None, unit: int) -> int | None:
    """A duration rounded up to a multiple of `unit` (in the duration's own unit), as pandas'
    `Timedelta.ceil` does; unchanged when `unit` is 0."""
    if value is None or not unit or value % unit == 0:
        return value
    return value + unit - value % unit


def _mean_duration(durations) -> int:
    """The mean of int64 durations as pandas' `Series.mean` of Timedeltas computes it: a float64
    sum over a float64 count, truncated to the durations' unit."""
    import numpy as np

    return int(np.int64(durations.sum(dtype=np.float64) / np.float64(len(durations))))


def _geometric_mean(returns) -> float:
    import numpy as np

    growth = np.asarray(returns, dtype=float)
    growth = np.nan_to_num(growth, nan=0.0) + 1
    if np.any(growth <= 0):
        return 0.0
    return float(np.exp(np.log(growth).sum() / (len(growth) or np.nan)) - 1)


def _buy_and_hold(performance: Performance) -> float:
    """Return of holding each traded symbol from the first candle the strategy could trade."""
    import numpy as np

    start = performance.first_trading_ts if performance.first_trading_ts is not None else performance.times[0]
    returns = []
    for times, closes in performance.prices.values():
        first = int(np.searchsorted(np.asarray(times), start))
        if first < len(closes):
            returns.append((closes[-1] - closes[first]) / closes[first] * 100)
    return float(np.mean(returns)) if returns else float("nan")


def _variance(values, ddof: int):
    """pandas' `Series.var`: two passes, float64 sums, NaN when there are `ddof` values or fewer."""
    import numpy as np

    count = np.float64(len(values))
    if count <= ddof:
        return np.float64(np.nan)
    average = values.sum(dtype=np.float64) / count
    return ((average - values) ** 2).sum(dtype=np.float64) / (count - np.float64(ddof))


def _daily_closes(times, equity):
    """The last equity of each UTC day that has one (pandas' `resample("D").last()`, which
    skips NaN, then `dropna()`), in day order."""
    import numpy as np

    if len(times) > 1 and np.any(times[1:] < times[:-1]):
        order = np.argsort(times, kind="stable")
        times, equity = times[order], equity[order]
    known = ~np.isnan(equity)
    if not known.all():
        times, equity = times[known], equity[known]
    days = times // 86_400_000
    ends = np.flatnonzero(np.r_[days[1:] != days[:-1], True]) if len(days) else np.arange(0)
    return equity[ends]


def _risk(times, equity, initial: float, duration: int, stats: dict) -> float:
    """The annualized return, volatility, CAGR, Sharpe and Sortino ratios into `stats`; returns
    the annualized return (a fraction) for the Calmar ratio."""
    import numpy as np

    weekdays = (times // 86_400_000 + 3) % 7  # 1970-01-01 was a Thursday (3; Monday is 0)
    weekends = np.count_nonzero(weekdays >= 5) / len(times) > 2 / 7 * 0.6
    days_a_year = 365 if weekends else 252
    closes = _daily_closes(times, equity).copy()
    closes[0] = initial  # the first day's change counts from the initial cash, not its own close
    with np.errstate(divide="ignore", invalid="ignore"):
        daily = closes[1:] / closes[:-1] - 1
    daily = daily[~np.isnan(daily)]
    mean_daily = _geometric_mean(daily)
    annualized = (1 + mean_daily) ** days_a_year - 1
    variance = _variance(daily, int(bool(daily.shape[0]))) if len(daily) else float("nan")
    volatility = np.sqrt((variance + (1 + mean_daily) ** 2) ** days_a_year - (1 + mean_daily) ** (2 * days_a_year))
    days, rest = divmod(duration, 86_400_000)
    years = (days + rest // 1000 / 86400) / 365.25
    with np.errstate(divide="ignore", invalid="ignore"):
        if len(daily):
            downside = np.minimum(daily, 0.0) ** 2
            downside = np.sqrt(downside.sum() / np.float64(len(downside))) * np.sqrt(days_a_year)
        else:
            downside = np.nan
        sortino = annualized / downside if downside else np.nan
        cagr = ((equity[-1] / initial) ** (1 / years) - 1) * 100 if years else float("nan")
    stats["Return (Ann.) [%]"] = annualized * 100
    stats["Volatility (Ann.) [%]"] = float(volatility * 100)
    stats["CAGR [%]"] = float(cagr)
    stats["Sharpe Ratio"] = float((annualized * 100) / (volatility * 100)) if volatility else float("nan")
    stats["Sortino Ratio"] = float(sortino)
    return annualized


def _drawdowns(times, equity, initial: float, unit: int, annualized: float, stats: dict) -> None:
    import numpy as np

    # The initial cash is the first peak: a loss on the first candle is a drawdown from it.
    times, equity = np.r_[times[0], times], np.r_[initial, equity]
    drawdown = 1 - equity / np.maximum.accumulate(equity)
    peaks_at = np.unique(np.r_[(drawdown == 0).nonzero()[0], len(drawdown) - 1])
    previous, current = peaks_at[:-1], peaks_at[1:]
    lasted = current > previous + 1  # a drawdown lasted from `previous` until `current`
    if len(previous):  # the deepest point from each peak to the next, both included
        deepest = np.maximum(np.maximum.reduceat(drawdown, previous), drawdown[current])[lasted]
    durations = (times[current] - times[previous])[lasted]
    max_drawdown = float(np.nan_to_num(drawdown.max()))
    stats["Calmar Ratio"] = annualized / max_drawdown if max_drawdown else float("nan")
    stats["Max. Drawdown [%]"] = -max_drawdown * 100
    stats["Avg. Drawdown [%]"] = -float(np.mean(deepest)) * 100 if len(durations) else float("nan")
    stats["Max. Drawdown Duration"] = _ceil(int(durations.max()), unit) if len(durations) else None
    stats["Avg. Drawdown Duration"] = _ceil(_mean_duration(durations), unit) if len(durations) else None


def _trip_columns(trips) -> tuple:
    """The round trips' profits (floats) and returns (backtesting.py's, floats)."""
    import numpy as np

    pnl = np.array([float(t.pnl) for t in trips], dtype=float)
    returns = np.array([t.return_pct for t in trips], dtype=float)
    return pnl, returns


def _trades(trips, unit: int, stats: dict) -> None:
    import numpy as np

    pnl, returns = _trip_columns(trips)
    count = len(trips)
    stats.update(_trade_stats(pnl, returns))
    # as Timedeltas of nanoseconds, as backtesting.py keeps them; shown in milliseconds
    durations = np.array([t.exit_ts - t.entry_ts for t in trips], dtype=np.int64) * 1_000_000
    spread = np.sqrt(_variance(pnl, 1)) if count > 1 else float("nan")
    longest = _ceil(int(durations.max()), unit * 1_000_000) if count else None
    average = _ceil(_mean_duration(durations), unit * 1_000_000) if count else None
    stats["Max. Trade Duration"] = None if longest is None else int(longest / 1_000_000.0)
    stats["Avg. Trade Duration"] = None if average is None else int(average / 1_000_000.0)
    mean_pnl = pnl.sum() / np.float64(count) if count else np.nan
    stats["SQN"] = float(np.sqrt(count) * mean_pnl / spread) if count and spread else float("nan")


def _trade_stats(pnl, returns) -> dict[str, object]:
    """What backtesting.py says of round trips (their profits and returns as floats), durations
    and SQN aside."""
    import numpy as np

    count = len(returns)
    if not count:
        nan = float("nan")
        return {"# Trades": 0, "Win Rate [%]": nan, "Best Trade [%]": nan, "Worst Trade [%]": nan,
                "Avg. Trade [%]": nan, "Profit Factor": nan, "Expectancy [%]": nan}  # fmt: skip
    losses = abs(returns[returns < 0].sum())
    return {
        "# Trades": count,
        "Win Rate [%]": float(np.count_nonzero(pnl > 0) / count * 100),
        "Best Trade [%]": float(returns.max() * 100),
        "Worst Trade [%]": float(returns.min() * 100),
        "Avg. Trade [%]": _geometric_mean(returns) * 100,
        "Profit Factor": float(returns[returns > 0].sum() / losses) if losses else float("nan"),
        "Expectancy [%]": float(returns.sum() / np.float64(count) * 100),
    }
