"""Test databases: a fresh SQLite file, or a fresh schema on the PostgreSQL server CI provides."""

import os
import uuid
from functools import cache
from pathlib import Path

import sqlalchemy as sa

POSTGRES_ENV = "PAPERTRADE_TEST_POSTGRES_URL"


@cache
def postgres_unavailable() -> str | None:
    """Why the PostgreSQL tests cannot run here, or None when they can."""
    url = os.environ.get(POSTGRES_ENV)
    if not url:
        return f"{POSTGRES_ENV} is not set (.ci/run sets it when PostgreSQL answers on 127.0.0.1:5432)"
    try:
        engine = sa.create_engine(url, connect_args={"connect_timeout": 3})
        with engine.connect() as connection:
            connection.exec_driver_sql("SELECT 1")
        engine.dispose()
    except Exception as exc:
        return f"PostgreSQL at {url} does not answer: {str(exc).splitlines()[0]}"
    return None


class PostgresSchema:
    """A throw-away schema; its URL points search_path at it so papertrade sees only it."""

    def __init__(self) -> None:
        self.base = os.environ[POSTGRES_ENV]
        self.name = f"pt_{uuid.uuid4().hex[:12]}"
        self._admin = sa.create_engine(self.base, isolation_level="AUTOCOMMIT")

    @property
    def url(self) -> str:
        return f"{self.base}?options=-csearch_path%3D{self.name}"

    def migrate(self) -> None:
        migrate(self.url)

    def __enter__(self) -> "PostgresSchema":
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f"CREATE SCHEMA {self.name}")
        return self

    def __exit__(self, *exc_info) -> None:
        with self._admin.connect() as connection:
            connection.exec_driver_sql(f"DROP SCHEMA {self.name} CASCADE")
        self._admin.dispose()


def migrate(url: str) -> None:
    """Bring a database to the head schema, as `papertrade db upgrade` would."""
    from papertrade.adapters.database import make_engine, resolve_url
    from papertrade.adapters.migrator import upgrade

    resolved = resolve_url(url)
    engine = make_engine(resolved, 5)
    upgrade(engine, resolved)
    engine.dispose()


def sqlite_url(path: Path) -> str:
    return f"sqlite:///{path}"


def file_state(path: Path) -> tuple[bytes | None, tuple[str, ...]]:
    """A database file's bytes and the names of its sibling files, to prove nothing was written."""
    content = path.read_bytes() if path.exists() else None
    siblings = tuple(sorted(p.name for p in path.parent.iterdir())) if path.parent.exists() else ()
    return content, siblings


def ledger_state(url: str):
    """Everything a ledger holds: a SQLite file's bytes, or every row of a PostgreSQL schema."""
    if url.startswith("sqlite"):
        return file_state(Path(url.removeprefix("sqlite:///")))
    from papertrade.adapters.database import resolve_url
    from papertrade.adapters.schema import metadata

    engine = sa.create_engine(resolve_url(url))
    with engine.connect() as connection:
        state = {
            table.name: sorted(tuple(map(str, row)) for row in connection.execute(sa.select(table)))
            for table in metadata.sorted_tables
        }
    engine.dispose()
    return state
