"""Calling a strategy: the candles it sees, and the one wrapper around user code."""

import os
import sys
import traceback
from collections.abc import Sequence
from typing import TYPE_CHECKING

from papertrade.domain.bars import Bar
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.domain.timeframes import timestamp
from papertrade.errors import StrategyError
from papertrade.strategies.base import SignalSeries, Strategy

if TYPE_CHECKING:
    from papertrade.strategies.candle_frame import CandleFrame

_COLUMNS = ("open", "high", "low", "close", "volume")


class CandleWindow:
    """The latest closed candles of a series: exact `Bar`s for fills, numpy columns for strategies.

    Extending a window converts only the new candles, and writes them after the columns it
    already has (see `_Columns`) instead of copying them, so a process that ticks the same
    series over and over (a replay, a batch run) pays for each candle once. The columns are
    read-only: a strategy cannot change what the next tick sees.
    """

    __slots__ = ("_buffer", "_end", "bars")

    def __init__(self, bars: Sequence[Bar] = (), buffer: "_Columns | None" = None, end: int | None = None) -> None:
        self.bars = list(bars)
        self._buffer = buffer if buffer is not None else _Columns(self.bars)
        self._end = end if end is not None else len(self.bars)

    def __len__(self) -> int:
        return len(self.bars)

    def extended(self, newer: Sequence[Bar], keep: int | None) -> "CandleWindow":
        """This window plus `newer` candles, trimmed to the last `keep` (all when None)."""
        start = 0 if keep is None else max(0, len(self.bars) + len(newer) - keep)
        if not newer and start == 0:
            return self
        buffer, end = self._buffer, self._end
        if not buffer.can_append(end, len(newer)):
            buffer, end = _Columns(self.bars, room=max(len(newer), len(self.bars), 64)), len(self.bars)
        buffer.append(newer)
        return CandleWindow((self.bars + list(newer))[start:], buffer, end + len(newer))

    def arrays(self) -> "CandleArrays":
        """The candles as numpy columns (see `CandleArrays`)."""
        return CandleArrays(*self._buffer.views(self._end - len(self.bars), self._end))

    def frame(self):
        """The DataFrame strategies receive: float OHLCV columns plus `ts` (ms), indexed by UTC
        open time, oldest first."""
        return self.arrays().frame()

    def view(self) -> "CandleFrame":
        """The candles as the DataFrame-like view `decide` receives by default (`CandleFrame`:
        the DataFrame above at numpy's speed, no frame built unless pandas is asked)."""
        from papertrade.strategies.candle_frame import CandleSource

        arrays = self.arrays()
        return CandleSource(arrays.ts, {name: getattr(arrays, name) for name in _COLUMNS}).view(0, len(arrays))

    def strategy_input(self, strategy: Strategy):
        """What `strategy.decide` takes: the DataFrame-like view, or `CandleArrays` if it asks for them."""
        return self.arrays() if strategy.candles_as == "arrays" else self.view()


class _Columns:
    """Append-only numpy columns (`ts` and OHLCV) that windows are read-only views of.

    Only the window that ends where the columns end may append, into room no view covers yet;
    any other window (an older one extended again) or a full buffer starts new columns. So a
    view never changes under whoever holds it, a strategy that kept one included.
    """

    __slots__ = ("_arrays", "used")

    def __init__(self, bars: Sequence[Bar], room: int = 0) -> None:
        import numpy as np

        size = len(bars) + room
        self._arrays = [np.empty(size, dtype=np.int64), *(np.empty(size) for _ in _COLUMNS)]
        self.used = 0
        self.append(bars)

    def can_append(self, end: int, count: int) -> bool:
        return end == self.used and self.used + count <= len(self._arrays[0])

    def append(self, bars: Sequence[Bar]) -> None:
        at = self.used
        ts, *prices = self._arrays
        for offset, bar in enumerate(bars):
            ts[at + offset] = bar.ts
            for column, name in zip(prices, _COLUMNS, strict=True):
                column[at + offset] = float(getattr(bar, name))
        self.used = at + len(bars)

    def views(self, start: int, end: int) -> list:
        return [_frozen(column[start:end]) for column in self._arrays]


def _frozen(values):
    values.flags.writeable = False
    return values


