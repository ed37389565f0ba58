"""The ledger: a portfolio's cash and long positions, changed only by applying fills.

Invariants, checked by property tests:
- cash and every position quantity stay >= 0 (long only, no leverage);
- every amount is a multiple of 10**-LEDGER_PLACES;
- the books balance exactly: initial cash + realized PnL - fees paid == cash + cost basis.
"""

from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum

from papertrade.domain.money import ZERO, divide_to_ledger, exact, fits_ledger
from papertrade.errors import LedgerError


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
    """A long holding of one symbol. Fees are kept out of the cost basis and counted separately."""

    symbol: str
    quantity: Decimal = ZERO
    cost_basis: Decimal = ZERO
    realized_pnl: Decimal = ZERO
    fees_paid: Decimal = ZERO

    @property
    def is_open(self) -> bool:
        return self.quantity > 0

    @property
    def avg_cost(self) -> Decimal:
        """Weighted average price paid for the open quantity (0 when flat)."""
        if not self.is_open:
            return ZERO
        return divide_to_ledger(self.cost_basis, self.quantity)

    def unrealized_pnl(self, price: Decimal) -> Decimal:
        with exact():
            return self.quantity * price - self.cost_basis


@dataclass(frozen=True, slots=True)
class FillResult:
    """What a fill did to the books."""

    fill: Fill
    realized_pnl: Decimal
    cash_after: Decimal
    position_after: Decimal


@dataclass(slots=True)
class Book:
    """A portfolio's book: cash plus positions. `apply_fill` is the only way it changes."""

    initial_cash: Decimal
    cash: Decimal
    positions: dict[str, Position] = field(default_factory=dict)

    def copy(self) -> "Book":
        """An independent copy: applying fills to it leaves this book as it is."""
        return Book(self.initial_cash, self.cash, {symbol: replace(p) for symbol, p in self.positions.items()})

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

    def _total(self, attribute: str) -> Decimal:
        with exact():
            return sum((getattr(p, attribute) for p in self.positions.values()), ZERO)

    def apply_fill(self, fill: Fill) -> FillResult:
        """Book `fill`, or raise `LedgerError` and change nothing if it would break the books."""
        with exact():
            realized = self._buy(fill) if fill.side is Side.BUY else self._sell(fill)
        position = self.positions[fill.symbol]
        return FillResult(fill, realized, self.cash, position.quantity)

    def _buy(self, fill: Fill) -> Decimal:
        cost = fill.notional + fill.fee
        if cost > self.cash:
            raise LedgerError(f"buying {fill.quantity} {fill.symbol} costs {cost}, more than the cash {self.cash}")
        position = self.position(fill.symbol)
        self.cash -= cost
        position.quantity += fill.quantity
        position.cost_basis += fill.notional
        position.fees_paid += fill.fee
        return ZERO

    def _sell(self, fill: Fill) -> Decimal:
        position = self.positions.get(fill.symbol)
        held = position.quantity if position else ZERO
        if fill.quantity > held:
            raise LedgerError(f"cannot sell {fill.quantity} {fill.symbol}: only {held} held")
        if fill.fee > self.cash + fill.notional:
            raise LedgerError(f"selling {fill.symbol} would leave cash negative after the fee")
        if fill.quantity == held:
            released = position.cost_basis
        else:
            released = divide_to_ledger(position.cost_basis * fill.quantity, held)
        realized = fill.notional - released
        self.cash += fill.notional - fill.fee
        position.quantity -= fill.quantity
        position.cost_basis -= released
        position.realized_pnl += realized
        position.fees_paid += fill.fee
        return realized
