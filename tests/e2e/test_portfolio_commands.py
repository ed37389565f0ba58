"""`create-portfolio`, `portfolios`, `status`, `db` through the real entry point."""

import json
import stat

import pytest

from papertrade.adapters.database import HEAD
from tests.support.cli import run_command, run_inprocess
from tests.support.databases import file_state, new_sqlite_ledger
from tests.support.paths import REPO


@pytest.fixture
def db(tmp_path):
    return tmp_path / "ledger.db"


def test_a_new_user_creates_a_portfolio_and_reads_it_back(tmp_path):
    """The installed command, the default per-user database, no set-up at all."""
    env = {"XDG_DATA_HOME": str(tmp_path / "data")}
    created = run_command("create-portfolio", "My RSI Bot", "10000", "--json", env=env, cwd=tmp_path)
    assert created.code == 0, created.stderr
    assert json.loads(created.stdout).items() >= {"id": 1, "name": "My RSI Bot", "cash": "10000"}.items()

    shown = run_command("status", "1", "--json", env=env)
    status = json.loads(shown.stdout)
    assert status["cash"] == "10000" and status["positions"] == []
    assert status["fee_rate"] == "0.001" and status["timeframe"] == "1h"

    path = tmp_path / "data" / "papertrade" / "papertrade.db"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    current = run_command("db", "current", env=env)
    assert current.code == 0 and f"{HEAD} (head)" in current.stdout
    assert not list(tmp_path.glob("*.db")), "nothing may be written to the working directory"


def test_human_output_is_a_sentence_and_tables(capsys, db):
    created = run_inprocess(capsys, "--db", str(db), "create-portfolio", "My RSI Bot", "10000")
    assert created.stdout == 'Created portfolio 1 "My RSI Bot" with 10,000.00 USDT\n'
    run_inprocess(capsys, "--db", str(db), "create-portfolio", "Swing", "2500.5", "--strategy", "sma-cross")
    listing = run_inprocess(capsys, "--db", str(db), "portfolios").stdout.splitlines()
    assert listing[0].split() == [
        "ID",
        "NAME",
        "STRATEGY",
        "MARKET",
        "DATA",
        "CASH",
        "EQUITY",
        "MARKED",
        "AT",
        "OPEN",
        "POSITIONS",
    ]
    assert "2,500.50 USDT" in listing[3] and "sma-cross" in listing[3]
    status = run_inprocess(capsys, "--db", str(db), "status", "2").stdout
    assert 'Portfolio 2 "Swing"' in status and "fast=10 slow=30" in status


def test_every_decimal_in_json_is_a_string(capsys, db):
    run_inprocess(
        capsys,
        "--db",
        str(db),
        "create-portfolio",
        "b",
        "1234567890.12345678",
        "--fee-rate",
        "0.00075",
        "--slippage-bps",
        "2.5",
        "--stake-fraction",
        "0.5",
    )
    (entry,) = json.loads(run_inprocess(capsys, "--db", str(db), "portfolios", "--json").stdout)
    assert entry["cash"] == "1234567890.12345678"
    assert (entry["fee_rate"], entry["slippage_bps"], entry["stake_fraction"]) == ("0.00075", "2.5", "0.5")
    assert isinstance(entry["id"], int)


def test_the_database_url_setting_and_the_db_option(capsys, tmp_path, monkeypatch):
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    run_inprocess(capsys, "create-portfolio", "from env", "1")
    run_inprocess(capsys, "--db", str(tmp_path / "flag.db"), "create-portfolio", "from flag", "1")
    assert (tmp_path / "env.db").exists() and (tmp_path / "flag.db").exists()
    names = json.loads(run_inprocess(capsys, "portfolios", "--json").stdout)
    assert [p["name"] for p in names] == ["from env"]


