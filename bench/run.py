"""papertrade's performance targets, measured side by side in one run: `make bench`.

Every comparison is a ratio of two things timed in this run, on this machine, interleaved, so
that the machine's speed and load cancel out. Prints a table; `--write docs/PERFORMANCE.md`
also records it there. `--quick` runs fewer repetitions (for trying it out).
"""

import argparse
import json
import os
import platform
import shutil
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bench.download import rows as download_rows  # noqa: E402
from papertrade.bootstrap import open_ledger  # noqa: E402
from papertrade.domain.money import to_plain  # noqa: E402
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio  # noqa: E402
from papertrade.settings import Settings  # noqa: E402
from tests.support.fake_binance import DEFAULT_MARKETS, BookSpec, FakeBinance, MarketSpec, load_rows  # noqa: E402

BIN = REPO / ".venv" / "bin"
PYTHON, PAPERTRADE = str(BIN / "python"), str(BIN / "papertrade")
MINUTE = 60_000


@dataclass
class Row:
    target: str
    measured: str
    goal: str
    met: bool | None  # None: shown for reference, no goal


def median_of(samples: list[float]) -> float:
    return statistics.median(samples)


# Linux hands a forked child its parent's peak-memory mark and keeps it across exec, so a child
# of this (large) process would report this process's size. A small wrapper starts the command
# instead and reports the command's own peak.
PEAK_MEMORY = """
import os, subprocess, sys
child = subprocess.Popen(sys.argv[1:])
_, status, usage = os.wait4(child.pid, 0)
print(f"peak-kb={usage.ru_maxrss}", file=sys.stderr)
sys.exit(os.waitstatus_to_exitcode(status))
"""


def peak_memory_mb(command: list[str], env: dict) -> float:
    _, _, err = timed([PYTHON, "-c", PEAK_MEMORY, *command], env, want_stderr=True)
    return int(err.strip().splitlines()[-1].removeprefix("peak-kb=")) / 1024


def timed(command: list[str], env: dict, before=None, want_stderr: bool = False) -> tuple[float, float, str]:
    """Wall time (s), peak resident memory (MB, see PEAK_MEMORY) and stdout (or stderr) of one process."""
    if before is not None:
        before()
    with tempfile.TemporaryFile("w+") as out, tempfile.TemporaryFile("w+") as err:
        start = time.perf_counter()
        process = subprocess.Popen(command, env=env, stdout=out, stderr=err, text=True)
        _, status, usage = os.wait4(process.pid, 0)  # reaps the child, reporting its own resource use
        elapsed = time.perf_counter() - start
        process.returncode = os.waitstatus_to_exitcode(status)
        out.seek(0)
        err.seek(0)
        if process.returncode:
            raise SystemExit(f"{' '.join(command[:4])}... failed ({process.returncode}): {err.read()[-500:]}")
        return elapsed, usage.ru_maxrss / 1024, (err if want_stderr else out).read()


# -- synthetic but real-shaped data ----------------------------------------------------------


def minute_series(count: int, end: int, scale: float = 1.0) -> list[tuple]:
    """`count` one-minute candles ending at `end` (exclusive), made by chaining the real 1m BTC
    candles, each copy scaled to continue from the previous close; prices as the exchange's text."""
    source = load_rows("binance_BTC-USDT_1m.csv")
    rows, factor = [], scale
    start = end - count * MINUTE
    while len(rows) < count:
        for _, o, h, low, c, v in source:
            if len(rows) == count:
                break
            ts = start + len(rows) * MINUTE
            rows.append((ts, *(f"{float(x) * factor:.2f}" for x in (o, h, low, c)), v))
        factor = float(rows[-1][4]) / float(source[0][1])
    return rows


def store_candles(db: Path, symbol: str, rows: list[tuple]) -> None:
    """Bulk-insert candles the way papertrade stores them (exact decimal text)."""
    with sqlite3.connect(db) as connection:
        connection.executemany(
            "INSERT INTO candles (exchange, symbol, timeframe, ts, open, high, low, close, volume) "
            "VALUES ('binance', ?, '1m', ?, ?, ?, ?, ?, ?)",
            ((symbol, ts, *(to_plain(Decimal(x)) for x in values)) for ts, *values in rows),
        )


