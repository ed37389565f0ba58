"""The ledger database and its units of work (one transaction each)."""

from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import Connection, Engine
from sqlalchemy.engine import URL

from papertrade.adapters.candle_store import CandleStore, MarketCache
from papertrade.adapters.database import describe, translated_errors
from papertrade.adapters.outbox import OutboxRepository
from papertrade.adapters.repositories import (
    JournalRepository,
    PortfolioRepository,
    TickRepository,
    TradeRepository,
)


class UnitOfWork:
    """Repositories bound to one transaction, which rolls back unless `commit()` is called."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.portfolios = PortfolioRepository(connection)
        self.journal = JournalRepository(connection)
        self.ticks = TickRepository(connection)
        self.trades = TradeRepository(connection)
        self.candles = CandleStore(connection)
        self.markets = MarketCache(connection)
        self.outbox = OutboxRepository(connection)
        self._transaction = connection.begin()

    def commit(self) -> None:
        self._transaction.commit()

    def rollback(self) -> None:
        if self._transaction.is_active:
            self._transaction.rollback()


class Ledger:
    """An opened, schema-checked ledger database."""

    def __init__(self, engine: Engine, url: URL) -> None:
        self.engine = engine
        self.url = url

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
            connection = self.engine.connect()
            if write:
                connection = connection.execution_options(papertrade_write=True)
            try:
                uow = UnitOfWork(connection)
                try:
                    yield uow
                finally:
                    uow.rollback()
            finally:
                connection.close()

    def dispose(self) -> None:
        self.engine.dispose()
