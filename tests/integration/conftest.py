import pytest

from papertrade.bootstrap import open_ledger
from papertrade.settings import Settings


@pytest.fixture
def ledger(database_url):
    """An opened, migrated ledger on SQLite and on PostgreSQL."""
    from papertrade.adapters.database import make_engine, resolve_url
    from papertrade.adapters.migrator import upgrade

    url = resolve_url(database_url)
    if url.get_backend_name() == "postgresql":
        upgrade(make_engine(url, 5), url)  # PostgreSQL is never upgraded implicitly
    opened = open_ledger(Settings(database_url=database_url), create=True)
    yield opened
    opened.dispose()


HOUR = 3_600_000


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

    return market_data_factory(
        Settings(ccxt_config=exchange.ccxt_config(timeout_ms=3000), exchange_backoff=0)
    )