def new_ledger(path: Path, portfolios: list[tuple[str, str]]) -> None:
    ledger = open_ledger(Settings(database_url=str(path)), create=True)
    for name, _symbol in portfolios:
        create_portfolio(ledger, parse_new_portfolio(name=name, cash="10000", timeframe="1m"), now=0)
    ledger.dispose()


def cache_markets(path: Path, server: FakeBinance, symbols: list[str]) -> None:
    """Fill the market cache as a first LIVE tick would, so ticks make one request."""
    from papertrade.adapters.exchange import CcxtMarketData

    source = CcxtMarketData("binance", server.ccxt_config())
    markets = source.markets(symbols)
    now = int(time.time() * 1000)
    ledger = open_ledger(Settings(database_url=str(path)))
    with ledger.unit_of_work(write=True) as uow:
        for symbol in symbols:
            uow.markets.put("binance", markets[symbol], now)
        uow.commit()
    ledger.dispose()
    checkpoint(path)


def checkpoint(path: Path) -> None:
    """Fold the WAL into the database file, so that copying the file copies everything."""
    with sqlite3.connect(path) as connection:
        connection.execute("PRAGMA wal_checkpoint(TRUNCATE)")


# -- the targets ---------------------------------------------------------------------------


def cold_ticks(work: Path, server: FakeBinance, env: dict, runs: int) -> tuple[list[Row], float]:
    """Targets 1-3: one request per tick, a cold tick against the import floor, flat in history,
    and --help against `import typer`."""
    now = int(time.time() * 1000)
    templates = {}
    for count in (1_000, 100_000, 1_000_000):
        symbol = f"H{count}/USDT"
        rows = minute_series(count + 240, now - now % MINUTE + 120 * MINUTE)  # two hours ahead of now
        server.add_series(f"H{count}USDT", "1m", rows)
        template = work / f"ticks-{count}.db"
        new_ledger(template, [("bench", symbol)])
        store_candles(template, symbol, rows[:count])
        cache_markets(template, server, [symbol])
        templates[count] = (template, symbol)
    ledger = work / "ledger.db"
    samples: dict[str, list[float]] = {k: [] for k in ("floor", "typer", "help", 1_000, 100_000, 1_000_000)}
    requests = []
    for _ in range(runs):
        samples["floor"].append(timed([PYTHON, "-c", "import ccxt, pandas, sqlalchemy"], env)[0])
        samples["typer"].append(timed([PYTHON, "-c", "import typer"], env)[0])
        samples["help"].append(timed([PAPERTRADE, "--help"], env)[0])
        for count, (template, symbol) in templates.items():
            server.reset_counts()
            elapsed, _, _ = timed(
                [PAPERTRADE, "--db", str(ledger), "trade", "1", symbol, "LIVE"],
                env,
                before=lambda t=template: shutil.copy(t, ledger),
            )
            samples[count].append(elapsed)
            requests.append(len(server.state.log))

    m = {key: median_of(values) for key, values in samples.items()}
    tick = m[100_000]
    return [
        Row(
            "requests per steady-state tick", f"{max(requests)} (max of {len(requests)} ticks)", "1", max(requests) == 1
        ),
        Row(
            "cold tick, 100k candles stored / import floor",
            f"{tick / m['floor']:.2f}x ({tick:.2f} s / {m['floor']:.2f} s)",
            "<= 1.25x",
            tick <= 1.25 * m["floor"],
        ),
        Row(
            "papertrade --help / import typer",
            f"{m['help'] / m['typer']:.2f}x ({m['help']:.3f} s / {m['typer']:.3f} s)",
            "<= 2x",
            m["help"] <= 2 * m["typer"],
        ),
        Row(
            "cold tick, 1,000,000 / 1,000 candles stored",
            f"{m[1_000_000] / m[1_000]:.2f}x ({m[1_000_000]:.2f} s / {m[1_000]:.2f} s)",
            "<= 1.15x",
            m[1_000_000] <= 1.15 * m[1_000],
        ),
    ], tick


