"""The funding store: swaps' funding rates per (exchange, symbol), stored like candles, and the
funding payments ticks booked (`papertrade.domain.funding`)."""

from collections.abc import Sequence

from sqlalchemy import Connection, func, select
from sqlalchemy.dialects import postgresql, sqlite

from papertrade.adapters import schema as t
from papertrade.domain.funding import FundingPayment, FundingRate

_r = t.funding_rates.c
_p = t.funding_payments.c


class FundingStore:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    # -- rates ------------------------------------------------------------------------------

    def upsert(self, exchange: str, symbol: str, rates: Sequence[FundingRate]) -> None:
        """Store `rates` (a rate published again replaces the one stored)."""
        if not rates:
            return
        dialect = postgresql if self._c.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.funding_rates)
        statement = statement.on_conflict_do_update(
            index_elements=["exchange", "symbol", "ts"],
            set_={"rate": statement.excluded.rate, "mark_price": statement.excluded.mark_price},
        )
        rows = [{"exchange": exchange, "symbol": symbol, "ts": r.ts, "rate": r.rate, "mark_price": r.mark_price}
                for r in rates]  # fmt: skip
        self._c.execute(statement, rows)

    def between(self, exchange: str, symbol: str, after: int, until: int) -> list[FundingRate]:
        """The stored rates with after < ts <= until, oldest first."""
        query = (
            select(_r.ts, _r.rate, _r.mark_price)
            .where(_r.exchange == exchange, _r.symbol == symbol, _r.ts > after, _r.ts <= until)
            .order_by(_r.ts)
        )
        return [FundingRate(row.ts, row.rate, row.mark_price) for row in self._c.execute(query)]

    def latest_ts(self, exchange: str, symbol: str) -> int | None:
        query = select(func.max(_r.ts)).where(_r.exchange == exchange, _r.symbol == symbol)
        return self._c.execute(query).scalar()

    # -- payments ---------------------------------------------------------------------------

    def add_payment(self, portfolio_id: int, tick_id: int, payment: FundingPayment, now: int) -> None:
        self._c.execute(
            t.funding_payments.insert().values(
                portfolio_id=portfolio_id, tick_id=tick_id, symbol=payment.symbol, funding_ts=payment.ts,
                candle_ts=payment.candle_ts, quantity=payment.quantity, mark_price=payment.mark_price,
                rate=payment.rate, amount=payment.amount, floored=payment.floored, cash_after=payment.cash_after,
                executed_ts=now,
            )
        )  # fmt: skip

    def payments(self, portfolio_id: int, symbol: str | None = None) -> list[FundingPayment]:
        """The portfolio's funding payments in the order they were booked."""
        query = select(t.funding_payments).where(_p.portfolio_id == portfolio_id).order_by(_p.id)
        if symbol is not None:
            query = query.where(_p.symbol == symbol)
        return [
            FundingPayment(row.symbol, row.funding_ts, row.candle_ts, row.quantity, row.mark_price, row.rate,
                           row.amount, row.cash_after, row.floored)
            for row in self._c.execute(query)
        ]  # fmt: skip
