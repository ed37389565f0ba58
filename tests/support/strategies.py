"""Strategies for tests, loaded by reference (tests.support.strategies:Name)."""

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from papertrade.domain.signals import Decision, Signal
from papertrade.strategies.base import Strategy


class AlwaysBuy(Strategy):
    """BUY on every candle (becomes HOLD while holding or short of cash)."""

    name = "always-buy"

    def decide(self, candles, position):
        return Decision(Signal.BUY, "always")


class Alternate(Strategy):
    """BUY when flat, SELL when holding: a trade on every candle."""

    name = "alternate"

    def decide(self, candles, position):
        return Signal.SELL if position.is_open else Signal.BUY


class Raises(Strategy):
    name = "raises"

    def decide(self, candles, position):
        raise ZeroDivisionError("the strategy divided by zero")


class AnswersNonsense(Strategy):
    name = "nonsense"

    def decide(self, candles, position):
        return 42


class Recorder(Strategy):
    """HOLD, remembering the candles it was shown (in-process tests inspect them)."""

    name = "recorder"
    seen: ClassVar[list] = []

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        window: int = 5

    @property
    def warmup(self) -> int:
        return self.params.window

    def decide(self, candles, position):
        Recorder.seen.append(candles.copy())
        return Signal.HOLD


class Sleepy(Strategy):
    """A slow strategy: touches `marker` (if given) on starting to decide, then sleeps `seconds`,
    or until the file `release` exists when one is named (two minutes at most); then it BUYs when
    flat and SELLs when holding."""

    name = "sleepy"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        seconds: float = 1.0
        marker: str = ""
        release: str = ""

    def decide(self, candles, position):
        import time
        from pathlib import Path

        if self.params.marker:
            Path(self.params.marker).touch()
        if self.params.release:
            deadline = time.monotonic() + 120
            while not Path(self.params.release).exists() and time.monotonic() < deadline:
                time.sleep(0.05)
        else:
            time.sleep(self.params.seconds)
        return Signal.SELL if position.is_open else Signal.BUY
