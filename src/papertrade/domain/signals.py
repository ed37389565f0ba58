"""What a strategy answers, and the read-only view of a position it decides with."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from papertrade.domain.orders import Entry, Exits, Level, OrderKind, Size, as_decimal
from papertrade.errors import InputError


class Signal(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


@dataclass(frozen=True, slots=True)
class Decision:
    """A strategy's answer: the signal, why, and the indicator values it looked at.

    A plain BUY is a market entry at the candle's close, sized by the portfolio's stake
    fraction, protected by the portfolio's exits; a plain SELL closes the whole position. The
    constructors say more: `Decision.buy(...)` (size, limit or stop entry, expiry, exits,
    scaling in), `Decision.sell(portion=...)` and `Decision.hold(cancel=True)`.
    """

    signal: Signal
    reason: str = ""
    indicators: Mapping[str, float] = field(default_factory=dict)
    entry: Entry | None = None  # BUY: how to enter (None: at market, the portfolio's way)
    portion: Decimal | None = None  # SELL: the part of the position to sell (None: all of it)
    cancel: bool = False  # cancel this symbol's resting entry orders first

    @classmethod
    def buy(
        cls,
        reason: str = "",
        *,
        size: Size | None = None,
        limit=None,
        stop=None,
        expires: int | None = None,
        stop_loss=None,
        take_profit=None,
        trailing_stop=None,
        exits: Exits | None = None,
        scale_in: bool = False,
        indicators: Mapping[str, float] | None = None,
    ) -> "Decision":
        """A BUY: at market (the close), or a resting `limit` (below the market) or `stop`
        (a breakout above it) entry, good for `expires` candles (None: until cancelled).

        `stop_loss` and `take_profit` are distances from the entry's fill price (0.03 = 3 %) or
        `orders.price(...)` levels; `trailing_stop` a distance. Give none of them (and no
        `exits`) to use the portfolio's exits; `exits=Exits()` enters unprotected. `scale_in`
        adds to an open position (market entries only) instead of holding.
        """
        if limit is not None and stop is not None:
            raise InputError("an entry is a limit or a stop order, not both")
        kind = OrderKind.LIMIT if limit is not None else OrderKind.STOP if stop is not None else None
        at = limit if limit is not None else stop
        given = (stop_loss, take_profit, trailing_stop)
        if exits is None and any(value is not None for value in given):
            trail = None if trailing_stop is None else as_decimal(trailing_stop, "trailing stop")
            exits = Exits(Level.of(stop_loss), Level.of(take_profit), trail)
        price = None if at is None else as_decimal(at, "entry price")
        entry = Entry(kind, price, size, exits, expires, scale_in)
        return cls(Signal.BUY, reason, dict(indicators or {}), entry=entry)

    @classmethod
    def sell(cls, reason: str = "", *, portion=None, indicators: Mapping[str, float] | None = None) -> "Decision":
        """A SELL at market: the whole position, or `portion` of it (0.5 = half)."""
        part = None if portion is None else as_decimal(portion, "portion")
        if part is not None and not 0 < part <= 1:
            raise InputError("a portion to sell must be above 0 and at most 1")
        return cls(Signal.SELL, reason, dict(indicators or {}), portion=part)

    @classmethod
    def hold(cls, reason: str = "", *, cancel: bool = False, indicators: Mapping[str, float] | None = None):
        """A HOLD; with `cancel`, the symbol's resting entry orders are cancelled."""
        return cls(Signal.HOLD, reason, dict(indicators or {}), cancel=cancel)


@dataclass(frozen=True, slots=True)
class PositionView:
    """The strategy's read-only view of its position in the symbol it trades, and of the
    symbol's resting orders (`orders.RestingOrder`s: entries waiting, and the exits that
    protect the position)."""

    symbol: str
    quantity: Decimal
    avg_cost: Decimal
    orders: tuple = ()

    @property
    def is_open(self) -> bool:
        return self.quantity > 0
