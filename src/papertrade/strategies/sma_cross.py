"""`sma-cross`: trade the crossings of a fast and a slow simple moving average of closes."""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.strategies.base import SignalSeries, Strategy


class SmaCrossParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    fast: int = Field(10, ge=1, le=1000, description="fast moving average length in candles")
    slow: int = Field(30, ge=2, le=1000, description="slow moving average length in candles")

    @model_validator(mode="after")
    def _fast_below_slow(self) -> "SmaCrossParams":
        if self.fast >= self.slow:
            raise ValueError("fast must be shorter than slow")
        return self


class SmaCrossStrategy(Strategy):
    """BUY when the fast SMA crosses above the slow one while flat; SELL when it crosses below
    while holding; else HOLD. A cross compares the last two candles.

    In a portfolio that allows shorts it stops and reverses: a cross up buys unless long
    (covering a short first), a cross down goes short unless short (selling a long first)."""

    name = "sma-cross"
    description = "simple moving average crossover"
    Params = SmaCrossParams
    candles_as = "arrays"
    series_reverses = True

    @property
    def warmup(self) -> int:
        return self.params.slow + 1

    def decide(self, candles, position: PositionView) -> Decision:
        from papertrade.strategies.indicators import simple_mean_last

        closes = candles["close"][-self.warmup :]
        fast, slow = self.params.fast, self.params.slow
        fast_now, slow_now = simple_mean_last(closes, fast), simple_mean_last(closes, slow)
        fast_prev, slow_prev = simple_mean_last(closes, fast, 1), simple_mean_last(closes, slow, 1)
        up = fast_prev <= slow_prev and fast_now > slow_now
        down = fast_prev >= slow_prev and fast_now < slow_now
        return self._decide(up, down, position, {"fast": fast_now, "slow": slow_now})

    def decide_series(self, candles) -> SignalSeries:
        import numpy as np

        closes = candles["close"].to_numpy(dtype=float)
        n, first = len(closes), self.warmup - 1
        buy, sell = np.zeros(n, dtype=bool), np.zeros(n, dtype=bool)
        indicators = {"fast": np.full(n, np.nan), "slow": np.full(n, np.nan)}
        if n >= self.warmup:
            windows = np.lib.stride_tricks.sliding_window_view(closes, self.warmup)
            buy[first:], sell[first:], values = self._crossings(windows)
            for key, column in values.items():
                indicators[key][first:] = column
        return SignalSeries(buy, sell, indicators)

    def _crossings(self, windows):
        from papertrade.strategies.indicators import simple_mean

        fast, slow = self.params.fast, self.params.slow
        fast_now, slow_now = simple_mean(windows, fast), simple_mean(windows, slow)
        fast_prev, slow_prev = simple_mean(windows, fast, 1), simple_mean(windows, slow, 1)
        up = (fast_prev <= slow_prev) & (fast_now > slow_now)
        down = (fast_prev >= slow_prev) & (fast_now < slow_now)
        return up, down, {"fast": fast_now, "slow": slow_now}

    def _decide(self, up: bool, down: bool, position: PositionView, indicators) -> Decision:
        if position.allow_short:
            if up and not position.is_long:
                return Decision.buy("fast SMA crossed above slow", indicators=indicators)
            if down and not position.is_short:
                return Decision.short("fast SMA crossed below slow", indicators=indicators)
        elif not position.is_open and up:
            return Decision(Signal.BUY, "fast SMA crossed above slow", indicators)
        elif position.is_open and down:
            return Decision(Signal.SELL, "fast SMA crossed below slow", indicators)
        return Decision(Signal.HOLD, "", indicators)
