"""`audit verify`: rebuild a portfolio from its append-only journal and compare with the ledger.

The journal is the evidence; the ledger tables are what papertrade reads and writes every
tick. Verification replays every journaled fill through the same domain code from the opening
cash, and every journaled funding payment through the same funding rule (`domain.funding`),
rebuilds the resting orders from their journaled placements, moves, fills, cancellations and
expiries, checks each entry's hash chain, and reports every place where the tables disagree.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from papertrade.domain.funding import FundingPayment, funding_amount
from papertrade.domain.journal import JournalEntry, chain_problems
from papertrade.domain.ledger import Book, Fill, Position, Side
from papertrade.domain.orders import SIGNAL, Exits, OrderKind, RestingOrder, Size
from papertrade.domain.ticks import TickRecord, TradeRecord
from papertrade.errors import LedgerError
from papertrade.services.portfolios import require_ledger
from papertrade.services.ports import Ledger

_POSITION_FIELDS = ("quantity", "avg_cost", "cost_basis", "realized_pnl", "fees_paid", "funding_paid")
_FUNDING_FIELDS = ("symbol", "ts", "candle_ts", "quantity", "mark_price", "rate", "amount", "cash_after", "floored")
_TRADE_FIELDS = (
    "symbol",
    "side",
    "candle_ts",
    "quantity",
    "price",
    "notional",
    "fee",
    "realized_pnl",
    "cash_after",
    "kind",
)


@dataclass
class AuditReport:
    portfolio_id: int
    entries: int = 0
    fills: int = 0
    funding: int = 0  # funding payments journaled
    cash: Decimal | None = None
    positions: int = 0
    problems: list[str] = field(default_factory=list)
    head: str | None = None  # the last journal entry's hash: keep it elsewhere to anchor the journal

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(ledger: Ledger | None, portfolio_id: int) -> AuditReport:
    """Rebuild `portfolio_id` from its journal alone and list every disagreement with the ledger:
    cash, positions, trades, resting orders, and every tick's status, cash and position after."""
    with require_ledger(ledger, portfolio_id).unit_of_work() as uow:
        stored = uow.portfolios.get(portfolio_id)
        entries = uow.journal.entries(portfolio_id)
        trades = uow.trades.list(portfolio_id)
        ticks = uow.ticks.with_ids(portfolio_id)
        payments = uow.funding.payments(portfolio_id)
    report = AuditReport(portfolio_id, entries=len(entries), head=entries[-1].hash if entries else None)
    report.problems.extend(chain_problems(entries))
    report.problems.extend(f"journal entry {e.id} was altered: its payload is not a JSON object"
                           for e in entries if e.payload is None)  # fmt: skip
    entries = [entry for entry in entries if entry.payload is not None]
    rebuilt, fills, states = _rebuild(entries, report)
    _compare_orders(_rebuilt_orders(entries, report), stored.orders, report)
    report.fills = len(fills)
    _compare_funding(_journaled_funding(entries), payments, report)
    if rebuilt is None:
        report.problems.append("the journal has no portfolio.created entry")
        return report
    report.cash = rebuilt.cash
    _compare_book(rebuilt, stored.book, report)
    _compare_trades(fills, trades, report)
    _compare_ticks(ticks, states, rebuilt.initial_cash, report)
    report.positions = sum(1 for p in rebuilt.positions.values() if p.is_open)
    return report


#: The book after one journaled fill or funding payment: (its tick's id, cash, quantity held of
#: each symbol, whether it was a fill).
_State = tuple[int, Decimal, dict[str, Decimal], bool]


def _rebuild(entries: list[JournalEntry], report: AuditReport) -> tuple[Book | None, list[dict], list[_State]]:
    rebuilt: Book | None = None
    fills: list[dict] = []
    states: list[_State] = []
    for entry in entries:
        try:
            if entry.event == "portfolio.created":
                cash = Decimal(entry.payload["initial_cash"])
                rebuilt = Book(cash, cash, allow_short=bool(entry.payload.get("allow_short", False)))
            elif entry.event in ("fill", "funding") and rebuilt is not None:
                if entry.event == "fill":
                    _replay_fill(entry, rebuilt, report)
                    fills.append({**entry.payload, "tick_id": entry.tick_id})
                else:
                    _replay_funding(entry, rebuilt, report)
                held = {symbol: position.quantity for symbol, position in rebuilt.positions.items()}
                states.append((entry.tick_id, rebuilt.cash, held, entry.event == "fill"))
        except (KeyError, TypeError, ValueError, ArithmeticError, LedgerError) as exc:
            report.problems.append(f"journal entry {entry.id} cannot be replayed: {type(exc).__name__} {exc}")
    return rebuilt, fills, states


