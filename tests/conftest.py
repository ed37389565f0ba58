import pytest

from tests.support.databases import PostgresSchema, postgres_unavailable, sqlite_url


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
