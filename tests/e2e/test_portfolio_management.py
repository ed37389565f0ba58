"""`papertrade portfolio rename|archive|unarchive|delete|set`, on both databases."""

import io
import json
from decimal import Decimal

import pytest

from tests.support.cli import run_inprocess
from tests.support.live import HOUR, wait_clear_of_boundary
from tests.support.paths import DATA

BTC = str(DATA / "binance_BTC-USDT_1h.csv")


@pytest.fixture
def db(cli_database, capsys):
    """A ledger with portfolio 1 "swing" (trades on every candle) and portfolio 2 "idle"."""
    strategy = "tests.support.strategies:Alternate"
    assert (
        run_inprocess(capsys, "--db", cli_database, "create-portfolio", "swing", "1000", "--strategy", strategy).code
        == 0
    )
    assert run_inprocess(capsys, "--db", cli_database, "create-portfolio", "idle", "500").code == 0
    return cli_database


def cli(capsys, db, *args):
    return run_inprocess(capsys, "--db", db, *args)


def replay(capsys, db, start, end):
    return cli(capsys, db, "replay", "1", "BTC/USDT", "--data", BTC, "--from", start, "--to", end)


def listed(capsys, db, *options):
    return [p["name"] for p in json.loads(cli(capsys, db, "portfolios", *options, "--json").stdout)]


def journal_verifies(capsys, db) -> bool:
    return cli(capsys, db, "audit", "verify", "--all").code == 0


def test_a_rename_is_journaled_and_a_taken_name_is_refused(capsys, db):
    renamed = cli(capsys, db, "portfolio", "rename", "1", "trend follower")
    assert renamed.code == 0 and renamed.stdout == 'Renamed portfolio 1 "swing" to "trend follower"\n'
    assert listed(capsys, db) == ["trend follower", "idle"]
    taken = cli(capsys, db, "portfolio", "rename", "2", "trend follower")
    assert taken.code == 2 and "already exists (id 1)" in taken.stderr
    too_long = cli(capsys, db, "portfolio", "rename", "2", "x" * 101)
    assert too_long.code == 2 and "longer than 100 characters" in too_long.stderr
    assert journal_verifies(capsys, db)


def test_an_archived_portfolio_keeps_its_history_but_stops_trading_and_leaves_the_lists(capsys, db):
    assert replay(capsys, db, "2021-01-01T00:00", "2021-01-01T03:00").code == 0
    archived = cli(capsys, db, "portfolio", "archive", "1")
    assert archived.code == 0, archived.stderr
    assert listed(capsys, db) == ["idle"] and listed(capsys, db, "--archived") == ["swing", "idle"]
    later = replay(capsys, db, "2021-01-01T04:00", "2021-01-01T06:00")
    assert later.code == 2 and "portfolio 1 is archived" in later.stderr
    assert cli(capsys, db, "cron", "1", "BTC/USDT").code == 2
    assert cli(capsys, db, "trade", "1", "BTC/USDT", "DRY").code == 2
    status = json.loads(cli(capsys, db, "status", "1", "--json").stdout)
    assert status["archived_ts"] is not None
    assert len(json.loads(cli(capsys, db, "trades", "1", "--json").stdout)) == 4
    assert cli(capsys, db, "report", "1").code == 0
    assert cli(capsys, db, "portfolio", "archive", "1").code == 2  # already archived
    assert cli(capsys, db, "portfolio", "unarchive", "1").code == 0
    assert replay(capsys, db, "2021-01-01T04:00", "2021-01-01T06:00").code == 0
    assert journal_verifies(capsys, db)


def test_delete_asks_first_and_a_no_or_no_answer_keeps_the_portfolio(capsys, db, monkeypatch):
    for answer in ("n\n", ""):
        monkeypatch.setattr("sys.stdin", io.StringIO(answer))
        kept = cli(capsys, db, "portfolio", "delete", "2")
        assert kept.code == 2 and 'Delete portfolio 2 "idle"? [y/N]' in kept.stderr
        assert "was not deleted" in kept.stderr and "--yes" in kept.stderr
    assert listed(capsys, db) == ["swing", "idle"]
    monkeypatch.setattr("sys.stdin", io.StringIO("y\n"))
    deleted = cli(capsys, db, "portfolio", "delete", "2")
    assert deleted.code == 0 and deleted.stdout == 'Deleted portfolio 2 "idle"\n'
    assert listed(capsys, db, "--archived") == ["swing"]
    assert cli(capsys, db, "status", "2").code == 2
    assert cli(capsys, db, "create-portfolio", "idle", "100").code == 0  # the name is free again
    assert cli(capsys, db, "portfolio", "delete", "1", "--yes").code == 0
    assert listed(capsys, db) == ["idle"]
    assert journal_verifies(capsys, db)


