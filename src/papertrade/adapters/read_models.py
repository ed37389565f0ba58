"""Column reads for charts and the dashboard: floats and raw text, no domain objects.

A chart of 100,000 candles needs their prices as float arrays, not 500,000 exact `Decimal`s;
these queries give it that, and nothing here writes.
"""

from sqlalchemy import Connection, Float, String, and_, bindparam, cast, func, or_, select, type_coerce

from papertrade.adapters import schema as t
from papertrade.adapters.driver_sql import DriverQuery

_c = t.candles.c
_CANDLES = (
    select(_c.ts, *(cast(column, Float) for column in (_c.open, _c.high, _c.low, _c.close)))
    .where(
        _c.exchange == bindparam("exchange"),
        _c.symbol == bindparam("symbol"),
        _c.timeframe == bindparam("timeframe"),
        _c.ts >= bindparam("first"),
        _c.ts <= bindparam("last"),
    )
    .order_by(_c.ts)
)
_k = t.ticks.c


def candle_columns(connection: Connection, exchange: str, symbol: str, timeframe: str, first: int, last: int):
    """Stored candles opening in [first, last] as arrays: ts (int64), open, high, low, close."""
    import numpy as np

    params = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "first": first, "last": last}
    rows = connection.execute(_CANDLES, params).all()
    if not rows:
        return None
    ts, o, h, low, c = zip(*rows, strict=True)
    return np.asarray(ts, dtype=np.int64), *(np.asarray(column, dtype=float) for column in (o, h, low, c))


