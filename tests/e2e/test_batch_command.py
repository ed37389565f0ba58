"""`papertrade run BOTS.toml` through the real entry point, on both databases."""

import json
import re

import pytest

from tests.support.cli import run_inprocess
from tests.support.live import HOUR, wait_clear_of_boundary

BOTS = """
[[bot]]
portfolio = 1
symbols = ["BTC/USDT", "ETH/USDT"]

[[bot]]
portfolio = 2
symbol = "BTC/USDT"

[[bot]]
portfolio = 3
symbol = "ETH/USDT"
mode = "DRY"
"""


@pytest.fixture
def setup(cli_env, monkeypatch, capsys, tmp_path):
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    for number in (1, 2, 3):
        assert run_inprocess(capsys, "create-portfolio", f"bot {number}", "1000").code == 0
    bots = tmp_path / "bots.toml"
    bots.write_text(BOTS)
    wait_clear_of_boundary(HOUR)
    return bots


def test_run_ticks_every_bot_and_summarises(setup, capsys):
    result = run_inprocess(capsys, "run", str(setup))
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert [line.split(":")[0] for line in lines[:4]] == [
        "bot 1 BTC/USDT", "bot 1 ETH/USDT", "bot 2 BTC/USDT", "bot 3 ETH/USDT"
    ]  # fmt: skip
    assert re.search(r"\[dry-run: LIVE would be (neutral|executed)\]", lines[3])
    assert re.fullmatch(r"ran 4 bots: (\d+ (dry-run|executed|neutral)(, )?)+", lines[4])
    again = run_inprocess(capsys, "run", str(setup), "--json")
    document = json.loads(again.stdout)
    assert [b["status"] for b in document["bots"]] == ["duplicate", "duplicate", "duplicate", "dry-run"]
    assert document["summary"] == {"bots": 4, "statuses": {"duplicate": 3, "dry-run": 1}, "exit_code": 0}


def test_shards_cover_every_bot_exactly_once(setup, capsys):
    ran = []
    for shard in ("1/2", "2/2"):
        document = json.loads(run_inprocess(capsys, "run", str(setup), "--shard", shard, "--json").stdout)
        ran += [(b["portfolio_id"], b["symbol"]) for b in document["bots"]]
    assert sorted(ran) == [(1, "BTC/USDT"), (1, "ETH/USDT"), (2, "BTC/USDT"), (3, "ETH/USDT")]


def test_the_exit_status_summarises_failures(setup, capsys, live_exchange):
    live_exchange.inject("http-503-html", symbol="ETHUSDT")
    result = run_inprocess(capsys, "run", str(setup))
    assert result.code == 75
    assert re.search(r"^bot 1 ETH/USDT: error: binance is unavailable", result.stdout, re.M)
    assert re.search(r"^bot 2 BTC/USDT: .*\[(executed|neutral)\]$", result.stdout, re.M)
    assert "1 executed" in result.stdout or "neutral" in result.stdout


def test_a_bad_bots_file_exits_2_before_touching_anything(setup, capsys, tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[bot]]\nportfolio = 1\n")
    result = run_inprocess(capsys, "run", str(bad))
    assert result.code == 2 and result.error_lines == [
        f"papertrade: error: {bad}: bot 1: give either symbol or symbols"
    ]
