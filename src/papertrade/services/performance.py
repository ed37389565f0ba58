"""How a portfolio did: equity marked to market at every processed candle, round-trip trades,
and per-symbol PnL, built the same way from the ledger (paper) and from a backtest.

`statistics` computes backtesting.py's statistics, with its names and formulas, so that paper
and backtest reports line up with each other and with what backtesting.py users know.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from itertools import pairwise
from typing import TYPE_CHECKING

from papertrade.domain.money import ZERO, exact
from papertrade.errors import NotFound

if TYPE_CHECKING:
    import numpy as np

    from papertrade.adapters.unit_of_work import Ledger


@dataclass(frozen=True, slots=True)
class FillRow:
    candle_ts: int
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    notional: Decimal
    realized_pnl: Decimal


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A BUY and the SELL that closed it (papertrade holds one position per symbol)."""

    symbol: str
    entry_ts: int
    exit_ts: int
    size: Decimal
    entry_price: Decimal
    exit_price: Decimal
    commissions: Decimal
    pnl: Decimal  # after both fees

    @property
    def return_pct(self) -> float:
        """backtesting.py's trade return: price change minus commissions per unit of entry value."""
        gross = float(self.exit_price) / float(self.entry_price) - 1
        return gross - float(self.commissions) / (float(self.size) * float(self.entry_price))


@dataclass(frozen=True, slots=True)
class SymbolPnl:
    symbol: str
    quantity: Decimal
    avg_cost: Decimal
    last_price: Decimal | None
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal


class EquitySeries(Sequence[Decimal]):
    """Equity at every processed candle: exact `Decimal`s on demand, floats for statistics.

    A paper portfolio's equity is a list of exact values; a backtest over hundreds of thousands
    of candles computes its floats in one go and an exact value only where one is asked for.
    """

    def __init__(self, floats: "np.ndarray", exact_at: Callable[[int], Decimal]) -> None:
        self._floats = floats
        self._exact_at = exact_at

    @classmethod
    def of(cls, values: Sequence[Decimal]) -> "EquitySeries":
        import numpy as np

        values = list(values)
        return cls(np.array([float(v) for v in values], dtype=float), values.__getitem__)

    def floats(self) -> "np.ndarray":
        return self._floats

    def __len__(self) -> int:
        return len(self._floats)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._exact_at(index)

    def peak(self) -> Decimal:
        """The exact highest value (floats locate it; near-ties are settled exactly)."""
        import numpy as np

        top = self._floats.max()
        candidates = np.flatnonzero(self._floats >= top - abs(top) * 1e-9)
        return max(self[int(i)] for i in candidates)


@dataclass
class Performance:
    """Everything the report needs; `times[i]` is the open time of the i-th processed candle.

    `prices[symbol]` holds the closes the portfolio saw, as (open times, float closes).
    """

    quote: str
    initial_cash: Decimal
    cash: Decimal | None = None  # at the end
    times: Sequence[int] = field(default_factory=list)
    equity: EquitySeries = field(default_factory=lambda: EquitySeries.of([]))
    in_market: Sequence[bool] = field(default_factory=list)
    fills: list[FillRow] = field(default_factory=list)
    symbols: list[SymbolPnl] = field(default_factory=list)
    prices: dict[str, tuple[Sequence[int], Sequence[float]]] = field(default_factory=dict)
    first_trading_ts: int | None = None

    @property
    def fees(self) -> Decimal:
        with exact():
            return sum((f.fee for f in self.fills), ZERO)

    def round_trips(self) -> list[RoundTrip]:
        opened: dict[str, FillRow] = {}
        trips = []
        for fill in self.fills:
            if fill.side == "BUY":
                opened[fill.symbol] = fill
            elif fill.symbol in opened:
                entry = opened.pop(fill.symbol)
                with exact():
                    commissions = entry.fee + fill.fee
                    pnl = fill.notional - entry.notional - commissions
                trips.append(
                    RoundTrip(
                        fill.symbol,
                        entry.candle_ts,
                        fill.candle_ts,
                        entry.quantity,
                        entry.price,
                        fill.price,
                        commissions,
                        pnl,
                    )
                )
        return trips


# -- from the ledger ------------------------------------------------------------------------


