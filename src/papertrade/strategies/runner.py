"""Calling a strategy: the candles it sees, and the one wrapper around user code."""

from collections.abc import Sequence

from papertrade.domain.bars import Bar
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.errors import StrategyError
from papertrade.strategies.base import Strategy

_COLUMNS = ("open", "high", "low", "close", "volume")


class CandleWindow:
    """The latest closed candles of a series: exact `Bar`s for fills, float columns for strategies.

    Extending a window converts only the new candles, so a process that ticks the same series
    over and over (a replay, a batch run) pays for each candle once.
    """

    __slots__ = ("_floats", "bars")

    def __init__(self, bars: Sequence[Bar] = (), floats: dict[str, list[float]] | None = None) -> None:
        self.bars = list(bars)
        self._floats = floats or {name: [float(getattr(b, name)) for b in self.bars] for name in _COLUMNS}

    def __len__(self) -> int:
        return len(self.bars)

    def extended(self, newer: Sequence[Bar], keep: int | None) -> "CandleWindow":
        """This window plus `newer` candles, trimmed to the last `keep` (all when None)."""
        start = 0 if keep is None else max(0, len(self.bars) + len(newer) - keep)
        bars = (self.bars + list(newer))[start:]
        floats = {
            name: (values + [float(getattr(b, name)) for b in newer])[start:] for name, values in self._floats.items()
        }
        return CandleWindow(bars, floats)

    def frame(self):
        """The DataFrame strategies receive: float OHLCV columns plus `ts` (ms), indexed by UTC
        open time, oldest first."""
        import numpy as np
        import pandas as pd

        ts = np.fromiter((b.ts for b in self.bars), dtype=np.int64, count=len(self.bars))
        columns = {"ts": ts, **{name: np.array(values, dtype=float) for name, values in self._floats.items()}}
        index = pd.DatetimeIndex(ts.astype("datetime64[ms]").astype("datetime64[ns]"), tz="UTC", name="time")
        return pd.DataFrame(columns, index=index)


def candles_frame(bars: Sequence[Bar]):
    """Closed candles as the DataFrame strategies receive (see `CandleWindow.frame`)."""
    return CandleWindow(bars).frame()


def call_strategy(strategy: Strategy, candles, position: PositionView) -> Decision:
    """Ask the strategy for a decision; anything it raises or returns wrongly is a StrategyError."""
    try:
        answer = strategy.decide(candles, position)
    except Exception as exc:
        raise StrategyError(f"strategy {strategy.name!r} failed: {type(exc).__name__}: {exc}") from exc
    if isinstance(answer, Decision) and isinstance(answer.signal, Signal):
        return answer
    if isinstance(answer, Signal):
        return Decision(answer)
    if isinstance(answer, str) and answer.upper() in Signal.__members__:
        return Decision(Signal(answer.upper()))
    raise StrategyError(f"strategy {strategy.name!r} answered {answer!r}, not BUY, SELL or HOLD")
