from decimal import Decimal as D

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
    "notify_targets", "notify_events", "notify_deliveries", "notify_streaks", "orders",
    "funding_rates", "funding_payments",
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


BINANCE_BTC = {
    "id": "BTCUSDT", "symbol": "BTC/USDT", "base": "BTC", "quote": "USDT", "spot": True, "active": True,
    "precision": {"amount": 1e-05, "price": 0.01},
    "limits": {"amount": {"min": 1e-05, "max": 9000.0}, "cost": {"min": 5.0, "max": None}},
}  # fmt: skip


def test_the_typed_market_cache_migration_converts_what_was_cached(database_url):
    """0003 turns cached ccxt descriptions into typed markets, and drops what it cannot read."""
    import json

    from papertrade.adapters.candle_store import MarketCache
    from papertrade.domain.fills import Market

    url = resolve_url(database_url)
    engine = make_engine(url, 5)
    upgrade(engine, url, "0002_market_cache")
    rows = [
        {"exchange": "binance", "symbol": "BTC/USDT", "description": json.dumps(BINANCE_BTC), "fetched_ts": 7},
        {"exchange": "binance", "symbol": "ETH/USDT", "description": "{not json", "fetched_ts": 8},
    ]
    with engine.begin() as connection:
        connection.execute(sa.text("INSERT INTO markets VALUES (:exchange, :symbol, :description, :fetched_ts)"), rows)
    upgrade(engine, url)
    with engine.connect() as connection:
        cache = MarketCache(connection)
        expected = Market("BTC/USDT", "BTC", "USDT", D("0.00001"), D("0.00001"), D("5.0"), "BTCUSDT")
        assert cache.get("binance", "BTC/USDT") == (expected, 7)
        assert cache.get("binance", "ETH/USDT") is None  # unreadable: fetched again by the next tick
    engine.dispose()
