"""Calling a strategy: the candles it sees, and the one wrapper around user code."""

from collections.abc import Sequence

from papertrade.domain.bars import Bar
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.errors import StrategyError
from papertrade.strategies.base import Strategy


def candles_frame(bars: Sequence[Bar]):
    """Closed candles as the DataFrame strategies receive: float OHLCV columns plus `ts` (ms),
    indexed by UTC open time, oldest first."""
    import pandas as pd

    frame = pd.DataFrame(
        {
            "ts": [b.ts for b in bars],
            "open": [float(b.open) for b in bars],
            "high": [float(b.high) for b in bars],
            "low": [float(b.low) for b in bars],
            "close": [float(b.close) for b in bars],
            "volume": [float(b.volume) for b in bars],
        }
    )
    frame.index = pd.to_datetime(frame["ts"], unit="ms", utc=True)
    frame.index.name = "time"
    return frame


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
