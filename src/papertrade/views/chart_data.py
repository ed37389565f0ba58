"""What a chart of a performance shows, as float arrays thinned to what a screen can hold.

Every chart (the dashboard's, `--plot FILE.html`, `--plot FILE.png`) is drawn from a
`ChartData`: candles per symbol, the trades, the strategy's indicators and the levels it acts
on, the equity beside buy-and-hold and the starting cash, the drawdown. A chart is a few
thousand pixels wide; a history may hold hundreds of thousands of candles, so candles are
merged into wider ones (open of the first, highest high, lowest low, close of the last) and
lines keep one point per bucket (the drawdown its deepest).
"""

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from decimal import Decimal

    import numpy as np

    from papertrade.reports.model import FillRow, Performance

MAX_CANDLES = 1500
MAX_POINTS = 3000


@dataclass(frozen=True)
class Candles:
    """OHLC columns; a symbol known only by its closes has open = high = low = close."""

    ts: "np.ndarray"
    open: "np.ndarray"
    high: "np.ndarray"
    low: "np.ndarray"
    close: "np.ndarray"

    @classmethod
    def of_closes(cls, ts, closes) -> "Candles":
        import numpy as np

        closes = np.asarray(closes, dtype=float)
        return cls(np.asarray(ts, dtype=np.int64), closes, closes, closes, closes)

    def thinned(self, limit: int = MAX_CANDLES) -> "Candles":
        import numpy as np

        starts = _bucket_starts(len(self.ts), limit)
        if len(starts) == len(self.ts):
            return self
        ends = np.r_[starts[1:] - 1, len(self.ts) - 1]
        high, low = np.maximum.reduceat(self.high, starts), np.minimum.reduceat(self.low, starts)
        return Candles(self.ts[starts], self.open[starts], high, low, self.close[ends])


@dataclass
class ChartData:
    title: str
    quote: str
    initial_cash: float
    times: "np.ndarray"
    equity: "np.ndarray"
    candles: dict[str, Candles]
    fills: list["FillRow"] = field(default_factory=list)
    #: symbol -> indicator name -> (open times, values)
    indicators: dict[str, dict[str, tuple["np.ndarray", "np.ndarray"]]] = field(default_factory=dict)
    #: indicator name -> the levels the strategy acts on (see `Strategy.indicator_levels`)
    levels: dict[str, tuple[float, ...]] = field(default_factory=dict)
    first_trading_ts: int | None = None
    timeframe_ms: int | None = None
    #: the resting orders (`RestingOrder`s), drawn as levels over their symbol's candles
    orders: list = field(default_factory=list)
    #: the levels orders held before they filled, were cancelled or expired (`PastLevel`s)
    past_levels: list = field(default_factory=list)
    #: symbol -> (liquidation price, open time of the candle of the position's last fill), drawn
    #: as a level over the candles of each open position that can be liquidated
    liquidations: dict[str, tuple["Decimal", int]] = field(default_factory=dict)

    def buy_and_hold(self) -> "np.ndarray":
        """The starting cash held in the traded symbols (equal parts) from the first candle the
        strategy could trade on, as `Buy & Hold Return [%]` counts it; cash before that."""
        import numpy as np

        start = self.first_trading_ts if self.first_trading_ts is not None else int(self.times[0])
        growth = []
        for candles in self.candles.values():
            first = int(np.searchsorted(candles.ts, start))
            if first < len(candles.ts):
                at = np.clip(np.searchsorted(candles.ts, self.times, side="right") - 1, first, None)
                growth.append(np.where(self.times >= candles.ts[first], candles.close[at] / candles.close[first], 1.0))
        if not growth:
            return np.full(len(self.times), self.initial_cash)
        return self.initial_cash * np.mean(growth, axis=0)

    def drawdown_pct(self) -> "np.ndarray":
        import numpy as np

        peaks = np.maximum.accumulate(self.equity)
        return np.where(peaks > 0, (self.equity / np.where(peaks > 0, peaks, 1) - 1) * 100, 0.0)

    def lines(self, limit: int = MAX_POINTS) -> dict[str, "np.ndarray"]:
        """Equity, buy-and-hold and drawdown thinned to `limit` points on one time axis."""
        import numpy as np

        starts = _bucket_starts(len(self.times), limit)
        ends = np.r_[starts[1:] - 1, len(self.times) - 1] if len(starts) else starts
        drawdown = self.drawdown_pct()
        return {
            "times": self.times[ends],
            "equity": self.equity[ends],
            "buy_and_hold": self.buy_and_hold()[ends],
            "drawdown": np.minimum.reduceat(drawdown, starts) if len(starts) else drawdown,
        }


