"""Leverage from the command line: `--leverage` on create-portfolio, backtest and portfolio set,
validated; a 10x replay through the real tick path that is liquidated as the backtest is, and
what status, trades and audit say of it."""

import json
from decimal import Decimal

import pytest

from papertrade.bootstrap import open_ledger
from papertrade.settings import Settings
from tests.support.cli import run_inprocess, run_json
from tests.support.paths import DATA

BTC = str(DATA / "binance_BTC-USDT_1d.csv")
IBM = str(DATA / "quandl-wiki_IBM_1d.csv")
STRATEGY = "tests.support.strategies:AlwaysBuy"
RANGE = ("--from", "2020-02-01", "--to", "2020-04-30")  # the March 2020 crash
LEVER = ("--leverage", "10", "--fee-rate", "0.001", "--stake-fraction", "0.25")


@pytest.fixture
def levered(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    created = run_inprocess(capsys, "--db", db, "create-portfolio", "bold", "10000", "--strategy", STRATEGY,
                            "--timeframe", "1d", *LEVER, "--json")  # fmt: skip
    assert created.code == 0, created.stderr
    assert json.loads(created.stdout)["leverage"] == "10"
    replayed = run_inprocess(capsys, "--db", db, "replay", "1", "BTC/USDT", "--data", BTC, *RANGE)
    assert replayed.code == 0, replayed.stderr
    return db


def test_a_10x_replay_is_liquidated_as_the_backtest_is_and_the_journal_rebuilds_it(capsys, levered):
    trades = run_json(capsys, levered, "trades", "1")
    liquidations = [t for t in trades if t["kind"] == "liquidation"]
    assert liquidations and all(t["side"] == "SELL" for t in liquidations)
    entry = trades[trades.index(liquidations[0]) - 1]
    opening = Decimal(entry["cash_after"]) + Decimal(entry["fee"])
    assert Decimal(entry["notional"]) == pytest.approx(opening * Decimal("2.5") / Decimal("1.01"), rel=Decimal("1e-6"))
    level = Decimal(entry["price"]) * Decimal("0.9") / Decimal("0.995")
    assert Decimal(liquidations[0]["price"]) == pytest.approx(level)
    backtest = run_inprocess(capsys, "backtest", "--strategy", STRATEGY, "--data", BTC, *RANGE, *LEVER, "--json")
    assert backtest.code == 0, backtest.stderr
    fields = ("candle_ts", "side", "kind", "quantity", "price", "fee", "realized_pnl", "floored")
    assert [[t[f] for f in fields] for t in json.loads(backtest.stdout)["trades"]] == [
        [t[f] for f in fields] for t in trades
    ]
    assert all(Decimal(t["cash_after"]) >= 0 for t in trades)
    # The report read from the ledger values the open margin position at its unrealized PnL,
    # candle for candle as the backtest does (not at its notional, which never left the cash).
    reported = run_json(capsys, levered, "report", "1")
    assert reported["equity_curve"]["candle_ts"] == json.loads(backtest.stdout)["equity_curve"]["candle_ts"]
    assert reported["equity_curve"]["equity"] == json.loads(backtest.stdout)["equity_curve"]["equity"]
    assert reported["stats"]["Equity Final [$]"] == json.loads(backtest.stdout)["stats"]["Equity Final [$]"]
    audited = run_inprocess(capsys, "--db", levered, "audit", "verify", "1")
    assert audited.code == 0, audited.stdout + audited.stderr


def test_status_shows_the_leverage_margin_liquidation_price_and_counts_unrealized_pnl_in_equity(capsys, levered):
    status = run_json(capsys, levered, "status", "1")
    (position,) = status["positions"]
    assert position["leverage"] == "10" and position["side"] == "long"
    assert Decimal(position["margin"]) == pytest.approx(Decimal(position["cost_basis"]) / 10)
    level = Decimal(position["avg_cost"]) * Decimal("0.9") / Decimal("0.995")
    assert Decimal(position["liquidation_price"]) == pytest.approx(level)
    assert Decimal(status["equity"]) == Decimal(status["cash"]) + Decimal(position["unrealized_pnl"])
    ledger = open_ledger(Settings(database_url=levered))
    with ledger.unit_of_work() as uow:
        _, summarized = uow.outbox.equity_at(1, before=2**62)  # the equity a daily summary reports
    ledger.dispose()
    assert summarized == Decimal(status["equity"])
    table = run_inprocess(capsys, "--db", levered, "status", "1").stdout
    assert "LEVERAGE" in table and "leverage 10 for new entries" in table and "unrealized PnL of margin" in table


def test_leverage_is_validated_and_portfolio_set_changes_it_for_new_entries(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    for bad in (("--leverage", "0.5"), ("--leverage", "126"), ("--leverage", "x"), ("--leverage", "2.001"),
                ("--leverage", "3", "--fill", "book")):  # fmt: skip
        refused = run_inprocess(capsys, "--db", db, "create-portfolio", "q", "10000", *bad)
        assert refused.code == 2 and refused.error_lines[0].startswith("papertrade: error:"), refused.stderr
    refused = run_inprocess(capsys, "backtest", "--strategy", STRATEGY, "--data", BTC, "--leverage", "200")
    assert refused.code == 2, refused.stderr
    assert run_inprocess(capsys, "--db", db, "create-portfolio", "p", "10000", "--leverage", "125").code == 0
    changed = run_inprocess(capsys, "--db", db, "portfolio", "set", "1", "--leverage", "2.5")
    assert changed.code == 0 and "leverage: 125 -> 2.5" in changed.stdout, changed.stdout + changed.stderr
    assert run_inprocess(capsys, "--db", db, "portfolio", "set", "1", "--leverage", "0").code == 2
    assert [p["leverage"] for p in run_json(capsys, db, "portfolios")] == ["2.5"]


def test_gaps_through_the_liquidation_price_are_floored_alike_in_replay_and_backtest(capsys, tmp_path):
    """A stock's daily candles open away from the last close: at 50x some open past the
    liquidation price, and the loss beyond the margin is floored, the same in both."""
    db, span = str(tmp_path / "ledger.db"), ("--from", "2008-09-01", "--to", "2008-12-31")
    lever = ("--leverage", "50", "--stake-fraction", "0.2", "--fee-rate", "0.001")
    created = run_inprocess(capsys, "--db", db, "create-portfolio", "gappy", "10000", "--strategy", STRATEGY,
                            "--timeframe", "1d", "--quote", "USD", *lever)  # fmt: skip
    assert created.code == 0, created.stderr
    replayed = run_inprocess(capsys, "--db", db, "replay", "1", "IBM/USD", "--data", IBM, *span)
    assert replayed.code == 0, replayed.stderr
    trades = run_json(capsys, db, "trades", "1")
    floored = [t for t in trades if Decimal(t["floored"]) > 0]
    assert floored and all(t["kind"] == "liquidation" for t in floored)
    assert all(Decimal(t["cash_after"]) >= 0 for t in trades)
    backtest = run_inprocess(capsys, "backtest", "--strategy", STRATEGY, "--data", IBM, *span, *lever, "--json")
    assert backtest.code == 0, backtest.stderr
    fields = ("candle_ts", "side", "kind", "quantity", "price", "fee", "realized_pnl", "floored")
    assert [[t[f] for f in fields] for t in json.loads(backtest.stdout)["trades"]] == [
        [t[f] for f in fields] for t in trades
    ]
    assert run_inprocess(capsys, "--db", db, "audit", "verify", "1").code == 0
