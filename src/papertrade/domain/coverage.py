"""Ranges of candle open times: which parts of a wanted range are neither stored nor known to be
empty, and which open times a page of candles left empty. Ranges are (first, last) pairs,
inclusive, on a timeframe grid of `step` milliseconds."""

from collections.abc import Iterator, Sequence
from dataclasses import dataclass

from papertrade.domain.bars import Bar

Range = tuple[int, int]


@dataclass(frozen=True, slots=True)
class Series:
    """One stored candle series."""

    exchange: str
    symbol: str
    timeframe: str


@dataclass(frozen=True, slots=True)
class SeriesExtent:
    series: Series
    first_ts: int
    last_ts: int
    count: int


def subtract(ranges: Sequence[Range], removed: Sequence[Range], step: int) -> Iterator[Range]:
    """The parts of the (first, last) `ranges` outside every range in `removed` (both sorted)."""
    for first, last in ranges:
        cursor = first
        for low, high in removed:
            if high < cursor or low > last:
                continue
            if low > cursor:
                yield cursor, low - step
            cursor = max(cursor, high + step)
        if cursor <= last:
            yield cursor, last


def empty_runs(bars: Sequence[Bar], start: int, step: int) -> Iterator[Range]:
    """The runs of open times from `start` up to the last of `bars` (oldest first) that hold no candle."""
    expected = start
    for bar in bars:
        if bar.ts > expected:
            yield expected, bar.ts - step
        expected = bar.ts + step


def slots(ranges: Sequence[Range], step: int) -> int:
    """How many candle open times the ranges hold."""
    return sum((last - first) // step + 1 for first, last in ranges)
