"""A Friday's order for one daily candle meets Monday's (or, after a holiday, the next candle
that exists) in a backtest and in a replay of the same file alike (the rule itself:
tests/unit/test_expiry_in_candles.py)."""

import json
from datetime import UTC, datetime
from decimal import Decimal

import numpy as np

from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.fills import FillModel
from papertrade.services.backtest import backtest
from papertrade.strategies.registry import build
from tests.support.cli import run_inprocess
from tests.support.databases import new_sqlite_ledger, sqlite_url
from tests.support.paths import DATA

D = Decimal
IBM = DATA / "quandl-wiki_IBM_1d.csv"
FRIDAY_LIMIT = "tests.support.strategies:FridayLimit"


def weekday(ts) -> int:
    return datetime.fromtimestamp(int(ts) / 1000, UTC).weekday()


def test_friday_orders_meet_monday_in_a_backtest_and_a_replay_alike(tmp_path, monkeypatch, capsys):
    candles = load_columns(IBM).between(None, 970_272_000_000)  # 2000-03-01 to 2000-09-30: 147 days
    performance = backtest(candles, build(FRIDAY_LIMIT, {}), FillModel(D(0), D(0), D(1)), D(10_000), "IBM/USD")
    filled_on = [int(np.searchsorted(candles.ts, f.candle_ts)) for f in performance.fills if f.kind == "limit"]
    assert all(weekday(candles.ts[i - 1]) == 4 for i in filled_on)  # each on the first candle after a Friday:
    assert sum(weekday(candles.ts[i]) == 0 for i in filled_on) > 15  # a Monday (on main: none, expired Saturday)
    assert weekday(candles.ts[filled_on[19]]) == 1  # or after a holiday, 2000-09-05, the Tuesday after Labor Day
    path = tmp_path / "ledger.db"
    new_sqlite_ledger(path)
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", sqlite_url(path))
    made = run_inprocess(capsys, "create-portfolio", "ibm", "10000", "--strategy", FRIDAY_LIMIT, "--timeframe", "1d",
                         "--quote", "USD", "--fee-rate", "0")  # fmt: skip
    assert made.code == 0, made.stderr
    replayed = run_inprocess(capsys, "replay", "1", "IBM/USD", "--data", str(IBM), "--to", "2000-09-30")
    assert replayed.code == 0, replayed.stderr
    trades = json.loads(run_inprocess(capsys, "trades", "1", "--json").stdout)
    assert [(t["candle_ts"], t["kind"], D(t["quantity"]), D(t["price"])) for t in trades] == [
        (f.candle_ts, f.kind, f.quantity, f.price) for f in performance.fills
    ]
