"""What a portfolio is worth now: its open positions marked at the latest stored close, and its
realized PnL net of fees. `status`, `portfolios` and the dashboard all value portfolios here."""

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal

from papertrade.domain.money import ZERO, exact
from papertrade.domain.pnl import Mark, NetRealized, equity, mark, net_realized
from papertrade.domain.portfolio import Portfolio
from papertrade.domain.ticks import TradeRecord
from papertrade.services.portfolios import require_ledger
from papertrade.services.ports import Ledger, UnitOfWork


@dataclass(frozen=True, slots=True)
class Valuation:
    """A portfolio with its open positions marked (`marks`, by symbol) and its PnL after fees."""

    portfolio: Portfolio
    marks: dict[str, Mark]
    net: NetRealized

    @property
    def market_value(self) -> Decimal:
        with exact():
            return sum((m.market_value for m in self.marks.values()), ZERO)

    @property
    def in_equity(self) -> Decimal:
        """What the positions add to the cash in equity (`Mark.in_equity`)."""
        with exact():
            return sum((m.in_equity for m in self.marks.values()), ZERO)

    @property
    def unrealized_pnl(self) -> Decimal:
        with exact():
            return sum((m.unrealized_pnl for m in self.marks.values()), ZERO)

    @property
    def equity(self) -> Decimal:
        return equity(self.portfolio.book.cash, self.marks)

    @property
    def marked_ts(self) -> int | None:
        """The open time of the latest candle a position is marked at (None when none is)."""
        return max((m.candle_ts for m in self.marks.values() if m.candle_ts is not None), default=None)


def value(uow: UnitOfWork, stored: Portfolio, trades: Sequence[TradeRecord] | None = None) -> Valuation:
    """Value `stored` inside `uow`: each open position at the close of the latest candle stored
    for the portfolio's exchange and timeframe, or at its average cost when none is stored.
    `trades` are the portfolio's (read here when None)."""
    config = stored.config
    marks = {}
    for symbol, position in sorted(stored.book.positions.items()):
        if not position.is_open:
            continue
        ts = uow.candles.latest_ts(config.exchange, symbol, config.timeframe.name)
        bars = uow.candles.window(config.exchange, symbol, config.timeframe.name, ts, 1) if ts is not None else []
        price, candle_ts = (bars[-1].close, bars[-1].ts) if bars else (position.avg_cost, None)
        marks[symbol] = mark(symbol, position.quantity, position.cost_basis, price, candle_ts, position.is_margined)
    return Valuation(stored, marks, net_realized(uow.trades.list(stored.id) if trades is None else trades))


def value_each(uow: UnitOfWork, portfolios: Sequence[Portfolio]) -> list[Valuation]:
    """Value `portfolios` inside `uow`, their trades read in one query rather than one each."""
    trades = uow.trades.by_portfolio()
    return [value(uow, stored, trades.get(stored.id, [])) for stored in portfolios]


def value_portfolio(ledger: Ledger | None, portfolio_id: int) -> Valuation:
    """One portfolio's valuation (NotFound for an unknown id)."""
    with require_ledger(ledger, portfolio_id).unit_of_work() as uow:
        return value(uow, uow.portfolios.get(portfolio_id))


def value_all(ledger: Ledger | None, *, archived: bool = False) -> list[Valuation]:
    """Every portfolio's valuation, in id order, archived ones only when `archived` (none when
    there is no ledger yet)."""
    if ledger is None:
        return []
    with ledger.unit_of_work() as uow:
        return value_each(uow, uow.portfolios.list(archived=archived))


def unvalued(stored: Portfolio) -> Valuation:
    """The valuation of a portfolio that holds nothing and has never traded (one just created)."""
    return Valuation(stored, {}, NetRealized())
