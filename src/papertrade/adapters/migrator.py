"""Alembic, driven from inside papertrade: the migration scripts ship in the package."""

from pathlib import Path

from sqlalchemy import text
from sqlalchemy.engine import URL, Connection, Engine

from papertrade.adapters.database import (
    HEAD,
    describe,
    read_revision,
    refuse_unless_papertrade,
    schema_owner,
    table_names,
    translated_errors,
)
from papertrade.errors import SetupError

SCRIPT_LOCATION = Path(__file__).resolve().parent.parent / "migrations"
_PG_MIGRATION_LOCK = 0x7061_7065_7274  # "papert": one migrator at a time on a shared server


def alembic_config(connection: Connection | None = None):
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(SCRIPT_LOCATION))
    config.attributes["connection"] = connection
    return config


def upgrade(engine: Engine, url: URL, target: str = "head") -> tuple[str | None, str | None]:
    """Upgrade the schema to `target` in one transaction; return (before, after) revisions."""
    from alembic import command

    with translated_errors(url), _migration_transaction(engine) as connection:
        before = read_revision(connection)
        refuse_unless_papertrade(schema_owner(before, table_names(connection)), before, describe(url))
        command.upgrade(alembic_config(connection), target)
        return before, read_revision(connection)


def downgrade(engine: Engine, url: URL, target: str) -> None:
    from alembic import command

    with translated_errors(url), _migration_transaction(engine) as connection:
        command.downgrade(alembic_config(connection), target)


def ensure_current(engine: Engine, url: URL, *, auto_upgrade: bool) -> None:
    """Make sure the database is at the schema this code needs.

    A new or older SQLite ledger is upgraded on the spot (`auto_upgrade`); PostgreSQL is shared
    by several machines, so there an operator runs `papertrade db upgrade`. A database at a
    revision this code does not know (a newer papertrade wrote it) is refused.
    """
    with translated_errors(url), engine.connect() as connection:
        revision = read_revision(connection)
        if revision == HEAD:
            return
        owner = schema_owner(revision, table_names(connection))
    refuse_unless_papertrade(owner, revision, describe(url))
    empty = owner == "empty"
    if not auto_upgrade:
        state = "has no papertrade schema" if empty else f"is at schema {revision}, this papertrade needs {HEAD}"
        raise SetupError(f"database {describe(url)} {state}: run `papertrade db upgrade`")
    upgrade(engine, url)


class _migration_transaction:
    """A write transaction that holds the migration lock until it commits."""

    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    def __enter__(self) -> Connection:
        self._connection = self._engine.connect().execution_options(papertrade_write=True)
        self._transaction = self._connection.begin()
        if self._connection.dialect.name == "postgresql":
            self._connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_MIGRATION_LOCK})
        return self._connection

    def __exit__(self, exc_type, exc, tb) -> None:
        try:
            if exc_type is None:
                self._transaction.commit()
            else:
                self._transaction.rollback()
        finally:
            self._connection.close()