@dataclass(frozen=True)
class PastLevel:
    """A price an order rested at from `start_ts` to `end_ts` (both candles' open times), and
    how that ended: "filled", "cancelled", "expired", or "moved" (a trailing stop's step)."""

    symbol: str
    kind: str
    price: float
    start_ts: int
    end_ts: int
    ended: str


def past_levels(history) -> list[PastLevel]:
    """The levels of orders that no longer rest, from the journal's order changes
    (`read_models.order_history`, oldest first): each from the candle it was placed (or moved)
    on to the candle it filled, was cancelled, expired or moved on. Orders still resting are
    drawn by `ChartData.orders` instead, and so are their current levels."""
    from decimal import Decimal

    open_levels: dict[tuple, tuple[int, float]] = {}
    levels = []
    for what, candle_ts, symbol, kind, price, placed_ts in history:
        key = (symbol, kind, placed_ts)
        if what == "placed":
            open_levels[key] = (candle_ts, float(Decimal(price)))
            continue
        started = open_levels.pop(key, None)
        if started is not None:
            levels.append(PastLevel(symbol, kind, started[1], started[0], candle_ts, what))
        if what == "moved":
            open_levels[key] = (candle_ts, float(Decimal(price)))
    return levels


def _bucket_starts(count: int, limit: int):
    import numpy as np

    step = max(1, -(-count // limit))
    return np.arange(0, count, step)


def thin_points(ts, values, limit: int = MAX_POINTS):
    """Every k-th point of a line so that at most `limit` remain, always with the last."""
    import numpy as np

    ts, values = np.asarray(ts), np.asarray(values, dtype=float)
    step = max(1, -(-len(ts) // limit))
    keep = np.unique(np.r_[np.arange(0, len(ts), step), len(ts) - 1]) if len(ts) else np.arange(0)
    return ts[keep], values[keep]


def from_performance(performance: "Performance", title: str, **extra) -> ChartData:
    """Chart data of a performance; candles default to the closes the portfolio saw."""
    import numpy as np

    candles = extra.pop("candles", None) or {
        symbol: Candles.of_closes(ts, closes) for symbol, (ts, closes) in performance.prices.items()
    }
    return ChartData(
        title=title,
        quote=performance.quote,
        initial_cash=float(performance.initial_cash),
        times=np.asarray(performance.times, dtype=np.int64),
        equity=performance.equity.floats(),
        candles=candles,
        fills=list(performance.fills),
        first_trading_ts=performance.first_trading_ts,
        **extra,
    )


def for_backtest(performance: "Performance", title: str, candles, strategy, start: int | None = None) -> ChartData:
    """Chart data of a backtest over candle columns: their OHLC and the strategy's indicators,
    from `start` on (the candles before it only warmed the indicators up)."""
    from papertrade.strategies.runner import call_series

    (symbol,) = performance.prices
    series = call_series(strategy, candles.frame())
    shown = candles.between(start, None)
    skip = len(candles) - len(shown)
    ohlc = Candles(shown.ts, *(shown.floats[name] for name in ("open", "high", "low", "close")))
    indicators = {}
    if series is not None:
        indicators[symbol] = {name: thin_points(shown.ts, values[skip:]) for name, values in series.indicators.items()}
    return from_performance(
        performance,
        title,
        candles={symbol: ohlc},
        indicators=indicators,
        levels=strategy.indicator_levels(),
        timeframe_ms=shown.timeframe.ms,
    )


def for_ledger(ledger, portfolio_id: int, performance: "Performance", title: str) -> ChartData:
    """Chart data of a paper portfolio: candles from the candle store (the closes it saw where
    the store has none), and the indicators each tick recorded."""
    from papertrade.adapters.read_models import indicator_rows, order_history

    with ledger.unit_of_work() as uow:
        config = uow.portfolios.get(portfolio_id, with_positions=False).config
        rows = indicator_rows(uow.connection, portfolio_id, *_indicator_grid(performance, config.timeframe.ms))
        candles = _stored_candles(uow.connection, config, performance)
        orders = uow.orders.of(portfolio_id)
        history = order_history(uow.connection, portfolio_id)
        liquidations = _liquidations(uow.portfolios.get(portfolio_id), performance)
    return from_performance(
        performance,
        title,
        candles=candles,
        indicators=_recorded_indicators(rows),
        levels=_levels(config),
        timeframe_ms=config.timeframe.ms,
        orders=orders,
        past_levels=past_levels(history),
        liquidations=liquidations,
    )


def _liquidations(portfolio, performance: "Performance") -> dict[str, tuple["Decimal", int]]:
    """Each open position's liquidation price (`domain.margin`), from the candle it last filled on."""
    from papertrade.domain.margin import liquidation_price

    levels = {}
    for symbol, position in portfolio.book.positions.items():
        level = liquidation_price(position, portfolio.config.margin)
        if level is not None:
            filled = [f.candle_ts for f in performance.fills if f.symbol == symbol]
            levels[symbol] = (level, max(filled, default=0))
    return levels


def _stored_candles(connection, config, performance: "Performance") -> dict[str, Candles]:
    from papertrade.adapters.read_models import thinned_candles

    candles = {}
    for symbol, (ts, closes) in performance.prices.items():
        step = config.timeframe.ms * max(
            1, -(-(ts[-1] - ts[0] + config.timeframe.ms) // config.timeframe.ms // MAX_CANDLES)
        )
        series = (config.exchange, symbol, config.timeframe.name)
        stored = thinned_candles(connection, series, ts[0], ts[-1], step)
        candles[symbol] = Candles(*stored) if stored is not None else Candles.of_closes(ts, closes)
    return candles


def _indicator_grid(performance: "Performance", timeframe_ms: int) -> tuple[int, int, list[int]]:
    """Where a chart needs indicator points: every k-th candle from the first, and each symbol's last."""
    first = int(performance.times[0]) if len(performance.times) else 0
    count = (int(performance.times[-1]) - first) // timeframe_ms + 1 if len(performance.times) else 0
    lasts = [int(ts[-1]) for ts, _ in performance.prices.values() if len(ts)]
    return first, timeframe_ms * max(1, -(-count // MAX_POINTS)), lasts


def _recorded_indicators(rows) -> dict[str, dict[str, tuple]]:
    """Indicator lines per symbol from the ticks' recorded JSON."""
    import json

    import numpy as np

    values: dict[str, dict[str, tuple[list, list]]] = {}
    for ts, symbol, text in rows:
        for name, value in json.loads(text).items():
            if isinstance(value, int | float):
                line = values.setdefault(symbol, {}).setdefault(name, ([], []))
                line[0].append(ts)
                line[1].append(float(value))
    return {
        symbol: {name: (np.asarray(t), np.asarray(v)) for name, (t, v) in lines.items()}
        for symbol, lines in values.items()
    }


def _levels(config) -> dict[str, tuple[float, ...]]:
    from papertrade.errors import PapertradeError
    from papertrade.strategies import registry

    try:
        return registry.build(config.strategy, config.strategy_params).indicator_levels()
    except PapertradeError:
        return {}  # a plug-in that cannot be loaded here still has its chart, without levels


def zoomed_candles(ledger, portfolio_id: int, symbol: str, first: int, last: int) -> dict | None:
    """The stored candles of a portfolio's `symbol` opening in [first, last], as the dashboard
    redraws a zoomed price panel: each real candle when at most `MAX_CANDLES` fit, merged ones
    otherwise, and a note saying which; None when the store holds none there."""
    from papertrade.adapters.read_models import thinned_candles

    with ledger.unit_of_work() as uow:
        config = uow.portfolios.get(portfolio_id, with_positions=False).config
        step = config.timeframe.ms
        first = first - first % step
        width = step * max(1, -(-((last - first) // step + 1) // MAX_CANDLES))
        series = (config.exchange, symbol, config.timeframe.name)
        stored = thinned_candles(uow.connection, series, first, max(first, last), width)
    if stored is None:
        return None
    ts, *ohlc = stored
    note = merged_note(width, step) or f"each bar is one {span(step)} candle"
    columns = dict(zip(("open", "high", "low", "close"), (column.tolist() for column in ohlc), strict=True))
    return {"symbol": symbol, "ts": ts.tolist(), **columns, "bar_ms": width, "note": note}


def merged_note(width: int, timeframe_ms: int) -> str | None:
    """What a bar `width` ms wide is, said for people when it merges candles; None otherwise."""
    if width <= timeframe_ms:
        return None
    return f"each bar merges {width // timeframe_ms:,} candles ({span(width)} a bar) to keep the chart light"


def span(ms: int) -> str:
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000)):
        if ms % size == 0:
            return f"{ms // size}{unit}"
    return f"{ms // 1000}s"
