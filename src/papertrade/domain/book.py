"""The order-book walk: how a market order fills against visible liquidity.

A buy (or a short's cover) walks the asks from the best price up, a sell (or a short's entry) the
bids from the best price down, level by level, until the quantity is filled, the book runs out, or
the next level lies beyond `max_slippage` from the reference price (the decided candle's close).
The fill price is the volume-weighted average of the levels consumed: the cost is summed exactly
and the average rounded against the trader only at the ledger's places. What the walk cannot fill
within the cap is the unfilled rest, cancelled by the caller.

An entry sized by a budget is solved against the walk itself: the largest quantity (a multiple of
the market's amount step) whose walked notional plus fee fits the budget.

An empty book, a crossed one (best bid at or above best ask) and one whose own timestamp is more
than `MAX_BOOK_AGE_MS` old are refused as temporary trouble: a later tick may find a sound book.
"""

from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from typing import TYPE_CHECKING

from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Fill, Position, Side
from papertrade.domain.money import ZERO, divide_down, divide_to_ledger, exact, round_to_ledger, round_up_to_ledger
from papertrade.errors import TemporaryError

if TYPE_CHECKING:
    from papertrade.domain.orders import Size

#: A book whose own timestamp is older than this (5 s) is stale.
MAX_BOOK_AGE_MS = 5_000
#: The default cap on the walk: 5 % against the reference price.
DEFAULT_MAX_SLIPPAGE = Decimal("0.05")


class BookError(TemporaryError):
    """The exchange's order book cannot be walked now (empty, crossed or stale)."""


@dataclass(frozen=True, slots=True)
class BookLevel:
    """`amount` of base currency offered (ask) or wanted (bid) at `price`."""

    price: Decimal
    amount: Decimal


@dataclass(frozen=True, slots=True)
class OrderBook:
    """Bids best (highest) first, asks best (lowest) first; `ts_ms` is the book's own time when
    the exchange gives one."""

    symbol: str
    bids: tuple[BookLevel, ...]
    asks: tuple[BookLevel, ...]
    ts_ms: int | None = None

    def side_for(self, side: Side) -> tuple[BookLevel, ...]:
        """The levels an order of `side` takes: asks for a BUY, bids for a SELL."""
        return self.asks if side is Side.BUY else self.bids


@dataclass(frozen=True, slots=True)
class Walk:
    """The result of walking one side of a book: `quantity` filled at an exact total `cost`,
    `unfilled` left over (cancelled), `capped` when the cap or the book's depth stopped it."""

    side: Side
    quantity: Decimal
    cost: Decimal
    unfilled: Decimal
    capped: bool

    @property
    def price(self) -> Decimal | None:
        """The volume-weighted average price, rounded against the trader to the ledger's places;
        None when nothing filled."""
        if self.quantity <= 0:
            return None
        rounding = ROUND_UP if self.side is Side.BUY else ROUND_DOWN
        return divide_to_ledger(self.cost, self.quantity, rounding)


def check_book(book: OrderBook, now_ms: int, max_age_ms: int = MAX_BOOK_AGE_MS) -> None:
    """Refuse a book that cannot be walked: empty on either side, crossed, or stale."""
    if not book.bids or not book.asks:
        raise BookError(f"the order book of {book.symbol} is empty; try again later")
    if book.bids[0].price >= book.asks[0].price:
        raise BookError(
            f"the order book of {book.symbol} is crossed (best bid {book.bids[0].price} >= "
            f"best ask {book.asks[0].price}); try again later"
        )
    if book.ts_ms is not None and now_ms - book.ts_ms > max_age_ms:
        age = (now_ms - book.ts_ms) / 1000
        raise BookError(f"the order book of {book.symbol} is {age:g} s old (stale); try again later")


def limit_price(side: Side, reference: Decimal, max_slippage: Decimal) -> Decimal:
    """The worst price the walk may reach: `max_slippage` above the reference for a buy, below
    it for a sell."""
    with exact():
        move = reference * max_slippage
        return reference + move if side is Side.BUY else reference - move


