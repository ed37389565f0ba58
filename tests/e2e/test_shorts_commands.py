"""Shorts from the command line: `--allow-short` on create-portfolio and backtest, a replay through
the real tick path that shorts, covers and stops out, and every view of it (trades, status,
report, audit); without the option the same strategy never trades."""

import json
from decimal import Decimal

import pytest

from tests.support.cli import run_inprocess, run_json
from tests.support.paths import DATA

BTC = str(DATA / "binance_BTC-USDT_1d.csv")
STRATEGY = "tests.support.strategies:ShortAndCover"
RANGE = ("--to", "2020-04-30")


@pytest.fixture
def shorted(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    created = run_inprocess(capsys, "--db", db, "create-portfolio", "bear", "10000", "--strategy", STRATEGY,
                            "--allow-short", "--slippage-bps", "5", "--timeframe", "1d", "--json")  # fmt: skip
    assert created.code == 0, created.stderr
    assert json.loads(created.stdout)["allow_short"] is True
    replayed = run_inprocess(capsys, "--db", db, "replay", "1", "BTC/USDT", "--data", BTC, *RANGE)
    assert replayed.code == 0, replayed.stderr
    return db


def test_a_replay_shorts_covers_and_stops_out_and_the_backtest_makes_the_same_trades(capsys, shorted):
    trades = run_json(capsys, shorted, "trades", "1")
    held, kinds = Decimal(0), set()
    for trade in trades:
        opening = held == 0
        held += Decimal(trade["quantity"]) * (1 if trade["side"] == "BUY" else -1)
        assert held <= 0, "a short-only strategy never holds a long"
        assert (trade["side"] == "SELL") == opening and (trade["net_realized_pnl"] is None) == opening
        kinds.add(trade["kind"])
    assert len(trades) >= 6 and kinds == {"signal", "stop-loss"}
    backtest = run_inprocess(capsys, "backtest", "--strategy", STRATEGY, "--data", BTC, *RANGE, "--allow-short",
                             "--slippage-bps", "5", "--json")  # fmt: skip
    assert backtest.code == 0, backtest.stderr
    tested = json.loads(backtest.stdout)
    fields = ("candle_ts", "side", "kind", "quantity", "price", "fee")
    assert [[t[f] for f in fields] for t in tested["trades"]] == [[t[f] for f in fields] for t in trades]
    report = run_json(capsys, shorted, "report", "1")
    assert report["exits_by_kind"] == {"signal": sum(1 for t in trades if t["side"] == "BUY" and t["kind"] == "signal"),
                                       "stop-loss": sum(1 for t in trades if t["kind"] == "stop-loss")}  # fmt: skip
    covers = [t for t in trades if t["side"] == "BUY"]
    assert {t["position"] for t in trades} == {"short"}
    assert report["sides"]["long"]["# Trades"] == 0 and report["sides"]["short"]["# Trades"] == len(covers)
    net = sum(Decimal(t["net_realized_pnl"]) for t in covers)
    assert Decimal(report["sides"]["short"]["Net PnL [$]"]) == net
    table = run_inprocess(capsys, "--db", shorted, "report", "1").stdout
    assert "BY SIDE" in table and "Net PnL [$]" in table
    audited = run_inprocess(capsys, "--db", shorted, "audit", "verify", "1")
    assert audited.code == 0, audited.stdout + audited.stderr


def test_status_says_the_side_of_an_open_short(capsys, shorted):
    status = run_json(capsys, shorted, "status", "1")
    trades = run_json(capsys, shorted, "trades", "1")
    held = sum(Decimal(t["quantity"]) * (1 if t["side"] == "BUY" else -1) for t in trades)
    assert held < 0, "the fixture's replay ends short"
    (position,) = status["positions"]
    assert position["side"] == "short" and Decimal(position["quantity"]) == held
    assert Decimal(position["margin"]) == -Decimal(position["cost_basis"])
    assert Decimal(position["liquidation_price"]) == pytest.approx(Decimal(position["avg_cost"]) * 2 / Decimal("1.005"))
    assert Decimal(position["market_value"]) < 0 and Decimal(status["equity"]) < Decimal(status["cash"])
    table = run_inprocess(capsys, "--db", shorted, "status", "1").stdout
    assert "short" in table and "allowed (--allow-short)" in table and "LIQUIDATION" in table


def test_without_allow_short_the_same_strategy_never_trades(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    assert (
        run_inprocess(
            capsys, "--db", db, "create-portfolio", "bull", "10000", "--strategy", STRATEGY, "--timeframe", "1d"
        ).code
        == 0
    )
    replayed = run_inprocess(capsys, "--db", db, "replay", "1", "BTC/USDT", "--data", BTC, *RANGE)
    assert replayed.code == 0, replayed.stderr
    assert run_json(capsys, db, "trades", "1") == []
    ticks = run_json(capsys, db, "ticks", "1")
    assert any("--allow-short" in tick["reason"] for tick in ticks)
    backtest = run_inprocess(capsys, "backtest", "--strategy", STRATEGY, "--data", BTC, *RANGE, "--json")
    assert json.loads(backtest.stdout)["trades"] == []


def test_a_short_through_a_rally_is_liquidated_alike_in_replay_backtest_and_audit(capsys, tmp_path):
    db, strategy, span = str(tmp_path / "ledger.db"), "tests.support.strategies:AlwaysShort", ("--to", "2020-12-31")
    created = run_inprocess(capsys, "--db", db, "create-portfolio", "doomed", "10000", "--strategy", strategy,
                            "--allow-short", "--timeframe", "1d")  # fmt: skip
    assert created.code == 0, created.stderr
    assert run_inprocess(capsys, "--db", db, "replay", "1", "BTC/USDT", "--data", BTC, *span).code == 0
    trades = run_json(capsys, db, "trades", "1")
    liquidations = [t for t in trades if t["kind"] == "liquidation"]
    assert liquidations and all(t["side"] == "BUY" for t in liquidations)
    first = liquidations[0]
    entry = next(t for t in trades if t["side"] == "SELL")
    assert Decimal(first["price"]) >= Decimal(entry["price"]) * 2 / Decimal("1.005") - Decimal("0.000001")
    backtest = run_inprocess(
        capsys, "backtest", "--strategy", strategy, "--data", BTC, *span, "--allow-short", "--json"
    )
    fields = ("candle_ts", "side", "kind", "quantity", "price", "fee")
    assert [[t[f] for f in fields] for t in json.loads(backtest.stdout)["trades"]] == [
        [t[f] for f in fields] for t in trades
    ]
    assert run_inprocess(capsys, "--db", db, "audit", "verify", "1").code == 0


def test_the_maintenance_margin_and_liquidation_fee_are_the_portfolios_and_the_backtests(capsys, tmp_path):
    strategy = "tests.support.strategies:AlwaysShort"
    rates = ("--maintenance-margin", "0.25", "--liquidation-fee", "0.02")
    result = run_inprocess(capsys, "backtest", "--strategy", strategy, "--data", BTC, "--to", "2020-12-31",
                           "--allow-short", *rates, "--json")  # fmt: skip
    trades = json.loads(result.stdout)["trades"]
    entry, liquidated = trades[0], next(t for t in trades if t["kind"] == "liquidation")
    level = Decimal(entry["price"]) * 2 / Decimal("1.25")
    assert Decimal(liquidated["price"]) == pytest.approx(level) or Decimal(liquidated["price"]) > level
    assert Decimal(liquidated["fee"]) == pytest.approx(Decimal(liquidated["notional"]) * Decimal("0.02"))
    db = str(tmp_path / "ledger.db")
    created = run_inprocess(capsys, "--db", db, "create-portfolio", "p", "10000", "--allow-short", *rates, "--json")
    assert created.code == 0, created.stderr
    document = json.loads(created.stdout)
    assert (document["maintenance_margin"], document["liquidation_fee"]) == ("0.25", "0.02")
    for bad in (("--maintenance-margin", "0.5"), ("--liquidation-fee", "-0.01"), ("--maintenance-margin", "x")):
        refused = run_inprocess(capsys, "--db", db, "create-portfolio", "q", "10000", *bad)
        assert refused.code == 2 and refused.error_lines[0].startswith("papertrade: error:"), refused.stderr
    assert [p["name"] for p in run_json(capsys, db, "portfolios")] == ["p"]
