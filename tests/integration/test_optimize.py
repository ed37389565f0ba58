"""`papertrade optimize`, `studies` and `study` in process, on a slice of the hourly file, with
the study storage a real SQLite file beside the ledger."""

import json
import math
import time
from pathlib import Path

import pytest

from tests.support.cli import run_inprocess
from tests.support.paths import DATA

HOURLY = str(DATA / "binance_BTC-USDT_1h.csv")
SLICE = ("--data", HOURLY, "--to", "2021-01-15")
GRID = ("--param", "fast=5..15:5", "--param", "slow=20..40:10", "--constraint", "fast < slow", "--sampler", "grid")
SETTINGS = ("--fee-rate", "0.001", "--slippage-bps", "5", "--stop-loss", "0.03")


@pytest.fixture
def papertrade(capsys, tmp_path):
    """papertrade in process, with a ledger path of its own in `tmp_path` (not created by optimize)."""
    ledger = tmp_path / "ledger.db"
    return lambda *args: run_inprocess(capsys, "--db", str(ledger), *args)


def optimize_json(papertrade, *args) -> dict:
    result = papertrade("optimize", "--strategy", "sma-cross", *SLICE, "--workers", "1", "--json", *args)
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)


def test_every_cell_of_a_grid_equals_a_plain_backtest(papertrade):
    study = optimize_json(papertrade, *GRID, *SETTINGS, "--objective", "Return [%]", "--study", "cells")
    assert len(study["trials"]) == 9 and {t["state"] for t in study["trials"]} == {"complete"}
    for trial in study["trials"]:
        params = [f"--param={key}={value}" for key, value in trial["params"].items()]
        plain = papertrade("backtest", "--strategy", "sma-cross", *SLICE, *SETTINGS, *params, "--json")
        assert trial["stats"] == json.loads(plain.stdout)["stats"]
        assert trial["values"] == {"Return [%]": trial["stats"]["Return [%]"]}
    best = max(study["trials"], key=lambda t: t["stats"]["Return [%]"])
    assert study["best"] == [best["number"]]


def test_the_grid_agrees_with_backtesting_py_cell_for_cell(papertrade, monkeypatch):
    """backtesting.py's `Backtest.optimize(return_heatmap=True)`, an independent engine, on the
    same candles with the same rule (a cross of the closes' simple moving averages, filled at
    the close, 0.1 % commission on both sides, fractional units, a position still open at the
    end marked at the last close, as papertrade's report marks it). Its pool is a thread pool
    here (`backtesting.Pool`, its documented switch): nine cells need no processes."""
    from multiprocessing.dummy import Pool

    import backtesting
    import pandas as pd
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest, crossover
    from backtesting.test import SMA

    class SmaCross(Strategy):
        fast, slow = 10, 30

        def init(self):
            self.fast_sma = self.I(SMA, self.data.Close, self.fast)
            self.slow_sma = self.I(SMA, self.data.Close, self.slow)

        def next(self):
            if not self.position and crossover(self.fast_sma, self.slow_sma):
                self.buy()
            elif self.position and crossover(self.slow_sma, self.fast_sma):
                self.position.close()

    monkeypatch.setattr(backtesting, "Pool", Pool)
    frame = pd.read_csv(HOURLY)
    frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True)
    frame.columns = ["Open", "High", "Low", "Close", "Volume"]
    frame = frame[frame.index <= "2021-01-15"]
    backtest = FractionalBacktest(frame, SmaCross, cash=10_000, commission=0.001, trade_on_close=True)
    with _no_warning_check():
        _, heatmap = backtest.optimize(fast=[5, 10, 15], slow=[20, 30, 40], constraint=lambda p: p.fast < p.slow,
                                       maximize="Equity Final [$]", return_heatmap=True)  # fmt: skip
    study = optimize_json(papertrade, *GRID, "--objective", "Equity Final [$]")
    ours = {(t["params"]["fast"], t["params"]["slow"]): float(t["stats"]["Equity Final [$]"]) for t in study["trials"]}
    assert set(ours) == set(heatmap.index)
    for cell, equity in ours.items():
        assert math.isclose(equity, heatmap[cell], rel_tol=1e-12), cell


class _no_warning_check:
    def __enter__(self):
        import warnings

        self._catch = warnings.catch_warnings()
        self._catch.__enter__()
        warnings.simplefilter("ignore")

    def __exit__(self, *exc_info):
        self._catch.__exit__(*exc_info)