def test_changed_settings_are_journaled_and_used_from_the_next_tick(capsys, db):
    assert replay(capsys, db, "2021-01-01T00:00", "2021-01-01T03:00").code == 0
    changed = cli(capsys, db, "portfolio", "set", "1", "--fee-rate", "0.002", "--stake-fraction", "0.5")
    assert changed.code == 0, changed.stderr
    assert "fee rate: 0.001 -> 0.002" in changed.stdout and "stake fraction: 1 -> 0.5" in changed.stdout
    assert replay(capsys, db, "2021-01-01T04:00", "2021-01-01T07:00").code == 0
    trades = json.loads(cli(capsys, db, "trades", "1", "--json").stdout)
    rates = [Decimal(t["fee"]) / Decimal(t["notional"]) for t in trades]
    assert [round(r, 6) for r in rates] == [Decimal("0.001")] * 4 + [Decimal("0.002")] * 4
    assert journal_verifies(capsys, db)
    status = json.loads(cli(capsys, db, "status", "1", "--json").stdout)
    assert (status["fee_rate"], status["stake_fraction"]) == ("0.002", "0.5")


def test_settings_that_are_not_valid_change_nothing(capsys, db):
    before = cli(capsys, db, "status", "2", "--json").stdout
    for options in (["--fee-rate", "0.5"], ["--slippage-bps", "1001"], ["--stake-fraction", "0"],
                    ["--param", "period=1"], ["--param", "nope=3"], []):  # fmt: skip
        result = cli(capsys, db, "portfolio", "set", "2", *options)
        assert result.code == 2 and len(result.error_lines) == 1, (options, result.stderr)
    assert cli(capsys, db, "status", "2", "--json").stdout == before
    params = cli(capsys, db, "portfolio", "set", "2", "--param", "period=21")
    assert params.code == 0 and "period: 14 -> 21" in params.stdout
    again = cli(capsys, db, "portfolio", "set", "2", "--param", "period=21", "--slippage-bps", "0")
    assert again.code == 2
    assert again.error_lines == ["papertrade: error: nothing to change: portfolio 2 already has --slippage-bps 0, "
                                 "--param period=21"]  # fmt: skip


def test_run_leaves_out_the_bots_of_archived_portfolios(cli_env, monkeypatch, capsys, tmp_path):
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    for number in (1, 2):
        assert run_inprocess(capsys, "create-portfolio", f"bot {number}", "1000").code == 0
    assert run_inprocess(capsys, "portfolio", "archive", "2").code == 0
    bots = tmp_path / "bots.toml"
    bots.write_text('[[bot]]\nportfolio = 1\nsymbol = "BTC/USDT"\n\n[[bot]]\nportfolio = 2\nsymbol = "BTC/USDT"\n')
    wait_clear_of_boundary(HOUR)
    result = run_inprocess(capsys, "run", str(bots), "--json")
    assert result.code == 0, result.stderr
    assert [b["portfolio_id"] for b in json.loads(result.stdout)["bots"]] == [1]
    assert "skipped 1 bot of archived portfolio 2" in result.stderr


def test_exits_for_new_entries_can_be_set_and_removed_and_bad_ones_change_nothing(capsys, db):
    set_exits = cli(capsys, db, "portfolio", "set", "2", "--stop-loss", "0.03", "--trailing-stop", "0.05")
    assert set_exits.code == 0, set_exits.stderr
    assert "stop-loss: none -> 0.03" in set_exits.stdout and "trailing-stop: none -> 0.05" in set_exits.stdout
    removed = cli(capsys, db, "portfolio", "set", "2", "--stop-loss", "none")
    assert removed.code == 0 and "stop-loss: 0.03 -> none" in removed.stdout
    before = cli(capsys, db, "status", "2", "--json").stdout
    assert json.loads(before)["exits"] == {"trailing_stop": "0.05"}
    for value in ("1.5", "0", "soon"):
        bad = cli(capsys, db, "portfolio", "set", "2", "--take-profit", value)
        assert bad.code == 2 and len(bad.error_lines) == 1, bad.stderr
    assert cli(capsys, db, "status", "2", "--json").stdout == before
    assert journal_verifies(capsys, db)
