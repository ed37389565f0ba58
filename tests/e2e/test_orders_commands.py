"""Orders from the command line: portfolio exits, `orders`, `status`, `trades --json` kinds, the
tick's line, backtest options, and the inputs they refuse."""

import json
from collections import Counter

import pytest

from tests.support.cli import run_command, run_inprocess
from tests.support.live import HOUR, wait_clear_of_boundary
from tests.support.paths import DATA

STRATEGY = "tests.support.strategies:AlwaysBuy"


def test_a_protected_entry_rests_its_exits_and_every_view_shows_them(cli_env):
    created = run_command("create-portfolio", "Guarded", "10000", "--strategy", STRATEGY, "--stop-loss", "0.03",
                          "--take-profit", "0.06", "--trailing-stop", "0.05", env=cli_env)  # fmt: skip
    assert created.code == 0, created.stderr
    wait_clear_of_boundary(HOUR)
    line = run_command("trade", "1", "BTC/USDT", "LIVE", env=cli_env)
    assert line.code == 0 and "BUY" in line.stdout and "placed stop-loss sell @" in line.stdout, line.stdout
    orders = json.loads(run_command("orders", "1", "--json", env=cli_env).stdout)
    assert sorted(order["kind"] for order in orders) == ["stop-loss", "take-profit", "trailing-stop"]
    bought = json.loads(run_command("trades", "1", "--json", env=cli_env).stdout)
    (entry,) = bought
    assert entry["kind"] == "signal" and entry["side"] == "BUY"
    by_kind = {order["kind"]: order for order in orders}
    price = float(entry["price"])
    assert float(by_kind["stop-loss"]["price"]) == pytest.approx(price * 0.97)
    assert float(by_kind["take-profit"]["price"]) == pytest.approx(price * 1.06)
    assert all(order["quantity"] == entry["quantity"] and order["side"] == "SELL" for order in orders)
    table = run_command("orders", "1", env=cli_env).stdout
    assert "stop-loss" in table and "until cancelled" in table
    status = run_command("status", "1", env=cli_env).stdout
    assert "stop-loss 3%, take-profit 6%, trailing-stop 5%" in status
    assert "BTC/USDT protected by a stop-loss at" in status
    document = json.loads(run_command("status", "1", "--json", env=cli_env).stdout)
    assert document["exits"] == {"stop_loss": "0.03", "take_profit": "0.06", "trailing_stop": "0.05"}
    assert len(document["positions"][0]["exits"]) == 3


def test_a_backtest_with_exits_names_what_closed_each_trade(capsys):
    data = str(DATA / "binance_BTC-USDT_1h.csv")
    result = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", data, "--stop-loss", "0.02",
                           "--take-profit", "0.04", "--json")  # fmt: skip
    assert result.code == 0, result.stderr
    document = json.loads(result.stdout)
    kinds = {trade["kind"] for trade in document["trades"]}
    assert {"signal", "stop-loss", "take-profit"} <= kinds
    sells = [trade for trade in document["trades"] if trade["side"] == "SELL"]
    assert document["exits_by_kind"] == dict(Counter(trade["kind"] for trade in sells))
    plain = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", data, "--stop-loss", "0.02")
    assert "Exits by kind: " in plain.stdout and "stop-loss" in plain.stdout


@pytest.mark.parametrize(
    ("option", "value"),
    [
        ("--stop-loss", "2"),
        ("--stop-loss", "0"),
        ("--take-profit", "abc"),
        ("--trailing-stop", "-0.1"),
        ("--trailing-stop", "1"),
    ],
)
def test_exits_that_make_no_sense_are_refused_with_exit_2_and_nothing_written(capsys, tmp_path, option, value):
    db = str(tmp_path / "ledger.db")
    result = run_inprocess(capsys, "--db", db, "create-portfolio", "Bot", "1000", option, value)
    assert result.code == 2 and len(result.error_lines) == 1, result.stderr
    assert not (tmp_path / "ledger.db").exists()
    data = str(DATA / "binance_BTC-USDT_1d.csv")
    assert run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", data, option, value).code == 2


def test_orders_of_a_portfolio_without_any(capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    assert run_inprocess(capsys, "--db", db, "create-portfolio", "Bot", "1000").code == 0
    assert "has no resting orders" in run_inprocess(capsys, "--db", db, "orders", "1").stdout
    assert json.loads(run_inprocess(capsys, "--db", db, "orders", "1", "--json").stdout) == []
    assert run_inprocess(capsys, "--db", db, "orders", "7").code == 2
