"""A locked database, a newer schema, an older schema: clear messages, right exit codes."""

import sqlite3

import pytest
import sqlalchemy as sa

from papertrade.adapters.database import HEAD, make_engine, read_revision, resolve_url
from papertrade.adapters.migrator import alembic_config
from tests.support.cli import run_inprocess
from tests.support.databases import ledger_state


def test_a_database_locked_past_the_busy_timeout_is_temporary(live_exchange, tmp_path, monkeypatch, capsys):
    import json

    db = tmp_path / "ledger.db"
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", str(db))
    monkeypatch.setenv("PAPERTRADE_CCXT_CONFIG", json.dumps(live_exchange.ccxt_config()))
    monkeypatch.setenv("PAPERTRADE_DB_BUSY_TIMEOUT", "0.3")
    assert run_inprocess(capsys, "create-portfolio", "bot", "100").code == 0
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another writer that does not let go
    try:
        before = ledger_state(f"sqlite:///{db}")
        for args in (["trade", "1", "BTC/USDT", "LIVE"], ["create-portfolio", "other", "5"]):
            result = run_inprocess(capsys, *args)
            assert result.code == 75, result.stderr
            assert result.error_lines == [f"papertrade: error: database {db} is locked by another process"]
        assert ledger_state(f"sqlite:///{db}") == before
        assert run_inprocess(capsys, "status", "1").code == 0, "readers are not blocked by a writer"
    finally:
        holder.execute("ROLLBACK")
        holder.close()


def stamp(url: str, revision: str) -> None:
    engine = sa.create_engine(resolve_url(url))
    with engine.begin() as connection:
        connection.exec_driver_sql(f"UPDATE alembic_version SET version_num = '{revision}'")
    engine.dispose()


@pytest.mark.parametrize(
    "args", [["portfolios"], ["status", "1"], ["trade", "1", "BTC/USDT", "DRY"], ["db", "upgrade"]]
)
def test_a_newer_schema_is_refused_by_every_command(cli_database, capsys, args):
    run_inprocess(capsys, "--db", cli_database, "create-portfolio", "bot", "100")
    stamp(cli_database, "0099_from_a_newer_papertrade")
    before = ledger_state(cli_database)
    result = run_inprocess(capsys, "--db", cli_database, *args)
    assert result.code == 1
    assert "is at schema revision 0099_from_a_newer_papertrade, newer than this papertrade" in result.stderr
    assert len(result.error_lines) == 1
    assert ledger_state(cli_database) == before


def at_first_revision(url: str) -> None:
    """A ledger as papertrade's first release left it, holding one portfolio."""
    from alembic import command

    engine = make_engine(resolve_url(url), 5)
    with engine.begin() as connection:
        connection.exec_driver_sql("DROP TABLE IF EXISTS markets")
        connection.exec_driver_sql("DROP TABLE IF EXISTS alembic_version")
    with engine.connect().execution_options(papertrade_write=True) as connection, connection.begin():
        command.upgrade(alembic_config(connection), "0001_initial")
        connection.exec_driver_sql(
            "INSERT INTO portfolios (name, quote_currency, initial_cash, cash, strategy, strategy_params, "
            "exchange, timeframe, fee_rate, slippage_bps, stake_fraction, created_ts) VALUES "
            "('old bot', 'USDT', 500, 500, 'rsi', '{}', 'binance', '1h', 0.001, 0, 1, 0)"
        )
    engine.dispose()


def revision_of(url: str) -> str:
    engine = sa.create_engine(resolve_url(url))
    with engine.connect() as connection:
        revision = read_revision(connection)
    engine.dispose()
    return revision


def test_an_older_sqlite_ledger_upgrades_itself_and_keeps_its_data(tmp_path, capsys):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    at_first_revision(url)
    result = run_inprocess(capsys, "--db", url, "status", "1", "--json")
    assert result.code == 0, result.stderr
    assert '"name": "old bot"' in result.stdout and '"cash": "500"' in result.stdout
    assert revision_of(url) == HEAD


def test_an_older_postgresql_ledger_asks_for_db_upgrade(postgres_url, capsys):
    at_first_revision(postgres_url)
    refused = run_inprocess(capsys, "--db", postgres_url, "status", "1")
    assert refused.code == 1
    assert refused.error_lines == [
        f"papertrade: error: database {resolve_url(postgres_url).render_as_string(hide_password=True)} is at "
        f"schema 0001_initial, this papertrade needs {HEAD}: run `papertrade db upgrade`"
    ]
    assert revision_of(postgres_url) == "0001_initial"
    upgraded = run_inprocess(capsys, "--db", postgres_url, "db", "upgrade")
    assert upgraded.stdout == f"Upgraded schema from 0001_initial to {HEAD}\n"
    assert run_inprocess(capsys, "--db", postgres_url, "status", "1").code == 0