def thinned_candles(connection: Connection, series: tuple[str, str, str], first: int, last: int, width: int):
    """Stored candles opening in [first, last], merged into candles `width` ms wide (open of the
    first, highest high, lowest low, close of the last), as float arrays; the merging runs in
    the database, so a chart of 100,000 candles reads a few thousand rows."""
    import numpy as np

    exchange, symbol, timeframe = series
    c = t.candles.c

    def of(table):
        return and_(table.c.exchange == exchange, table.c.symbol == symbol, table.c.timeframe == timeframe)

    buckets = (
        select(func.min(c.ts).label("t0"), func.max(c.ts).label("t1"), func.max(cast(c.high, Float)).label("high"),
               func.min(cast(c.low, Float)).label("low"))
        .where(of(t.candles), c.ts >= first, c.ts <= last)
        .group_by((c.ts - first) // width)
        .subquery()
    )  # fmt: skip
    opening, closing = t.candles.alias("opening"), t.candles.alias("closing")
    query = (
        select(buckets.c.t0, cast(opening.c.open, Float), buckets.c.high, buckets.c.low, cast(closing.c.close, Float))
        .join_from(buckets, opening, and_(of(opening), opening.c.ts == buckets.c.t0))
        .join(closing, and_(of(closing), closing.c.ts == buckets.c.t1))
        .order_by(buckets.c.t0)
    )
    rows = connection.execute(query).all()
    if not rows:
        return None
    ts, o, h, low, close = zip(*rows, strict=True)
    return np.asarray(ts, dtype=np.int64), *(np.asarray(column, dtype=float) for column in (o, h, low, close))


def indicator_rows(connection: Connection, portfolio_id: int, first: int, spacing: int, lasts) -> list:
    """(candle_ts, symbol, indicators as stored JSON) of the processed candles opening `spacing`
    ms apart from `first`, and of those opening at `lasts`, in time order: a chart's points,
    chosen in the database."""
    on_grid = (_k.candle_ts - first) % spacing == 0
    query = (
        select(_k.candle_ts, _k.symbol, _k.indicators)
        .where(_k.portfolio_id == portfolio_id, or_(on_grid, _k.candle_ts.in_(list(lasts))))
        .order_by(_k.candle_ts, _k.id)
    )
    return [tuple(row) for row in connection.execute(query)]


def tick_count(connection: Connection, portfolio_id: int) -> int:
    return connection.execute(select(func.count()).where(_k.portfolio_id == portfolio_id)).scalar_one()


_EQUITY_COLUMNS = (
    select(
        _k.symbol,
        _k.candle_ts,
        *(type_coerce(column, String) for column in (_k.close, _k.cash_after, _k.position_after)),
        _k.reason.like("warming up%"),
    )
    .where(_k.portfolio_id == bindparam("pid"))
    .order_by(_k.candle_ts, _k.id)
)
_EQUITY_ROWS = DriverQuery(_EQUITY_COLUMNS)  # 100,000 rows: SQLAlchemy's rows would cost more than the query


def tick_columns(connection: Connection, portfolio_id: int):
    """Every processed candle of a portfolio in time order, as columns: symbols, candle times,
    closes, cash after, position after, and whether it was still warming up.

    Amounts come as the database holds them (text on SQLite, `Decimal` on PostgreSQL): both
    give their exact value to `Decimal(...)` and their float to `numpy.asarray(..., float)`,
    and most of them are never needed exactly.
    """
    rows = _EQUITY_ROWS.rows(connection, {"pid": portfolio_id})
    if not rows:
        return [], [], [], [], [], []
    return tuple(list(column) for column in zip(*rows, strict=True))


_ALL_EQUITY = select(
    _k.portfolio_id, _k.symbol, _k.candle_ts, cast(_k.close, Float), cast(_k.cash_after, Float),
    cast(_k.position_after, Float),
).order_by(_k.portfolio_id, _k.candle_ts, _k.id)  # fmt: skip


def all_tick_floats(connection: Connection) -> dict[int, tuple]:
    """Per portfolio, its ticks as columns (symbols, candle times, close, cash after, position
    after; amounts as floats), in time order: what the overview's returns and drawdowns need."""
    grouped: dict[int, list] = {}
    for row in connection.execute(_ALL_EQUITY):
        grouped.setdefault(row[0], []).append(row[1:])
    return {pid: tuple(list(column) for column in zip(*rows, strict=True)) for pid, rows in grouped.items()}


def latest_ticks(connection: Connection) -> dict[int, list]:
    """Per portfolio, the latest processed candle of each symbol (whole rows), by symbol."""
    newest = (
        select(_k.portfolio_id, _k.symbol, func.max(_k.candle_ts).label("candle_ts"))
        .group_by(_k.portfolio_id, _k.symbol)
        .subquery()
    )
    query = (
        select(t.ticks)
        .join(
            newest,
            (_k.portfolio_id == newest.c.portfolio_id)
            & (_k.symbol == newest.c.symbol)
            & (_k.candle_ts == newest.c.candle_ts),
        )
        .order_by(_k.portfolio_id, _k.symbol, _k.id)
    )
    grouped: dict[int, list] = {}
    for row in connection.execute(query).mappings():
        grouped.setdefault(row["portfolio_id"], []).append(row)
    return grouped


def tick_page(connection: Connection, portfolio_id: int, offset: int, limit: int) -> list:
    """One page of a portfolio's tick journal, last processed first (whole rows).

    The page's ids are chosen from the tick key's index alone, and only their rows are read:
    sorting whole rows would read every tick of the portfolio for a page of fifty.
    """
    ids = (
        select(_k.id)
        .where(_k.portfolio_id == portfolio_id)
        .order_by(_k.id.desc())  # the order they were processed in: a journal's
        .offset(offset)
        .limit(limit)
    )
    query = select(t.ticks).where(_k.id.in_(ids.scalar_subquery())).order_by(_k.id.desc())
    return list(connection.execute(query).mappings())


def failing_runs(connection: Connection, portfolio_id: int | None = None) -> dict[tuple[int, str], tuple]:
    """(portfolio, symbol) whose LIVE runs are failing, as the notifications outbox keeps them
    for portfolios that notify about errors: (failing since, failed runs, the last error)."""
    s = t.notify_streaks.c
    query = select(s.portfolio_id, s.symbol, s.since_ts, s.failures, s.last_error)
    if portfolio_id is not None:
        query = query.where(s.portfolio_id == portfolio_id)
    return {(row[0], row[1]): tuple(row[2:]) for row in connection.execute(query)}


def ledger_version(connection: Connection) -> int:
    """A number that changes whenever the ledger does: every change comes with a new tick or portfolio."""
    ticks = connection.execute(select(func.max(_k.id))).scalar() or 0
    portfolios = connection.execute(select(func.count(), func.max(t.portfolios.c.id))).one()
    return hash((ticks, *portfolios))


def portfolio_version(connection: Connection, portfolio_id: int) -> tuple[int | None, int]:
    """What changes whenever a portfolio does (every change comes with a new tick): its newest
    tick and how many it has."""
    return tuple(connection.execute(select(func.max(_k.id), func.count()).where(_k.portfolio_id == portfolio_id)).one())
