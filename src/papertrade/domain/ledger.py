"""The ledger: a portfolio's cash and signed positions, changed only by applying fills.

A position's quantity and cost basis are signed: above zero a long (base bought), below zero a
short (base sold borrowed; the cost basis is minus the proceeds of the entry). A fill never
carries a position through zero: a reversal is a close and then an entry.

Two cash models, chosen per position by the leverage it was opened at (`apply_fill`'s
`leverage`, the portfolio's setting for new entries):
- leverage 1 (spot, and the shorts of a portfolio without leverage): cost accounting. A buy pays
  its notional out of cash, a short's proceeds come into cash; equity = cash + signed quantity x
  mark.
- leverage > 1 (a margin position): cash is the wallet balance and moves only by fees and
  realized PnL. An entry pays only its fee; an exit adds its realized PnL less its fee; the
  margin the position puts up (|cost basis| / leverage, rounded up) stays in cash but is no
  longer free (`free_cash`). Equity = cash + unrealized PnL (signed quantity x mark - cost basis).
  Each position is margined on its own (isolated): an exit never loses more than the margin it
  releases; a loss beyond it (a gap through the liquidation price) is floored.

Invariants, checked by property tests:
- cash stays >= 0, and at least the margin in use: a buy to cover a short that would cost more
  than the cash leaves the cash at zero (and a margin position's loss beyond its margin is not
  taken) and records what it could not pay as the fill's `floored` amount;
- every amount is a multiple of 10**-LEDGER_PLACES;
- the books balance exactly:
  initial cash + realized PnL - fees paid - funding paid + floored == cash + the signed cost
  basis of the leverage-1 positions (funding: the perpetual swaps' payments,
  `papertrade.domain.funding`, booked by `apply_funding`).
"""

from dataclasses import dataclass, field, replace
from decimal import ROUND_UP, Decimal
from enum import StrEnum

from papertrade.domain.money import ZERO, divide_to_ledger, exact, fits_ledger
from papertrade.errors import LedgerError

ONE = Decimal(1)


