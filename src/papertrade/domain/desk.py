"""A symbol's trading desk: the one rule set that turns decisions and resting orders into fills,
shared by the live tick, replay and backtest so that all three trade identically.

For every candle, in time order, a caller asks the desk to
1. `on_candle(bar)`: fill, expire and move the resting orders on that closed candle (the rules
   in `papertrade.domain.orders`), and book the funding due on it (a swap's position:
   `papertrade.domain.funding`), then
2. `act(decision, bar)`, when the strategy decided on that candle: fill a market order at its
   close, place resting orders (active from the next candle), cancel.
A tick that missed candles (cron was not running) calls `on_candle` for each of them first.

The desk changes its own copy of the book and keeps what happened (`fills`, `events`) for the
caller to write down.
"""

from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from papertrade.domain.bars import Bar
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.funding import NO_FUNDING, FundingPayment, FundingSchedule, settle
from papertrade.domain.ledger import Book, FillResult, Side
from papertrade.domain.margin import SPOT, MarginRules, liquidation_fill
from papertrade.domain.money import divide_down, to_plain
from papertrade.domain.orders import (
    LIQUIDATION,
    NO_EXITS,
    SIGNAL,
    Entry,
    Exits,
    OrderKind,
    RestingOrder,
    expiry_over_gap,
    first_exit,
    ratchet,
    refusal,
    touch_price,
)
from papertrade.domain.signals import Decision, Signal

if TYPE_CHECKING:
    from papertrade.domain.book import BookFills, Cancelled


def _relabelled(entry, kind: str):
    """A decision's fill (not a resting order's) as made by `kind`."""
    if isinstance(entry, DeskFill) and entry.order is None:
        return DeskFill(kind, entry.candle_ts, entry.booked, cancelled=entry.cancelled, reference=entry.reference)
    return entry


def warming_up(have: int, warmup: int) -> Decision:
    return Decision(Signal.HOLD, f"warming up: {have} of {warmup} closed candles")


@dataclass(frozen=True, slots=True)
class DeskFill:
    """A fill and what made it: `kind` is "signal" or the resting order's kind. `cancelled`: the
    rest of a market order the order book could not fill within the slippage cap (a partial fill)."""

    kind: str
    candle_ts: int
    booked: FillResult
    order: RestingOrder | None = None
    cancelled: "Cancelled | None" = None
    #: What the fill is measured against: the decided candle's close (a market fill) or the resting
    #: order's level (None: a liquidation, which has no price asked for).
    reference: Decimal | None = None


@dataclass(frozen=True, slots=True)
class OrderEvent:
    """A change to a resting order: placed, filled, cancelled, expired or moved (a trailing stop)."""

    what: str
    order: RestingOrder
    candle_ts: int
    reason: str = ""


