"""The candle store: closed candles per (exchange, symbol, timeframe), read by bounded windows;
and the cache of what exchanges allow per market."""

from collections.abc import Sequence
from decimal import Decimal

from sqlalchemy import Connection, and_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from papertrade.adapters import schema as t
from papertrade.adapters.driver_sql import DriverQuery, amounts_for
from papertrade.domain.bars import Bar
from papertrade.domain.fills import Market

_c = t.candles.c
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
_SERIES = and_(
    _c.exchange == bindparam("exchange"), _c.symbol == bindparam("symbol"), _c.timeframe == bindparam("timeframe")
)
_LATEST = select(func.max(_c.ts)).where(_SERIES)
_LATEST_UNTIL = select(func.max(_c.ts)).where(_SERIES, _c.ts <= bindparam("until"))
_COUNT_BETWEEN = (
    select(func.count()).select_from(t.candles).where(_SERIES, _c.ts > bindparam("after"), _c.ts < bindparam("before"))
)
_MARKET_COLUMNS = ("venue_symbol", "base", "quote", "amount_step", "min_amount", "min_cost", "maker_fee", "taker_fee")
_MARKET = select(*(t.markets.c[name] for name in _MARKET_COLUMNS), t.markets.c.fetched_ts).where(
    t.markets.c.exchange == bindparam("exchange"), t.markets.c.symbol == bindparam("symbol")
)
_UPSERTS: dict[str, object] = {}


def _upsert_statement(dialect_name: str):
    """INSERT … ON CONFLICT DO UPDATE for the candle table, built once per dialect."""
    if dialect_name not in _UPSERTS:
        dialect = postgresql if dialect_name == "postgresql" else sqlite
        statement = dialect.insert(t.candles)
        _UPSERTS[dialect_name] = statement.on_conflict_do_update(
            index_elements=["exchange", "symbol", "timeframe", "ts"],
            set_={name: statement.excluded[name] for name in _PRICE_COLUMNS},
        )
    return _UPSERTS[dialect_name]


def _driver_upsert(dialect_name: str) -> DriverQuery:
    if dialect_name not in _DRIVER_UPSERTS:
        _DRIVER_UPSERTS[dialect_name] = DriverQuery(_upsert_statement(dialect_name))
    return _DRIVER_UPSERTS[dialect_name]


_DRIVER_UPSERTS: dict[str, DriverQuery] = {}
_CANDLE_COLUMNS = ("exchange", "symbol", "timeframe", "ts", *_PRICE_COLUMNS)
_AFTER = DriverQuery(
    select(_c.ts, _c.open, _c.high, _c.low, _c.close, _c.volume)
    .where(
        _c.exchange == bindparam("exchange"),
        _c.symbol == bindparam("symbol"),
        _c.timeframe == bindparam("timeframe"),
        _c.ts > bindparam("after"),
        _c.ts <= bindparam("until"),
    )
    .order_by(_c.ts)
)


class CandleStore:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def latest_ts(self, exchange: str, symbol: str, timeframe: str, until: int | None = None) -> int | None:
        """The open time of the latest stored candle (opening at or before `until`, when given)."""
        params = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe}
        if until is None:
            return self._c.execute(_LATEST, params).scalar()
        return self._c.execute(_LATEST_UNTIL, {**params, "until": until}).scalar()

    def window(self, exchange: str, symbol: str, timeframe: str, until: int, count: int | None) -> list[Bar]:
        """The last `count` candles opening at or before `until`, oldest first (all when None)."""
        query = (
            select(_c.ts, _c.open, _c.high, _c.low, _c.close, _c.volume)
            .where(_series(exchange, symbol, timeframe), _c.ts <= until)
            .order_by(_c.ts.desc())
        )
        if count is not None:
            query = query.limit(count)
        rows = self._c.execute(query).all()
        return [Bar(*row) for row in reversed(rows)]

    def after(self, exchange: str, symbol: str, timeframe: str, after: int, until: int) -> list[Bar]:
        """Candles opening after `after` and at or before `until`, oldest first."""
        params = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "after": after, "until": until}
        return [Bar(ts, *map(Decimal, prices)) for ts, *prices in _AFTER.rows(self._c, params)]

    def count_between(self, exchange: str, symbol: str, timeframe: str, after: int, before: int) -> int:
        """How many candles open strictly between `after` and `before`."""
        params = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "after": after, "before": before}
        return self._c.execute(_COUNT_BETWEEN, params).scalar_one()

    def upsert(self, exchange: str, symbol: str, timeframe: str, bars: Sequence[Bar]) -> None:
        """Insert candles, replacing any stored candle with the same open time.

        One executemany on the driver's cursor, amounts stored as `ExactDecimal` stores them: a
        downloaded page of 1,000 candles cost SQLAlchemy's per-value processing three times
        what SQLite spent storing it.
        """
        if not bars:
            return
        amount = amounts_for(self._c)
        rows = [
            (exchange, symbol, timeframe, b.ts, amount(b.open), amount(b.high), amount(b.low), amount(b.close),
             amount(b.volume))
            for b in bars
        ]  # fmt: skip
        _driver_upsert(self._c.dialect.name).run_many(self._c, _CANDLE_COLUMNS, rows)


def _series(exchange: str, symbol: str, timeframe: str):
    return and_(_c.exchange == exchange, _c.symbol == symbol, _c.timeframe == timeframe)


class MarketCache:
    """What each exchange allows per market, with the time it was fetched."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, exchange: str, symbol: str) -> tuple[Market, int] | None:
        row = self._c.execute(_MARKET, {"exchange": exchange, "symbol": symbol}).mappings().first()
        if row is None:
            return None
        return Market(symbol, **{name: row[name] for name in _MARKET_COLUMNS}), row["fetched_ts"]

    def put(self, exchange: str, market: Market, now: int) -> None:
        dialect = postgresql if self._c.dialect.name == "postgresql" else sqlite
        values = {name: getattr(market, name) for name in _MARKET_COLUMNS}
        statement = dialect.insert(t.markets).values(exchange=exchange, symbol=market.symbol, **values, fetched_ts=now)
        changed = {name: statement.excluded[name] for name in (*_MARKET_COLUMNS, "fetched_ts")}
        self._c.execute(statement.on_conflict_do_update(index_elements=["exchange", "symbol"], set_=changed))
