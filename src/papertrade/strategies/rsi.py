"""`rsi`: buy oversold, sell overbought, on Wilder's RSI of closes."""

from pydantic import BaseModel, ConfigDict, Field, model_validator

from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.strategies.base import SignalSeries, Strategy

#: Closed candles the RSI strategy needs before it decides; also its lookback.
WARMUP = 250


class RsiParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    period: int = Field(14, ge=2, le=100, description="RSI period in candles")
    oversold: float = Field(30, gt=0, lt=100, description="buy when flat and RSI is below this")
    overbought: float = Field(70, gt=0, lt=100, description="sell when holding and RSI is above")

    @model_validator(mode="after")
    def _thresholds_ordered(self) -> "RsiParams":
        if self.oversold >= self.overbought:
            raise ValueError("oversold must be below overbought")
        return self


class RsiStrategy(Strategy):
    """BUY when flat and RSI < oversold; SELL when holding and RSI > overbought; else HOLD.

    In a portfolio that allows shorts it stops and reverses: RSI < oversold buys unless long
    (covering a short first), RSI > overbought goes short unless short (selling a long first).
    The RSI is Wilder's, computed as TA-Lib does over the last 250 closed candles.
    """

    name = "rsi"
    description = "Wilder's RSI: buy when oversold, sell when overbought"
    Params = RsiParams
    candles_as = "arrays"
    series_reverses = True

    @property
    def warmup(self) -> int:
        return WARMUP

    def decide(self, candles, position: PositionView) -> Decision:
        from papertrade.strategies.indicators import wilder_rsi_last

        closes = candles["close"][-self.warmup :]
        return self._decide(wilder_rsi_last(closes, self.params.period), position)

    def decide_series(self, candles) -> SignalSeries:
        import numpy as np

        from papertrade.strategies.indicators import wilder_rsi_rolling

        rsi = wilder_rsi_rolling(candles["close"].to_numpy(dtype=float), self.params.period, self.warmup)
        with np.errstate(invalid="ignore"):
            buy = rsi < self.params.oversold
            sell = rsi > self.params.overbought
        return SignalSeries(buy, sell, {"rsi": rsi})

    def indicator_levels(self) -> dict[str, tuple[float, ...]]:
        return {"rsi": (self.params.oversold, self.params.overbought)}

    def _decide(self, rsi: float, position: PositionView) -> Decision:
        p = self.params
        indicators = {"rsi": rsi}
        below, above = rsi < p.oversold, rsi > p.overbought
        if position.allow_short:
            if below and not position.is_long:
                return Decision.buy(f"RSI {rsi:.2f} below {p.oversold:g}", indicators=indicators)
            if above and not position.is_short:
                return Decision.short(f"RSI {rsi:.2f} above {p.overbought:g}", indicators=indicators)
        elif not position.is_open and below:
            return Decision(Signal.BUY, f"RSI {rsi:.2f} below {p.oversold:g}", indicators)
        elif position.is_open and above:
            return Decision(Signal.SELL, f"RSI {rsi:.2f} above {p.overbought:g}", indicators)
        return Decision(Signal.HOLD, "", indicators)
