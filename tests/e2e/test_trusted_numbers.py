"""The figures a trader trusts most, through the real entry point."""

import json
from decimal import Decimal
from pathlib import Path

import pytest

from tests.support.cli import run_inprocess
from tests.support.databases import file_state
from tests.support.paths import DATA

BTC = DATA / "binance_BTC-USDT_1h.csv"


def test_the_return_counts_from_the_initial_cash_not_the_first_fill(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    created = run_inprocess(
        capsys, "--db", db, "create-portfolio", "buyer", "1000", "--strategy", "tests.support.strategies:AlwaysBuy"
    )
    assert created.code == 0, created.stderr
    replayed = run_inprocess(
        capsys, "--db", db, "replay", "1", "BTC/USDT", "--data", str(BTC), "--from", "2021-01-01", "--to",
        "2021-01-01T05:00",
    )  # fmt: skip
    assert replayed.code == 0, replayed.stderr
    stats = json.loads(run_inprocess(capsys, "--db", db, "report", "1", "--json").stdout)["stats"]
    final = Decimal(stats["Equity Final [$]"])
    assert stats["Return [%]"] == pytest.approx(float((final - 1000) / 1000 * 100))
    assert Decimal(stats["Equity Peak [$]"]) >= 1000


ETH = DATA / "binance_ETH-USDT_1h.csv"


def _replay(capsys, db, portfolio, symbol, data, start, end):
    return run_inprocess(
        capsys, "--db", db, "replay", portfolio, symbol, "--data", str(data), "--from", start, "--to", end
    )


def _create(capsys, db, name, cash, strategy):
    created = run_inprocess(capsys, "--db", db, "create-portfolio", name, cash, "--strategy", strategy)
    assert created.code == 0, created.stderr


def test_a_second_symbol_replayed_back_in_time_is_refused_and_nothing_is_written(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    _create(capsys, db, "two", "10000", "sma-cross")
    assert _replay(capsys, db, "1", "BTC/USDT", BTC, "2021-01-01T00:00", "2021-01-03T00:00").code == 0
    before = file_state(Path(db))
    refused = _replay(capsys, db, "1", "ETH/USDT", ETH, "2021-01-02T00:00", "2021-01-04T00:00")
    assert refused.code == 2 and len(refused.error_lines) == 1, refused.stderr
    assert "out of time order" in refused.stderr and "--from after 2021-01-03 00:00Z" in refused.stderr
    assert file_state(Path(db)) == before
    later = _replay(capsys, db, "1", "ETH/USDT", ETH, "2021-01-03T00:00", "2021-01-04T00:00")
    assert later.code == 0, later.stderr


def test_a_replay_works_in_a_ledger_whose_candle_store_holds_newer_candles(capsys, tmp_path):
    # A live bot stores today's candles; replaying older ones must still see its own history.
    db = str(tmp_path / "ledger.db")
    _create(capsys, db, "live", "10000", "sma-cross")
    assert _replay(capsys, db, "1", "BTC/USDT", BTC, "2021-02-01T00:00", "2021-02-01T03:00").code == 0
    _create(capsys, db, "backfill", "10000", "sma-cross")
    older = _replay(capsys, db, "2", "BTC/USDT", BTC, "2021-01-01T00:00", "2021-01-01T03:00")
    assert older.code == 0, older.stderr