def from_ledger(ledger: "Ledger | None", portfolio_id: int) -> Performance:
    """The performance of a paper portfolio, from its tick journal and trades.

    The equity at a processed candle is the cash after it plus every position marked at its
    symbol's latest close; several symbols ticking on one candle share one point. Floats are
    computed for all candles at once; exact values only where one is asked for.
    """
    from papertrade.adapters.read_models import tick_columns
    from papertrade.services.portfolios import require_ledger

    with require_ledger(ledger, portfolio_id).unit_of_work() as uow:
        stored = uow.portfolios.get(portfolio_id)
        columns = tick_columns(uow.connection, portfolio_id)
        trades = uow.trades.list(portfolio_id)
    performance = Performance(stored.config.quote, stored.book.initial_cash, stored.book.cash)
    performance.fills = [
        FillRow(t.candle_ts, t.symbol, t.side, t.quantity, t.price, t.fee, t.notional, t.realized_pnl) for t in trades
    ]
    last_close = _mark_to_market(performance, *columns)
    performance.symbols = [
        _symbol_pnl(position, last_close.get(symbol)) for symbol, position in sorted(stored.book.positions.items())
    ]
    return performance


def _mark_to_market(performance: Performance, symbols, times, closes, cash_after, held_after, warming) -> dict:
    """Fill in times, equity, exposure and prices from the tick columns (amounts as text or
    `Decimal`, see `tick_columns`); return each symbol's last close."""
    import numpy as np

    if not times:
        return {}
    ts = np.asarray(times, dtype=np.int64)
    close_f, held_f = np.asarray(closes, dtype=float), np.asarray(held_after, dtype=float)
    latest, equity_f, holding = equity_floats(symbols, close_f, np.asarray(cash_after, dtype=float), held_f)
    for symbol, at in latest.items():
        mine = at == np.arange(len(ts))
        performance.prices[symbol] = (ts[mine].tolist(), close_f[mine].tolist())
    in_market = holding | np.r_[False, holding[:-1]]
    ends = run_ends(ts)
    starts = np.r_[0, ends[:-1] + 1]

    def exact_at(point: int) -> Decimal:
        row = int(ends[point])
        with exact():
            marked = (
                Decimal(held_after[int(at[row])]) * Decimal(closes[int(at[row])])
                for at in latest.values()
                if at[row] >= 0
            )
            return Decimal(cash_after[row]) + sum(marked, ZERO)

    performance.times = ts[ends].tolist()
    performance.equity = EquitySeries(equity_f[ends], exact_at)
    performance.in_market = np.logical_or.reduceat(in_market, starts).tolist()
    trading = [i for i, w in enumerate(warming) if not w][:1]
    performance.first_trading_ts = int(ts[trading[0]]) if trading else None
    return {symbol: Decimal(closes[int(at[-1])]) for symbol, at in latest.items()}


def equity_floats(symbols, close_f, cash_f, held_f):
    """Equity at every tick row as floats, and whether anything was held after it.

    Returns (symbol -> index of its latest row at or before each row, -1 before its first;
    equity per row; holding per row). Rows are in time order, one symbol each.
    """
    import numpy as np

    count, names = len(symbols), np.asarray(symbols, dtype=object)
    latest = {
        symbol: np.maximum.accumulate(np.where(names == symbol, np.arange(count), -1))
        for symbol in dict.fromkeys(symbols)
    }
    equity, holding = np.array(cash_f, dtype=float), np.zeros(count, dtype=bool)
    for at in latest.values():
        seen = at >= 0
        equity += np.where(seen, held_f[at] * close_f[at], 0.0)
        holding |= seen & (held_f[at] > 0)
    return latest, equity, holding


def run_ends(ts):
    """Index of the last row of each run of equal candle times (one equity point per candle)."""
    import numpy as np

    return np.flatnonzero(np.r_[ts[1:] != ts[:-1], True]) if len(ts) else np.arange(0)


def _symbol_pnl(position, last_price: Decimal | None) -> SymbolPnl:
    unrealized = position.unrealized_pnl(last_price) if last_price is not None and position.is_open else ZERO
    return SymbolPnl(
        position.symbol,
        position.quantity,
        position.avg_cost,
        last_price,
        position.realized_pnl,
        unrealized,
        position.fees_paid,
    )


# -- statistics -----------------------------------------------------------------------------

