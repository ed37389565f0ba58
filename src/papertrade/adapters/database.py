"""Opening the ledger database: URLs, engines, SQLite pragmas and the schema-revision gate."""

import errno
import os
import re
import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import create_engine, event, text
from sqlalchemy.engine import URL, Connection, Engine, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError, NoSuchModuleError, OperationalError

from papertrade.adapters.driver_sql import run_on_driver
from papertrade.errors import InputError, SetupError, TemporaryError

#: Every schema revision this code knows, oldest first; the last is the one it needs.
#: tests/integration/test_migrations.py checks this against the Alembic scripts.
REVISIONS = (
    "0001_initial",
    "0002_market_cache",
    "0003_candle_gaps",
    "0004_notifications",
    "0005_typed_markets",
    "0006_portfolio_lifecycle",
    "0007_orders",
    "0008_tick_order",
    "0009_shorts",
    "0010_margin_rates",
    "0011_fill_setting",
    "0012_funding",
    "0013_max_slippage",
    "0014_stale_events",
    "0015_maker_taker_fees",
    "0016_leverage",
    "0017_tick_margin_basis",
    "0018_reference_price",
)
HEAD = REVISIONS[-1]

#: The tables every papertrade ledger has held since its first revision.
LEDGER_TABLES = frozenset({"portfolios", "positions", "ticks", "trades", "journal", "candles"})
#: How papertrade names its revisions: a later papertrade's is recognised by it.
_OWN_REVISION = re.compile(r"[0-9]{4}_[a-z0-9_]+")

#: The longest absolute path SQLite opens here: its unix VFS names files in at most 512 bytes,
#: and the rollback journal's name adds "-journal" (8) to the database's.
SQLITE_MAX_PATH = 504

_SUPPORTED = {
    "sqlite": "sqlite",
    "postgresql": "postgresql+psycopg",
    "postgres": "postgresql+psycopg",
}


def resolve_url(raw: str) -> URL:
    """Parse a database URL or a plain file path (taken as SQLite, made absolute)."""
    if "://" not in raw:
        return URL.create("sqlite", database=str(_sqlite_file(raw)))
    try:
        url = make_url(raw)
    except ArgumentError:
        raise InputError(f"cannot parse database URL {raw!r}") from None
    backend = url.get_backend_name()
    if backend not in _SUPPORTED:
        raise InputError(
            f"unsupported database URL scheme {url.drivername!r}: use sqlite:///PATH or "
            "postgresql+psycopg://USER@HOST/DB"
        )
    if url.drivername in ("postgresql", "postgres"):
        url = url.set(drivername=_SUPPORTED[backend])
    if url.drivername != _SUPPORTED[backend]:
        raise InputError(f"unsupported database driver {url.drivername!r}: use {_SUPPORTED[backend]}://")
    if backend == "sqlite":
        if not url.database or url.database == ":memory:":
            raise InputError("an in-memory SQLite database cannot hold a ledger: give a file path")
        return url.set(database=str(_sqlite_file(url.database)))
    return url


def _sqlite_file(raw: str) -> Path:
    """The absolute path of a SQLite file, refused (`InputError`) when the system cannot name it."""
    if "\x00" in raw:
        raise InputError("the database path contains a NUL character")
    try:
        path = Path(raw).expanduser().resolve()
        path.exists()  # asks the system, which refuses names it cannot hold
    except OSError as exc:
        if exc.errno == errno.ENAMETOOLONG:
            raise InputError(f"the database path is too long for this system ({len(raw)} characters)") from None
        raise SetupError(f"cannot use database path {raw!r}: {exc.strerror}") from None
    if any(len(part.encode()) > 255 for part in path.parts) or len(str(path).encode()) >= 4096:
        raise InputError(f"the database path is too long for this system ({len(raw)} characters)")
    if len(str(path).encode()) > SQLITE_MAX_PATH:
        raise InputError(
            f"the database path is too long for SQLite ({len(str(path).encode())} bytes as an absolute path; "
            f"at most {SQLITE_MAX_PATH})"
        )
    return path


def describe(url: URL) -> str:
    """How to name the database in messages: its file, or its URL without the password."""
    if url.get_backend_name() == "sqlite":
        return url.database or ""
    return url.render_as_string(hide_password=True)


def sqlite_path(url: URL) -> Path | None:
    return Path(url.database) if url.get_backend_name() == "sqlite" else None


