"""A trader's own strategy against backtesting.py: `make bench BENCH_ARGS="--only user-strategy"`.

The SMA cross of `bench/user_strategy.py` in its three forms (`decide` on the DataFrame-like
view, `decide` on numpy arrays, `decide_series`) and the built-in `sma-cross`, each a whole
`papertrade backtest` process, against backtesting.py 0.6.6 running the same rule in `next()`
on its numpy arrays (`Backtest`, `trade_on_close=True`), interleaved, over the first
20,000 one-minute BTC/USDT candles and the 426,760-candle chained file of the backtest target.
No fees on either side, so that neither runs out of money over thousands of round trips and
the entry and exit candle of every round trip can be compared. Then, in process, what handing
the candles to `decide` and the common idioms cost per candle in each form.
"""

import json
import os
import time
from pathlib import Path

from bench.run import PAPERTRADE, PYTHON, REPO, Row, median_of, timed

BACKTESTING_PY_SMA = """
import sys
import pandas as pd
from backtesting import Backtest, Strategy

FAST, SLOW = 10, 30

class SmaCross(Strategy):
    def init(self):
        pass

    def next(self):
        if len(self.data) < SLOW + 1:  # papertrade's warm-up
            return
        close = self.data.Close
        above = close[-FAST:].mean() > close[-SLOW:].mean()
        was_above = close[-FAST - 1 : -1].mean() > close[-SLOW - 1 : -1].mean()
        if above and not was_above and not self.position:
            self.buy()
        elif was_above and not above and self.position:
            self.position.close()

frame = pd.read_csv(sys.argv[1])
frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True)
frame.columns = ["Open", "High", "Low", "Close", "Volume"]
# Backtest, not FractionalBacktest: that one rescales the prices (by 1e-8), and averages of
# rescaled floats differ in the last bit from those of the file's prices; enough cash to buy
# whole coins instead.
stats = Backtest(frame, SmaCross, cash=1e12, commission=0, trade_on_close=True, finalize_trades=True).run()
trades = stats._trades
for entry, exit in zip(trades.EntryTime, trades.ExitTime):
    print(int(entry.timestamp() * 1000), int(exit.timestamp() * 1000))
"""

#: (label, --strategy, goal as backtesting.py's time / papertrade's on the large file)
FORMS = [
    ("decide on the DataFrame-like view", "bench.user_strategy:FrameSmaCross", 1.5),
    ("decide on numpy arrays", "bench.user_strategy:ArraysSmaCross", 3.0),
    ("decide_series", "bench.user_strategy:SeriesSmaCross", 10.0),
]
BUILT_IN = "sma-cross"


def rows(work: Path, big: Path, env: dict, runs: int) -> list[Row]:
    """Every row of the target: both files, then the costs per candle."""
    small = work / "btc-1m-20k.csv"
    with big.open() as source, small.open("w") as out:
        out.writelines(line for _, line in zip(range(20_001), source, strict=False))
    (work / "sma_rule.py").write_text(BACKTESTING_PY_SMA)
    env = {**env, "PYTHONPATH": str(REPO)}  # for --strategy bench.user_strategy:...
    loads = [os.getloadavg()[0]]
    found = _file_rows(work, env, runs, small, "20,000 1m candles", goals=False)
    found += _file_rows(work, env, runs, big, f"{_count(big):,} 1m candles", goals=True)
    loads.append(os.getloadavg()[0])
    found += per_candle_costs()
    found.append(Row("load average (1 min) at the start and the end", " / ".join(f"{x:.1f}" for x in loads), "-", None))
    return found


def _count(path: Path) -> int:
    with path.open() as lines:
        return sum(1 for _ in lines) - 1