#: The statistics a report shows, in backtesting.py's order and with its names.
STAT_NAMES = (
    "Start", "End", "Duration", "Exposure Time [%]", "Equity Final [$]", "Equity Peak [$]", "Commissions [$]",
    "Return [%]", "Buy & Hold Return [%]", "Return (Ann.) [%]", "Volatility (Ann.) [%]", "CAGR [%]",
    "Sharpe Ratio", "Sortino Ratio", "Calmar Ratio", "Max. Drawdown [%]", "Avg. Drawdown [%]",
    "Max. Drawdown Duration", "Avg. Drawdown Duration", "# Trades", "Win Rate [%]", "Best Trade [%]",
    "Worst Trade [%]", "Avg. Trade [%]", "Max. Trade Duration", "Avg. Trade Duration", "Profit Factor",
    "Expectancy [%]", "SQN",
)  # fmt: skip


def statistics(performance: Performance) -> dict[str, object]:
    """backtesting.py's statistics of a performance (risk-free rate 0).

    Money (equity, commissions) stays `Decimal`; ratios and percentages are floats (NaN where
    undefined, as in backtesting.py); times are pandas Timestamps and Timedeltas. Annualized
    figures use 365 days a year when the candles include weekends, 252 when they do not.
    """
    import numpy as np
    import pandas as pd

    if len(performance.times) == 0:
        raise NotFound("nothing to report yet: the portfolio has processed no candles")
    index = pd.DatetimeIndex(np.asarray(performance.times, dtype="int64").astype("datetime64[ms]"), tz="UTC")
    equity = performance.equity.floats()
    period = _period(index)
    stats: dict[str, object] = {
        "Start": index[0],
        "End": index[-1],
        "Duration": index[-1] - index[0],
        "Exposure Time [%]": float(np.mean(performance.in_market)) * 100,
        "Equity Final [$]": performance.equity[-1],
        "Equity Peak [$]": performance.equity.peak(),
        "Commissions [$]": performance.fees,
        "Return [%]": (equity[-1] - equity[0]) / equity[0] * 100,
        "Buy & Hold Return [%]": _buy_and_hold(performance),
    }
    stats.update(_risk(index, equity, stats["Duration"]))
    stats.update(_drawdowns(index, equity, period, stats["_annualized"]))
    stats.update(_trades(performance, period))
    del stats["_annualized"]
    return {name: stats[name] for name in STAT_NAMES}


def _period(index):
    import pandas as pd

    return pd.Series(index[-100:]).diff().dropna().median() if len(index) > 1 else pd.Timedelta(0)


def _ceil(value, period):
    import pandas as pd

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


def _risk(index, equity, duration) -> dict[str, object]:
    import numpy as np
    import pandas as pd

    weekends = index.day_of_week.to_series().between(5, 6).mean() > 2 / 7 * 0.6
    days_a_year = 365 if weekends else 252
    daily = pd.Series(equity, index=index).resample("D").last().dropna().pct_change().dropna()
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
        "CAGR [%]": ((equity[-1] / equity[0]) ** (1 / years) - 1) * 100 if years else float("nan"),
        "Sharpe Ratio": (annualized * 100) / (volatility * 100) if volatility else float("nan"),
        "Sortino Ratio": float(sortino),
        "_annualized": annualized,
    }


def _drawdowns(index, equity, period, annualized: float) -> dict[str, object]:
    import numpy as np
    import pandas as pd

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
    import pandas as pd

    trips = performance.round_trips()
    pnl = pd.Series([float(t.pnl) for t in trips], dtype=float)
    returns = pd.Series([t.return_pct for t in trips], dtype=float)
    durations = pd.Series([pd.Timedelta(milliseconds=t.exit_ts - t.entry_ts) for t in trips], dtype="timedelta64[ns]")
    count = len(trips)
    losses = abs(returns[returns < 0].sum())
    spread = pnl.std() if count > 1 else float("nan")
    return {
        "# Trades": count,
        "Win Rate [%]": float((pnl > 0).mean() * 100) if count else float("nan"),
        "Best Trade [%]": float(returns.max() * 100) if count else float("nan"),
        "Worst Trade [%]": float(returns.min() * 100) if count else float("nan"),
        "Avg. Trade [%]": _geometric_mean(returns) * 100 if count else float("nan"),
        "Max. Trade Duration": _ceil(durations.max(), period) if count else pd.NaT,
        "Avg. Trade Duration": _ceil(durations.mean(), period) if count else pd.NaT,
        "Profit Factor": float(returns[returns > 0].sum() / losses) if losses else float("nan"),
        "Expectancy [%]": float(returns.mean() * 100) if count else float("nan"),
        "SQN": float(np.sqrt(count) * pnl.mean() / spread) if count and spread else float("nan"),
    }