def batch(work: Path, server: FakeBinance, env: dict, runs: int, cold_tick: float) -> list[Row]:
    """Target 4: 1,000 bots over 100 symbols in one process."""
    now = int(time.time() * 1000)
    symbols = [f"B{i:03d}/USDT" for i in range(100)]
    portfolios = [(f"bot {n}", symbols[n % 100]) for n in range(1000)]
    template = work / "batch.db"
    new_ledger(template, portfolios)
    for i, symbol in enumerate(symbols):
        rows = minute_series(600, now - now % MINUTE + 120 * MINUTE, scale=0.5 + i / 100)
        server.add_series(symbol.replace("/", ""), "1m", rows)
        store_candles(template, symbol, rows[:300])
    cache_markets(template, server, symbols)
    for count in (10, 1000):
        lines = [
            f'[[bot]]\nportfolio = {n + 1}\nsymbol = "{symbol}"\n' for n, (_, symbol) in enumerate(portfolios[:count])
        ]
        (work / f"bots-{count}.toml").write_text("\n".join(lines))
    ledger = work / "ledger.db"
    walls: dict[int, list[float]] = {10: [], 1000: []}
    for _ in range(runs):
        for count in (10, 1000):
            shutil.copy(template, ledger)
            elapsed, _, out = timed([PAPERTRADE, "--db", str(ledger), "run", str(work / f"bots-{count}.toml")], env)
            assert f"ran {count} bots" in out, out[-300:]
            walls[count].append(elapsed)
    shutil.copy(template, ledger)
    memory = [peak_memory_mb([PAPERTRADE, "--db", str(ledger), "run", str(work / "bots-1000.toml")], env)]
    big, small = median_of(walls[1000]), median_of(walls[10])
    marginal = (big - small) / 990 * 1000
    processes = cold_tick * 1000
    return [
        Row(
            "batch: marginal cost per bot-tick (1,000 bots, 100 symbols)",
            f"{marginal:.2f} ms",
            "<= 5 ms",
            marginal <= 5,
        ),
        Row(
            "batch vs 1,000 cold `trade` processes",
            f"{processes / big:.0f}x ({big:.1f} s vs 1,000 x {cold_tick:.2f} s)",
            ">= 100x",
            processes / big >= 100,
        ),
        Row("batch: peak memory, 1,000 bots", f"{max(memory):.0f} MB", "<= 300 MB", max(memory) <= 300),
    ]


BACKTESTING_PY = """
import sys, time
import pandas as pd, talib
from backtesting import Strategy
from backtesting.lib import FractionalBacktest

class RsiRule(Strategy):
    def init(self):
        self.rsi = self.I(talib.RSI, self.data.Close, 14)
    def next(self):
        if len(self.data) < 250:
            return
        if not self.position and self.rsi[-1] < 30:
            self.buy(**protect(self.data.Close[-1]))
        elif self.position and self.rsi[-1] > 70:
            self.position.close()

def protect(close):
    # with sys.argv[2:] = stop-loss and take-profit distances: their levels under and over the close
    if len(sys.argv) < 4:
        return {}
    return {"sl": close * (1 - float(sys.argv[2])), "tp": close * (1 + float(sys.argv[3]))}

frame = pd.read_csv(sys.argv[1])
frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True)
frame.columns = ["Open", "High", "Low", "Close", "Volume"]
stats = FractionalBacktest(frame, RsiRule, cash=10_000, commission=0.001, trade_on_close=True,
                           finalize_trades=True).run()
trades = stats._trades
for entry, exit in zip(trades.EntryTime, trades.ExitTime):
    print(int(entry.timestamp() * 1000), int(exit.timestamp() * 1000))
"""


BACKTESTING_PY_SHORTS = """
import sys
import pandas as pd
from backtesting import Strategy
from backtesting.lib import FractionalBacktest

frame = pd.read_csv(sys.argv[1])
frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True)
frame.columns = ["Open", "High", "Low", "Close", "Volume"]
FAST = frame.Close.rolling(10).mean().to_numpy()
SLOW = frame.Close.rolling(30).mean().to_numpy()

class StopAndReverse(Strategy):
    def init(self):
        self.fast, self.slow = self.I(lambda: FAST), self.I(lambda: SLOW)
    def next(self):
        if len(self.data) < 31:
            return
        before, now = self.fast[-2] - self.slow[-2], self.fast[-1] - self.slow[-1]
        if before <= 0 < now:
            self.buy()
        elif before >= 0 > now:
            self.sell()

stats = FractionalBacktest(frame, StopAndReverse, cash=10_000, commission=0.001, trade_on_close=True,
                           exclusive_orders=True).run()
trades = stats._trades
for entry, exit in zip(trades.EntryTime, trades.ExitTime):
    print(int(entry.timestamp() * 1000), int(exit.timestamp() * 1000))
"""


