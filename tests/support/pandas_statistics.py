"""The report's statistics as they were computed before they moved to plain numpy: pandas'
Series, resampling and Timedeltas, the formulas of backtesting.py as it writes them. Tests
compare `papertrade.reports.statistics` with this, bit for bit, on real backtests."""

from itertools import pairwise

import pandas as pd

from papertrade.errors import NotFound
from papertrade.reports.model import Performance
from papertrade.reports.statistics import SIDE_STAT_KINDS, SIDE_STAT_NAMES, STAT_KINDS, STAT_NAMES, cost_of_execution


def side_statistics(performance: Performance) -> dict[str, dict[str, object]]:
    from papertrade.domain.money import ZERO, exact

    trips = performance.round_trips()
    split = {}
    for side in ("long", "short"):
        mine = [trip for trip in trips if trip.side == side]
        stats = _trade_stats(mine)
        with exact():
            stats["Net PnL [$]"] = sum((trip.pnl for trip in mine), ZERO)
        split[side] = {name: _plain(stats[name], SIDE_STAT_KINDS[name]) for name in SIDE_STAT_NAMES}
    return split


def statistics(performance: Performance) -> dict[str, object]:
    """backtesting.py's statistics of a performance (risk-free rate 0), as plain values (see the
    module). Annualized figures use 365 days a year when the candles include weekends, 252 when
    they do not."""
    stats = _pandas_statistics(performance)
    return {name: _plain(stats[name], STAT_KINDS[name]) for name in STAT_NAMES}