def _within(level: BookLevel, side: Side, limit: Decimal) -> bool:
    return level.price <= limit if side is Side.BUY else level.price >= limit


def walk(book: OrderBook, side: Side, quantity: Decimal, reference: Decimal, max_slippage: Decimal) -> Walk:
    """Walk `book` for `quantity` of base: the filled quantity, its exact cost and the unfilled
    rest, stopping before the first level beyond `max_slippage` from `reference`."""
    limit = limit_price(side, reference, max_slippage)
    filled = cost = ZERO
    for level in book.side_for(side):
        if filled >= quantity or not _within(level, side, limit):
            break
        with exact():
            take = min(level.amount, quantity - filled)
            filled += take
            cost += take * level.price
    with exact():
        rest = quantity - filled
    return Walk(side, filled, cost, rest, rest > 0)


def _budget_quantity(book: OrderBook, side: Side, budget: Decimal, fee_rate: Decimal, limit: Decimal):
    """The exact quantity whose walked cost plus fee spends `budget`, and whether the cap or the
    book's depth stopped it first."""
    quantity, spendable = ZERO, budget
    for level in book.side_for(side):
        if not _within(level, side, limit):
            return quantity, True
        with exact():
            unit_cost = level.price * (1 + fee_rate)
            whole = level.amount * unit_cost
        if whole >= spendable:
            return quantity + divide_down(spendable, unit_cost, Decimal("1e-30")), False
        with exact():
            quantity += level.amount
            spendable -= whole
    return quantity, True


def size_entry(
    book: OrderBook,
    side: Side,
    market: Market,
    budget: Decimal,
    fee_rate: Decimal,
    reference: Decimal,
    max_slippage: Decimal,
) -> tuple[Fill | None, Walk]:
    """The entry (a BUY, or the SELL that opens a short) that spends at most `budget`, fee
    included, walking the book: its `Fill` (None when nothing fits or it is below the market's
    minimums) and the walk it was priced on (`capped` when the cap or the depth cut it short)."""
    limit = limit_price(side, reference, max_slippage)
    exact_quantity, capped = _budget_quantity(book, side, budget, fee_rate, limit)
    quantity = divide_down(exact_quantity, Decimal(1), market.amount_step)
    while quantity > 0:
        walked = walk(book, side, quantity, reference, max_slippage)
        fill = book_fill(market, walked, fee_rate)
        with exact():
            if fill is None or fill.notional + fill.fee <= budget:
                return fill, Walk(side, walked.quantity, walked.cost, walked.unfilled, capped)
            quantity -= market.amount_step
    return None, Walk(side, ZERO, ZERO, ZERO, capped)


def book_fill(market: Market, walked: Walk, fee_rate: Decimal) -> Fill | None:
    """The `Fill` of a walk at its VWAP; its notional is the walk's exact cost (rounded against the
    trader only if finer than the ledger), its fee rounded up as every fill's; None when nothing
    filled or it is below the market's minimums."""
    price = walked.price
    if price is None or walked.quantity < market.min_amount:
        return None
    rounding = ROUND_UP if walked.side is Side.BUY else ROUND_DOWN
    notional = round_to_ledger(walked.cost, rounding)  # what the levels cost, not quantity x rounded VWAP
    if notional < market.min_cost:
        return None
    with exact():
        raw_fee = fee_rate * notional
    return Fill(market.symbol, walked.side, walked.quantity, price, round_up_to_ledger(raw_fee), notional)