def shorts(work: Path, env: dict, runs: int) -> list[Row]:
    """Issue 23: `sma-cross` stopping and reversing with `--allow-short` over the chained minute
    file, against backtesting.py with `exclusive_orders=True` (both whole processes)."""
    path = work / "btc-1m-x10.csv"
    _ten_copies_of_the_minute_file(path)
    (work / "reverse.py").write_text(BACKTESTING_PY_SHORTS)
    command = [PAPERTRADE, "backtest", "--strategy", "sma-cross", "--allow-short", "--data", str(path), "--json"]
    ours, theirs = [], []
    for _ in range(runs):
        elapsed, _, out = timed(command, env)
        ours.append(elapsed)
        elapsed, _, out_theirs = timed([PYTHON, str(work / "reverse.py"), str(path)], env)
        theirs.append(elapsed)
    our_trips = [(t["entry_ts"], t["exit_ts"]) for t in json.loads(out)["round_trips"]]
    their_trips = [tuple(int(x) for x in line.split()) for line in out_theirs.split("\n") if line.strip()]
    same = sum(1 for a, b in zip(our_trips, their_trips, strict=False) if a == b)
    a, b = median_of(ours), median_of(theirs)
    label = f"backtest with shorts (sma-cross stop and reverse), {sum(1 for _ in path.open()) - 1:,} 1m candles"
    return [
        Row(f"{label}: backtesting.py / papertrade", f"{b / a:.1f}x ({b:.1f} s / {a:.1f} s)", ">= 3x", b / a >= 3),
        Row(f"{label}: same round trips as backtesting.py",
            f"{same} of {len(their_trips)} (papertrade {len(our_trips)}, one more if it reversed on the last candle)",
            "all", same == len(their_trips) and len(our_trips) - len(their_trips) in (0, 1)),
    ]  # fmt: skip


def request_counts(work: Path, server: FakeBinance, env: dict) -> list[Row]:
    """Issue 24 item 6: HTTP requests at the local exchange per LIVE tick of a `--fill book`
    portfolio in steady state (market cached, history stored): one that holds makes one (its
    candles), one that trades makes two (its candles, then the order book after deciding)."""
    now = int(time.time() * 1000)
    rows = minute_series(1_240, now - now % MINUTE + 120 * MINUTE)  # two hours ahead of now
    server.add_series("REQUSDT", "1m", rows)
    server.state.book = BookSpec(interval="1m")  # the book around the latest 1m close
    template = work / "requests.db"
    ledger = open_ledger(Settings(database_url=str(template)), create=True)
    for name, strategy in (("holds", "Recorder"), ("trades", "AlwaysBuy")):
        request = parse_new_portfolio(name=name, cash="10000", timeframe="1m", fill="book",
                                      strategy=f"tests.support.strategies:{strategy}")  # fmt: skip
        create_portfolio(ledger, request, now=0)
    ledger.dispose()
    store_candles(template, "REQ/USDT", rows[:1_000])
    cache_markets(template, server, ["REQ/USDT"])
    counted = {}
    for portfolio_id, name in ((1, "holds"), (2, "trades")):
        shutil.copy(template, work / "ledger.db")
        server.reset_counts()
        timed([PAPERTRADE, "--db", str(work / "ledger.db"), "trade", str(portfolio_id), "REQ/USDT", "LIVE"],
              {**env, "PYTHONPATH": str(REPO)})  # fmt: skip
        counted[name] = (len(server.state.log), server.count("/depth"))
    holds, trades = counted["holds"], counted["trades"]
    return [
        Row("requests, --fill book tick that holds", f"{holds[0]} ({holds[1]} for the book)", "1", holds == (1, 0)),
        Row("requests, --fill book tick that trades", f"{trades[0]} ({trades[1]} for the book)", "2",
            trades == (2, 1)),
    ]  # fmt: skip


