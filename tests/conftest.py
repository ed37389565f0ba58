import json

import pytest

from papertrade.bootstrap import open_ledger
from papertrade.settings import Settings
from tests.support.databases import PostgresSchema, migrate, new_sqlite_ledger, postgres_unavailable, sqlite_url
from tests.support.fake_binance import FakeBinance
from tests.support.live import dataset_ms
from tests.support.paths import REPO


def pytest_collection_modifyitems(items):
    """Files marked `slow` first: `make test` hands whole files to its workers in this order, and
    a long file handed out last would keep one worker busy while the other has nothing to do."""
    items.sort(key=lambda item: item.get_closest_marker("slow") is None)


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


def fresh_postgres_schema():
    """A throw-away PostgreSQL schema's URL, or a visible skip when no server answers."""
    reason = postgres_unavailable()
    if reason:
        pytest.skip(reason)
    with PostgresSchema() as schema:
        yield schema.url


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def database_url(request, tmp_path):
    """A URL for an empty ledger database: a SQLite file, then a PostgreSQL schema."""
    if request.param == "sqlite":
        yield sqlite_url(tmp_path / "ledger.db")
    else:
        yield from fresh_postgres_schema()


@pytest.fixture
def postgres_url():
    yield from fresh_postgres_schema()


@pytest.fixture
def live_exchange():
    """The fake exchange on the real clock, its data shifted so that today is 2021-03-01."""
    with FakeBinance() as server:
        server.align_now_to(dataset_ms("2021-03-01T00:00"))
        yield server


@pytest.fixture
def cli_database(database_url):
    """A database URL for processes, naming a ledger at the head schema: a PostgreSQL schema
    migrated as `papertrade db upgrade` would (papertrade never migrates PostgreSQL implicitly),
    or a SQLite file copied from one migrated before (the tests about creating a ledger on first
    use make their own)."""
    migrate(database_url)
    return database_url


@pytest.fixture
def cli_env(live_exchange, cli_database):
    return {
        "PAPERTRADE_DATABASE_URL": cli_database,
        "PAPERTRADE_CCXT_CONFIG": json.dumps(live_exchange.ccxt_config()),
        "PAPERTRADE_EXCHANGE_BACKOFF": "0",
        "PYTHONPATH": str(REPO),
    }


HOUR = 3_600_000


@pytest.fixture
def ledger(database_url):
    """An opened, migrated ledger on SQLite and on PostgreSQL."""
    from papertrade.adapters.database import resolve_url, sqlite_path

    path = sqlite_path(resolve_url(database_url))
    if path is None:
        migrate(database_url)  # PostgreSQL is never upgraded implicitly
    else:
        new_sqlite_ledger(path)
    opened = open_ledger(Settings(database_url=database_url), create=True)
    yield opened
    opened.dispose()


@pytest.fixture
def clock():
    from tests.support.clock import Clock
    from tests.support.fake_binance import load_rows

    rows = load_rows("binance_BTC-USDT_1h.csv")
    return Clock(rows[1000][0] + HOUR + 30_000)  # candle 1000 closed 30 s ago


@pytest.fixture
def exchange(clock):
    from tests.support.fake_binance import FakeBinance

    with FakeBinance(clock=clock) as server:
        yield server


@pytest.fixture
def market_data_for(exchange):
    from papertrade.bootstrap import market_data_factory

    return market_data_factory(Settings(ccxt_config=exchange.ccxt_config(timeout_ms=3000), exchange_backoff=0))
