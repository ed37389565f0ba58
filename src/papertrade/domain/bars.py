"""Bars (candles) and the rules a batch of them must pass before it is stored or traded on."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from papertrade.domain.timeframes import Timeframe
from papertrade.errors import DataError


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed candle; `ts` is its open time in milliseconds since the epoch (UTC)."""

    ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


def validate_bar(bar: Bar, timeframe: Timeframe) -> None:
    """Raise `DataError` unless the bar is internally consistent and on the timeframe grid."""
    prices = (bar.open, bar.high, bar.low, bar.close)
    if not all(p.is_finite() and p > 0 for p in prices):
        raise DataError(f"candle {bar.ts} has a price that is not a positive number")
    if not bar.volume.is_finite() or bar.volume < 0:
        raise DataError(f"candle {bar.ts} has a negative or non-finite volume")
    if bar.high < max(bar.open, bar.close) or bar.low > min(bar.open, bar.close):
        raise DataError(f"candle {bar.ts} has high/low outside its open and close")
    if not timeframe.on_grid(bar.ts):
        raise DataError(f"candle {bar.ts} does not open on the {timeframe} grid")


def validate_series(bars: Sequence[Bar], timeframe: Timeframe) -> None:
    """Validate every bar and require strictly increasing open times (no duplicates)."""
    previous = None
    for bar in bars:
        validate_bar(bar, timeframe)
        if previous is not None and bar.ts <= previous:
            problem = "duplicate" if bar.ts == previous else "out-of-order"
            raise DataError(f"exchange sent {problem} candles at {bar.ts}")
        previous = bar.ts
