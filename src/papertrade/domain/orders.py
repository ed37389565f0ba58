"""Orders that rest between ticks, and the one rule that fills them on a closed candle.

The live tick, replay and backtest all move a symbol through candles with a `Desk` (see
`papertrade.domain.desk`), which uses the functions here, so all three fill identically.

The contract (README, "Orders and fill rules"), for a candle with open O, high H, low L:
- an order placed when deciding on candle t is active from candle t+1, until it fills, is
  cancelled or passes its expiry (the last candle on which it may fill), which counts candles
  that exist: each candle missing before it (a weekend, an outage) moves it one candle later;
- a buy limit at P fills when L <= P, at min(O, P); a sell limit (take-profit) when H >= P, at
  max(O, P);
- a buy stop at P fills when H >= P, at max(O, P); a sell stop (stop-loss, trailing stop) when
  L <= P, at min(O, P);
- a trailing stop's price, after each candle closes, becomes max(price, C x (1 - distance)),
  effective from the next candle;
- when several exits of a position could fill on one candle, one whose price the open has
  already passed fills at the open; otherwise a stop wins over the take-profit.

A short mirrors all of it: its entries are a sell limit above the market and a sell stop below
it; its stop-loss and trailing stop are buy stops above, its take-profit a buy limit below; its
trailing stop becomes min(price, C x (1 + distance)); of two stops the lower fills first.
"""

import numbers
import operator
from dataclasses import dataclass, replace
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from enum import StrEnum

from papertrade.domain.bars import Bar
from papertrade.domain.ledger import Side
from papertrade.domain.money import ZERO, exact, round_to_ledger
from papertrade.errors import InputError

#: The kind of a fill made by a strategy's decision at a candle's close (not by a resting order).
SIGNAL = "signal"
MANUAL = "manual"  # a trader's forced entry or exit (`papertrade open`/`close`)


class OrderKind(StrEnum):
    LIMIT = "limit"  # an entry below the market
    STOP = "stop"  # a breakout entry above the market
    STOP_LOSS = "stop-loss"
    TAKE_PROFIT = "take-profit"
    TRAILING_STOP = "trailing-stop"

    @property
    def is_exit(self) -> bool:
        return self in _EXITS

    @property
    def is_stop(self) -> bool:
        return self in (OrderKind.STOP, OrderKind.STOP_LOSS, OrderKind.TRAILING_STOP)


_EXITS = (OrderKind.STOP_LOSS, OrderKind.TAKE_PROFIT, OrderKind.TRAILING_STOP)
#: Which exit fills first when several could on one candle and none was passed at the open.
_EXIT_PRIORITY = {OrderKind.STOP_LOSS: 0, OrderKind.TRAILING_STOP: 1, OrderKind.TAKE_PROFIT: 2}
#: The kind of a fill made by a liquidation (see `papertrade.domain.margin`).
LIQUIDATION = "liquidation"
#: Trade kinds, as `trades --json` and the report name them.
TRADE_KINDS = (SIGNAL, MANUAL, *(str(kind) for kind in OrderKind), LIQUIDATION)


@dataclass(frozen=True, slots=True)
class Size:
    """How much an entry buys: a fraction of the cash (`Size.cash(0.5)`), an amount of the quote
    currency, fee included (`Size.quote(100)`), or a quantity of the base asset
    (`Size.base(0.01)`). Quantities are rounded down to the market's amount step; an entry the
    cash cannot pay for, or one below the market's minimums, is not made."""

    unit: str  # "cash", "quote" or "base"
    value: Decimal

    def __post_init__(self) -> None:
        if self.unit not in ("cash", "quote", "base"):
            raise InputError(f"a size is a fraction of cash, a quote amount or a base quantity, not {self.unit!r}")
        object.__setattr__(self, "value", as_decimal(self.value, "size"))
        if not self.value.is_finite() or self.value <= 0 or (self.unit == "cash" and self.value > 1):
            raise InputError(f"a {self.unit} size must be positive{' and at most 1' if self.unit == 'cash' else ''}")

    @classmethod
    def cash(cls, fraction) -> "Size":
        return cls("cash", as_decimal(fraction, "size"))

    @classmethod
    def quote(cls, amount) -> "Size":
        return cls("quote", as_decimal(amount, "size"))

    @classmethod
    def base(cls, quantity) -> "Size":
        return cls("base", as_decimal(quantity, "size"))