class Side(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


@dataclass(frozen=True, slots=True)
class Fill:
    """An execution: `quantity` of `symbol` at `price`, paying `fee` in the quote currency.

    `notional` is quantity x price as booked (rounded against the trader to the ledger's places).
    """

    symbol: str
    side: Side
    quantity: Decimal
    price: Decimal
    fee: Decimal
    notional: Decimal

    def __post_init__(self) -> None:
        if self.quantity <= 0 or self.price <= 0 or self.fee < 0 or self.notional <= 0:
            raise LedgerError(f"invalid fill {self}: quantity and price must be > 0, fee >= 0")
        for amount in (self.quantity, self.price, self.fee, self.notional):
            if not fits_ledger(amount):
                raise LedgerError(f"invalid fill {self}: {amount} is finer than the ledger keeps")


@dataclass(slots=True)
class Position:
    """A holding of one symbol: long when `quantity` > 0, short when < 0. Fees are kept out of
    the cost basis (signed like the quantity) and counted separately."""

    symbol: str
    quantity: Decimal = ZERO
    cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO
    funding_paid: Decimal = ZERO  # net funding paid (negative: received), see `domain.funding`
    leverage: Decimal = ONE  # set when the position opens; above 1: a margin position

    @property
    def is_margined(self) -> bool:
        """Whether cash moves by realized PnL and fees only (leverage > 1, see the module)."""
        return self.leverage > 1

    @property
    def margin(self) -> Decimal:
        """|cost basis| / leverage, rounded up: what the position has put up."""
        return divide_to_ledger(self.cost_basis.copy_abs(), self.leverage, ROUND_UP)

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

    @property
    def avg_cost(self) -> Decimal:
        """Weighted average entry price of the open quantity, long or short (0 when flat)."""
        if not self.is_open:
            return ZERO
        return divide_to_ledger(self.cost_basis, self.quantity)

    def unrealized_pnl(self, price: Decimal) -> Decimal:
        """What closing at `price` would realize (before fees), for a long or a short."""
        with exact():
            return self.quantity * price - self.cost_basis


@dataclass(frozen=True, slots=True)
class FillResult:
    """What a fill did to the books. `floored` is the part of a cover's cost the cash could not
    pay (the cash was left at zero instead of going below it); zero otherwise."""

    fill: Fill
    realized_pnl: Decimal
    cash_after: Decimal
    position_after: Decimal
    floored: Decimal = ZERO
    leverage: Decimal = ONE  # the position's, after the fill
    margined_basis: Decimal = ZERO  # a margin position's cost basis after the fill (equity subtracts it)


@dataclass(slots=True)
class Book:
    """A portfolio's book: cash plus positions. `apply_fill` is the only way it changes.
    Only a book that `allow_short`s takes a SELL beyond what is held (opening a short)."""

    initial_cash: Decimal
    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)
    allow_short: bool = False

    def copy(self) -> "Book":
        """An independent copy: applying fills to it leaves this book as it is."""
        positions = {symbol: replace(p) for symbol, p in self.positions.items()}
        return Book(self.initial_cash, self.cash, positions, self.allow_short)

    @property
    def free_cash(self) -> Decimal:
        """What a new entry may commit: the cash less the margin the margin positions hold."""
        margins = [p.margin for p in self.positions.values() if p.is_margined]
        if not margins:
            return self.cash
        with exact():
            return self.cash - sum(margins, ZERO)

    @property
    def margined_basis(self) -> Decimal:
        """Σ cost basis of the margin positions: notionals that never left the cash, which
        equity = cash - this + Σ signed quantity x mark takes back out."""
        with exact():
            return sum((p.cost_basis for p in self.positions.values() if p.is_margined), ZERO)

    def position(self, symbol: str) -> Position:
        if symbol not in self.positions:
            self.positions[symbol] = Position(symbol)
        return self.positions[symbol]

    @property
    def realized_pnl(self) -> Decimal:
        return self._total("realized_pnl")

    @property
    def fees_paid(self) -> Decimal:
        return self._total("fees_paid")

    @property
    def cost_basis(self) -> Decimal:
        return self._total("cost_basis")

    @property
    def funding_paid(self) -> Decimal:
        return self._total("funding_paid")

    def _total(self, attribute: str) -> Decimal:
        with exact():
            return sum((getattr(p, attribute) for p in self.positions.values()), ZERO)

    def apply_fill(self, fill: Fill, leverage: Decimal = ONE) -> FillResult:
        """Book `fill`, or raise `LedgerError` and change nothing if it would break the books.

        A BUY adds to a long (or opens one) when the position is not short, and covers a short
        otherwise; a SELL reduces a long when it is long, and opens or adds to a short otherwise.
        A fill that opens a position opens it at `leverage` (a position keeps the leverage it
        was opened at).
        """
        position = self.positions.get(fill.symbol) or Position(fill.symbol)
        if not position.is_open:
            position.leverage = leverage
        with exact():
            if position.is_margined:
                realized, floored = self._margin_fill(fill, position)
            elif fill.side is Side.BUY:
                realized, floored = (
                    self._cover(fill, position) if position.is_short else (self._buy(fill, position), ZERO)
                )
            elif position.is_long or not self.allow_short:
                realized, floored = self._sell(fill, position), ZERO
            else:
                realized, floored = self._short(fill, position), ZERO
        self.positions[fill.symbol] = position
        basis = position.cost_basis if position.is_margined else ZERO
        return FillResult(fill, realized, self.cash, position.quantity, floored, position.leverage, basis)

    def _margin_fill(self, fill: Fill, position: Position) -> tuple[Decimal, Decimal]:
        """A fill of a margin position: an entry pays its fee and must leave the margin in use
        covered; an exit adds its realized PnL less its fee, losing at most the margin it frees."""
        signed = fill.quantity if fill.side is Side.BUY else -fill.quantity
        if position.quantity == 0 or (position.quantity > 0) == (signed > 0):
            if not self.allow_short and signed < 0:
                raise LedgerError(f"cannot sell {fill.quantity} {fill.symbol}: nothing held")
            if divide_to_ledger(fill.notional, position.leverage, ROUND_UP) + fill.fee > self.free_cash:
                raise LedgerError(f"an entry of {fill.quantity} {fill.symbol} needs more margin than is free")
            position.quantity += signed
            position.cost_basis += fill.notional if signed > 0 else -fill.notional
            self.cash -= fill.fee
            position.fees_paid += fill.fee
            return ZERO, ZERO
        if fill.quantity > position.quantity.copy_abs():
            raise LedgerError(f"cannot close {fill.quantity} {fill.symbol}: only {position.quantity} open")
        before = position.margin
        released = _released(position, signed * -1)
        realized = fill.notional - released if signed < 0 else -released - fill.notional
        _reduce(position, fill, released, realized, 1 if signed < 0 else -1)
        change = realized - fill.fee
        floor = max(-(before - position.margin), -self.cash)  # isolated: never more than it frees
        floored = floor - change if change < floor else ZERO
        self.cash += change + floored
        return realized, floored

    def apply_funding(self, symbol: str, amount: Decimal) -> tuple[Decimal, Decimal]:
        """Book a funding payment of `symbol`'s position: `amount` received (negative: paid).
        A payment larger than the cash leaves the cash at zero; returns the cash after and the
        part that could not be paid (floored)."""
        if not fits_ledger(amount):
            raise LedgerError(f"funding {amount} is finer than the ledger keeps")
        position = self.position(symbol)
        with exact():
            cash = self.cash + amount
            floored = -cash if cash < 0 else ZERO
            self.cash = cash + floored
            position.funding_paid -= amount
        return self.cash, floored

    def _buy(self, fill: Fill, position: Position) -> Decimal:
        cost = fill.notional + fill.fee
        if cost > self.cash:
            raise LedgerError(f"buying {fill.quantity} {fill.symbol} costs {cost}, more than the cash {self.cash}")
        self.cash -= cost
        position.quantity += fill.quantity
        position.cost_basis += fill.notional
        position.fees_paid += fill.fee
        return ZERO

    def _sell(self, fill: Fill, position: Position) -> Decimal:
        held = position.quantity
        if fill.quantity > held:
            raise LedgerError(f"cannot sell {fill.quantity} {fill.symbol}: only {held} held")
        if fill.fee > self.cash + fill.notional:
            raise LedgerError(f"selling {fill.symbol} would leave cash negative after the fee")
        released = _released(position, fill.quantity)
        realized = fill.notional - released
        self.cash += fill.notional - fill.fee
        _reduce(position, fill, released, realized)
        return realized

    def _short(self, fill: Fill, position: Position) -> Decimal:
        if fill.fee > self.cash + fill.notional:
            raise LedgerError(f"shorting {fill.symbol} would leave cash negative after the fee")
        self.cash += fill.notional - fill.fee
        position.quantity -= fill.quantity
        position.cost_basis -= fill.notional
        position.fees_paid += fill.fee
        return ZERO

    def _cover(self, fill: Fill, position: Position) -> tuple[Decimal, Decimal]:
        if fill.quantity > -position.quantity:
            raise LedgerError(f"cannot cover {fill.quantity} {fill.symbol}: only {-position.quantity} short")
        released = _released(position, -fill.quantity)  # negative: minus the proceeds it took in
        realized = -released - fill.notional
        cash = self.cash - fill.notional - fill.fee
        floored = -cash if cash < 0 else ZERO
        self.cash = cash + floored
        _reduce(position, fill, released, realized, -1)
        return realized, floored


def _released(position: Position, quantity: Decimal) -> Decimal:
    """The part of the position's (signed) cost basis that `quantity` (signed like it) takes along."""
    if quantity == position.quantity:
        return position.cost_basis
    return divide_to_ledger(position.cost_basis * quantity, position.quantity)


def _reduce(position: Position, fill: Fill, released: Decimal, realized: Decimal, sign: int = 1) -> None:
    position.quantity -= sign * fill.quantity
    position.cost_basis -= released
    position.realized_pnl += realized
    position.fees_paid += fill.fee