def only_requests(args) -> None:
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory, FakeBinance(
        markets=(*DEFAULT_MARKETS, MarketSpec("REQ"))
    ) as server:
        work = Path(directory)
        env = {**os.environ, "PAPERTRADE_CCXT_CONFIG": json.dumps(server.ccxt_config()), "HOME": str(work),
               "XDG_DATA_HOME": str(work / "data")}  # fmt: skip
        table = render(request_counts(work, server, env))
    print(table)
    if args.write:
        write(args.write, table, 1, 0.0, "<!-- bench results: requests -->")


def only_shorts(args) -> None:
    started = time.time()
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory:
        work = Path(directory)
        env = {**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work / "data")}
        print("measuring backtests with shorts (backtesting.py takes a while) ...", file=sys.stderr)
        table = render(shorts(work, env, runs))
    print(table)
    if args.write:
        write(args.write, table, runs, time.time() - started, "<!-- bench results: shorts -->")


def backtest(work: Path, env: dict, runs: int) -> list[Row]:
    """Target 5: 426,760 one-minute candles, papertrade backtest vs backtesting.py 0.6.6, with
    the RSI rule alone and with a 3 % stop-loss and a 6 % take-profit on every entry."""
    path = work / "btc-1m-x10.csv"
    _ten_copies_of_the_minute_file(path)
    (work / "rule.py").write_text(BACKTESTING_PY)
    candles = sum(1 for _ in path.open()) - 1
    rows = _backtest_rows(work, env, runs, path, f"backtest, {candles:,} 1m candles", [])
    protected = ["--stop-loss", "0.03", "--take-profit", "0.06"]
    return rows + _backtest_rows(work, env, runs, path, f"backtest with sl/tp, {candles:,} 1m candles", protected)


def _ten_copies_of_the_minute_file(path: Path) -> None:
    source = load_rows("binance_BTC-USDT_1m.csv")
    with path.open("w") as out:
        out.write("timestamp,open,high,low,close,volume\n")
        factor, span = 1.0, source[-1][0] - source[0][0] + MINUTE
        for copy in range(10):
            for ts, *values in source:
                prices = [f"{float(v) * factor:.2f}" for v in values[:4]]
                out.write(f"{ts + copy * span},{','.join(prices)},{values[4]}\n")
            factor = float(prices[3]) / float(source[0][1])


def _backtest_rows(work: Path, env: dict, runs: int, path: Path, label: str, exits: list[str]) -> list[Row]:
    ours, theirs = [], []
    command = [PAPERTRADE, "backtest", "--strategy", "rsi", "--data", str(path), "--json", *exits]
    for _ in range(runs):
        elapsed, _, out = timed(command, env)
        ours.append(elapsed)
        fills = json.loads(out)["trades"]
        elapsed, _, out_theirs = timed([PYTHON, str(work / "rule.py"), str(path), *exits[1::2]], env)
        theirs.append(elapsed)
    ours_trades = [(b["candle_ts"], s["candle_ts"]) for b, s in zip(fills[::2], fills[1::2], strict=False)]
    if len(fills) % 2:
        ours_trades.append((fills[-1]["candle_ts"], None))
    their_trades = [tuple(int(x) for x in line.split()) for line in out_theirs.split("\n") if line.strip()]
    same = sum(1 for a, b in zip(ours_trades, their_trades, strict=False) if a[0] == b[0] and (a[1] in (b[1], None)))
    a, b = median_of(ours), median_of(theirs)
    return [
        Row(f"{label}: backtesting.py / papertrade", f"{b / a:.1f}x ({b:.1f} s / {a:.1f} s)", ">= 3x", b / a >= 3),
        Row(
            f"{label}: same entry and exit candles as backtesting.py",
            f"{same} of {len(their_trades)} round trips (papertrade {len(ours_trades)})",
            "all",
            same == len(their_trades) == len(ours_trades),
        ),
    ]