def parse_size(text: str, symbol: str) -> Size:
    """A size as a trader types it for `symbol`: `25%` of the cash, `500` or `500 USDT` of the
    quote currency (fee included), or `0.01 BTC` of the base asset; `InputError` otherwise."""
    base, _, quote = symbol.partition("/")
    quote = quote.partition(":")[0]
    raw = text.strip().upper().replace(" ", "")
    unit, number = "quote", raw
    if raw.endswith("%"):
        unit, number = "cash", raw[:-1]
    elif raw.endswith(base.upper()):
        unit, number = "base", raw[: -len(base)]
    elif raw.endswith(quote.upper()):
        number = raw[: -len(quote)]
    try:
        value = Decimal(number)
    except ArithmeticError:
        raise InputError(f"--size must be like 25%, 500 {quote} or 0.01 {base}, not {text!r}") from None
    return Size(unit, value / 100 if unit == "cash" else value)


@dataclass(frozen=True, slots=True)
class Level:
    """Where a protective exit sits: a distance from the entry's fill price (0.03 = 3 %), or,
    with `absolute`, a price."""

    value: Decimal
    absolute: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "value", as_decimal(self.value, "exit price" if self.absolute else "exit distance"))
        if self.value <= 0 or (not self.absolute and self.value >= 1):
            raise InputError("an exit distance must be above 0 and below 1 (0.03 = 3 %), a price above 0")

    @classmethod
    def of(cls, value) -> "Level | None":
        """A `Level` from what a strategy or a user writes: a number is a distance, a `Level` stays."""
        if value is None or isinstance(value, Level):
            return value
        return cls(as_decimal(value, "exit distance"))

    def below(self, entry: Decimal) -> Decimal:
        """The level under an entry at `entry` (a long's stop), rounded down."""
        if self.absolute:
            return self.value
        with exact():
            raw = entry * (1 - self.value)
        return round_to_ledger(raw, ROUND_DOWN)

    def above(self, entry: Decimal) -> Decimal:
        """The level over an entry at `entry` (a long's take-profit), rounded up."""
        if self.absolute:
            return self.value
        with exact():
            raw = entry * (1 + self.value)
        return round_to_ledger(raw, ROUND_UP)


def price(value) -> Level:
    """An absolute exit price, for `Decision.buy(stop_loss=price(25000))`."""
    return Level(as_decimal(value, "exit price"), absolute=True)


@dataclass(frozen=True, slots=True)
class Exits:
    """The protective exits attached to a position when its entry fills. The trailing stop is
    always a distance."""

    stop_loss: Level | None = None
    take_profit: Level | None = None
    trailing_stop: Decimal | None = None

    def __post_init__(self) -> None:
        for name in ("stop_loss", "take_profit"):
            object.__setattr__(self, name, Level.of(getattr(self, name)))
        if self.trailing_stop is not None:
            object.__setattr__(self, "trailing_stop", as_decimal(self.trailing_stop, "trailing stop"))
        if self.trailing_stop is not None and not ZERO < self.trailing_stop < 1:
            raise InputError("a trailing stop is a distance above 0 and below 1 (0.05 = 5 %)")

    def __bool__(self) -> bool:
        return any(level is not None for level in (self.stop_loss, self.take_profit, self.trailing_stop))

    def orders(self, symbol: str, entry: Decimal, placed_ts: int, short: bool = False) -> list["RestingOrder"]:
        """The exit orders for a long (or, with `short`, a short) entered at `entry` on the
        candle `placed_ts`: a long's stops below the entry and take-profit above, rounded
        down and up; a short's stops above and take-profit below, rounded up and down."""
        side = Side.BUY if short else Side.SELL
        stop_at, profit_at = (Level.above, Level.below) if short else (Level.below, Level.above)
        made = []
        if self.stop_loss is not None:
            made.append(RestingOrder(symbol, OrderKind.STOP_LOSS, side, stop_at(self.stop_loss, entry), placed_ts))
        if self.take_profit is not None:
            level = profit_at(self.take_profit, entry)
            made.append(RestingOrder(symbol, OrderKind.TAKE_PROFIT, side, level, placed_ts))
        if self.trailing_stop is not None:
            level = stop_at(Level(self.trailing_stop), entry)
            made.append(RestingOrder(symbol, OrderKind.TRAILING_STOP, side, level, placed_ts, trail=self.trailing_stop))
        return made

    def as_dict(self) -> dict[str, str]:
        """The exits as text, for the ledger and JSON (absolute prices prefixed with '@')."""
        values = {"stop_loss": self.stop_loss, "take_profit": self.take_profit}
        written = {name: _level_text(level) for name, level in values.items() if level is not None}
        if self.trailing_stop is not None:
            written["trailing_stop"] = str(self.trailing_stop)
        return written

    @classmethod
    def from_dict(cls, values: dict[str, str] | None) -> "Exits":
        values = values or {}
        trailing = values.get("trailing_stop")
        return cls(
            _level_of_text(values.get("stop_loss")),
            _level_of_text(values.get("take_profit")),
            Decimal(trailing) if trailing is not None else None,
        )


