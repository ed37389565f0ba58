"""The figures a trader trusts most, through the real entry point."""

import json
from decimal import Decimal

import pytest

from tests.support.cli import run_inprocess
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