def replay(work: Path, env: dict, runs: int) -> list[Row]:
    """Target 6: replay through the real SQLite ledger."""
    from papertrade.adapters.csv_candles import CandleFile
    from papertrade.services.replay import replay as run_replay

    data = REPO / "tests" / "data" / "ohlcv" / "binance_BTC-USDT_1h.csv"
    candles = CandleFile.load(data)
    rates, wall_rates = [], []
    for run in range(runs):
        ledger_path = work / f"replay-{run}.db"
        ledger = open_ledger(Settings(database_url=str(ledger_path)), create=True, durable=False)
        create_portfolio(ledger, parse_new_portfolio(name="replay", cash="10000"), now=0)
        start = time.perf_counter()
        run_replay(ledger, candles, 1, "BTC/USDT")
        rates.append(len(candles.bars) / (time.perf_counter() - start))
        ledger.dispose()
        db = work / f"replay-cli-{run}.db"
        subprocess.run(
            [PAPERTRADE, "--db", str(db), "create-portfolio", "r", "10000"], env=env, check=True, capture_output=True
        )
        elapsed, _, _ = timed([PAPERTRADE, "--db", str(db), "replay", "1", "BTC/USDT", "--data", str(data)], env)
        wall_rates.append(len(candles.bars) / elapsed)
    rate = median_of(rates)
    return [
        Row(
            f"replay through the SQLite ledger ({len(candles.bars):,} candles, rsi)",
            f"{rate:,.0f} candles/s in process, {median_of(wall_rates):,.0f}/s whole command",
            ">= 2,000/s",
            rate >= 2000,
        ),
    ]


def dashboard(work: Path, env: dict, runs: int) -> list[Row]:
    """Targets 7-8: `papertrade serve` over 1,000 portfolios, and over one with 100,000 processed
    candles; the first request after the server starts (nothing cached) and a repeated one."""
    from tests.support.big_ledger import long_history, many_portfolios

    many, long = work / "many.db", work / "long.db"
    many_portfolios(f"sqlite:///{many}", 1000)
    long_history(f"sqlite:///{long}", work, 100_000)
    measured = {
        ("overview of 1,000 portfolios", "/"): ([], []),
        ("portfolio page, 100,000 processed candles", "/portfolios/1"): ([], []),
        ("its chart (Plotly figure JSON)", "/api/portfolios/1/chart"): ([], []),
    }
    for _ in range(runs):
        for db, paths in ((many, ["/"]), (long, ["/portfolios/1", "/api/portfolios/1/chart"])):
            with _serving(db, env) as url:
                for attempt in (0, 1):  # first: nothing computed yet; then the same request again
                    for (_, path), samples in measured.items():
                        if path in paths:
                            samples[attempt].append(_get(url + path))
    with _serving(long, env) as url:
        traffic = _traffic(url)
    return traffic + [
        Row(f"dashboard: {name}, first request / repeated", f"{median_of(a):.2f} s / {median_of(b):.2f} s", "< 1 s",
            median_of(a) < 1)
        for (name, _), (a, b) in measured.items()
    ]  # fmt: skip


class _serving:
    """`papertrade serve` on a free port, for as long as the block runs."""

    def __init__(self, db: Path, env: dict) -> None:
        command = [PAPERTRADE, "--db", str(db), "serve", "--port", "0"]
        self.process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, text=True)

    def __enter__(self) -> str:
        line = self.process.stdout.readline()
        return line.split(" at ", 1)[1].split()[0].rstrip("/")

    def __exit__(self, *exc_info) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


#: What a portfolio page loads, and what each refresh of an open page asks for again.
PAGE_LOAD = ["/portfolios/1", "/api/portfolios/1/chart", "/static/plotly.min.js", "/static/dashboard.css",
             "/static/dashboard.js"]  # fmt: skip
REFRESHED = ["/portfolios/1", "/api/portfolios/1/chart"]


def _traffic(url: str) -> list[Row]:
    """Issue 22 item 6: bytes a browser downloads for the page of 100,000 processed candles, first
    load (gzip) and per idle hour at the default 15 s refresh (every refresh a 304), against the
    same without compression or validators."""
    first = sum(_bytes(url + path, gzip=True)[0] for path in PAGE_LOAD)
    plain = sum(_bytes(url + path, gzip=False)[0] for path in PAGE_LOAD)
    tags = {path: _bytes(url + path, gzip=True)[1] for path in REFRESHED}
    idle = sum(_bytes(url + path, gzip=True, tag=tags[path])[0] for path in REFRESHED) * 240
    again = sum(_bytes(url + path, gzip=False)[0] for path in REFRESHED) * 240
    return [
        Row("dashboard: first load of that page (gzip; uncompressed)", f"{first / 1e6:.2f} MB ({plain / 1e6:.2f} MB)",
            "smaller", first < plain),
        Row("dashboard: an idle open page, bytes per hour (304s; re-downloading)",
            f"{idle / 1e3:.0f} kB ({again / 1e6:.1f} MB)", "304 when unchanged", idle * 20 < again),
    ]  # fmt: skip


