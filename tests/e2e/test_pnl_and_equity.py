"""Realized PnL after fees and equity marked at the latest stored close, alike in every output."""

from decimal import Decimal

import pytest

from papertrade.adapters.csv_candles import CandleFile
from papertrade.cli.output import money
from tests.support.cli import run_inprocess, run_json
from tests.support.paths import DATA

BTC = DATA / "binance_BTC-USDT_1h.csv"
LAST_CANDLE = "2021-01-03T00:00"


@pytest.fixture
def traded(capsys, tmp_path):
    """A portfolio that made five round trips and holds a position at the end."""
    db = str(tmp_path / "ledger.db")
    created = run_inprocess(
        capsys, "--db", db, "create-portfolio", "swing", "5000", "--strategy", "sma-cross", "--param", "fast=2",
        "--param", "slow=4",
    )  # fmt: skip
    assert created.code == 0, created.stderr
    replayed = run_inprocess(
        capsys, "--db", db, "replay", "1", "BTC/USDT", "--data", str(BTC), "--from", "2021-01-01", "--to", LAST_CANDLE
    )
    assert replayed.code == 0, replayed.stderr
    return db


def test_a_sale_shows_its_pnl_after_the_fees_of_both_legs_in_every_output(capsys, traded):
    trades = run_json(capsys, traded, "trades", "1")
    nets = []
    for buy, sell in zip(trades[::2], trades[1::2], strict=False):
        net = Decimal(sell["realized_pnl"]) - Decimal(sell["fee"]) - Decimal(buy["fee"])
        assert Decimal(sell["net_realized_pnl"]) == net and buy["net_realized_pnl"] is None
        nets.append(net)
    assert len(nets) == 5
    total = sum(nets)
    report = run_json(capsys, traded, "report", "1")
    assert [t["net_realized_pnl"] for t in report["trades"]] == [t["net_realized_pnl"] for t in trades]
    assert Decimal(report["symbols"][0]["net_realized_pnl"]) == total
    status = run_json(capsys, traded, "status", "1")
    assert Decimal(status["net_realized_pnl"]) == total
    assert Decimal(status["positions"][0]["net_realized_pnl"]) == total
    shown = run_inprocess(capsys, "--db", traded, "trades", "1").stdout
    assert "NET REALIZED" in shown and f" {money(nets[0], 'USDT')} " in shown
    assert f"{money(total, 'USDT')} USDT after fees" in run_inprocess(capsys, "--db", traded, "status", "1").stdout


def test_status_and_portfolios_value_positions_at_the_latest_stored_close(capsys, traded):
    close = next(b.close for b in CandleFile.load(BTC).bars if b.ts == 1609632000000)  # 2021-01-03 00:00Z
    status = run_json(capsys, traded, "status", "1")
    (position,) = status["positions"]
    assert Decimal(position["mark_price"]) == close and position["marked_ts"] == 1609632000000
    assert Decimal(position["market_value"]) == Decimal(position["quantity"]) * close
    assert Decimal(position["unrealized_pnl"]) == Decimal(position["market_value"]) - Decimal(position["cost_basis"])
    assert Decimal(status["equity"]) == Decimal(status["cash"]) + Decimal(position["market_value"])
    assert Decimal(status["equity"]) > 4000 > Decimal(status["cash"])
    (listed,) = run_json(capsys, traded, "portfolios")
    assert listed["equity"] == status["equity"]
    shown = run_inprocess(capsys, "--db", traded, "status", "1").stdout
    assert f"equity      {money(Decimal(status['equity']), 'USDT')} USDT" in shown
    assert "marked at the close of the 2021-01-03 00:00Z candle" in shown
    listing = run_inprocess(capsys, "--db", traded, "portfolios").stdout
    assert "EQUITY" in listing and money(Decimal(status["equity"]), "USDT") in listing
