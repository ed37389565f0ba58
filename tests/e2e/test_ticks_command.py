"""`papertrade ticks`: why a bot held or traded, candle by candle (issue 12, item 16)."""

import json

from tests.support.cli import run_inprocess
from tests.support.paths import DATA

HOURS = str(DATA / "binance_BTC-USDT_1h.csv")


def ok(capsys, db, *args):
    result = run_inprocess(capsys, "--db", str(db), *args)
    assert result.code == 0, result.stderr
    return result.stdout


def test_ticks_say_why_each_candle_was_held_or_traded(capsys, tmp_path):
    db = tmp_path / "ledger.db"
    ok(capsys, db, "create-portfolio", "bot", "1000", "--strategy", "sma-cross")
    ok(capsys, db, "replay", "1", "BTC/USDT", "--data", HOURS, "--from", "2020-12-01T00:00", "--to", "2020-12-01T09:00")
    last = json.loads(ok(capsys, db, "ticks", "1", "--last", "3", "--json"))
    assert len(last) == 3 and last[-1]["candle_ts"] == 1606780800000 + 9 * 3_600_000
    assert {"candle_ts", "symbol", "signal", "status", "reason", "indicators"} <= set(last[0])
    assert last[0]["signal"] == "HOLD" and last[0]["reason"].startswith("warming up")
    assert json.loads(ok(capsys, db, "ticks", "1", "--symbol", "ETH/USDT", "--json")) == []
    text = ok(capsys, db, "ticks", "1", "--last", "0")
    assert len(text.splitlines()) == 2 + 10 and "warming up" in text


def test_ticks_of_an_unknown_portfolio_is_bad_input(capsys, tmp_path):
    db = tmp_path / "ledger.db"
    ok(capsys, db, "create-portfolio", "bot", "1000")
    result = run_inprocess(capsys, "--db", str(db), "ticks", "7")
    assert result.code == 2 and len(result.error_lines) == 1, result.stderr
