"""Alembic environment for papertrade.

papertrade passes its own connection (already inside a write transaction) through
`config.attributes["connection"]`. Run from the `alembic` command line in a checkout, the
database is the one papertrade's settings name (PAPERTRADE_DATABASE_URL or the default file).
"""

from alembic import context

from papertrade.adapters.schema import metadata


def run_migrations(connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


def run_from_command_line() -> None:
    from papertrade.adapters.database import make_engine, resolve_url
    from papertrade.settings import load_settings

    settings = load_settings()
    engine = make_engine(resolve_url(settings.database), settings.db_busy_timeout)
    with engine.connect().execution_options(papertrade_write=True) as connection:
        with connection.begin():
            run_migrations(connection)


if context.is_offline_mode():
    raise SystemExit("papertrade migrations run online only")

given = context.config.attributes.get("connection")
if given is None:
    run_from_command_line()
else:
    run_migrations(given)