def create_sqlite_file(path: Path) -> None:
    """Create an empty database file readable by its owner only (0600), parents 0700."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o600)
    except FileExistsError:
        if path.is_file():
            return  # another process created it first
        raise SetupError(f"cannot create database {path}: a parent is not a directory") from None
    except OSError as exc:
        raise SetupError(f"cannot create database {path}: {exc.strerror}") from None
    os.close(fd)


def make_engine(url: URL, busy_timeout: float, *, durable: bool = True, read_only_uri: str | None = None) -> Engine:
    """An engine for `url`. SQLite gets WAL, a busy timeout, foreign keys, transactions that
    papertrade begins itself (`BEGIN IMMEDIATE` for writers), and a commit that waits for the
    disk (`synchronous=FULL`). With `durable` false (replays) a commit does not wait: the ledger
    stays consistent through any crash, but a power cut can lose the last commits. With
    `read_only_uri` (a SQLite file papertrade may not write) it connects read-only instead."""
    if url.get_backend_name() != "sqlite":
        try:
            return create_engine(url, pool_pre_ping=False)
        except NoSuchModuleError:
            raise InputError(f"no driver for {url.drivername}") from None
        except ModuleNotFoundError:
            raise SetupError("PostgreSQL needs the postgres extra: pip install 'papertrade[postgres]'") from None
    pragmas = ["journal_mode=WAL", f"synchronous={'FULL' if durable else 'NORMAL'}", "foreign_keys=ON"]
    if read_only_uri is None:
        engine = create_engine(url, connect_args={"timeout": busy_timeout})
    else:
        engine = create_engine("sqlite://", creator=lambda: connect_read_only(read_only_uri, busy_timeout))
        pragmas = pragmas[2:]  # a reader changes no journal mode
    event.listen(engine, "connect", lambda connection, _record: _configure_sqlite(connection, pragmas))
    event.listen(engine, "begin", _begin_sqlite)
    return engine


def connect_read_only(uri: str, busy_timeout: float):
    """A DB-API connection that cannot write (for `create_engine(creator=...)`)."""
    return sqlite3.connect(uri, uri=True, timeout=busy_timeout, check_same_thread=False)


def _configure_sqlite(dbapi_connection, pragmas: list[str]) -> None:
    dbapi_connection.isolation_level = None  # papertrade emits BEGIN itself, see _begin_sqlite
    cursor = dbapi_connection.cursor()
    for pragma in pragmas:
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _begin_sqlite(connection: Connection) -> None:
    # A writer takes the write lock when its transaction starts, so two writers serialize
    # instead of one failing halfway with SQLITE_BUSY on lock upgrade.
    mode = "IMMEDIATE" if connection.get_execution_options().get("papertrade_write") else "DEFERRED"
    run_on_driver(connection, f"BEGIN {mode}")  # straight to sqlite3: a tick's hot path


@contextmanager
def translated_errors(url: URL) -> Iterator[None]:
    """Turn driver errors into papertrade's: a lock held too long is temporary, the rest setup."""
    try:
        yield
    except OperationalError as exc:
        message = str(exc.orig)
        if "locked" in message or "could not obtain lock" in message:
            raise TemporaryError(f"database {describe(url)} is locked by another process") from None
        raise SetupError(f"cannot use database {describe(url)}: {_one_line(message)}") from None
    except DBAPIError as exc:
        raise SetupError(f"database {describe(url)} refused: {_one_line(str(exc.orig))}") from None


def read_revision(connection: Connection) -> str | None:
    """The Alembic revision stamped in the database, or None for a database without one."""
    if not connection.dialect.has_table(connection, "alembic_version"):
        return None
    return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()


_OTHER_TABLES = {
    # The tables SQLAlchemy's `get_table_names` lists (the schema searched first on PostgreSQL,
    # no internal `sqlite_` tables), asked for one row: its reflection query took 30 ms there.
    "postgresql": "SELECT 1 FROM pg_catalog.pg_tables WHERE schemaname = current_schema() "
    "AND tablename <> 'alembic_version' LIMIT 1",
    "sqlite": "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite~_%' ESCAPE '~' "
    "AND name <> 'alembic_version' LIMIT 1",
}


def schema_owner(revision: str | None, tables: set[str]) -> str:
    """Whose schema a database holds, from its Alembic revision and its table names:
    "empty" (no table, no revision), "papertrade" (a revision this code knows, over a ledger's
    tables), "newer" (a later papertrade's revision over a ledger's tables) or "other"."""
    others = {name for name in tables if name != "alembic_version" and not name.startswith("sqlite_")}
    if revision is None and not others:
        return "empty"
    if revision is None or not others >= LEDGER_TABLES or not _OWN_REVISION.fullmatch(revision):
        return "other"
    if revision in REVISIONS:
        return "papertrade"
    return "newer" if revision > HEAD else "other"


def refuse_unless_papertrade(owner: str, revision: str | None, name: str, kind: str = "database") -> None:
    """Refuse a database that is not a papertrade ledger this code can use (`schema_owner`):
    another program's is bad input (exit 2), a newer papertrade's needs a newer papertrade."""
    if owner == "other":
        raise InputError(
            f"{name} is another program's {kind}, not a papertrade ledger (it was left untouched): "
            "give --db a new file or an existing ledger"
        )
    if owner == "newer":
        raise SetupError(
            f"database {name} is at schema revision {revision}, newer than this papertrade knows "
            f"(it needs {HEAD}): upgrade papertrade (it was left untouched)"
        )


_TABLE_NAMES = {
    "postgresql": "SELECT tablename FROM pg_catalog.pg_tables WHERE schemaname = current_schema()",
    "sqlite": "SELECT name FROM sqlite_master WHERE type = 'table'",
}


def table_names(connection: Connection) -> set[str]:
    """The names of the database's tables (the schema searched first, on PostgreSQL)."""
    return {row[0] for row in connection.exec_driver_sql(_TABLE_NAMES[connection.dialect.name])}


def has_tables(connection: Connection) -> bool:
    """Whether the database holds tables other than Alembic's own bookkeeping."""
    return connection.exec_driver_sql(_OTHER_TABLES[connection.dialect.name]).first() is not None


def _one_line(message: str) -> str:
    return message.strip().splitlines()[0] if message.strip() else "unknown error"