def _file_rows(work: Path, env: dict, runs: int, path: Path, label: str, goals: bool) -> list[Row]:
    commands = {strategy: _backtest(strategy, path) for _, strategy, _ in FORMS}
    commands[BUILT_IN] = _backtest(BUILT_IN, path)
    times: dict[str, list[float]] = {name: [] for name in [*commands, "backtesting.py"]}
    trips: dict[str, list] = {}
    for _ in range(runs):  # interleaved, so that every side sees the same load
        elapsed, _, out = timed([PYTHON, str(work / "sma_rule.py"), str(path)], env)
        times["backtesting.py"].append(elapsed)
        trips["backtesting.py"] = [tuple(int(x) for x in line.split()) for line in out.splitlines() if line.strip()]
        for name, command in commands.items():
            elapsed, _, out = timed(command, env)
            times[name].append(elapsed)
            trips[name] = round_trips(json.loads(out)["trades"])
    theirs = median_of(times["backtesting.py"])
    found = []
    for form, strategy, goal in FORMS:
        ours = median_of(times[strategy])
        found.append(Row(f"user SMA cross, {form}, {label}: backtesting.py / papertrade",
                         f"{theirs / ours:.1f}x ({_spread(times['backtesting.py'])} / {_spread(times[strategy])})",
                         f">= {goal:g}x" if goals else "-", theirs / ours >= goal if goals else None))  # fmt: skip
        found.append(_same_trades(f"user SMA cross, {form}, {label}", trips[strategy], trips["backtesting.py"]))
    series, built_in = median_of(times[FORMS[2][1]]), median_of(times[BUILT_IN])
    found.append(Row(f"user decide_series / built-in sma-cross, {label}",
                     f"{series / built_in:.2f}x ({_spread(times[FORMS[2][1]])} / {_spread(times[BUILT_IN])})",
                     "<= 1.2x" if goals else "-", series / built_in <= 1.2 if goals else None))  # fmt: skip
    return found


def _backtest(strategy: str, path: Path) -> list[str]:
    return [PAPERTRADE, "backtest", "--strategy", strategy, "--data", str(path), "--fee-rate", "0", "--json"]


def _spread(samples: list[float]) -> str:
    """The median and the range of a few timings: "9.4 s (9.1-10.2)"."""
    return f"{median_of(samples):.2f} s ({min(samples):.2f}-{max(samples):.2f})"


def round_trips(fills: list[dict]) -> list[tuple]:
    """(entry candle, exit candle) of every round trip in `backtest --json` fills; an open one
    ends with None."""
    trips = [(buy["candle_ts"], sell["candle_ts"]) for buy, sell in zip(fills[::2], fills[1::2], strict=False)]
    return [*trips, (fills[-1]["candle_ts"], None)] if len(fills) % 2 else trips


def _same_trades(label: str, ours: list[tuple], theirs: list[tuple]) -> Row:
    same = sum(1 for a, b in zip(ours, theirs, strict=False) if a[0] == b[0] and a[1] in (b[1], None))
    return Row(f"{label}: same entry and exit candles as backtesting.py",
               f"{same} of {len(theirs)} round trips (papertrade {len(ours)})", "all",
               same == len(theirs) == len(ours))  # fmt: skip


def per_candle_costs() -> list[Row]:
    """What handing the candles to `decide`, and the common idioms, cost per candle in process
    (31-candle windows of the 5-minute file, best of three passes over 20,000 windows)."""
    from papertrade.adapters.csv_candles import load_columns
    from papertrade.strategies.candle_frame import NAMES, CandleSource
    from papertrade.strategies.runner import CandleArrays

    candles = load_columns(REPO / "tests" / "data" / "ohlcv" / "binance_BTC-USDT_5m.csv")
    source, whole = CandleSource(candles.ts, candles.floats), candles.frame()

    def arrays(i: int) -> CandleArrays:
        return CandleArrays(*(source.arrays[name][i : i + 31] for name in NAMES))

    def old_frame(i: int):
        return CandleArrays(*(source.arrays[name][i : i + 31].copy() for name in NAMES)).frame()

    hand_over = [_cost(lambda i: source.view(i, i + 31)), _cost(arrays), _cost(old_frame)]
    mean = [_cost(lambda i: arrays(i).close[-10:].mean()),
            _cost(lambda i: source.view(i, i + 31)["close"].iloc[-10:].mean()),
            _cost(lambda i: whole.iloc[i : i + 31]["close"].iloc[-10:].mean())]  # fmt: skip
    rolling = [_cost(lambda i: source.view(i, i + 31)["close"].rolling(10).mean(), 2_000),
               _cost(lambda i: whole.iloc[i : i + 31]["close"].rolling(10).mean(), 2_000)]  # fmt: skip
    return [
        Row("per candle, handing the candles over: view / arrays / a DataFrame built per candle (before)",
            " / ".join(f"{x:.1f} us" for x in hand_over), "-", None),
        Row("per candle, handed over and `close[-10:].mean()`: arrays / view (`.iloc`) / a slice of a DataFrame",
            " / ".join(f"{x:.1f} us" for x in mean), "-", None),
        Row("per candle, handed over and `close.rolling(10).mean()` (pandas): view / a slice of a DataFrame",
            " / ".join(f"{x:.1f} us" for x in rolling), "-", None),
    ]  # fmt: skip


def _cost(work, count: int = 20_000) -> float:
    """Microseconds per call of `work(i)`, best of three passes over `count` windows."""
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        for i in range(count):
            work(i)
        best = min(best, time.perf_counter() - start)
    return best / count * 1e6
