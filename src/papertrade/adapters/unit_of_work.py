"""The ledger database and its units of work (one transaction each): the SQL implementation of
the ledger ports in `papertrade.services.ports`."""

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import cached_property

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from papertrade.adapters.candle_store import CandleStore, MarketCache
from papertrade.adapters.database import describe, translated_errors
from papertrade.adapters.funding_store import FundingStore
from papertrade.adapters.outbox import OutboxRepository
from papertrade.adapters.repositories import (
    JournalRepository,
    OrderRepository,
    PortfolioRepository,
    TickRepository,
    TradeRepository,
)
from papertrade.adapters.series_store import SeriesStore
from papertrade.errors import SetupError

#: What reading a value papertrade did not write raises (a cash of 'lots', settings that are no JSON).
_UNREADABLE = (ArithmeticError, ValueError, TypeError, KeyError, AttributeError, RecursionError)


def _damage(connection: Connection) -> str | None:
    """The damaged value that explains a failure, if the ledger holds one (see `damage`)."""
    from papertrade.adapters.damage import find_damage

    try:
        with connection.begin():  # read, then roll back
            return find_damage(connection)
    except Exception:  # a ledger too damaged to scan: the first failure says more
        return None


class UnitOfWork:
    """Repositories bound to one transaction, which rolls back unless `commit()` is called."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self._transaction = connection.begin()

    # Repositories are made when first used: most transactions need two or three of them.
    @cached_property
    def portfolios(self) -> PortfolioRepository:
        return PortfolioRepository(self.connection)

    @cached_property
    def orders(self) -> OrderRepository:
        return OrderRepository(self.connection)

    @cached_property
    def journal(self) -> JournalRepository:
        return JournalRepository(self.connection)

    @cached_property
    def ticks(self) -> TickRepository:
        return TickRepository(self.connection)

    @cached_property
    def trades(self) -> TradeRepository:
        return TradeRepository(self.connection)

    @cached_property
    def candles(self) -> CandleStore:
        return CandleStore(self.connection)

    @cached_property
    def funding(self) -> FundingStore:
        return FundingStore(self.connection)

    @cached_property
    def markets(self) -> MarketCache:
        return MarketCache(self.connection)

    @cached_property
    def series(self) -> SeriesStore:
        return SeriesStore(self.connection)

    @cached_property
    def outbox(self) -> OutboxRepository:
        return OutboxRepository(self.connection)

    def commit(self) -> None:
        self._transaction.commit()

    def rollback(self) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()


class Ledger:
    """An opened, schema-checked ledger database.

    With `keep_idle` (a command's ledger) each thread keeps its connection between
    transactions; without it (a server's, whose many threads come and go) every transaction
    gives its connection back to the pool, so the pool bounds connections, not threads.
    """

    def __init__(self, engine: Engine, url: URL, *, keep_idle: bool = True) -> None:
        self.engine = engine
        self.url = url
        self._idle = threading.local()
        self._keep_idle = keep_idle

    @property
    def name(self) -> str:
        return describe(self.url)

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def unit_of_work(self, *, write: bool = False) -> Iterator[UnitOfWork]:
        """A transaction; `write` takes the write lock up front (SQLite `BEGIN IMMEDIATE`)."""
        with translated_errors(self.url):
            connection = self._checkout()
            connection.execution_options(papertrade_write=write)
            healthy = False
            try:
                uow = UnitOfWork(connection)
                try:
                    yield uow
                finally:
                    uow.rollback()
                healthy = True
            except _UNREADABLE as exc:
                damage = _damage(connection)
                if damage is None:
                    raise
                raise SetupError(self._damaged(damage)) from exc
            finally:
                self._checkin(connection, healthy)

    def _damaged(self, damage: str) -> str:
        return f"the ledger {self.name} is damaged: {damage} (repair that row or restore a copy)"

    def damage(self) -> str | None:
        """One line naming the first value papertrade cannot read (table, row, column), or None."""
        try:
            with self.engine.connect() as connection:
                found = _damage(connection)
        except Exception:  # too damaged to look at: the failure itself says more
            return None
        return None if found is None else self._damaged(found)

    def integrity_problems(self) -> list[str]:
        """What SQLite's `PRAGMA integrity_check` finds wrong with the file (nothing on PostgreSQL)."""
        if self.dialect != "sqlite":
            return []
        with translated_errors(self.url), self.engine.connect() as connection:
            rows = [row[0] for row in connection.exec_driver_sql("PRAGMA integrity_check")]
            connection.rollback()
        return [] if rows == ["ok"] else rows

    def _checkout(self) -> Connection:
        """This thread's idle connection, or a new one. Between transactions a connection holds
        no lock and no snapshot, and keeping it saves a tick the pool's checkout and reset."""
        connection = getattr(self._idle, "connection", None)
        self._idle.connection = None
        return connection if connection is not None and not connection.closed else self.engine.connect()

    def _checkin(self, connection: Connection, healthy: bool) -> None:
        if self._keep_idle and healthy and not connection.in_transaction():
            self._idle.connection = connection
        else:
            connection.close()

    def dispose(self) -> None:
        idle = getattr(self._idle, "connection", None)
        if idle is not None:
            idle.close()
            self._idle.connection = None
        self.engine.dispose()
