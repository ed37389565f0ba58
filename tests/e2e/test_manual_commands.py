"""`papertrade open` and `papertrade close` through the entry point, against the exchange
imitation: a forced entry and exit at the latest closed candle's close, trades of kind
`manual`, a retry a duplicate, and bad input refused with nothing written."""

import json

import pytest

from tests.support.cli import run_inprocess
from tests.support.live import wait_clear_of_boundary

HOUR = 3_600_000


@pytest.fixture
def env(cli_env, monkeypatch, capsys):
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    created = run_inprocess(capsys, "create-portfolio", "hand", "10000", "--strategy",
                            "tests.support.strategies:Recorder")  # fmt: skip
    assert created.code == 0, created.stderr
    wait_clear_of_boundary(HOUR)


def test_open_and_close_trade_once_each_as_manual_trades(env, capsys):
    opened = run_inprocess(capsys, "open", "1", "BTC/USDT", "--size", "0.01 BTC", "--json")
    assert opened.code == 0, opened.stderr
    document = json.loads(opened.stdout)
    assert (document["status"], document["signal"], document["quantity"]) == ("executed", "BUY", "0.01")
    assert document["price"] == document["close"]  # at the latest closed candle's close
    again = run_inprocess(capsys, "open", "1", "BTC/USDT")
    assert again.code == 0 and "[duplicate]" in again.stdout, again.stdout
    closed = run_inprocess(capsys, "close", "1", "BTC/USDT")
    assert closed.code == 0 and " SELL 0.01 @ " in closed.stdout and "[executed]" in closed.stdout, closed.stdout
    assert "[duplicate]" in run_inprocess(capsys, "close", "1", "BTC/USDT").stdout
    trades = json.loads(run_inprocess(capsys, "trades", "1", "--json").stdout)
    assert [(t["kind"], t["side"], t["candle_ts"]) for t in trades] == [
        ("manual", "BUY", document["candle_ts"]),
        ("manual", "SELL", document["candle_ts"]),
    ]
    table = run_inprocess(capsys, "trades", "1").stdout  # quantities aligned to the market's step, 0.00001
    assert [line.split()[5] for line in table.splitlines()[2:4]] == ["0.01000", "0.01000"], table
    report = json.loads(run_inprocess(capsys, "report", "1", "--json").stdout)
    assert [t["exit_kind"] for t in report["round_trips"]] == ["manual"]


BAD_INPUT = [
    (("close", "1", "BTC/USDT"), "holds no BTC/USDT"),
    (("open", "1", "BTC/USDT", "--size", "lots"), "--size must be like"),
    (("open", "1", "BTC/USDT", "--size", "150%"), "at most 1"),
    (("open", "9", "BTC/USDT"), "no portfolio with id 9"),
    (("close", "1", "BTCUSDT"), "symbol"),
]


def test_bad_input_exits_2_and_writes_nothing(env, capsys):
    for args, message in BAD_INPUT:  # one ledger for all: each must leave it as it was
        result = run_inprocess(capsys, *args)
        assert result.code == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.error_lines) == 1
    assert json.loads(run_inprocess(capsys, "trades", "1", "--json").stdout) == []
    assert json.loads(run_inprocess(capsys, "ticks", "1", "--json").stdout) == []