NO_EXITS = Exits()


@dataclass(frozen=True, slots=True)
class RestingOrder:
    """An order waiting for a candle to fill it.

    A portfolio has at most one order of each kind per symbol placed on a given candle, so
    (symbol, kind, placed_ts) names it. `expires_ts` is the open time of the last candle on
    which it may fill (None: good till cancelled). An entry carries its `size` and the `exits`
    to attach once it fills; a trailing stop carries its distance in `trail`.
    """

    symbol: str
    kind: OrderKind
    side: Side
    price: Decimal
    placed_ts: int
    expires_ts: int | None = None
    size: Size | None = None
    exits: Exits | None = None
    trail: Decimal | None = None

    def is_active_on(self, ts: int) -> bool:
        return self.placed_ts < ts

    def has_expired_by(self, ts: int) -> bool:
        return self.expires_ts is not None and ts > self.expires_ts

    @property
    def key(self) -> tuple[str, str, int]:
        return (self.symbol, str(self.kind), self.placed_ts)


def touch_price(order: RestingOrder, bar: Bar) -> Decimal | None:
    """The price `order` fills at on `bar` (before slippage), or None if the candle misses it.

    Limits (entries and take-profits) fill at their price or better: a buy limit when the low
    reaches it, at min(open, price); a sell limit when the high does, at max(open, price). Stops
    fill at their price or worse: a buy stop when the high reaches it, at max(open, price); a
    sell stop when the low does, at min(open, price)."""
    level, open_ = order.price, bar.open
    is_limit = order.kind in (OrderKind.LIMIT, OrderKind.TAKE_PROFIT)
    if (order.side is Side.BUY) == is_limit:  # a buy limit or a sell stop: met on the way down
        return min(open_, level) if bar.low <= level else None
    return max(open_, level) if bar.high >= level else None


def first_exit(exits: list[RestingOrder], bar: Bar) -> tuple[RestingOrder, Decimal] | None:
    """The exit that fills on `bar` when several could, with its price (None: none fills).

    An exit the open has already passed fills at the open; otherwise a stop wins over the
    take-profit, and of two stops the one the price reaches first: a long's higher, a short's
    lower.
    """
    touched = [(order, at) for order in exits if (at := touch_price(order, bar)) is not None]
    if not touched:
        return None
    return min(touched, key=lambda pair: (pair[1] != bar.open, _EXIT_PRIORITY[pair[0].kind] > 1,
                                          pair[0].price if pair[0].side is Side.BUY else -pair[0].price,
                                          _EXIT_PRIORITY[pair[0].kind]))  # fmt: skip


def expiry_over_gap(order: RestingOrder, previous_ts: int, ts: int, step_ms: int) -> RestingOrder:
    """`order` meeting the candle `ts` whose predecessor in the series opened at `previous_ts`:
    its expiry moved one candle later for each candle missing in between (`step_ms` apart), if
    the first of them was within its life. So `expires=N` means the next N candles that exist,
    whether a weekend or an exchange outage comes between (a Friday's order for one daily
    candle meets Monday's)."""
    missing = (ts - previous_ts) // step_ms - 1
    if order.expires_ts is None or missing <= 0 or previous_ts + step_ms > order.expires_ts:
        return order
    return replace(order, expires_ts=order.expires_ts + missing * step_ms)


def ratchet(order: RestingOrder, close: Decimal) -> RestingOrder:
    """A trailing stop after a candle closed at `close`: a long's raised to close x (1 -
    distance) if that is higher, a short's (a buy stop) lowered to close x (1 + distance) if
    that is lower; never moved the other way."""
    if order.side is Side.BUY:
        lowered = Level(order.trail).above(close)
        return replace(order, price=lowered) if lowered < order.price else order
    raised = Level(order.trail).below(close)
    return replace(order, price=raised) if raised > order.price else order


#: Where each level of an entry must not be, for a long (a BUY entry): a buy limit not above the
#: market, a buy stop not below it, a stop-loss not above the entry, a take-profit not below it.
#: A short's rules are the mirror image (`_MIRROR`).
_WRONG_SIDE = {
    Side.BUY: {OrderKind.LIMIT: "above", OrderKind.STOP: "below", OrderKind.STOP_LOSS: "above",
               OrderKind.TAKE_PROFIT: "below"},
}  # fmt: skip
_MIRROR = {"above": "below", "below": "above"}
_WRONG_SIDE[Side.SELL] = {kind: _MIRROR[where] for kind, where in _WRONG_SIDE[Side.BUY].items()}


