import sqlite3
import stat

import pytest

from papertrade.adapters.database import HEAD, make_engine, read_revision, resolve_url
from papertrade.bootstrap import open_ledger
from papertrade.errors import InputError, SetupError
from papertrade.settings import Settings, default_database_path


def test_the_default_ledger_lives_in_the_user_data_directory(tmp_path, monkeypatch):
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "xdg"))
    monkeypatch.chdir(tmp_path)
    assert default_database_path() == tmp_path / "xdg" / "papertrade" / "papertrade.db"
    assert Settings().database == f"sqlite:///{tmp_path}/xdg/papertrade/papertrade.db"


def test_a_new_sqlite_ledger_is_created_private_and_migrated(tmp_path):
    path = tmp_path / "deep" / "dir" / "ledger.db"
    ledger = open_ledger(Settings(database_url=str(path)), create=True)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    with ledger.engine.connect() as connection:
        assert read_revision(connection) == HEAD
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 10_000
        assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
    ledger.dispose()


def test_reading_a_missing_sqlite_ledger_creates_nothing(tmp_path):
    assert open_ledger(Settings(database_url=str(tmp_path / "none.db"))) is None
    assert list(tmp_path.iterdir()) == []


def test_relative_paths_are_made_absolute(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert resolve_url("ledger.db").database == str(tmp_path / "ledger.db")
    assert resolve_url("sqlite:///ledger.db").database == str(tmp_path / "ledger.db")


@pytest.mark.parametrize("url", ["mysql://root@localhost/x", "oracle://a/b", "sqlite://", "sqlite:///:memory:"])
def test_refuses_unsupported_databases(url):
    with pytest.raises(InputError):
        resolve_url(url)


def test_a_garbage_file_is_not_opened(tmp_path):
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a database" * 100)
    with pytest.raises(InputError, match=str(path)):
        open_ledger(Settings(database_url=str(path)))


def test_a_directory_is_not_opened(tmp_path):
    with pytest.raises(SetupError, match="directory"):
        open_ledger(Settings(database_url=str(tmp_path)), create=True)


@pytest.mark.parametrize("where", ["under-a-file", "proc"])
def test_an_unwritable_location_is_a_setup_error(tmp_path, where):
    if where == "under-a-file":
        (tmp_path / "plain-file").write_text("x")
        path = tmp_path / "plain-file" / "ledger.db"
    else:
        path = "/proc/papertrade/ledger.db"  # not creatable, even by root
    with pytest.raises(SetupError, match="cannot create database"):
        open_ledger(Settings(database_url=str(path)), create=True)


def test_a_foreign_database_is_refused(tmp_path):
    path = tmp_path / "other.db"
    with sqlite3.connect(path) as connection:
        connection.execute("CREATE TABLE something (x)")
    with pytest.raises(InputError, match="not a papertrade ledger"):
        open_ledger(Settings(database_url=str(path)))


def test_a_newer_schema_is_refused(tmp_path):
    path = tmp_path / "future.db"
    open_ledger(Settings(database_url=str(path)), create=True).dispose()
    with sqlite3.connect(path) as connection:
        connection.execute("UPDATE alembic_version SET version_num = '9999_from_the_future'")
    with pytest.raises(SetupError, match="newer than this papertrade"):
        open_ledger(Settings(database_url=str(path)))


def test_postgresql_is_never_upgraded_implicitly(postgres_url):
    with pytest.raises(SetupError, match="papertrade db upgrade"):
        open_ledger(Settings(database_url=postgres_url), create=True)
    url = resolve_url(postgres_url)
    with make_engine(url, 5).connect() as connection:
        assert read_revision(connection) is None
