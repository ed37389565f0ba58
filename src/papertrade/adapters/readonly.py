"""Opening a ledger that must never be written: the dashboard's.

SQLite is opened with `mode=ro` (the file cannot be written through this connection, and
`query_only` refuses writes before they reach it), or `immutable=1` on a read-only mount, where
SQLite could not make the shared-memory file a reader needs: the file the command line names,
whatever its name holds (`?`, `#`, `%`), as the other commands open it (`sqlite_files.probe`).
PostgreSQL runs every transaction as `READ ONLY`. Neither is ever migrated from here: a ledger
at another schema is refused.
"""

from pathlib import Path

from sqlalchemy import QueuePool, create_engine, event
from sqlalchemy.engine import URL, Engine
from sqlalchemy.exc import NoSuchModuleError

from papertrade.adapters.database import (
    HEAD,
    REVISIONS,
    connect_read_only,
    describe,
    read_revision,
    refuse_unless_papertrade,
    resolve_url,
    schema_owner,
    sqlite_path,
    table_names,
    translated_errors,
)
from papertrade.adapters.sqlite_files import existing_kind, probe
from papertrade.adapters.unit_of_work import Ledger
from papertrade.errors import InputError, SetupError


def open_readonly(database: str, busy_timeout: float) -> Ledger:
    """The ledger `database` names, opened read-only and checked to be at this code's schema."""
    url = resolve_url(database)
    path = sqlite_path(url)
    engine = _sqlite_engine(_look_at(path), busy_timeout) if path is not None else _postgres_engine(url)
    try:
        _check_schema(engine, url)
    except BaseException:
        engine.dispose()
        raise
    return Ledger(engine, url, keep_idle=False)  # a server: its threads come and go


def _look_at(path: Path) -> str:
    """Refuse, before any connection could leave a file beside it, what is not a ledger: no file,
    a pipe, another program's database, an empty file. The URI that reads the ledger."""
    if existing_kind(path) != "file":  # a pipe is refused, never opened
        raise InputError(f"no ledger at {path}: create a portfolio first, or name another with --db")
    probed = probe(path)
    if probed.empty:
        raise InputError(f"{path} is empty, not a papertrade ledger (it was left untouched)")
    return probed.read_uri  # a file URI: the name is quoted, never read as a query or fragment


def _sqlite_engine(uri: str, busy_timeout: float) -> Engine:
    engine = create_engine("sqlite://", creator=lambda: connect_read_only(uri, busy_timeout), poolclass=QueuePool)

    def configure(dbapi_connection, _record) -> None:
        dbapi_connection.isolation_level = None  # transactions begin below, as papertrade's do
        dbapi_connection.execute("PRAGMA query_only=ON")

    event.listen(engine, "connect", configure)
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("BEGIN DEFERRED"))
    return engine


def _postgres_engine(url: URL) -> Engine:
    try:
        engine = create_engine(url)
    except NoSuchModuleError:
        raise InputError(f"no driver for {url.drivername}") from None
    except ModuleNotFoundError:
        raise SetupError("PostgreSQL needs the postgres extra: pip install 'papertrade[postgres]'") from None
    event.listen(engine, "begin", lambda connection: connection.exec_driver_sql("SET TRANSACTION READ ONLY"))
    return engine


def _check_schema(engine: Engine, url: URL) -> None:
    with translated_errors(url), engine.connect() as connection, connection.begin():
        revision = read_revision(connection)
        owner = "papertrade" if revision == HEAD else schema_owner(revision, table_names(connection))
    refuse_unless_papertrade(owner, revision, describe(url))  # another program's: exit 2, as everywhere
    if revision == HEAD:
        return
    if revision in REVISIONS:
        raise SetupError(f"database {describe(url)} is at schema {revision}, this papertrade needs {HEAD}: "
                         "run `papertrade db upgrade` (the dashboard never writes)")  # fmt: skip
    raise SetupError(f"database {describe(url)} is not a ledger this papertrade can read (schema {revision})")