def test_a_study_resumes_without_repeating_its_trials_and_is_listed(papertrade, tmp_path):
    first = optimize_json(papertrade, *GRID, "--study", "kept", "--trials", "4")
    assert first["trials_run_now"] == 4
    again = optimize_json(papertrade, *GRID, "--study", "kept")
    assert again["trials_run_now"] == 5 and len(again["trials"]) == 9
    assert again["trials"][:4] == first["trials"]
    cells = {(t["params"]["fast"], t["params"]["slow"]) for t in again["trials"]}
    assert len(cells) == 9
    assert optimize_json(papertrade, *GRID, "--study", "kept")["trials_run_now"] == 0
    assert (tmp_path / "studies.db").is_file() and not (tmp_path / "ledger.db").exists()
    listed = json.loads(papertrade("studies", "--json").stdout)
    assert [(s["study"], s["trials"]) for s in listed] == [("kept", 9)]
    shown = json.loads(papertrade("study", "kept", "--json").stdout)
    assert shown["trials"] == again["trials"] and shown["best"] == again["best"]
    table = papertrade("study", "kept").stdout
    assert "Study kept" in table and "FAST" in table


def test_a_study_refuses_other_candles(papertrade, tmp_path):
    optimize_json(papertrade, *GRID, "--study", "kept", "--trials", "2")
    other = papertrade("optimize", "--strategy", "sma-cross", "--data", HOURLY, "--to", "2021-01-20", *GRID,
                       "--workers", "1", "--study", "kept")  # fmt: skip
    assert other.code == 2 and "was run on other candles" in other.stderr
    assert len(json.loads(papertrade("study", "kept", "--json").stdout)["trials"]) == 2


def test_a_text_search_shows_the_best_first(papertrade):
    result = papertrade("optimize", "--strategy", "sma-cross", *SLICE, *GRID, "--workers", "1", "--top", "3",
                        "--objective", "SQN", "--study", "t")  # fmt: skip
    assert result.code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines[0].startswith("Study t (sqlite:///") and "9 trials (9 complete)" in lines[0]
    assert lines[1].split()[:3] == ["TRIAL", "FAST", "SLOW"] and len(lines) == 6


def test_random_and_tpe_searches_run_their_trials(papertrade):
    for sampler in ("random", "tpe"):
        study = optimize_json(papertrade, "--param", "fast=2..20", "--param", "slow=21..60", "--sampler", sampler,
                              "--trials", "4", "--seed", "1", "--study", sampler)  # fmt: skip
        assert len([t for t in study["trials"] if t["state"] == "complete"]) == 4
        assert all(t["worker"].startswith("in-process") for t in study["trials"])


