import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from papertrade.adapters import database
from papertrade.adapters.database import make_engine, read_revision, resolve_url
from papertrade.adapters.migrator import SCRIPT_LOCATION, alembic_config, downgrade, upgrade
from papertrade.adapters.schema import metadata

TABLES = {
    "portfolios", "positions", "ticks", "trades", "journal", "candles", "markets", "candle_gaps",
    "notify_targets", "notify_events", "notify_deliveries", "notify_streaks",
}  # fmt: skip


def table_names(engine) -> set[str]:
    with engine.connect() as connection:
        return set(sa.inspect(connection).get_table_names()) - {"alembic_version"}


def test_upgrade_downgrade_and_upgrade_again(database_url):
    url = resolve_url(database_url)
    engine = make_engine(url, 5)
    assert upgrade(engine, url) == (None, database.HEAD)
    assert table_names(engine) == TABLES
    downgrade(engine, url, "base")
    assert table_names(engine) == set()
    assert upgrade(engine, url) == (None, database.HEAD)
    assert table_names(engine) == TABLES
    engine.dispose()


def test_models_and_migrations_do_not_drift_apart(database_url):
    url = resolve_url(database_url)
    engine = make_engine(url, 5)
    upgrade(engine, url)
    with engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True})
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_the_code_knows_every_revision_in_order():
    scripts = ScriptDirectory.from_config(alembic_config())
    history = [rev.revision for rev in reversed(list(scripts.walk_revisions()))]
    assert tuple(history) == database.REVISIONS
    assert scripts.get_current_head() == database.HEAD
    assert SCRIPT_LOCATION.is_relative_to(SCRIPT_LOCATION.parents[1])  # inside the package


def test_upgrading_a_current_database_changes_nothing(database_url):
    url = resolve_url(database_url)
    engine = make_engine(url, 5)
    upgrade(engine, url)
    assert upgrade(engine, url) == (database.HEAD, database.HEAD)
    with engine.connect() as connection:
        assert read_revision(connection) == database.HEAD
    engine.dispose()
