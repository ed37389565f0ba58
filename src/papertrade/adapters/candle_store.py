"""The candle store: closed candles per (exchange, symbol, timeframe), read by bounded windows;
and the cache of exchange market descriptions."""

import json
from collections.abc import Sequence

from sqlalchemy import Connection, and_, bindparam, func, select
from sqlalchemy.dialects import postgresql, sqlite

from papertrade.adapters import schema as t
from papertrade.domain.bars import Bar

_c = t.candles.c
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")
_SERIES = and_(
    _c.exchange == bindparam("exchange"), _c.symbol == bindparam("symbol"), _c.timeframe == bindparam("timeframe")
)
_LATEST = select(func.max(_c.ts)).where(_SERIES)
_COUNT_BETWEEN = (
    select(func.count()).select_from(t.candles).where(_SERIES, _c.ts > bindparam("after"), _c.ts < bindparam("before"))
)
_MARKET = select(t.markets.c.description, t.markets.c.fetched_ts).where(
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


_AFTER = (
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

    def latest_ts(self, exchange: str, symbol: str, timeframe: str) -> int | None:
        return self._c.execute(_LATEST, {"exchange": exchange, "symbol": symbol, "timeframe": timeframe}).scalar()

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
        rows = self._c.execute(
            _AFTER, {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "after": after, "until": until}
        ).all()
        return [Bar(*row) for row in rows]

    def count_between(self, exchange: str, symbol: str, timeframe: str, after: int, before: int) -> int:
        """How many candles open strictly between `after` and `before`."""
        params = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "after": after, "before": before}
        return self._c.execute(_COUNT_BETWEEN, params).scalar_one()

    def upsert(self, exchange: str, symbol: str, timeframe: str, bars: Sequence[Bar]) -> None:
        """Insert candles, replacing any stored candle with the same open time."""
        if not bars:
            return
        key = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe}
        self._c.execute(
            _upsert_statement(self._c.dialect.name),
            [
                {
                    **key,
                    "ts": b.ts,
                    "open": b.open,
                    "high": b.high,
                    "low": b.low,
                    "close": b.close,
                    "volume": b.volume,
                }
                for b in bars
            ],
        )


def _series(exchange: str, symbol: str, timeframe: str):
    return and_(_c.exchange == exchange, _c.symbol == symbol, _c.timeframe == timeframe)


class MarketCache:
    """Exchange market descriptions (JSON), with the time they were fetched."""

    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def get(self, exchange: str, symbol: str) -> tuple[dict, int] | None:
        row = self._c.execute(_MARKET, {"exchange": exchange, "symbol": symbol}).first()
        return (json.loads(row.description), row.fetched_ts) if row else None

    def put(self, exchange: str, symbol: str, description: dict, now: int) -> None:
        dialect = postgresql if self._c.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.markets).values(
            exchange=exchange,
            symbol=symbol,
            description=json.dumps(description, sort_keys=True),
            fetched_ts=now,
        )
        self._c.execute(
            statement.on_conflict_do_update(
                index_elements=["exchange", "symbol"],
                set_={
                    "description": statement.excluded.description,
                    "fetched_ts": statement.excluded.fetched_ts,
                },
            )
        )
