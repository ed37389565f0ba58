import pytest

from papertrade.bootstrap import open_ledger
from papertrade.settings import Settings


@pytest.fixture
def ledger(database_url):
    """An opened, migrated ledger on SQLite and on PostgreSQL."""
    from papertrade.adapters.database import resolve_url
    from papertrade.adapters.migrator import upgrade
    from papertrade.adapters.database import make_engine

    url = resolve_url(database_url)
    if url.get_backend_name() == "postgresql":
        upgrade(make_engine(url, 5), url)  # PostgreSQL is never upgraded implicitly
    opened = open_ledger(Settings(database_url=database_url), create=True)
    yield opened
    opened.dispose()
