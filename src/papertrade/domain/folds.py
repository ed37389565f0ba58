"""Walk-forward folds: train on one window of candles, test on the window right after it.

A window is a number of candles (`500`) or a duration (`180d`, `12h`, `90m`, `4w`). Rolling
folds move both windows forward by one test window; anchored folds keep the train window's
start at the first candle and let it grow. Only whole test windows are used: a last test window
the candles do not fill is left out. Every index is into the candle series; a window is
[start, stop).
"""

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from papertrade.errors import InputError

_UNITS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000, "w": 604_800_000}
_SPAN = re.compile(r"(\d+)([mhdw]?)")


@dataclass(frozen=True, slots=True)
class Span:
    """A window's length: `candles` candles, or `ms` milliseconds."""

    text: str
    candles: int | None = None
    ms: int | None = None


@dataclass(frozen=True, slots=True)
class Fold:
    """Candles train_start..train_stop-1 to optimise on, test_start..test_stop-1 to judge on."""

    number: int
    train_start: int
    train_stop: int
    test_start: int
    test_stop: int


def parse_span(text: str, option: str) -> Span:
    """`500` (candles) or `180d` (m, h, d, w): above zero."""
    match = _SPAN.fullmatch(text.strip())
    if match is None or int(match.group(1)) == 0:
        raise InputError(f"{option} takes a number of candles (500) or a duration (180d, 12h, 4w), not {text!r}")
    count, unit = int(match.group(1)), match.group(2)
    return Span(text.strip(), ms=count * _UNITS[unit]) if unit else Span(text.strip(), candles=count)


def make_folds(ts: Sequence[int], timeframe_ms: int, train: Span, test: Span, anchored: bool) -> list[Fold]:
    """The folds over candles opening at `ts` (ascending); InputError when there is none."""
    folds: list[Fold] = []
    start = 0
    while True:
        train_stop = _advance(ts, start, train)
        test_stop = _advance(ts, train_stop, test)
        if test_stop is None or train_stop is None or not _whole(ts, timeframe_ms, train_stop, test_stop, test):
            break
        folds.append(Fold(len(folds) + 1, 0 if anchored else start, train_stop, train_stop, test_stop))
        start = _advance(ts, start, test)
    if not folds:
        raise InputError(f"{len(ts)} candles hold no fold of --train {train.text} and --test {test.text}")
    return folds


def _advance(ts: Sequence[int], start: int | None, span: Span) -> int | None:
    """The index one window of `span` after `start` (None: past the candles)."""
    if start is None or start >= len(ts):
        return None
    if span.candles is not None:
        stop = start + span.candles
        return stop if stop <= len(ts) else None
    return bisect_left(ts, ts[start] + span.ms)


def _whole(ts: Sequence[int], timeframe_ms: int, start: int, stop: int, span: Span) -> bool:
    """Whether the window start..stop-1 is a whole one: not empty, and for a duration, the
    candles reach its end."""
    if stop <= start:
        return False
    if span.candles is not None:
        return True
    return ts[-1] + timeframe_ms >= ts[start] + span.ms