@dataclass
class Desk:
    """One symbol of one portfolio, moving through closed candles (see the module docstring).

    `exits` are the portfolio's: attached to every entry whose decision sets none. `step_ms` is
    the timeframe, to turn an expiry in candles into the last candle an order may fill on.
    `allow_short`: whether `Decision.short` may open a short (the portfolio's `--allow-short`).
    `margin`: the rules that liquidate a position (`papertrade.domain.margin`), checked first on
    every candle. `funding`: the swap's funding rates (`papertrade.domain.funding`), booked on
    every candle after its fills. `market_fills`: when set (a tick of a `--fill book` portfolio), the market
    orders `act` makes walk the order book (`papertrade.domain.book`); resting orders keep the
    candle rules.
    """

    book: Book
    market: Market
    fills: FillModel
    orders: list[RestingOrder]
    step_ms: int
    exits: Exits = NO_EXITS
    log: list[DeskFill | OrderEvent | FundingPayment] = field(default_factory=list)  # what happened, in order
    allow_short: bool = False
    refused: list[tuple[int, str]] = field(default_factory=list)  # entries refused: (candle_ts, why)
    margin: MarginRules = SPOT
    market_fills: "BookFills | None" = None  # fills the market orders of `act` instead of `fills`
    funding: FundingSchedule = NO_FUNDING

    @property
    def symbol(self) -> str:
        return self.market.symbol

    @property
    def filled(self) -> list[DeskFill]:
        return [entry for entry in self.log if isinstance(entry, DeskFill)]

    @property
    def events(self) -> list[OrderEvent]:
        return [entry for entry in self.log if isinstance(entry, OrderEvent)]

    @property
    def funded(self) -> list[FundingPayment]:
        return [entry for entry in self.log if isinstance(entry, FundingPayment)]

    # -- resting orders on a closed candle ------------------------------------------------------

    def on_candle(self, bar: Bar, previous_ts: int | None = None) -> None:
        """Expire, fill and move the resting orders on `bar`, a closed candle, then book the
        funding due on it; `previous_ts` is the open time of the candle before it in the series
        (None: not known, nothing missing), so that an expiry counts candles that exist and
        funding times in missing candles are booked."""
        if previous_ts is not None:
            self._over_gap(previous_ts, bar.ts)
        for order in [o for o in self.orders if o.has_expired_by(bar.ts)]:
            self._remove(order, "expired", bar.ts, "its time ran out")
        active = [o for o in self.orders if o.is_active_on(bar.ts)]
        if self._liquidate(bar):
            pass  # checked before every other exit; a liquidated position fills nothing else
        elif self.book.position(self.symbol).is_open:
            self._fill_exit([o for o in active if o.kind.is_exit], bar)
        else:
            self._fill_entry([o for o in active if not o.kind.is_exit], bar)
        if self.funding:
            self.log.extend(settle(self.book, self.symbol, self.funding, bar, previous_ts, self.step_ms))
        self._ratchet(bar)

    def _liquidate(self, bar: Bar) -> bool:
        """Liquidate the position if `bar` reaches its liquidation price (`domain.margin`)."""
        position = self.book.position(self.symbol)
        fill = liquidation_fill(position, bar, self.margin)
        if fill is None:
            return False
        self._book(None, bar.ts, fill, LIQUIDATION)
        for order in [o for o in self.orders if o.kind.is_exit]:
            self._remove(order, "cancelled", bar.ts, "the position was liquidated")
        return True

    def _fill_exit(self, exits: list[RestingOrder], bar: Bar) -> None:
        chosen = first_exit(exits, bar)
        if chosen is None:
            return
        order, at = chosen
        position = self.book.position(self.symbol)
        fill = self.fills.close(self.market, position, at, slipped=order.kind.is_stop)
        if fill is None:
            self._remove(order, "cancelled", bar.ts, "the position is below the market's minimum order")
            return
        self._book(order, bar.ts, fill)
        for other in [o for o in self.orders if o.kind.is_exit]:
            self._remove(other, "cancelled", bar.ts, f"one-cancels-other: the {order.kind} filled")

    def _fill_entry(self, entries: list[RestingOrder], bar: Bar) -> None:
        for order in entries:
            at = touch_price(order, bar)
            if at is None:
                continue
            enter = self.fills.short if order.side is Side.SELL else self.fills.buy
            fill = enter(self.market, self.book.free_cash, at, order.size, slipped=order.kind.is_stop,
                         **self._leverage())  # fmt: skip
            if fill is None:
                self._remove(order, "cancelled", bar.ts, "not enough cash, or below the market's minimum")
                continue
            booked = self._book(order, bar.ts, fill)
            self._cancel_entries(bar.ts, f"the {order.kind} entry placed on {order.placed_ts} filled")
            self._protect(order.exits, booked.fill.price, bar.ts, order.side is Side.SELL)
            return

    def _over_gap(self, previous_ts: int, ts: int) -> None:
        for index, order in enumerate(self.orders):
            moved = expiry_over_gap(order, previous_ts, ts, self.step_ms)
            if moved is not order:
                self.orders[index] = moved
                missing = (ts - previous_ts) // self.step_ms - 1
                self.log.append(OrderEvent("moved", moved, ts, f"expiry moved past {missing} missing candles"))

    def _ratchet(self, bar: Bar) -> None:
        for index, order in enumerate(self.orders):
            if order.kind is OrderKind.TRAILING_STOP:
                moved = ratchet(order, bar.close)
                if moved is not order:
                    self.orders[index] = moved
                    self.log.append(OrderEvent("moved", moved, bar.ts, f"trailing to {moved.price}"))

    # -- a decision at a candle's close ---------------------------------------------------------

    def act(self, decision: Decision, bar: Bar, kind: str = SIGNAL) -> Decision:
        """Carry out `decision`, made on the closed candle `bar`; what cannot be done becomes a
        HOLD saying why. Its fills are of `kind`: "signal" (the strategy's), or "manual" (a
        trader's `papertrade open`/`close`).

        An entry against the open position (`Decision.buy` while short, `Decision.short` while
        long) first closes it at the candle's close, then enters: stop and reverse, two fills on
        one candle. A plain SELL only reduces a long; `Decision.cover` only reduces a short."""
        start = len(self.log)
        done = self._act(decision, bar)
        if kind != SIGNAL:
            self.log[start:] = [_relabelled(entry, kind) for entry in self.log[start:]]
        return done

    def _act(self, decision: Decision, bar: Bar) -> Decision:
        if decision.cancel:
            self._cancel_entries(bar.ts, "cancelled by the strategy")
        if decision.signal is Signal.HOLD:
            return decision
        entering = decision.signal is Signal.SELL if decision.short_side else decision.signal is Signal.BUY
        if not entering:
            return self._exit(decision, bar)
        entry = decision.entry or Entry(short=decision.short_side)
        if entry.short and not self.allow_short:
            return _held(decision, "shorts are not allowed in this portfolio (create it with --allow-short)")
        position = self.book.position(self.symbol)
        if position.is_open and position.is_short != entry.short:
            if (why := self._refusal(entry, bar)) is not None:  # a refused reversal closes nothing either
                return _held(decision, why)
            self._close(position, None, bar)
            if position.is_open:
                why = "the book could not close all of the position to reverse" if self._cancelled() else None
                return _held(decision, why or "the position to reverse is below the market minimum")
        return self._enter(decision, entry, bar)

    def _refusal(self, entry: Entry, bar: Bar) -> str | None:
        """Why `entry` makes no sense (`orders.refusal`), noted in `refused`; None if it does."""
        why = refusal(entry, entry.exits if entry.exits is not None else self.exits, bar.close, entry.side)
        if why is not None:
            self.refused.append((bar.ts, why))
        return why

    def _enter(self, decision: Decision, entry: Entry, bar: Bar) -> Decision:
        position = self.book.position(self.symbol)
        if position.is_open and not entry.scale_in:
            return _held(decision, "already holding")
        if (why := self._refusal(entry, bar)) is not None:
            return _held(decision, why)
        if entry.kind is not None:
            self._cancel_entries(bar.ts, "replaced by a new entry")
            self._place(self._resting_entry(entry, bar.ts), bar.ts)
            return decision
        model = self.market_fills or self.fills
        enter = model.short if entry.short else model.buy
        fill = enter(self.market, self.book.free_cash, bar.close, entry.size, **self._leverage())
        if fill is None:
            return _held(decision, self._beyond_cap() or "insufficient cash")
        booked = self._book(None, bar.ts, fill, cancelled=self._cancelled(), reference=bar.close)
        self._cancel_entries(bar.ts, "a market entry filled")
        anchor = booked.fill.price if booked.position_after.copy_abs() == fill.quantity else position.avg_cost
        self._protect(entry.exits, anchor, bar.ts, entry.short)
        return decision

    def _resting_entry(self, entry: Entry, placed_ts: int) -> RestingOrder:
        expires_ts = None if entry.expires is None else placed_ts + entry.expires * self.step_ms
        return RestingOrder(self.symbol, entry.kind, entry.side, entry.price, placed_ts, expires_ts, entry.size,
                            entry.exits)  # fmt: skip

    def _exit(self, decision: Decision, bar: Bar) -> Decision:
        position = self.book.position(self.symbol)
        if decision.short_side and not position.is_short:
            return _held(decision, "no short to cover")
        if not decision.short_side and not position.is_long:
            return _held(decision, "nothing to sell")
        quantity = None
        if decision.portion is not None and decision.portion < 1:
            quantity = divide_down(position.quantity.copy_abs() * decision.portion, Decimal(1), self.market.amount_step)
        if not self._close(position, quantity, bar):
            return _held(decision, self._beyond_cap() or "below the market minimum")
        return decision

    def _close(self, position, quantity: Decimal | None, bar: Bar) -> bool:
        """Close `quantity` (None: all) of the position at the candle's close; False if it cannot."""
        fill = (self.market_fills or self.fills).close(self.market, position, bar.close, quantity)
        if fill is None:
            return False
        self._book(None, bar.ts, fill, cancelled=self._cancelled(), reference=bar.close)
        if not position.is_open:
            for order in [o for o in self.orders if o.kind.is_exit]:
                self._remove(order, "cancelled", bar.ts, "the position was closed")
        return True

    # -- bookkeeping ----------------------------------------------------------------------------

    def _leverage(self) -> dict[str, Decimal]:
        """The sizing argument of a new entry: none at leverage 1 (spot; `--fill book` has no other)."""
        return {} if self.margin.leverage == 1 else {"leverage": self.margin.leverage}

    def _book(
        self, order: RestingOrder | None, candle_ts: int, fill, kind: str = SIGNAL, cancelled=None, reference=None
    ) -> FillResult:
        booked = self.book.apply_fill(fill, self.margin.leverage)
        if order is not None:
            self.orders.remove(order)
            self.log.append(OrderEvent("filled", order, candle_ts))
            reference = order.price  # the level it rested at
        self.log.append(DeskFill(str(order.kind) if order else kind, candle_ts, booked, order, cancelled, reference))
        return booked

    def _cancelled(self) -> "Cancelled | None":
        """What the last market order walked on the book left unfilled (None: filled whole, or no book)."""
        return None if self.market_fills is None else self.market_fills.cancelled

    def _beyond_cap(self) -> str | None:
        """Why a market order on the book filled nothing: no liquidity within the slippage cap."""
        cancelled = self._cancelled()
        if cancelled is None:
            return None
        return f"the order book has nothing to fill within the slippage cap (limit {to_plain(cancelled.limit)})"

    def _protect(self, exits: Exits | None, entry_price: Decimal, candle_ts: int, short: bool = False) -> None:
        """Attach exits (the entry's, or the portfolio's) to the position, replacing any it had."""
        for order in [o for o in self.orders if o.kind.is_exit]:
            self._remove(order, "cancelled", candle_ts, "replaced by the exits of a new entry")
        chosen = exits if exits is not None else self.exits
        for order in chosen.orders(self.symbol, entry_price, candle_ts, short):
            self._place(order, candle_ts)

    def _cancel_entries(self, candle_ts: int, why: str) -> None:
        for order in [o for o in self.orders if not o.kind.is_exit]:
            self._remove(order, "cancelled", candle_ts, why)

    def _place(self, order: RestingOrder, candle_ts: int) -> None:
        self.orders.append(order)
        self.log.append(OrderEvent("placed", order, candle_ts))

    def _remove(self, order: RestingOrder, what: str, candle_ts: int, why: str) -> None:
        self.orders.remove(order)
        self.log.append(OrderEvent(what, order, candle_ts, why))


def _held(decision: Decision, why: str) -> Decision:
    said = f"{decision.signal}: {decision.reason}" if decision.reason else str(decision.signal)
    return Decision(Signal.HOLD, f"{why} ({said})", decision.indicators)
