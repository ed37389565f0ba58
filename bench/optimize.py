"""The optimisation targets: the issue's grid (sma-cross, fast 5..50 x slow 10..200 step 5,
fast < slow: 1,605 cells) on the hourly BTC file, papertrade's `optimize --sampler grid` beside
backtesting.py 0.6.6's `Backtest.optimize` (both on all cores), and papertrade on one worker vs
two. Each run is a fresh process and a fresh study storage."""

import json
import os
import sys
from pathlib import Path

HOURLY = Path(__file__).resolve().parents[1] / "tests" / "data" / "ohlcv" / "binance_BTC-USDT_1h.csv"
FAST, SLOW = range(5, 51), range(10, 201, 5)
GRID = ["--param", "fast=5..50", "--param", "slow=10..200:5", "--constraint", "fast < slow", "--sampler", "grid",
        "--objective", "Equity Final [$]"]  # fmt: skip

BACKTESTING_PY = """
import json, sys, time, warnings
import pandas as pd
from backtesting import Strategy
from backtesting.lib import FractionalBacktest, crossover
from backtesting.test import SMA

warnings.filterwarnings("ignore")

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

if __name__ == "__main__":
    frame = pd.read_csv(sys.argv[1])
    frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True)
    frame.columns = ["Open", "High", "Low", "Close", "Volume"]
    backtest = FractionalBacktest(frame, SmaCross, cash=10_000, commission=0.001, trade_on_close=True)
    _, heatmap = backtest.optimize(fast=range(5, 51), slow=range(10, 201, 5), constraint=lambda p: p.fast < p.slow,
                                   maximize="Equity Final [$]", return_heatmap=True)
    print(json.dumps({f"{f},{s}": v for (f, s), v in heatmap.items()}))
"""


def rows(work: Path, env: dict, runs: int, timed, median_of, Row, papertrade: str, python: str) -> list:
    """Speed against backtesting.py, its agreement cell for cell, and scaling from 1 to 2 workers."""
    script = work / "sma_grid.py"
    script.write_text(BACKTESTING_PY)
    cores = os.cpu_count() or 1
    ours, one, theirs = [], [], []
    for run in range(runs):
        elapsed, _, out = timed(_command(papertrade, work, f"all-{run}", cores), env)
        ours.append(elapsed)
        one.append(timed(_command(papertrade, work, f"one-{run}", 1), env)[0])
        elapsed, _, heat = timed([python, str(script), str(HOURLY)], env)
        theirs.append(elapsed)
    agree, last_fill, cells = _agreement(json.loads(out), json.loads(heat))
    a, b, single = median_of(ours), median_of(theirs), median_of(one)
    label = f"optimize grid, {cells:,} cells of sma-cross on {HOURLY.name}"
    return [
        Row(f"{label}: backtesting.py / papertrade, {cores} cores each", f"{b / a:.1f}x ({b:.1f} s / {a:.1f} s)",
            ">= 3x", b / a >= 3),
        Row(f"{label}: same Equity Final [$] as backtesting.py",
            f"{agree} of {cells} cells; {last_fill} differ by one fill's fee (a signal on the last candle)",
            "all others", agree + last_fill == cells),
        Row(f"{label}: 1 worker / 2 workers", f"{single / a:.2f}x ({single:.1f} s / {a:.1f} s)", ">= 1.7x",
            single / a >= 1.7) if cores == 2 else
        Row(f"{label}: 1 worker / {cores} workers", f"{single / a:.2f}x", "near-linear", single / a >= 0.85 * cores),
    ]  # fmt: skip


def _command(papertrade: str, work: Path, study: str, workers: int) -> list[str]:
    return [papertrade, "--db", str(work / "ledger.db"), "optimize", "--strategy", "sma-cross", "--data", str(HOURLY),
            *GRID, "--workers", str(workers), "--storage", str(work / f"studies-{study}.db"), "--study", study,
            "--json"]  # fmt: skip


def _agreement(study: dict, heatmap: dict) -> tuple[int, int, int]:
    """Cells with the same Equity Final [$] (to 1e-9), cells lower by exactly one 0.1 % fee on a
    fully invested position, and all cells. The second are cells whose strategy signals on the
    last candle: papertrade fills it at that candle's close, as a tick would; backtesting.py
    places the order and never fills it, having no next bar (a SELL there: papertrade pays the
    exit fee, backtesting.py marks the position at the close without one)."""
    ours = {f"{t['params']['fast']},{t['params']['slow']}": float(t["stats"]["Equity Final [$]"])
            for t in study["trials"]}  # fmt: skip
    ratios = [ours[cell] / theirs for cell, theirs in heatmap.items() if cell in ours]
    same = sum(1 for r in ratios if abs(r - 1) <= 1e-9)
    one_fee = sum(1 for r in ratios if abs(r - 0.999) <= 1e-6)
    return same, one_fee, len(heatmap)


if __name__ == "__main__":
    sys.exit("run through bench/run.py --only optimize")