def test_two_objectives_give_a_pareto_front(papertrade):
    """Max. Drawdown [%] is negative (backtesting.py's sign): maximising it keeps drawdowns small."""
    study = optimize_json(papertrade, *GRID, "--objective", "Return [%]", "--objective", "Max. Drawdown [%]")
    scores = {t["number"]: (t["values"]["Return [%]"], t["values"]["Max. Drawdown [%]"]) for t in study["trials"]}

    def beaten(mine):
        return any(a >= mine[0] and b >= mine[1] and (a, b) != mine for a, b in scores.values())

    assert study["best"] == [n for n, score in scores.items() if not beaten(score)]
    assert len(study["best"]) >= 1


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("--param", "fast=30..5"), "low end 30 is above its high end"),
        (("--param", "fst=5..30"), "unknown parameter 'fst'"),
        (("--param", "fast=5..30", "--objective", "Sharpe"), "unknown objective 'Sharpe'"),
        (("--param", "fast=5..9", "--constraint", "fast"), "not a comparison"),
        (("--param", "fast=5..9", "--constraint", "__import__('os').system('touch x') < 1"), "not a comparison"),
        (("--param", "fast=5..9", "--constraint", "fast < slow"), "'slow' is not a searched parameter"),
        (("--param", "fast=5..9", "--sampler", "bayes"), "--sampler must be one of"),
        (("--param", "fast=5..9", "--stop-loss", "0.01..2:0.5"), "stop loss must be"),
        (("--param", "fast=5..9", "--workers", "0"), "--workers must be between 1"),
        (("--param", "fast=0.5..1.5", "--sampler", "grid"), "without a step"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(papertrade, tmp_path, args, message):
    result = papertrade("optimize", "--strategy", "sma-cross", *SLICE, "--workers", "1", *args)
    assert result.code == 2 and message in result.stderr and len(result.error_lines) == 1, result.stderr
    assert list(tmp_path.iterdir()) == []


def test_the_storage_is_never_the_ledger(papertrade, tmp_path):
    from tests.support.databases import new_sqlite_ledger

    ledger = tmp_path / "ledger.db"
    new_sqlite_ledger(ledger)
    before = ledger.read_bytes()
    for storage in (str(ledger), f"sqlite:///{ledger}", str(tmp_path / "." / "ledger.db")):
        result = papertrade("optimize", "--strategy", "sma-cross", *SLICE, *GRID, "--workers", "1",
                            "--storage", storage)  # fmt: skip
        assert result.code == 2 and "the ledger's own database" in result.stderr, result.stderr
    copy = tmp_path / "another-ledger.db"
    copy.write_bytes(before)
    result = papertrade("optimize", "--strategy", "sma-cross", *SLICE, *GRID, "--workers", "1", "--storage", str(copy))
    assert result.code == 2 and "holds a papertrade ledger" in result.stderr
    assert ledger.read_bytes() == before and copy.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["another-ledger.db", "ledger.db"]


def test_an_unreachable_scheduler_is_temporary_trouble(papertrade, tmp_path):
    import socket

    with socket.socket() as closed:
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    result = papertrade("optimize", "--strategy", "sma-cross", *SLICE, *GRID, "--scheduler", f"tcp://127.0.0.1:{port}",
                        "--scheduler-timeout", "0.5")  # fmt: skip
    assert result.code == 75 and "cannot reach the Dask scheduler" in result.stderr
    assert len(result.error_lines) == 1
    assert list(Path(tmp_path).iterdir()) == []


def test_create_portfolio_takes_the_best_trial_s_settings_and_journals_where_they_came_from(papertrade, tmp_path):
    settings = ("--fee-rate", "0.002", "--stop-loss", "0.02..0.04:0.02", "--stake-fraction", "0.5,1")
    study = optimize_json(papertrade, *GRID, *settings, "--study", "promoted", "--create-portfolio", "Best SMA")
    best = next(t for t in study["trials"] if t["number"] == study["best"][0])
    assert study["portfolio"] == {"id": 1, "name": "Best SMA", "trial": best["number"]}
    status = json.loads(papertrade("status", "1", "--json").stdout)
    assert status["strategy"] == "sma-cross" and status["timeframe"] == "1h"
    assert status["params"] == {"fast": best["params"]["fast"], "slow": best["params"]["slow"]}
    assert status["exits"] == {"stop_loss": best["params"]["stop_loss"]}
    assert status["stake_fraction"] == best["params"]["stake_fraction"] and status["fee_rate"] == "0.002"
    assert status["cash"] == "10000"
    origin = status["from_study"]
    assert (origin["study"], origin["trial"]) == ("promoted", best["number"])
    assert origin["objectives"] == best["values"] and origin["data"] == study["data"]
    assert "research    trial" in papertrade("status", "1").stdout
    assert papertrade("audit", "verify", "1").code == 0
    assert f"from trial {best['number']} of study promoted" in dashboard_page(tmp_path / "ledger.db", "/portfolios/1")
    assert json.loads(dashboard_page(tmp_path / "ledger.db", "/api/portfolios/1"))["from_study"] == origin


def dashboard_page(ledger, path: str) -> str:
    from fastapi.testclient import TestClient

    from papertrade.adapters.readonly import open_readonly
    from papertrade.web.app import create_app

    opened = open_readonly(f"sqlite:///{ledger}", 5)
    try:
        app = create_app(opened, token=None, now=lambda: time.time_ns() // 1_000_000)
        with TestClient(app, base_url="http://localhost") as client:
            return client.get(path).text
    finally:
        opened.dispose()


def test_create_portfolio_refuses_a_taken_name_before_searching(papertrade, tmp_path):
    optimize_json(papertrade, *GRID, "--trials", "1", "--create-portfolio", "Mine")
    result = papertrade("optimize", "--strategy", "sma-cross", *SLICE, *GRID, "--workers", "1", "--study", "again",
                        "--create-portfolio", "Mine")  # fmt: skip
    assert result.code == 2 and "already exists" in result.stderr
    assert "again" not in [s["study"] for s in json.loads(papertrade("studies", "--json").stdout)]


@pytest.mark.postgres
def test_a_study_kept_in_postgresql_beside_a_postgresql_ledger(capsys, postgres_url):
    from tests.support.databases import PostgresSchema, migrate

    migrate(postgres_url)
    with PostgresSchema() as studies:

        def papertrade(*args):
            return run_inprocess(capsys, "--db", postgres_url, *args)

        result = papertrade("optimize", "--strategy", "sma-cross", *SLICE, *GRID, "--workers", "1", "--trials", "2",
                            "--storage", studies.url, "--study", "pg", "--json")  # fmt: skip
        assert result.code == 0, result.stderr
        shown = json.loads(papertrade("study", "pg", "--storage", studies.url, "--json").stdout)
        assert shown["trials"] == json.loads(result.stdout)["trials"] and len(shown["trials"]) == 2
        refused = papertrade("optimize", "--strategy", "sma-cross", *SLICE, *GRID, "--workers", "1",
                             "--storage", postgres_url.replace("127.0.0.1", "localhost"))  # fmt: skip
        assert refused.code == 2 and "the ledger's own database" in refused.stderr
