"""Test databases: a fresh SQLite file, or a fresh schema on the PostgreSQL server CI provides."""

import atexit
import os
import shutil
import tempfile
import uuid
from contextlib import contextmanager
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
        if not _recycled(self._admin, self.name):
            with self._admin.connect() as connection:
                connection.exec_driver_sql(f"DROP SCHEMA {self.name} CASCADE")
        self._admin.dispose()


# -- migrated schemas, used again ---------------------------------------------------------------
#
# Creating papertrade's tables, indexes, constraints and triggers is most of what a PostgreSQL test
# costs the server (about ten times emptying them), and the suite migrates hundreds of schemas. A
# schema a test is done with goes back to a pool of this process when its catalog is exactly what a
# migration to head makes and its rows can be deleted; `migrate` hands the next empty schema one of
# those, renamed to the name the test's URL gives. Anything else is dropped, as before.

_POOL: list[str] = []
_HEAD_CATALOG: dict[str, str] = {}  # server URL → the catalog of a schema freshly migrated to head

_CATALOG = """
SELECT md5(coalesce(string_agg(item, ',' ORDER BY item), ''))
FROM (SELECT replace(item, :schema || '.', '<schema>.') AS item FROM (
    SELECT 'column ' || r.relname || '.' || a.attname || ' ' || format_type(a.atttypid, a.atttypmod)
           || ' ' || a.attnotnull::text || ' ' || coalesce(pg_get_expr(d.adbin, d.adrelid), '') AS item
    FROM pg_attribute a JOIN pg_class r ON r.oid = a.attrelid JOIN pg_namespace n ON n.oid = r.relnamespace
    LEFT JOIN pg_attrdef d ON d.adrelid = a.attrelid AND d.adnum = a.attnum
    WHERE n.nspname = :schema AND a.attnum > 0 AND NOT a.attisdropped
    UNION ALL
    SELECT 'index ' || pg_get_indexdef(i.indexrelid)
    FROM pg_index i JOIN pg_class r ON r.oid = i.indexrelid JOIN pg_namespace n ON n.oid = r.relnamespace
    WHERE n.nspname = :schema
    UNION ALL
    SELECT 'constraint ' || c.conname || ' ' || pg_get_constraintdef(c.oid)
    FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = :schema
    UNION ALL
    SELECT 'trigger ' || pg_get_triggerdef(g.oid)
    FROM pg_trigger g JOIN pg_class r ON r.oid = g.tgrelid JOIN pg_namespace n ON n.oid = r.relnamespace
    WHERE n.nspname = :schema AND NOT g.tgisinternal
    UNION ALL
    SELECT 'routine ' || p.proname || ' ' || md5(p.prosrc)
    FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = :schema
    UNION ALL
    SELECT 'relation ' || relname || ' ' || relkind::text
    FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace WHERE n.nspname = :schema
) AS raw) AS catalog
"""


def _catalog(connection, schema: str) -> str:
    return connection.execute(sa.text(_CATALOG), {"schema": schema}).scalar()


def _recycled(admin, name: str) -> bool:
    """Empty a schema that is exactly at head and put it in the pool; False when it is not."""
    from papertrade.adapters.database import HEAD
    from papertrade.adapters.schema import metadata

    head = _HEAD_CATALOG.get(os.environ.get(POSTGRES_ENV, ""))
    if head is None:
        return False
    pooled = f"pt_pool_{uuid.uuid4().hex[:12]}"
    try:
        with admin.connect() as autocommit, _transaction(autocommit) as connection:
            connection.exec_driver_sql("SET LOCAL lock_timeout = '2s'")
            if _catalog(connection, name) != head:
                return False
            revision = connection.exec_driver_sql(f"SELECT version_num FROM {name}.alembic_version").all()
            if revision != [(HEAD,)]:
                return False
            connection.exec_driver_sql("SET LOCAL session_replication_role = replica")  # the journal's trigger
            for table in reversed(metadata.sorted_tables):
                connection.exec_driver_sql(f'DELETE FROM {name}."{table.name}"')
            sequences = connection.execute(
                sa.text("SELECT sequence_name FROM information_schema.sequences WHERE sequence_schema = :s"),
                {"s": name},
            ).scalars()
            for sequence in list(sequences):
                connection.exec_driver_sql(f'ALTER SEQUENCE {name}."{sequence}" RESTART')
            connection.exec_driver_sql(f"ALTER SCHEMA {name} RENAME TO {pooled}")
    except sa.exc.DBAPIError:
        return False  # not a superuser, a lock held by a connection left open: drop it instead
    _POOL.append(pooled)
    return True


@contextmanager
def _transaction(connection):
    """A real transaction on a connection of an AUTOCOMMIT engine."""
    connection = connection.execution_options(isolation_level="READ COMMITTED")
    with connection.begin():
        yield connection