def _plain(value, kind: str):
    if kind in ("time", "duration"):
        if value is None or pd.isna(value):
            return None
        return int(value.value // 1_000_000) if kind == "time" else int(value / pd.Timedelta(milliseconds=1))
    if kind == "count":
        return int(value)
    return value if kind in ("money", "cost") else float(value)


def _pandas_statistics(performance: Performance) -> dict[str, object]:
    import numpy as np

    if len(performance.times) == 0:
        raise NotFound("nothing to report yet: the portfolio has processed no candles")
    index = pd.DatetimeIndex(np.asarray(performance.times, dtype="int64").astype("datetime64[ms]"), tz="UTC")
    equity = performance.equity.floats()
    initial = float(performance.initial_cash)  # every return is measured from the cash the portfolio started with
    period = _period(index)
    stats: dict[str, object] = {
        "Start": index[0],
        "End": index[-1],
        "Duration": index[-1] - index[0],
        "Exposure Time [%]": float(np.mean(performance.in_market)) * 100,
        "Equity Final [$]": performance.equity[-1],
        "Equity Peak [$]": max(performance.initial_cash, performance.equity.peak()),
        "Commissions [$]": performance.fees,
        **cost_of_execution(performance),
        "Funding [$]": performance.funding_paid,
        "Return [%]": (equity[-1] - initial) / initial * 100,
        "Buy & Hold Return [%]": _buy_and_hold(performance),
    }
    stats.update(_risk(index, equity, initial, stats["Duration"]))
    stats.update(_drawdowns(index, equity, initial, period, stats["_annualized"]))
    stats.update(_trades(performance, period))
    return stats


def _period(index):
    return pd.Series(index[-100:]).diff().dropna().median() if len(index) > 1 else pd.Timedelta(0)


def _ceil(value, period):
    if not isinstance(value, pd.Timedelta) or pd.isna(value) or not period:
        return value
    return value.ceil(period.resolution_string)


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


def _risk(index, equity, initial: float, duration) -> dict[str, object]:
    import numpy as np

    weekends = index.day_of_week.to_series().between(5, 6).mean() > 2 / 7 * 0.6
    days_a_year = 365 if weekends else 252
    closes = pd.Series(equity, index=index).resample("D").last().dropna()
    closes.iloc[0] = initial  # the first day's change counts from the initial cash, not its own close
    daily = closes.pct_change().dropna()
    mean_daily = _geometric_mean(daily)
    annualized = (1 + mean_daily) ** days_a_year - 1
    variance = daily.var(ddof=int(bool(daily.shape[0]))) if len(daily) else float("nan")
    volatility = np.sqrt((variance + (1 + mean_daily) ** 2) ** days_a_year - (1 + mean_daily) ** (2 * days_a_year))
    years = (duration.days + duration.seconds / 86400) / 365.25
    with np.errstate(divide="ignore", invalid="ignore"):
        downside = np.sqrt(np.mean(daily.clip(upper=0) ** 2)) * np.sqrt(days_a_year) if len(daily) else np.nan
        sortino = annualized / downside if downside else np.nan
    return {
        "Return (Ann.) [%]": annualized * 100,
        "Volatility (Ann.) [%]": float(volatility * 100),
        "CAGR [%]": ((equity[-1] / initial) ** (1 / years) - 1) * 100 if years else float("nan"),
        "Sharpe Ratio": (annualized * 100) / (volatility * 100) if volatility else float("nan"),
        "Sortino Ratio": float(sortino),
        "_annualized": annualized,
    }


def _drawdowns(index, equity, initial: float, period, annualized: float) -> dict[str, object]:
    import numpy as np

    # The initial cash is the first peak: a loss on the first candle is a drawdown from it.
    index, equity = index.insert(0, index[0]), np.r_[initial, equity]
    drawdown = 1 - equity / np.maximum.accumulate(equity)
    peaks_at = np.unique(np.r_[(drawdown == 0).nonzero()[0], len(drawdown) - 1])
    durations, depths = [], []
    for previous, current in pairwise(peaks_at):
        if current > previous + 1:  # a drawdown lasted from `previous` until `current`
            durations.append(index[current] - index[previous])
            depths.append(drawdown[previous : current + 1].max())
    max_drawdown = float(np.nan_to_num(drawdown.max()))
    return {
        "Calmar Ratio": annualized / max_drawdown if max_drawdown else float("nan"),
        "Max. Drawdown [%]": -max_drawdown * 100,
        "Avg. Drawdown [%]": -float(np.mean(depths)) * 100 if depths else float("nan"),
        "Max. Drawdown Duration": _ceil(max(durations), period) if durations else pd.NaT,
        "Avg. Drawdown Duration": _ceil(pd.Series(durations).mean(), period) if durations else pd.NaT,
    }


def _trades(performance: Performance, period) -> dict[str, object]:
    import numpy as np

    trips = performance.round_trips()
    durations = pd.Series([pd.Timedelta(milliseconds=t.exit_ts - t.entry_ts) for t in trips], dtype="timedelta64[ns]")
    count = len(trips)
    pnl = pd.Series([float(t.pnl) for t in trips], dtype=float)
    spread = pnl.std() if count > 1 else float("nan")
    return {
        **_trade_stats(trips),
        "Max. Trade Duration": _ceil(durations.max(), period) if count else pd.NaT,
        "Avg. Trade Duration": _ceil(durations.mean(), period) if count else pd.NaT,
        "SQN": float(np.sqrt(count) * pnl.mean() / spread) if count and spread else float("nan"),
    }


def _trade_stats(trips) -> dict[str, object]:
    """What backtesting.py says of a list of round trips, durations and SQN aside."""
    pnl = pd.Series([float(t.pnl) for t in trips], dtype=float)
    returns = pd.Series([t.return_pct for t in trips], dtype=float)
    count = len(trips)
    losses = abs(returns[returns < 0].sum())
    return {
        "# Trades": count,
        "Win Rate [%]": float((pnl > 0).mean() * 100) if count else float("nan"),
        "Best Trade [%]": float(returns.max() * 100) if count else float("nan"),
        "Worst Trade [%]": float(returns.min() * 100) if count else float("nan"),
        "Avg. Trade [%]": _geometric_mean(returns) * 100 if count else float("nan"),
        "Profit Factor": float(returns[returns > 0].sum() / losses) if losses else float("nan"),
        "Expectancy [%]": float(returns.mean() * 100) if count else float("nan"),
    }
