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
    fraction, protected by the portfolio's exits; a plain SELL closes the whole long position
    and never opens a short. The constructors say more: `Decision.buy(...)` (size, limit or
    stop entry, expiry, exits, scaling in), `Decision.sell(portion=...)`,
    `Decision.short(...)` (the same arguments as `buy`, for a portfolio created with
    `--allow-short`), `Decision.cover(portion=...)` and `Decision.hold(cancel=True)`.

    `short_side` marks a decision about the short side: such a SELL opens (or adds to) a short,
    such a BUY covers one.
    """

    signal: Signal
    reason: str = ""
    indicators: Mapping[str, float] = field(default_factory=dict)
    entry: Entry | None = None  # BUY: how to enter (None: at market, the portfolio's way)
    portion: Decimal | None = None  # SELL: the part of the position to sell (None: all of it)
    cancel: bool = False  # cancel this symbol's resting entry orders first
    short_side: bool = False  # SELL: open or add to a short; BUY: cover the short

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
        entry = _entry(limit, stop, size, expires, (stop_loss, take_profit, trailing_stop), exits, scale_in)
        return cls(Signal.BUY, reason, dict(indicators or {}), entry=entry)

    @classmethod
    def short(
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
        """A short entry, with `buy`'s arguments mirrored: at market (the close), or a resting
        `limit` (a sell above the market) or `stop` (a sell stop below it) entry. The
        `stop_loss` and trailing stop sit above the fill price, the `take_profit` below it.
        Only a portfolio created with `--allow-short` takes it; while long, it closes the long
        first and then opens the short at the same candle's close (stop and reverse)."""
        given = (stop_loss, take_profit, trailing_stop)
        entry = _entry(limit, stop, size, expires, given, exits, scale_in, short=True)
        return cls(Signal.SELL, reason, dict(indicators or {}), entry=entry, short_side=True)

    @classmethod
    def cover(cls, reason: str = "", *, portion=None, indicators: Mapping[str, float] | None = None) -> "Decision":
        """A BUY at market that covers the whole short, or `portion` of it (0.5 = half)."""
        part = _portion(portion, "cover")
        return cls(Signal.BUY, reason, dict(indicators or {}), portion=part, short_side=True)

    @classmethod
    def sell(cls, reason: str = "", *, portion=None, indicators: Mapping[str, float] | None = None) -> "Decision":
        """A SELL at market: the whole long position, or `portion` of it (0.5 = half). It never
        opens a short."""
        return cls(Signal.SELL, reason, dict(indicators or {}), portion=_portion(portion, "sell"))

    @classmethod
    def hold(cls, reason: str = "", *, cancel: bool = False, indicators: Mapping[str, float] | None = None):
        """A HOLD; with `cancel`, the symbol's resting entry orders are cancelled."""
        return cls(Signal.HOLD, reason, dict(indicators or {}), cancel=cancel)


def _entry(limit, stop, size, expires, given, exits, scale_in, short=False) -> Entry:
    if limit is not None and stop is not None:
        raise InputError("an entry is a limit or a stop order, not both")
    kind = OrderKind.LIMIT if limit is not None else OrderKind.STOP if stop is not None else None
    at = limit if limit is not None else stop
    if exits is None and any(value is not None for value in given):
        stop_loss, take_profit, trailing_stop = given
        trail = None if trailing_stop is None else as_decimal(trailing_stop, "trailing stop")
        exits = Exits(Level.of(stop_loss), Level.of(take_profit), trail)
    price = None if at is None else as_decimal(at, "entry price")
    return Entry(kind, price, size, exits, expires, scale_in, short)


def _portion(portion, verb: str) -> Decimal | None:
    part = None if portion is None else as_decimal(portion, "portion")
    if part is not None and not 0 < part <= 1:
        raise InputError(f"a portion to {verb} must be above 0 and at most 1")
    return part


@dataclass(frozen=True, slots=True)
class PositionView:
    """The strategy's read-only view of its position in the symbol it trades, and of the
    symbol's resting orders (`orders.RestingOrder`s: entries waiting, and the exits that
    protect the position).

    `quantity` is signed: below zero the position is a short (`side` "short"), whose
    `avg_cost` is the average price it was sold at. `allow_short` says whether the portfolio
    takes `Decision.short`."""

    symbol: str
    quantity: Decimal
    avg_cost: Decimal
    orders: tuple = ()
    allow_short: bool = False

    @property
    def is_open(self) -> bool:
        return self.quantity != 0

    @property
    def is_long(self) -> bool:
        return self.quantity > 0

    @property
    def is_short(self) -> bool:
        return self.quantity < 0

    @property
    def side(self) -> str:
        """ "long", "short" or "flat"."""
        return "long" if self.quantity > 0 else "short" if self.quantity < 0 else "flat"
