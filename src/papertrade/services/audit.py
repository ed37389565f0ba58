"""`audit verify`: rebuild a portfolio from its append-only journal and compare with the ledger.

The journal is the evidence; the ledger tables are what papertrade reads and writes every
tick. Verification replays every journaled fill through the same domain code from the opening
cash, checks each entry's hash chain, and reports every place where the tables disagree.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from papertrade.domain.journal import JournalEntry, chain_problems
from papertrade.domain.ledger import Book, Fill, Position, Side
from papertrade.domain.ticks import TradeRecord
from papertrade.errors import LedgerError
from papertrade.services.portfolios import require_ledger
from papertrade.services.ports import Ledger

_POSITION_FIELDS = ("quantity", "avg_cost", "cost_basis", "realized_pnl", "fees_paid")
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
)


@dataclass
class AuditReport:
    portfolio_id: int
    entries: int = 0
    fills: int = 0
    cash: Decimal | None = None
    positions: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify(ledger: Ledger | None, portfolio_id: int) -> AuditReport:
    """Rebuild `portfolio_id` from its journal alone and list every disagreement with the ledger."""
    with require_ledger(ledger, portfolio_id).unit_of_work() as uow:
        stored = uow.portfolios.get(portfolio_id)
        entries = uow.journal.entries(portfolio_id)
        trades = uow.trades.list(portfolio_id)
    report = AuditReport(portfolio_id, entries=len(entries))
    report.problems.extend(chain_problems(entries))
    rebuilt, fills = _rebuild(entries, report)
    report.fills = len(fills)
    if rebuilt is None:
        report.problems.append("the journal has no portfolio.created entry")
        return report
    report.cash = rebuilt.cash
    _compare_book(rebuilt, stored.book, report)
    _compare_trades(fills, trades, report)
    report.positions = sum(1 for p in rebuilt.positions.values() if p.is_open)
    return report


def _rebuild(entries: list[JournalEntry], report: AuditReport) -> tuple[Book | None, list[dict]]:
    rebuilt: Book | None = None
    fills: list[dict] = []
    for entry in entries:
        try:
            if entry.event == "portfolio.created":
                cash = Decimal(entry.payload["initial_cash"])
                rebuilt = Book(cash, cash)
            elif entry.event == "fill" and rebuilt is not None:
                _replay_fill(entry, rebuilt, report)
                fills.append({**entry.payload, "tick_id": entry.tick_id})
        except (KeyError, TypeError, ValueError, ArithmeticError, LedgerError) as exc:
            report.problems.append(f"journal entry {entry.id} cannot be replayed: {type(exc).__name__} {exc}")
    return rebuilt, fills


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
    result = rebuilt.apply_fill(fill)
    recorded = (Decimal(payload["cash_after"]), Decimal(payload["realized_pnl"]))
    if (result.cash_after, result.realized_pnl) != recorded:
        report.problems.append(f"journal entry {entry.id} records results its fill does not produce")


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
    journaled = {fill["tick_id"]: fill for fill in fills}
    if len(fills) != len(trades):
        report.problems.append(
            f"the journal has {len(fills)} fill{'' if len(fills) == 1 else 's'}, "
            f"the trades table {len(trades)} trade{'' if len(trades) == 1 else 's'}"
        )
    by_tick = {trade.tick_id: trade for trade in trades}
    for tick_id, fill in journaled.items():
        trade = by_tick.get(tick_id)
        if trade is None:
            report.problems.append(f"the journaled fill of tick {tick_id} has no trade")
            continue
        for name in _TRADE_FIELDS:
            expected = _journaled(fill, name)
            if getattr(trade, name) != expected:
                report.problems.append(
                    f"trade {trade.id} {name.replace('_', ' ')}: journal says {expected}, "
                    f"ledger says {getattr(trade, name)}"
                )


def _journaled(fill: dict, name: str):
    """A field of a journaled fill as the trades table holds it (None when unreadable)."""
    value = fill.get(name)
    if name in ("symbol", "side", "candle_ts") or value is None:
        return value
    try:
        return Decimal(value)
    except (TypeError, ArithmeticError):
        return None


def verify_all(ledger: Ledger | None) -> list[AuditReport]:
    """`verify` every portfolio of the ledger, archived ones too, in id order."""
    if ledger is None:
        return []
    with ledger.unit_of_work() as uow:
        ids = [stored.id for stored in uow.portfolios.list(archived=True)]
    return [verify(ledger, portfolio_id) for portfolio_id in ids]
