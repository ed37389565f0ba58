"""The candle store: closed candles per (exchange, symbol, timeframe), read by bounded windows;
and the cache of exchange market descriptions."""

import json
from collections.abc import Sequence

from sqlalchemy import Connection, and_, func, select
from sqlalchemy.dialects import postgresql, sqlite

from papertrade.adapters import schema as t
from papertrade.domain.bars import Bar

_c = t.candles.c
_PRICE_COLUMNS = ("open", "high", "low", "close", "volume")


class CandleStore:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    def latest_ts(self, exchange: str, symbol: str, timeframe: str) -> int | None:
        return self._c.execute(select(func.max(_c.ts)).where(_series(exchange, symbol, timeframe))).scalar()

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

    def count_between(self, exchange: str, symbol: str, timeframe: str, after: int, before: int) -> int:
        """How many candles open strictly between `after` and `before`."""
        return self._c.execute(
            select(func.count())
            .select_from(t.candles)
            .where(_series(exchange, symbol, timeframe), _c.ts > after, _c.ts < before)
        ).scalar_one()

    def upsert(self, exchange: str, symbol: str, timeframe: str, bars: Sequence[Bar]) -> None:
        """Insert candles, replacing any stored candle with the same open time."""
        if not bars:
            return
        dialect = postgresql if self._c.dialect.name == "postgresql" else sqlite
        statement = dialect.insert(t.candles)
        statement = statement.on_conflict_do_update(
            index_elements=["exchange", "symbol", "timeframe", "ts"],
            set_={name: statement.excluded[name] for name in _PRICE_COLUMNS},
        )
        key = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe}
        self._c.execute(
            statement,
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
        row = self._c.execute(
            select(t.markets.c.description, t.markets.c.fetched_ts).where(
                t.markets.c.exchange == exchange, t.markets.c.symbol == symbol
            )
        ).first()
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
