"""Profit and loss as a trader counts it: realized net of fees, and positions marked to market.

The ledger books a sale's `realized_pnl` before fees (the proceeds minus the cost basis it
releases) and keeps fees apart. What a trader asks is what the sale made after the fees it paid
on the way in and out: `net_realized` takes the sale's own fee and the share of the entry fees
of the quantity it sold. Every output (trades, report, status, the dashboard) takes its net
figures from here, so they cannot disagree.
"""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Protocol

from papertrade.domain.money import ZERO, divide_to_ledger, exact


class Execution(Protocol):
    """What `net_realized` reads of a trade (a stored trade record or a report's fill row)."""

    symbol: str
    side: str
    quantity: Decimal
    fee: Decimal
    realized_pnl: Decimal


@dataclass(slots=True)
class NetRealized:
    """Realized PnL after fees, per trade (None for a BUY) and per symbol, and the entry fees
    still carried by each symbol's open quantity."""

    by_trade: list[Decimal | None] = field(default_factory=list)
    by_symbol: dict[str, Decimal] = field(default_factory=dict)
    open_fees: dict[str, Decimal] = field(default_factory=dict)

    @property
    def total(self) -> Decimal:
        with exact():
            return sum(self.by_symbol.values(), ZERO)


def net_realized(trades: Iterable[Execution]) -> NetRealized:
    """Each closing trade's realized PnL (a SELL of a long, a BUY covering a short) net of its
    own fee and of the entry fees of what it closed; `trades` in the order they executed. An
    entry (a BUY when not short, a SELL when not long) realizes nothing (None)."""
    result, held = NetRealized(), {}
    for trade in trades:
        symbol, signed = trade.symbol, trade.quantity if str(trade.side) == "BUY" else -trade.quantity
        before = held.get(symbol, ZERO)
        with exact():
            held[symbol] = before + signed
            if before == 0 or (before > 0) == (signed > 0):  # opens or adds: its fee waits for the exit
                result.open_fees[symbol] = result.open_fees.get(symbol, ZERO) + trade.fee
                result.by_trade.append(None)
                continue
            entry_fees = _entry_fees_sold(result.open_fees.get(symbol, ZERO), trade.quantity, before.copy_abs())
            result.open_fees[symbol] = result.open_fees.get(symbol, ZERO) - entry_fees
            net = trade.realized_pnl - trade.fee - entry_fees
            result.by_symbol[symbol] = result.by_symbol.get(symbol, ZERO) + net
        result.by_trade.append(net)
    return result


@dataclass(frozen=True, slots=True)
class Closing:
    """What the last of a run of trades closed: its realized PnL net of every fee (as
    `net_realized` counts it), the entry value of the quantity it closed, and when that position
    was opened (its first entry's candle)."""

    net: Decimal
    entry_value: Decimal
    entry_ts: int

    @property
    def profit_pct(self) -> Decimal | None:
        """Net PnL per entry value, in percent (None when the entry cost nothing)."""
        if self.entry_value.is_zero():
            return None
        return divide_to_ledger(self.net * 100, self.entry_value)


def last_closing(trades: Sequence[Execution]) -> Closing | None:
    """The round trip the last of `trades` (in the order they executed, each with `notional`
    and `candle_ts`) closed, or None when it opened or added to a position."""
    if not trades:
        return None
    net = net_realized(trades).by_trade[-1]
    if net is None:
        return None
    *earlier, last = trades
    held, value, since = ZERO, ZERO, None
    for trade in (t for t in earlier if t.symbol == last.symbol):
        signed = trade.quantity if str(trade.side) == "BUY" else -trade.quantity
        with exact():
            if held == 0 or (held > 0) == (signed > 0):
                since, value = (trade.candle_ts, ZERO) if held == 0 else (since, value)
                value += trade.notional
            else:
                value -= divide_to_ledger(value * min(trade.quantity, held.copy_abs()), held.copy_abs())
            held += signed
    size = held.copy_abs()
    closed = value if last.quantity >= size else divide_to_ledger(value * last.quantity, size)
    return Closing(net, closed, since if since is not None else last.candle_ts)


def position_sides(trades: Iterable[Execution]) -> list[str]:
    """For each trade (in the order executed), the side of the position it opened, added to or
    reduced: "long" or "short" (a SELL from flat opens a short, a BUY covers one)."""
    sides, held = [], {}
    for trade in trades:
        before = held.get(trade.symbol, ZERO)
        buying = str(trade.side) == "BUY"
        sides.append("long" if before > 0 or (before == 0 and buying) else "short")
        with exact():
            held[trade.symbol] = before + (trade.quantity if buying else -trade.quantity)
    return sides


def _entry_fees_sold(open_fees: Decimal, sold: Decimal, held: Decimal) -> Decimal:
    """The part of the open quantity's entry fees that selling `sold` of `held` takes along."""
    if sold >= held:
        return open_fees
    return open_fees - divide_to_ledger(open_fees * (held - sold), held)  # what stays with the rest


@dataclass(frozen=True, slots=True)
class Mark:
    """A position valued at a price: the close of the candle opening at `candle_ts` (None when
    no candle is stored: then the position is marked at its average cost)."""

    symbol: str
    quantity: Decimal
    price: Decimal
    candle_ts: int | None
    market_value: Decimal
    unrealized_pnl: Decimal
    margined: bool = False  # a margin position (leverage > 1): its cost never left the cash

    @property
    def in_equity(self) -> Decimal:
        """What the position adds to the cash in equity: its market value, or for a margin
        position its unrealized PnL (see `papertrade.domain.ledger`)."""
        return self.unrealized_pnl if self.margined else self.market_value


def mark(
    symbol: str, quantity: Decimal, cost_basis: Decimal, price: Decimal, candle_ts: int | None, margined: bool = False
) -> Mark:
    """`quantity` held at `cost_basis`, marked at `price` (unrealized PnL before fees, as the
    ledger's realized PnL: the entry fees are already paid out of cash). Both are signed: a
    short's market value is negative (what buying it back would cost)."""
    with exact():
        value = quantity * price
        return Mark(symbol, quantity, price, candle_ts, value, value - cost_basis, margined)


def equity(cash: Decimal, marks: Mapping[str, Mark]) -> Decimal:
    """Cash plus every open position at its mark (a margin position: plus its unrealized PnL)."""
    with exact():
        return cash + sum((m.in_equity for m in marks.values()), ZERO)
