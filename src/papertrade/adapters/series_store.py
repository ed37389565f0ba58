"""Stored candle series as a data set: what is stored, where it has holes, and which holes the
exchange confirmed it has no candles in (`candle_gaps`).

Works on the same `candles` table the ticks write to; every query is bounded by one series.
"""

from sqlalchemy import Connection, and_, delete, func, select
from sqlalchemy.dialects import postgresql, sqlite

from papertrade.adapters import schema as t
from papertrade.domain.bars import Bar
from papertrade.domain.coverage import Series, SeriesExtent

_c = t.candles.c
_g = t.candle_gaps.c


class SeriesStore:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def extents(self) -> list[SeriesExtent]:
        """Every stored series with its first and last open time and candle count."""
        query = (
            select(_c.exchange, _c.symbol, _c.timeframe, func.min(_c.ts), func.max(_c.ts), func.count())
            .group_by(_c.exchange, _c.symbol, _c.timeframe)
            .order_by(_c.exchange, _c.symbol, _c.timeframe)
        )
        return [SeriesExtent(Series(e, s, tf), first, last, n) for e, s, tf, first, last, n in self._c.execute(query)]

    def holes(self, series: Series, step: int, first: int, last: int) -> list[tuple[int, int]]:
        """Runs of missing open times between stored candles in [first, last], as (first, last)
        pairs, found by the database (a window function) rather than by reading every row."""
        inner = (
            select(_c.ts, func.lag(_c.ts).over(order_by=_c.ts).label("previous"))
            .where(_in_series(series), _c.ts >= first, _c.ts <= last)
            .subquery()
        )
        query = select(inner.c.previous, inner.c.ts).where(inner.c.ts - inner.c.previous > step).order_by(inner.c.ts)
        return [(previous + step, ts - step) for previous, ts in self._c.execute(query)]

    def span(self, series: Series, first: int, last: int) -> tuple[int, int] | None:
        """The first and last stored open times in [first, last], or None when none is stored."""
        query = select(func.min(_c.ts), func.max(_c.ts)).where(_in_series(series), _c.ts >= first, _c.ts <= last)
        low, high = self._c.execute(query).one()
        return None if low is None else (low, high)

    def bars(self, series: Series, first: int, last: int) -> list[Bar]:
        """The stored candles opening in [first, last], oldest first."""
        query = (
            select(_c.ts, _c.open, _c.high, _c.low, _c.close, _c.volume)
            .where(_in_series(series), _c.ts >= first, _c.ts <= last)
            .order_by(_c.ts)
        )
        return [Bar(*row) for row in self._c.execute(query)]

    def confirmed_gaps(self, series: Series) -> list[tuple[int, int]]:
        """Ranges the exchange was asked for and had no candles in, oldest first."""
        query = select(_g.first_ts, _g.last_ts).where(_gap_series(series)).order_by(_g.first_ts)
        return [tuple(row) for row in self._c.execute(query)]

    def confirm_gap(self, series: Series, first: int, last: int) -> None:
        dialect = postgresql if self._c.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.candle_gaps).values(
            exchange=series.exchange, symbol=series.symbol, timeframe=series.timeframe, first_ts=first, last_ts=last
        )
        self._c.execute(
            statement.on_conflict_do_update(
                index_elements=["exchange", "symbol", "timeframe", "first_ts"],
                set_={"last_ts": statement.excluded.last_ts},
            )
        )

    def delete(self, series: Series) -> tuple[int, int]:
        """Forget a series: its candles and the gaps the exchange confirmed in it; how many of each."""
        candles = self._c.execute(delete(t.candles).where(_in_series(series))).rowcount
        gaps = self._c.execute(delete(t.candle_gaps).where(_gap_series(series))).rowcount
        return candles, gaps

    def readers(self, series: Series) -> list[int]:
        """The portfolios (deleted ones aside) on the series' exchange and timeframe that have
        processed a candle of its symbol: their reports read it."""
        k, p = t.ticks.c, t.portfolios.c
        query = (
            select(p.id)
            .where(p.exchange == series.exchange, p.timeframe == series.timeframe, p.deleted_ts.is_(None))
            .where(select(k.id).where(k.portfolio_id == p.id, k.symbol == series.symbol).exists())
            .order_by(p.id)
        )
        return list(self._c.execute(query).scalars())


def _in_series(series: Series):
    return and_(_c.exchange == series.exchange, _c.symbol == series.symbol, _c.timeframe == series.timeframe)


def _gap_series(series: Series):
    return and_(_g.exchange == series.exchange, _g.symbol == series.symbol, _g.timeframe == series.timeframe)
