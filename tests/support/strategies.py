"""Strategies for tests, loaded by reference (tests.support.strategies:Name)."""

from datetime import UTC, datetime
from decimal import Decimal
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from papertrade.domain.orders import price
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


class WeekdayTrader(Strategy):
    """BUY when flat on a Monday candle, SELL when holding on a Thursday one (by the candle's
    open time, UTC): trades a calendar can predict, so another engine can repeat them."""

    name = "weekday-trader"

    def decide(self, candles, position):
        weekday = candles.index[-1].day_of_week
        if weekday == 0 and not position.is_open:
            return Decision(Signal.BUY, "Monday")
        if weekday == 3 and position.is_open:
            return Decision(Signal.SELL, "Thursday")
        return Decision.hold("not today")


class DipBuyer(Strategy):
    """Rests a limit BUY 1 % under the close (for 3 candles), protected by its own 2 % stop-loss
    and 3 % take-profit, whenever flat with no entry waiting."""

    name = "dip-buyer"

    def decide(self, candles, position):
        if not position.is_open:
            waiting = any(not order.kind.is_exit for order in position.orders)
            if waiting:
                return Decision.hold("a limit entry is waiting")
            below = Decimal(repr(float(candles["close"].iloc[-1]))) * Decimal("0.99")
            return Decision.buy("dip", limit=below.quantize(Decimal("0.01")), expires=3, stop_loss="0.02",
                                take_profit="0.03")  # fmt: skip
        return Decision.hold("holding")


class ShortAndCover(Strategy):
    """Short when flat, protected by a 2 % stop above; cover when short after three candles
    (a round trip every few candles, for portfolios created with --allow-short)."""

    name = "short-and-cover"

    @property
    def warmup(self) -> int:
        return 3

    def decide(self, candles, position):
        if not position.is_open:
            return Decision.short("flat: go short", stop_loss="0.02")
        closes = list(candles["close"])
        if position.is_short and closes[-1] < closes[-3]:
            return Decision.cover("falling for two candles: take it")
        return Decision.hold(f"holding a {position.side}")


class Misplaced(Strategy):
    """Buys whenever flat with one level on the wrong side (`rule`): a stop-loss 4 % above the
    close, a take-profit 4 % below it, a buy limit above it or a buy stop below it. Every entry
    it makes is nonsense the desk must refuse."""

    name = "misplaced"

    class Params(BaseModel):
        model_config = ConfigDict(extra="forbid")
        rule: str = "stop-loss"

    def decide(self, candles, position):
        if position.is_open:
            return Decision.hold("holding")
        close = candles["close"].iloc[-1]
        above, below = round(close * 1.04, 2), round(close * 0.96, 2)
        levels = {"stop-loss": {"stop_loss": price(above)}, "take-profit": {"take_profit": price(below)},
                  "limit": {"limit": above}, "stop": {"stop": below}}  # fmt: skip
        return Decision.buy("misplaced", **levels[self.params.rule])


class HalfSeller(Strategy):
    """Buys with all the cash when flat, then sells half the position on every candle: on a
    market without a minimum order it halves down to dust."""

    name = "half-seller"

    def decide(self, candles, position):
        return Decision.sell("halve", portion="0.5") if position.is_open else Decision.buy("in")


class AlwaysShort(Strategy):
    """Short whenever flat, unprotected, and never cover: only a liquidation ends a short."""

    name = "always-short"

    def decide(self, candles, position):
        return Decision.short("always") if not position.is_open else Decision.hold("holding the short")


class FridayLimit(Strategy):
    """Rests a one-candle buy limit at the close of every Friday candle while flat, and sells at
    the close of the candle after it filled: on daily stock candles it lives for Monday's."""

    name = "friday-limit"

    def decide(self, candles, position):
        if position.is_open:
            return Decision.sell("out")
        opened = datetime.fromtimestamp(int(candles["ts"].iloc[-1]) / 1000, UTC)
        if opened.weekday() == 4:
            return Decision.buy("friday", limit=candles["close"].iloc[-1], expires=1)
        return Decision.hold()