BAD_INPUT = [
    ["create-portfolio", "bot", "--", "-5"],
    ["create-portfolio", "bot", "0"],
    ["create-portfolio", "bot", "NaN"],
    ["create-portfolio", "bot", "inf"],
    ["create-portfolio", "bot", "ten"],
    ["create-portfolio", "bot", "1,000"],
    ["create-portfolio", "bot", "1e400"],
    ["create-portfolio", "bot", "1e-30"],
    ["create-portfolio", "", "100"],
    ["create-portfolio", "   ", "100"],
    ["create-portfolio", "x" * 101, "100"],
    ["create-portfolio", "bot", "100", "--strategy", "nope"],
    ["create-portfolio", "bot", "100", "--param", "bogus=1"],
    ["create-portfolio", "bot", "100", "--param", "period=-3"],
    ["create-portfolio", "bot", "100", "--timeframe", "7m"],
    ["create-portfolio", "bot", "100", "--fee-rate", "0.5"],
    ["create-portfolio", "bot", "100", "--fee-rate", "-0.001"],
    ["create-portfolio", "bot", "100", "--stake-fraction", "0"],
    ["create-portfolio", "bot", "100", "--stake-fraction", "1.01"],
    ["create-portfolio", "existing", "100"],
    ["create-portfolio", "bot"],
    ["status", "99"],
    ["status", "abc"],
    ["status", "1.5"],
    ["status"],
    ["no-such-command"],
]


@pytest.mark.parametrize("args", BAD_INPUT, ids=lambda a: " ".join(a)[:60])
def test_bad_input_exits_2_with_one_line_and_writes_nothing(capsys, db, args):
    new_sqlite_ledger(db)  # at head without paying Alembic again (the new user's test creates one)
    run_inprocess(capsys, "--db", str(db), "create-portfolio", "existing", "100")
    before = file_state(db)
    result = run_inprocess(capsys, "--db", str(db), *args)
    assert result.code == 2
    assert len(result.error_lines) == 1 and result.error_lines[0].startswith("papertrade: error: ")
    assert "Traceback" not in result.stderr
    assert file_state(db) == before


def test_bad_input_on_a_fresh_machine_creates_no_database(capsys, tmp_path):
    result = run_inprocess(capsys, "--db", str(tmp_path / "new.db"), "create-portfolio", "bot", "-1e3")
    assert result.code == 2
    assert list(tmp_path.iterdir()) == []


def test_bad_input_as_a_real_process(tmp_path):
    db = tmp_path / "ledger.db"
    run_command("--db", str(db), "create-portfolio", "existing", "100")
    before = file_state(db)
    result = run_command("--db", str(db), "create-portfolio", "bot", "1,000")
    assert (result.code, result.stdout) == (2, "")
    assert result.error_lines == ["papertrade: error: cash must be a plain number like 10000 or 0.5, not '1,000'"]
    assert file_state(db) == before


def test_a_file_that_is_no_database_exits_2_naming_it(capsys, tmp_path):
    garbage = tmp_path / "garbage.db"
    garbage.write_bytes(b"\x00not sqlite" * 512)
    result = run_inprocess(capsys, "--db", str(garbage), "portfolios")
    assert result.code == 2
    assert len(result.error_lines) == 1 and str(garbage) in result.stderr


def test_an_unsupported_database_url_exits_2(capsys):
    result = run_inprocess(capsys, "--db", "mysql://root@localhost/papertrade", "portfolios")
    assert result.code == 2 and "unsupported database URL scheme" in result.stderr


def test_a_traceback_only_with_papertrade_debug(tmp_path):
    args = ["--db", str(tmp_path / "x.db"), "create-portfolio", "b", "1", "--strategy"]
    args.append("tests.support.broken_strategy:ExplodingParamsStrategy")
    env = {"PYTHONPATH": str(REPO)}
    quiet = run_command(*args, env=env)
    assert quiet.code == 1 and len(quiet.error_lines) == 1
    assert "internal error: RuntimeError: parameter validation blew up" in quiet.stderr
    loud = run_command(*args, env={**env, "PAPERTRADE_DEBUG": "1"})
    assert loud.code == 1 and "Traceback (most recent call last)" in loud.stderr