def _from_pool(url) -> bool:
    """Give the empty schema `url` names a pooled schema's tables; False when the pool is empty."""
    name = _schema_of(url)
    if not _POOL or name is None:
        return False
    pooled = _POOL[-1]
    admin = sa.create_engine(os.environ[POSTGRES_ENV])
    try:
        with admin.begin() as connection:
            empty = connection.execute(
                sa.text("SELECT count(*) FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace"
                        " WHERE n.nspname = :s"), {"s": name}
            ).scalar() == 0  # fmt: skip
            if not empty:
                return False
            connection.exec_driver_sql(f"DROP SCHEMA {name}")
            connection.exec_driver_sql(f"ALTER SCHEMA {pooled} RENAME TO {name}")
    except sa.exc.DBAPIError:
        return False
    finally:
        admin.dispose()
    _POOL.remove(pooled)
    return True


def _schema_of(url) -> str | None:
    options = url.query.get("options", "")
    prefix = "-csearch_path="
    return options.removeprefix(prefix) if isinstance(options, str) and options.startswith(prefix) else None


@atexit.register
def _drop_pool() -> None:
    if not _POOL:
        return
    admin = sa.create_engine(os.environ[POSTGRES_ENV], isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        for name in _POOL:
            connection.exec_driver_sql(f"DROP SCHEMA IF EXISTS {name} CASCADE")
    admin.dispose()
    _POOL.clear()


def migrate(url: str) -> None:
    """Bring a database to the head schema, as `papertrade db upgrade` would.

    An empty PostgreSQL schema gets the statements Alembic sent to bring another empty schema
    to head (`_head_statements`), replayed in one transaction: the server's work, without
    Alembic's tenfold Python overhead on each of the suite's hundreds of schemas. A SQLite file
    that does not exist yet becomes a copy of one migrated before (`new_sqlite_ledger`).
    Anything else (a file or schema already holding tables) is upgraded by Alembic itself. The
    migration tests call Alembic directly and never come here.
    """
    from papertrade.adapters.database import resolve_url

    resolved = resolve_url(url)
    if resolved.get_backend_name() == "postgresql":
        if _from_pool(resolved):
            return
        statements = _head_statements(os.environ[POSTGRES_ENV])
        if statements and _replay_on_empty(resolved, statements):
            _note_head_catalog(resolved)
            return
    elif not Path(resolved.database).exists():
        new_sqlite_ledger(Path(resolved.database))
        return
    _alembic_upgrade(url)


def _alembic_upgrade(url: str, record: list | None = None) -> None:
    from papertrade.adapters.database import make_engine, resolve_url
    from papertrade.adapters.migrator import upgrade

    resolved = resolve_url(url)
    engine = make_engine(resolved, 5)
    if record is not None:

        def note(_connection, _cursor, statement, parameters, _context, executemany):
            record.append((statement, parameters, executemany))

        sa.event.listen(engine, "before_cursor_execute", note)
    upgrade(engine, resolved)
    engine.dispose()


@cache
def _head_statements(base: str) -> tuple:
    """What Alembic sends a PostgreSQL server to bring an empty schema to head, recorded once
    per process on a scratch schema; empty if the statements name that schema (they could not
    be replayed elsewhere)."""
    del base  # the server they were recorded on: the cache's key
    record: list = []
    with PostgresSchema() as scratch:
        _alembic_upgrade(scratch.url, record)
    if scratch.name in repr(record):
        return ()
    # Alembic's reads (is there a version table yet? which tables exist?) change nothing, and
    # its catalog queries were a third of the replay.
    return tuple(entry for entry in record if not entry[0].lstrip().upper().startswith("SELECT"))


def _note_head_catalog(url) -> None:
    """Remember, once per process, what the catalog of a schema just migrated to head is."""
    base = os.environ[POSTGRES_ENV]
    name = _schema_of(url)
    if base in _HEAD_CATALOG or name is None:
        return
    engine = sa.create_engine(base)
    with engine.connect() as connection:
        _HEAD_CATALOG[base] = _catalog(connection, name)
    engine.dispose()


def _replay_on_empty(url, statements: tuple) -> bool:
    """Send `statements` to the schema `url` names, in one transaction, if it holds no table."""
    from papertrade.adapters.database import HEAD, has_tables, read_revision

    engine = sa.create_engine(url)
    try:
        with engine.begin() as connection:
            if has_tables(connection):
                return False
            cursor = connection.connection.driver_connection.cursor()
            for statement, parameters, many in statements:
                (cursor.executemany if many else cursor.execute)(statement, parameters)
            assert read_revision(connection) == HEAD
        return True
    finally:
        engine.dispose()


@cache
def _head_sqlite_file() -> Path:
    """A SQLite ledger at head, created and migrated by papertrade once per process."""
    from papertrade.bootstrap import open_ledger
    from papertrade.settings import Settings

    folder = Path(tempfile.mkdtemp(prefix="papertrade-head-"))
    atexit.register(shutil.rmtree, folder, ignore_errors=True)
    path = folder / "ledger.db"
    open_ledger(Settings(database_url=sqlite_url(path)), create=True).dispose()
    return path


def new_sqlite_ledger(path: Path) -> None:
    """Put a ledger at head at `path`, as papertrade creates it (mode 0600), by copying one
    migrated before: a test that is not about creating ledgers need not pay Alembic again."""
    shutil.copy2(_head_sqlite_file(), path)


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