def _bytes(url: str, *, gzip: bool, tag: str | None = None) -> tuple[int, str | None]:
    """The bytes of one answer on the wire (status line, headers, body as sent) and its ETag."""
    import http.client
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=60)
    headers = {"Accept-Encoding": "gzip"} if gzip else {}
    if tag:
        headers["If-None-Match"] = tag
    connection.request("GET", parts.path, headers=headers)
    response = connection.getresponse()
    body = response.read()  # http.client does not decompress: what was sent
    connection.close()
    head = len(f"HTTP/1.1 {response.status} {response.reason}\r\n") + len(str(response.msg))
    return head + len(body), response.getheader("ETag")


def _get(url: str) -> float:
    from urllib.request import urlopen

    start = time.perf_counter()
    with urlopen(url, timeout=60) as response:
        response.read()
        if response.status != 200:
            raise SystemExit(f"{url} answered {response.status}")
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--write", type=Path, help="also record the results in this Markdown file")
    parser.add_argument(
        "--only",
        choices=["backtest", "dashboard", "download", "optimize", "replay", "requests", "shorts", "user-strategy"],
        help="measure only these targets (recorded apart)",
    )
    args = parser.parse_args()
    if args.only == "dashboard":
        return only_dashboard(args)
    if args.only == "download":
        return only_download(args)
    if args.only == "replay":
        return only_replay(args)
    if args.only == "backtest":
        return only_backtest(args)
    if args.only == "optimize":
        return only_optimize(args)
    if args.only == "shorts":
        return only_shorts(args)
    if args.only == "requests":
        return only_requests(args)
    if args.only == "user-strategy":
        return only_user_strategy(args)
    runs = 3 if args.quick else 9
    rows: list[Row] = []
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory, FakeBinance(markets=(
        *DEFAULT_MARKETS, *(MarketSpec(f"H{n}") for n in (1_000, 100_000, 1_000_000)), MarketSpec("REQ"),
        *(MarketSpec(f"B{i:03d}") for i in range(100)),
    )) as server:  # fmt: skip
        work = Path(directory)
        env = {
            **os.environ,
            "PAPERTRADE_CCXT_CONFIG": json.dumps(server.ccxt_config()),
            "HOME": str(work),
            "XDG_DATA_HOME": str(work / "data"),
        }
        print("measuring cold ticks ...", file=sys.stderr)
        tick_rows, cold_tick = cold_ticks(work, server, env, runs)
        rows += tick_rows
        rows += request_counts(work, server, env)
        print("measuring the batch runner ...", file=sys.stderr)
        rows += batch(work, server, env, max(3, runs // 3), cold_tick)
        print("measuring backtests (backtesting.py takes a while) ...", file=sys.stderr)
        rows += backtest(work, env, 1 if args.quick else 3)
        print("measuring backtests with shorts ...", file=sys.stderr)
        rows += shorts(work, env, 1 if args.quick else 3)
        print("measuring a user's own strategy against backtesting.py ...", file=sys.stderr)
        rows += user_strategy(work, env, 1 if args.quick else 3)
        print("measuring replay ...", file=sys.stderr)
        rows += replay(work, env, 3)
        print("measuring optimisation (backtesting.py takes a while) ...", file=sys.stderr)
        rows += optimize_rows(work, env, 1)
        print("measuring the dashboard ...", file=sys.stderr)
        rows += dashboard(work, env, 3)
        print("measuring download throughput against the rate limit ...", file=sys.stderr)
        rows += [Row(*row) for row in download_rows(work)]
    table = render(rows)
    print(table)
    if args.write:
        write(args.write, table, runs, time.time() - started)


def only_dashboard(args) -> None:
    started = time.time()
    runs = 3 if args.quick else 5
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory:
        work = Path(directory)
        env = {**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work / "data")}
        print("measuring the dashboard ...", file=sys.stderr)
        table = render(dashboard(work, env, runs))
    print(table)
    if args.write:
        write(args.write, table, runs, time.time() - started, "<!-- bench results: dashboard -->")


def only_download(args) -> None:
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory:
        print("measuring download throughput against the rate limit ...", file=sys.stderr)
        table = render([Row(*row) for row in download_rows(Path(directory))])
    print(table)
    if args.write:
        write(args.write, table, 1, time.time() - started, "<!-- bench results: download -->")


def only_backtest(args) -> None:
    started = time.time()
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory:
        work = Path(directory)
        env = {**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work / "data")}
        print("measuring backtests (backtesting.py takes a while) ...", file=sys.stderr)
        table = render(backtest(work, env, runs))
    print(table)
    if args.write:
        write(args.write, table, runs, time.time() - started, "<!-- bench results: backtest -->")