class CandleArrays:
    """Closed candles as float numpy columns `open`, `high`, `low`, `close`, `volume` and the open
    time `ts` (int64 ms), oldest first: what a strategy with `candles_as = "arrays"` receives,
    much cheaper to build on every tick than a DataFrame. `candles["close"]` works too, and
    `frame()` builds the DataFrame the other strategies receive."""

    __slots__ = ("close", "high", "low", "open", "ts", "volume")

    def __init__(self, ts, open, high, low, close, volume) -> None:
        self.ts, self.open, self.high, self.low, self.close, self.volume = ts, open, high, low, close, volume

    def __len__(self) -> int:
        return len(self.ts)

    def __getitem__(self, name: str):
        if name not in CandleArrays.__slots__:
            raise KeyError(name)
        return getattr(self, name)

    def frame(self):
        import pandas as pd

        columns = {"ts": self.ts, **{name: getattr(self, name) for name in _COLUMNS}}
        index = pd.DatetimeIndex(self.ts.astype("datetime64[ms]").astype("datetime64[ns]"), tz="UTC", name="time")
        return pd.DataFrame(columns, index=index)


def call_strategy(strategy: Strategy, candles, position: PositionView, candle_ts: int) -> Decision:
    """Ask the strategy for a decision on the candle that opened at `candle_ts`; anything it
    raises or returns wrongly is a StrategyError naming that candle (and, for an exception, the
    line of the strategy's own code it came from)."""
    try:
        answer = strategy.decide(candles, position)
    except Exception as exc:
        raise strategy_failure(strategy, exc, f"on {timestamp(candle_ts)}") from exc
    if isinstance(answer, Decision) and isinstance(answer.signal, Signal):
        return answer
    if isinstance(answer, Signal):
        return Decision(answer)
    if isinstance(answer, str) and answer.upper() in Signal.__members__:
        return Decision(Signal(answer.upper()))
    raise StrategyError(
        f"strategy {strategy.name!r} answered {answer!r} on {timestamp(candle_ts)}, not BUY, SELL or HOLD"
    )


def call_series(strategy: Strategy, frame) -> SignalSeries | None:
    """The strategy's `decide_series` over a whole history; what it raises is a StrategyError
    naming the candles it was given and the line of the strategy's code."""
    try:
        return strategy.decide_series(frame)
    except Exception as exc:
        span = f"on the candles {timestamp(int(frame['ts'].iloc[0]))} to {timestamp(int(frame['ts'].iloc[-1]))}"
        raise strategy_failure(strategy, exc, f"{span} (decide_series)") from exc


def strategy_failure(strategy: Strategy, exc: BaseException, when: str) -> StrategyError:
    """One line for an exception from a strategy: `strategy 'dip' failed on 2021-02-21 13:00Z at
    mystrats/dip.py:41: ZeroDivisionError: division by zero`."""
    where = _strategy_line(type(strategy), exc)
    at = f" at {where}" if where else ""
    return StrategyError(f"strategy {strategy.name!r} failed {when}{at}: {type(exc).__name__}: {exc}")


def _strategy_line(cls: type, exc: BaseException) -> str | None:
    """`file:line` of the innermost frame of the traceback in the strategy's own source files
    (its class and the classes it inherits from, papertrade's base excepted); the frame the
    strategy was called in when none is (its code lives in a library it calls)."""
    frames = traceback.extract_tb(exc.__traceback__)[1:]  # [0] is the wrapper that called it
    own = _source_files(cls)
    mine = [frame for frame in frames if os.path.realpath(frame.filename) in own]
    frame = mine[-1] if mine else (frames[0] if frames else None)
    return None if frame is None else f"{_shown_path(frame.filename)}:{frame.lineno}"


def _source_files(cls: type) -> set[str]:
    files = set()
    for klass in cls.__mro__:
        module = sys.modules.get(klass.__module__)
        path = getattr(module, "__file__", None)
        if path and klass not in (Strategy, object):
            files.add(os.path.realpath(path))
    return files


def _shown_path(path: str) -> str:
    """A path as a person would type it: relative to the working directory when inside it."""
    try:
        relative = os.path.relpath(path)
    except ValueError:  # another drive, on Windows
        return path
    return path if relative.startswith(os.pardir) else relative