def close_position(
    book: OrderBook,
    market: Market,
    position: Position,
    fee_rate: Decimal,
    reference: Decimal,
    max_slippage: Decimal,
    quantity: Decimal | None = None,
) -> tuple[Fill | None, Walk]:
    """The market order that closes `quantity` (None: all) of `position` against the book: a long
    sells into the bids, a short's cover buys from the asks. Its `Fill` (None when flat, nothing
    fills within the cap, or it is below the market's minimums) and the walk, whose `unfilled`
    rest stays open. A cover is never refused for want of cash (the ledger floors it)."""
    side = Side.BUY if position.is_short else Side.SELL
    held = position.quantity.copy_abs()  # abs() would round to the context's precision
    wanted = held if quantity is None else min(quantity, held)
    if not position.is_open or wanted <= 0:
        return None, Walk(side, ZERO, ZERO, ZERO, False)
    walked = walk(book, side, wanted, reference, max_slippage)
    return book_fill(market, walked, fee_rate), walked


@dataclass(frozen=True, slots=True)
class Cancelled:
    """The rest of a market order that the book could not fill within the cap (or its depth),
    cancelled, never left resting: `quantity` of base for an order of a quantity (an exit, an
    entry sized in base), or `budget` of quote left unspent for an entry sized by a budget;
    `limit` is the worst price the cap allowed."""

    limit: Decimal
    quantity: Decimal | None = None
    budget: Decimal | None = None


@dataclass(slots=True)
class BookFills:
    """Market orders filled against `book` (a `FillModel`'s `buy`/`short`/`close`, walking the book
    instead of moving the close): sized and charged by `model` (stake, fee rate), capped at
    `max_slippage` from the reference. Each walk made is kept in `walks`, in order, so the caller
    can say which fills were partial; `cancelled` is what the last order could not fill (None
    when it filled whole)."""

    model: FillModel
    book: OrderBook
    max_slippage: Decimal = DEFAULT_MAX_SLIPPAGE
    walks: list[Walk] = field(default_factory=list)
    cancelled: Cancelled | None = None

    def buy(self, market: Market, cash: Decimal, reference: Decimal, size: "Size | None" = None) -> Fill | None:
        """The BUY that spends at most the budget (`FillModel.buy`'s), fee included, walking the asks."""
        return self._entry(Side.BUY, market, cash, reference, size)

    def short(self, market: Market, cash: Decimal, reference: Decimal, size: "Size | None" = None) -> Fill | None:
        """The SELL that opens a short, sized as a `buy` of the same budget, walking the bids."""
        return self._entry(Side.SELL, market, cash, reference, size)

    def close(
        self, market: Market, position: Position, reference: Decimal, quantity: Decimal | None = None
    ) -> Fill | None:
        """`close_position` on the book; what the cap leaves stays open."""
        fill, walked = close_position(
            self.book, market, position, self.model.fee_rate, reference, self.max_slippage, quantity
        )
        self._walked(walked, reference, fill)
        return fill

    def _entry(self, side: Side, market: Market, cash: Decimal, reference: Decimal, size: "Size | None"):
        if size is not None and size.unit == "base":
            walked = walk(self.book, side, divide_down(size.value, Decimal(1), market.amount_step), reference,
                          self.max_slippage)  # fmt: skip
            fill = book_fill(market, walked, self.model.fee_rate)
            self._walked(walked, reference, fill)
            with exact():
                return fill if fill is not None and fill.notional + fill.fee <= cash else None
        budget = self.model.budget(cash, size)
        if budget is None or budget <= 0:
            return None
        fill, walked = size_entry(self.book, side, market, budget, self.model.fee_rate, reference, self.max_slippage)
        self.walks.append(walked)
        self.cancelled = None
        if walked.capped:
            with exact():
                spent = ZERO if fill is None else fill.notional + fill.fee
                self.cancelled = Cancelled(limit_price(side, reference, self.max_slippage), budget=budget - spent)
        return fill

    def _walked(self, walked: Walk, reference: Decimal, fill: Fill | None) -> None:
        """Keep `walked`; its unfilled rest is cancelled (all of it when nothing could be booked)."""
        self.walks.append(walked)
        self.cancelled = None
        if walked.capped:
            rest = walked.unfilled if fill is not None else walked.quantity + walked.unfilled
            limit = limit_price(walked.side, reference, self.max_slippage)
            self.cancelled = Cancelled(limit, quantity=rest)