def optimize_rows(work: Path, env: dict, runs: int) -> list[Row]:
    from bench.optimize import rows

    return rows(work, env, runs, timed, median_of, Row, PAPERTRADE, PYTHON)


def only_optimize(args) -> None:
    started = time.time()
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory:
        work = Path(directory)
        env = {**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work / "data")}
        print("measuring optimisation (backtesting.py takes a while) ...", file=sys.stderr)
        table = render(optimize_rows(work, env, runs))
    print(table)
    if args.write:
        write(args.write, table, runs, time.time() - started, "<!-- bench results: optimize -->")


def user_strategy(work: Path, env: dict, runs: int) -> list[Row]:
    """Target 9: a trader's own SMA cross in each form against backtesting.py (bench/user_strategies.py)."""
    from bench.user_strategies import rows

    big = work / "btc-1m-x10.csv"
    if not big.exists():
        _ten_copies_of_the_minute_file(big)
    return rows(work, big, env, runs)


def only_user_strategy(args) -> None:
    started = time.time()
    runs = 1 if args.quick else 3
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory:
        work = Path(directory)
        env = {**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work / "data")}
        print("measuring a user's own strategy against backtesting.py ...", file=sys.stderr)
        table = render(user_strategy(work, env, runs))
    print(table)
    if args.write:
        write(args.write, table, runs, time.time() - started, "<!-- bench results: user strategy -->")


def only_replay(args) -> None:
    started = time.time()
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory:
        work = Path(directory)
        env = {**os.environ, "HOME": str(work), "XDG_DATA_HOME": str(work / "data")}
        print("measuring replay ...", file=sys.stderr)
        table = render(replay(work, env, 3))
    print(table)
    if args.write:
        write(args.write, table, 3, time.time() - started, "<!-- bench results: replay -->")


def render(rows: list[Row]) -> str:
    widths = [max(len(r.target) for r in rows), max(len(r.measured) for r in rows), max(len(r.goal) for r in rows)]
    lines = [
        f"| {'target':<{widths[0]}} | {'measured':<{widths[1]}} | {'goal':<{widths[2]}} | met |",
        f"|{'-' * (widths[0] + 2)}|{'-' * (widths[1] + 2)}|{'-' * (widths[2] + 2)}|-----|",
    ]
    for r in rows:
        lines.append(
            f"| {r.target:<{widths[0]}} | {r.measured:<{widths[1]}} | {r.goal:<{widths[2]}} | "
            f"{'-' if r.met is None else 'yes' if r.met else 'NO':<3} |"
        )
    return "\n".join(lines)


def write(path: Path, table: str, runs: int, seconds: float, marker: str = "<!-- bench results -->") -> None:
    text = path.read_text() if path.exists() else ""
    when = time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())
    block = (
        f"{marker}\nRecorded {when} on {platform.node() or 'this machine'} "
        f"({os.cpu_count()} cores, Python {platform.python_version()}), medians of {runs} runs, "
        f"{seconds / 60:.0f} minutes in all:\n\n{table}\n{marker}"
    )
    if marker in text:
        head, _, rest = text.partition(marker)
        _, _, tail = rest.partition(marker)
        text = head + block + tail
    else:
        text = text + "\n" + block + "\n"
    path.write_text(text)


if __name__ == "__main__":
    main()
