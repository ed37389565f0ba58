import json

import pytest

from tests.support.databases import PostgresSchema, postgres_unavailable, sqlite_url
from tests.support.fake_binance import FakeBinance
from tests.support.live import dataset_ms
from tests.support.paths import REPO


@pytest.fixture(autouse=True)
def isolated_environment(tmp_path_factory, monkeypatch):
    """No test reads the developer's settings or writes to their data directory."""
    import os

    for name in list(os.environ):
        if name.startswith("PAPERTRADE_") and name != "PAPERTRADE_TEST_POSTGRES_URL":
            monkeypatch.delenv(name)
    home = tmp_path_factory.mktemp("home")
    monkeypatch.setenv("HOME", str(home))
    monkeypatch.setenv("XDG_DATA_HOME", str(home / ".local" / "share"))


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A URL for an empty ledger database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "ledger.db")
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with PostgresSchema() as schema:
        yield schema.url


@pytest.fixture
def postgres_url():
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with PostgresSchema() as schema:
        yield schema.url


@pytest.fixture
def live_exchange():
    """The fake exchange on the real clock, its data shifted so that today is 2021-03-01."""
    with FakeBinance() as server:
        server.align_now_to(dataset_ms("2021-03-01T00:00"))
        yield server


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def cli_database(request, tmp_path):
    """A database URL for processes: a SQLite file, or a migrated PostgreSQL schema."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'ledger.db'}"
        return
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with PostgresSchema() as schema:
        schema.migrate()
        yield schema.url


@pytest.fixture
def cli_env(live_exchange, cli_database):
    return {
        "PAPERTRADE_DATABASE_URL": cli_database,
        "PAPERTRADE_CCXT_CONFIG": json.dumps(live_exchange.ccxt_config()),
        "PAPERTRADE_EXCHANGE_BACKOFF": "0",
        "PYTHONPATH": str(REPO),
    }