def _compare_ticks(ticks: list[tuple[int, TickRecord]], states: list[_State], opening: Decimal, report) -> None:
    """Every tick row against the journal: executed exactly when the journal has fills of it,
    and the cash and position it recorded equal to the book the journal gives after it. So a
    tick's trade and fill cannot be removed, nor a tick row edited, without a difference."""
    filled = {state[0] for state in states if state[3]}
    for tick_id in sorted(filled - {tick_id for tick_id, _ in ticks}, key=lambda value: (value is None, value)):
        report.problems.append(f"the journal has fills of tick {tick_id}, which the ticks table does not have")
    cash, held, applied = opening, {}, 0
    for tick_id, tick in ticks:
        while applied < len(states) and (states[applied][0] or 0) <= tick_id:
            _, cash, held, _ = states[applied]
            applied += 1
        _compare_tick(tick_id, tick, tick_id in filled, (cash, held.get(tick.key.symbol, Decimal(0))), report)


def _compare_tick(tick_id: int, tick: TickRecord, filled: bool, book: tuple[Decimal, Decimal], report) -> None:
    where = f"tick {tick_id} ({tick.key.symbol}, candle {tick.key.candle_ts})"
    if (tick.status == "executed") != filled:
        journal = "has fills of it" if filled else "has no fill of it"
        report.problems.append(f"{where} says {tick.status} {tick.signal}, but the journal {journal}")
    for name, expected, actual in (("cash after", book[0], tick.cash_after),
                                   ("position after", book[1], tick.position_after)):  # fmt: skip
        if expected != actual:
            report.problems.append(f"{where} {name}: journal says {expected}, ledger says {actual}")


def _replay_fill(entry: JournalEntry, rebuilt: Book, report: AuditReport) -> None:
    payload = entry.payload
    fill = Fill(
        payload["symbol"],
        Side(payload["side"]),
        Decimal(payload["quantity"]),
        Decimal(payload["price"]),
        Decimal(payload["fee"]),
        Decimal(payload["notional"]),
    )
    result = rebuilt.apply_fill(fill, Decimal(payload.get("leverage", 1)))
    recorded = (Decimal(payload["cash_after"]), Decimal(payload["realized_pnl"]))
    if (result.cash_after, result.realized_pnl) != recorded:
        report.problems.append(f"journal entry {entry.id} records results its fill does not produce")


def _replay_funding(entry: JournalEntry, rebuilt: Book, report: AuditReport) -> None:
    """Book a journaled funding payment again by the funding rule, from the rebuilt position."""
    payload = entry.payload
    symbol, quantity = payload["symbol"], Decimal(payload["quantity"])
    amount = funding_amount(quantity, Decimal(payload["mark_price"]), Decimal(payload["rate"]))
    held = rebuilt.position(symbol).quantity
    cash_after, floored = rebuilt.apply_funding(symbol, amount)
    recorded = (held, amount, cash_after, floored)
    journaled = (
        quantity,
        Decimal(payload["amount"]),
        Decimal(payload["cash_after"]),
        Decimal(payload.get("floored", 0)),
    )
    if recorded != journaled:
        report.problems.append(f"journal entry {entry.id} records a funding payment the funding rule does not produce")


def _journaled_funding(entries: list[JournalEntry]) -> list[FundingPayment]:
    payments = []
    for entry in (e for e in entries if e.event == "funding"):
        p = entry.payload
        try:
            payments.append(FundingPayment(p["symbol"], int(p["funding_ts"]), int(p["candle_ts"]),
                                           *(Decimal(p[k]) for k in ("quantity", "mark_price", "rate", "amount",
                                                                     "cash_after")),
                                           Decimal(p.get("floored", 0))))  # fmt: skip
        except (KeyError, TypeError, ValueError, ArithmeticError):
            continue  # `_rebuild` has reported it
    return payments


def _compare_funding(journaled: list[FundingPayment], stored: list[FundingPayment], report: AuditReport) -> None:
    """The funding payments table against the journal's funding entries, in booking order."""
    report.funding = len(journaled)
    if len(journaled) != len(stored):
        report.problems.append(f"the journal has {len(journaled)} funding payments, the ledger {len(stored)}")
    for expected, actual in zip(journaled, stored, strict=False):
        for name in _FUNDING_FIELDS:
            if getattr(expected, name) != getattr(actual, name):
                report.problems.append(
                    f"funding of {actual.symbol} at {actual.ts} {name.replace('_', ' ')}: journal says "
                    f"{getattr(expected, name)}, ledger says {getattr(actual, name)}"
                )