def refusal(entry: "Entry", exits: Exits, market: Decimal, side: Side = Side.BUY) -> str | None:
    """Why an entry a strategy decided at `market` (the candle's close) makes no sense, naming
    the rule (`stop-loss 31,500 is above the entry 30,270`); None when it makes sense.

    Checked, for a long: a limit entry above the market, a stop entry below it, an absolute
    stop-loss above the entry or an absolute take-profit below it (the entry is the limit or
    stop price, or the market for a market entry; distances cannot point the wrong way).
    `exits` are those the entry will get (its own or the portfolio's); `side` is the entry's,
    and a SELL entry (a short) is checked against the mirror image. A level exactly at its
    reference is allowed (a limit at the close, a stop-loss at break-even)."""
    wrong = _WRONG_SIDE[side]
    at = market if entry.price is None else entry.price
    levels = [] if entry.kind is None else [(f"{side.lower()} {entry.kind}", entry.kind, entry.price, "market", market)]
    for kind, level in ((OrderKind.STOP_LOSS, exits.stop_loss), (OrderKind.TAKE_PROFIT, exits.take_profit)):
        if level is not None and level.absolute:
            levels.append((str(kind), kind, level.value, "entry", at))
    for name, kind, level, what, reference in levels:
        if level > reference if wrong[kind] == "above" else level < reference:
            return f"{name} {level:,} is {wrong[kind]} the {what} {reference:,}"
    return None


def as_decimal(value, what: str) -> Decimal:
    """`value`, a number a strategy or a user wrote, as the exact Decimal it shows.

    Accepted: `Decimal`, `int`, `float`, numeric strings and numpy scalars (what a DataFrame's
    `.iloc[-1]` or `.max()` gives). A float of any width is taken from its shortest repr, the
    digits it prints (`np.float64(0.98)` is 0.98, `np.float32(0.1)` is 0.1), never from its
    binary value. Bools, NaN and infinities are refused, naming `what`.
    """
    if isinstance(value, bool) or type(value).__name__ == "bool":  # np.bool_ too: a flag is no price
        raise InputError(f"{what} must be a number, not the bool {value}")
    try:
        number = _decimal_of(value)
    except (ArithmeticError, TypeError, ValueError):
        raise InputError(f"{what} must be a number, not {_shown(value)}") from None
    if not number.is_finite():
        raise InputError(f"{what} must be a finite number, not {_shown(value)}")
    return number


def _decimal_of(value) -> Decimal:
    if isinstance(value, Decimal):
        return value
    if isinstance(value, numbers.Integral):
        return Decimal(int(value))
    if isinstance(value, numbers.Real) and not isinstance(value, numbers.Rational):
        return Decimal(str(value))  # str of a float, numpy's included, is its shortest repr
    if isinstance(value, str):
        return Decimal(value.strip())
    raise TypeError(type(value).__name__)


def _shown(value) -> str:
    """`value` as an error message shows it: a number as it prints, anything else as its repr."""
    return str(value) if isinstance(value, numbers.Number) else repr(value)


def _candle_count(value) -> int:
    """An expiry in candles: a whole number (numpy's integers too), at least 1."""
    try:
        count = None if isinstance(value, bool) or type(value).__name__ == "bool" else operator.index(value)
    except TypeError:
        count = None
    if count is None or count < 1:
        raise InputError(f"an entry expires after a whole number of candles, at least 1, not {_shown(value)}")
    return count


def _level_text(level: Level) -> str:
    return f"@{level.value}" if level.absolute else str(level.value)


def _level_of_text(text: str | None) -> Level | None:
    if text is None:
        return None
    return Level(Decimal(text[1:]), absolute=True) if text.startswith("@") else Level(Decimal(text))


@dataclass(frozen=True, slots=True)
class Entry:
    """How a BUY (or, with `short`, a short) enters: `kind` None is at market; LIMIT or STOP
    rest at `price`, for `expires` candles (None: until cancelled). `exits` None means the
    portfolio's."""

    kind: OrderKind | None = None
    price: Decimal | None = None
    size: Size | None = None
    exits: Exits | None = None
    expires: int | None = None
    scale_in: bool = False
    short: bool = False

    @property
    def side(self) -> Side:
        """The side of the entry's fill: a short enters by selling."""
        return Side.SELL if self.short else Side.BUY

    def __post_init__(self) -> None:
        if (self.kind is None) != (self.price is None):
            raise InputError("a limit or stop entry needs a price, and only they take one")
        if self.price is not None:
            object.__setattr__(self, "price", as_decimal(self.price, "entry price"))
        if self.price is not None and self.price <= 0:
            raise InputError("an entry price must be above 0")
        if self.expires is not None:
            object.__setattr__(self, "expires", _candle_count(self.expires))
        if self.kind is not None and self.scale_in:
            raise InputError("only market entries scale in")
