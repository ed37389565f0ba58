"""Column reads for charts and the dashboard: floats and raw text, no domain objects.

A chart of 100,000 candles needs their prices as float arrays, not 500,000 exact `Decimal`s;
these queries give it that, and nothing here writes.
"""

from sqlalchemy import Connection, Float, String, bindparam, cast, func, select, type_coerce

from papertrade.adapters import schema as t

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
_INDICATORS = (
    select(_k.candle_ts, _k.symbol, _k.indicators)
    .where(_k.portfolio_id == bindparam("pid"))
    .order_by(_k.candle_ts, _k.id)
)


def candle_columns(connection: Connection, exchange: str, symbol: str, timeframe: str, first: int, last: int):
    """Stored candles opening in [first, last] as arrays: ts (int64), open, high, low, close."""
    import numpy as np

    params = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "first": first, "last": last}
    rows = connection.execute(_CANDLES, params).all()
    if not rows:
        return None
    ts, o, h, low, c = zip(*rows, strict=True)
    return np.asarray(ts, dtype=np.int64), *(np.asarray(column, dtype=float) for column in (o, h, low, c))


def indicator_rows(connection: Connection, portfolio_id: int) -> list[tuple[int, str, str]]:
    """(candle_ts, symbol, indicators as stored JSON) of every processed candle, in time order."""
    return [tuple(row) for row in connection.execute(_INDICATORS, {"pid": portfolio_id})]


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


def tick_columns(connection: Connection, portfolio_id: int):
    """Every processed candle of a portfolio in time order, as columns: symbols, candle times,
    closes, cash after, position after, and whether it was still warming up.

    Amounts come as the database holds them (text on SQLite, `Decimal` on PostgreSQL): both
    give their exact value to `Decimal(...)` and their float to `numpy.asarray(..., float)`,
    and most of them are never needed exactly.
    """
    rows = connection.execute(_EQUITY_COLUMNS, {"pid": portfolio_id}).all()
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
    """One page of a portfolio's tick journal, newest first (whole rows)."""
    query = (
        select(t.ticks)
        .where(_k.portfolio_id == portfolio_id)
        .order_by(_k.candle_ts.desc(), _k.id.desc())
        .offset(offset)
        .limit(limit)
    )
    return list(connection.execute(query).mappings())


def ledger_version(connection: Connection) -> int:
    """A number that changes whenever the ledger does: every change comes with a new tick or portfolio."""
    ticks = connection.execute(select(func.max(_k.id))).scalar() or 0
    portfolios = connection.execute(select(func.count(), func.max(t.portfolios.c.id))).one()
    return hash((ticks, *portfolios))