def _compare_book(rebuilt: Book, book: Book, report: AuditReport) -> None:
    for name in ("initial_cash", "cash"):
        expected, actual = getattr(rebuilt, name), getattr(book, name)
        if expected != actual:
            report.problems.append(f"{name.replace('_', ' ')}: journal says {expected}, ledger says {actual}")
    for symbol in sorted(set(rebuilt.positions) | set(book.positions)):
        expected = rebuilt.positions.get(symbol, Position(symbol))
        actual = book.positions.get(symbol, Position(symbol))
        for name in _POSITION_FIELDS:
            if getattr(expected, name) != getattr(actual, name):
                report.problems.append(
                    f"{symbol} {name.replace('_', ' ')}: journal says {getattr(expected, name)}, "
                    f"ledger says {getattr(actual, name)}"
                )


def _compare_trades(fills: list[dict], trades: list[TradeRecord], report: AuditReport) -> None:
    """Each tick's journaled fills against its trades, in the order they were booked."""
    if len(fills) != len(trades):
        report.problems.append(
            f"the journal has {len(fills)} fill{'' if len(fills) == 1 else 's'}, "
            f"the trades table {len(trades)} trade{'' if len(trades) == 1 else 's'}"
        )
    by_tick: dict[int, list[TradeRecord]] = {}
    for trade in sorted(trades, key=lambda trade: trade.id):
        by_tick.setdefault(trade.tick_id, []).append(trade)
    for fill in fills:
        booked = by_tick.get(fill["tick_id"])
        if not booked:
            report.problems.append(f"a journaled fill of tick {fill['tick_id']} has no trade")
            continue
        trade = booked.pop(0)
        for name in _TRADE_FIELDS:
            expected = _journaled(fill, name)
            if getattr(trade, name) != expected:
                report.problems.append(
                    f"trade {trade.id} {name.replace('_', ' ')}: journal says {expected}, "
                    f"ledger says {getattr(trade, name)}"
                )


def _journaled(fill: dict, name: str):
    """A field of a journaled fill as the trades table holds it (None when unreadable)."""
    value = fill.get(name, SIGNAL if name == "kind" else None)  # fills journaled before orders existed
    if name in ("symbol", "side", "candle_ts", "kind") or value is None:
        return value
    try:
        return Decimal(value)
    except (TypeError, ArithmeticError):
        return None


def _rebuilt_orders(entries: list[JournalEntry], report: AuditReport) -> dict[tuple, RestingOrder]:
    """The resting orders the journal's order entries leave, by (symbol, kind, placed_ts)."""
    orders: dict[tuple, RestingOrder] = {}
    for entry in entries:
        if not entry.event.startswith("order."):
            continue
        try:
            order = _order(entry.payload["order"])
        except (KeyError, TypeError, ValueError, ArithmeticError) as exc:
            report.problems.append(f"journal entry {entry.id} cannot be replayed: {type(exc).__name__} {exc}")
            continue
        if entry.event in ("order.placed", "order.moved"):
            orders[order.key] = order
        else:
            orders.pop(order.key, None)
    return orders


def _order(fields: dict) -> RestingOrder:
    size = fields.get("size")
    return RestingOrder(
        fields["symbol"],
        OrderKind(fields["kind"]),
        Side(fields["side"]),
        Decimal(fields["price"]),
        int(fields["placed_ts"]),
        None if fields.get("expires_ts") is None else int(fields["expires_ts"]),
        None if size is None else Size(size["unit"], Decimal(size["value"])),
        None if fields.get("exits") is None else Exits.from_dict(fields["exits"]),
        None if fields.get("trail") is None else Decimal(fields["trail"]),
    )


def _compare_orders(rebuilt: dict[tuple, RestingOrder], stored, report: AuditReport) -> None:
    held = {order.key: order for order in stored}
    for key in sorted(set(rebuilt) | set(held)):
        if rebuilt.get(key) != held.get(key):
            symbol, kind, placed_ts = key
            report.problems.append(
                f"{symbol} {kind} order placed on candle {placed_ts}: journal says {rebuilt.get(key)}, "
                f"ledger says {held.get(key)}"
            )


def verify_all(ledger: Ledger | None) -> list[AuditReport]:
    """`verify` every portfolio of the ledger, archived ones too, in id order."""
    if ledger is None:
        return []
    with ledger.unit_of_work() as uow:
        ids = [stored.id for stored in uow.portfolios.list(archived=True)]
    return [verify(ledger, portfolio_id) for portfolio_id in ids]
