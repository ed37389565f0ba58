"""A corrupted ledger (values edited behind papertrade's back, bytes flipped on disk) meets every
command with one line, never an internal error; a damaged value is named by table and row; `audit
verify` runs SQLite's integrity check first. A seeded, bounded fuzz test: the same cases every run."""

import random
import shutil
import sqlite3

import pytest

from tests.support.cli import run_captured, run_inprocess
from tests.support.paths import DATA

SEED = 21
COMMANDS = [
    ["status", "1"], ["portfolios"], ["trades", "1"], ["ticks", "1"], ["report", "1", "--json"],
    ["orders", "1"], ["audit", "verify", "1"], ["data", "list"], ["portfolio", "set", "1", "--fee-rate", "0.002"],
    ["data", "export", "binance", "BTC/USDT", "1h", "-o", "-"],
]  # fmt: skip
#: (table, column, key column): values papertrade reads on most commands.
FIELDS = [
    ("portfolios", "cash", "id"), ("portfolios", "initial_cash", "id"), ("portfolios", "strategy_params", "id"),
    ("portfolios", "fee_rate", "id"), ("portfolios", "exits", "id"), ("positions", "quantity", "portfolio_id"),
    ("positions", "avg_cost", "portfolio_id"), ("trades", "price", "id"), ("trades", "fee", "id"),
    ("ticks", "indicators", "id"), ("ticks", "cash_after", "id"), ("ticks", "close", "id"),
    ("candles", "close", "ts"), ("portfolios", "created_ts", "id"),
]  # fmt: skip
BAD_VALUES = ["lots", "{bad", "", "NaN", "1e999999", "-Infinity", "[1,", "0x10"]


@pytest.fixture(scope="module")
def replayed(tmp_path_factory):
    """A ledger whose portfolio has traded 3 days of real candles (built once, copied per case)."""
    path = tmp_path_factory.mktemp("corrupted") / "ledger.db"
    assert run_captured("--db", str(path), "create-portfolio", "bot", "1000", "--strategy", "sma-cross").code == 0
    replay = ["replay", "1", "BTC/USDT", "--data", str(DATA / "binance_BTC-USDT_1h.csv"), "--to", "2020-12-04"]
    assert run_captured("--db", str(path), *replay).code == 0
    return path


def _value_cases() -> list:
    chance = random.Random(SEED)
    return [
        pytest.param(*chance.choice(FIELDS), chance.choice(BAD_VALUES), chance.sample(COMMANDS, 2), id=f"value-{n}")
        for n in range(16)
    ]


def _flip_cases() -> list:
    chance = random.Random(SEED + 1)
    return [pytest.param(chance.randrange(2**32), chance.sample(COMMANDS, 2), id=f"flip-{n}") for n in range(12)]


def _assert_one_clear_line(result) -> None:
    assert "internal error" not in result.stderr and "Traceback" not in result.stderr, result.stderr
    assert result.code in (0, 1, 2), result.stderr
    if result.code != 0:
        assert len(result.error_lines) == 1 and result.error_lines[0].startswith("papertrade: error: "), result.stderr


@pytest.mark.parametrize(("table", "column", "key", "value", "commands"), _value_cases())
def test_an_edited_value_is_named_by_table_and_row_never_an_internal_error(
    replayed, tmp_path, capsys, table, column, key, value, commands
):
    ledger = tmp_path / "ledger.db"
    shutil.copy2(replayed, ledger)
    with sqlite3.connect(ledger) as connection:
        row = connection.execute(f"SELECT {key} FROM {table} ORDER BY {key} LIMIT 1").fetchone()[0]
        connection.execute(f"UPDATE {table} SET {column} = ? WHERE {key} = ?", (value, row))
    connection.close()
    for command in commands:
        result = run_inprocess(capsys, "--db", str(ledger), *command)
        _assert_one_clear_line(result)
        if "is damaged" in result.stderr:
            assert result.code == 1 and f"{table} row " in result.stderr and f"{column} = " in result.stderr


@pytest.mark.parametrize(("seed", "commands"), _flip_cases())
def test_flipped_bytes_end_in_one_clear_line_never_an_internal_error(replayed, tmp_path, capsys, seed, commands):
    ledger = tmp_path / "ledger.db"
    data = bytearray(replayed.read_bytes())
    chance = random.Random(seed)
    for _ in range(chance.choice((1, 4, 32))):
        data[chance.randrange(len(data))] ^= 1 << chance.randrange(8)
    ledger.write_bytes(bytes(data))
    for command in [*commands, ["audit", "verify", "1"]]:
        _assert_one_clear_line(run_inprocess(capsys, "--db", str(ledger), *command))


def test_cash_that_is_no_number_is_named_by_every_command_that_reads_it(replayed, tmp_path, capsys):
    ledger = tmp_path / "ledger.db"
    shutil.copy2(replayed, ledger)
    with sqlite3.connect(ledger) as connection:
        connection.execute("UPDATE portfolios SET cash = 'lots', strategy_params = '{bad'")
    connection.close()
    for command in (["status", "1"], ["portfolios"], ["report", "1"], ["audit", "verify", "1"]):
        result = run_inprocess(capsys, "--db", str(ledger), *command)
        assert result.code == 1, (command, result.stderr)
        assert result.error_lines == [
            f"papertrade: error: the ledger {ledger} is damaged: portfolios row 1: cash = 'lots' is not a number "
            "(repair that row or restore a copy)"
        ], command


def test_audit_verify_runs_sqlite_s_integrity_check_first(replayed, tmp_path, capsys):
    """A file SQLite calls damaged can still agree with its journal: here an index whose
    entries no longer match its table (its definition edited behind SQLite's back)."""
    ledger = tmp_path / "ledger.db"
    shutil.copy2(replayed, ledger)
    with sqlite3.connect(ledger) as connection:
        connection.execute("PRAGMA writable_schema=ON")
        connection.execute(
            "UPDATE sqlite_master SET sql = 'CREATE INDEX ix_trades_tick_id ON trades (candle_ts)' "
            "WHERE name = 'ix_trades_tick_id'"
        )
    connection.close()
    with sqlite3.connect(ledger) as connection:
        assert connection.execute("PRAGMA integrity_check").fetchone()[0] != "ok"
    connection.close()
    result = run_inprocess(capsys, "--db", str(ledger), "audit", "verify", "1")
    assert result.code == 1
    assert result.error_lines[-1].startswith(f"papertrade: error: the ledger {ledger} fails SQLite's integrity check")
