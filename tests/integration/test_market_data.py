"""`data download`, `data list`, `data export`, and backtests and replays from the candle store,
through the real command line, real ccxt and both local exchanges (Binance's API, and OKX's,
which pages newest first), on SQLite and PostgreSQL.

The servers run on the real clock with the data where it really was (2020-12 to 2021-07), so
every candle is long closed and OKX serves it from its history endpoint.
"""

import csv
import json
from decimal import Decimal

import pytest

from tests.support.cli import run_inprocess
from tests.support.databases import ledger_state, migrate
from tests.support.fake_binance import FakeBinance, load_rows
from tests.support.fake_okx import FakeOkx
from tests.support.live import dataset_ms

HOURLY = "binance_BTC-USDT_1h.csv"
FIRST, LAST = "2020-12-01T00:00", "2021-07-17T20:00"
HOUR = 3_600_000
SLOTS = 5482 + 11  # hours from FIRST to LAST: the file's candles and its 11 missing hours


@pytest.fixture(scope="module")
def servers():
    with FakeBinance() as binance, FakeOkx() as okx:
        yield {"binance": binance, "okx": okx}


@pytest.fixture(params=["binance", "okx"])
def exchange(request, servers):
    server = servers[request.param]
    server.clear_faults()
    server.reset_counts()
    yield request.param, server
    server.clear_faults()


@pytest.fixture
def papertrade(exchange, database_url, monkeypatch, capsys):
    """Run `papertrade ...` in-process against the exchange and the database of the test."""
    if database_url.startswith("postgresql"):
        migrate(database_url)
    _, server = exchange
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", database_url)
    monkeypatch.setenv("PAPERTRADE_CCXT_CONFIG", json.dumps(server.ccxt_config()))
    monkeypatch.setenv("PAPERTRADE_EXCHANGE_RETRIES", "0")
    return lambda *args: run_inprocess(capsys, *args)


def download(papertrade, name: str, since: str = FIRST, until: str = LAST):
    return papertrade("data", "download", name, "BTC/USDT", "1h", "--since", since, "--until", until)


def exported_rows(papertrade, name: str, path, *extra: str) -> list[tuple]:
    result = papertrade("data", "export", name, "BTC/USDT", "1h", "-o", str(path), *extra)
    assert result.code == 0, result.stderr
    with path.open() as handle:
        reader = csv.reader(handle)
        assert next(reader) == ["timestamp", "open", "high", "low", "close", "volume"]
        return [(int(r[0]), *map(Decimal, r[1:])) for r in reader]


def file_rows(first: str = FIRST, last: str = LAST) -> list[tuple]:
    low, high = dataset_ms(first), dataset_ms(last)
    return [(r[0], *map(Decimal, r[1:])) for r in load_rows(HOURLY) if low <= r[0] <= high]


def candle_requests(server) -> int:
    return server.count("/klines") + server.count("candles")


def test_a_download_of_the_hourly_file_equals_the_file(papertrade, exchange, tmp_path):
    name, server = exchange
    result = download(papertrade, name)
    assert result.code == 0, result.stderr
    assert "5,482 candles from 2020-12-01 00:00Z to 2021-07-17 20:00Z, 6 gaps" in result.stdout
    assert exported_rows(papertrade, name, tmp_path / "all.csv") == file_rows()
    pages = candle_requests(server)
    assert pages == {"binance": 6, "okx": 19}[name]  # 1,000 and 300 candles a request

    again = download(papertrade, name)
    assert again.code == 0 and "fetched 0 in 0 requests" in again.stdout
    assert candle_requests(server) == pages  # nothing stored (nor any known gap) is asked for again


def test_an_interrupted_download_resumes_and_ends_equal(papertrade, exchange, tmp_path):
    name, server = exchange
    path = "/klines" if name == "binance" else "/history-candles"
    # The connection drops on every request from the third page on (requests may be on their
    # way two at a time, so which arrives third is not always the third page).
    page = {"binance": 1000, "okx": 300}[name]
    server.inject("reset", path=path, from_ts=dataset_ms(FIRST) + 2 * page * HOUR)
    failed = download(papertrade, name)
    assert failed.code == 75 and len(failed.error_lines) == 1
    assert "kept" in failed.stderr and "run the same command to continue" in failed.stderr
    kept = exported_rows(papertrade, name, tmp_path / "part.csv")
    assert kept == [row for row in file_rows() if row[0] < dataset_ms(FIRST) + 2 * page * HOUR]

    server.clear_faults()
    server.reset_counts()
    resumed = download(papertrade, name)
    assert resumed.code == 0, resumed.stderr
    assert f"fetched {5482 - len(kept):,} in" in resumed.stdout
    assert candle_requests(server) == -(-(SLOTS - 2 * page) // page)  # only what was missing
    assert exported_rows(papertrade, name, tmp_path / "all.csv") == file_rows()


def test_the_2021_04_25_outage_is_listed_as_a_gap(papertrade, exchange):
    name, _ = exchange
    assert download(papertrade, name, "2021-04-20T00:00", "2021-04-30T00:00").code == 0
    table = papertrade("data", "list")
    assert table.code == 0
    row = next(line for line in table.stdout.splitlines() if line.startswith(name))
    assert row.split()[1:] == [
        "BTC/USDT",
        "1h",
        "2021-04-20",
        "00:00Z",
        "2021-04-30",
        "00:00Z",
        "236",
        "2",
        "3",
        "candles",
        "from",
        "2021-04-25",
        "05:00Z",
    ]
    [listed] = json.loads(papertrade("data", "list", "--json").stdout)
    outage = {"first_ts": dataset_ms("2021-04-25T05:00"), "last_ts": dataset_ms("2021-04-25T07:00"), "candles": 3}
    assert listed["longest_gap"] == outage and outage in listed["gap_list"]
    assert (listed["count"], listed["gaps"], listed["missing"]) == (236, 2, 5)


def test_export_then_backtest_equals_a_backtest_from_the_store(papertrade, exchange, tmp_path):
    name, _ = exchange
    assert download(papertrade, name, "2021-01-01T00:00", "2021-04-30T00:00").code == 0
    path = tmp_path / "candles.csv"
    exported_rows(papertrade, name, path)
    common = ("backtest", "--strategy", "rsi", "--symbol", "BTC/USDT", "--json")
    from_file = papertrade(*common, "--data", str(path))
    from_store = papertrade(*common, "--exchange", name, "--timeframe", "1h")
    assert from_file.code == 0 and from_store.code == 0, from_store.stderr
    assert json.loads(from_store.stdout) == json.loads(from_file.stdout)
    assert len(json.loads(from_store.stdout)["trades"]) > 5

    window = ("--from", "2021-02-01", "--to", "2021-03-15T12:00")  # warmed up on the candles before
    cut = papertrade(*common, "--exchange", name, "--timeframe", "1h", *window)
    assert json.loads(cut.stdout) == json.loads(papertrade(*common, "--data", str(path), *window).stdout)
    assert json.loads(cut.stdout)["stats"]["Start"] == "2021-02-01T00:00:00Z"
    assert json.loads(cut.stdout)["warmup"]["candles"] == 249


def test_a_replay_from_the_store_equals_a_replay_of_the_exported_file(papertrade, exchange, tmp_path):
    name, _ = exchange
    assert download(papertrade, name, "2021-03-01T00:00", "2021-04-12T00:00").code == 0
    path = tmp_path / "binance_BTC-USDT_1h.csv"
    exported_rows(papertrade, name, path)
    for portfolio in ("from-file", "from-store"):
        assert papertrade("create-portfolio", portfolio, "10000", "--exchange", name).code == 0
    window = ("--from", "2021-04-06T12:00", "--json")  # 132 candles, a BUY and a SELL
    assert papertrade("replay", "1", "BTC/USDT", "--data", str(path), *window).code == 0
    from_store = papertrade("replay", "2", "BTC/USDT", *window)
    assert from_store.code == 0, from_store.stderr
    trades = [json.loads(papertrade("trades", str(p), "--json").stdout) for p in (1, 2)]
    assert trades[0] and [t | {"portfolio_id": 0, "id": 0} for t in trades[0]] == [
        t | {"portfolio_id": 0, "id": 0} for t in trades[1]
    ]


def test_parquet_and_json_named_by_their_suffix_equal_the_csv(papertrade, exchange, tmp_path, monkeypatch):
    import pandas as pd

    name, _ = exchange
    assert download(papertrade, name, "2021-02-01T00:00", "2021-02-20T00:00").code == 0
    rows = exported_rows(papertrade, name, tmp_path / "c.csv")
    parquet, as_json = tmp_path / "c.parquet", tmp_path / "c.JSON"
    for path in (parquet, as_json):  # no --format: the suffix says which
        assert papertrade("data", "export", name, "BTC/USDT", "1h", "-o", str(path)).code == 0
    assert [(r["timestamp"], *(Decimal(r[c]) for c in ("open", "high", "low", "close", "volume")))
            for r in json.loads(as_json.read_text())] == rows  # fmt: skip
    monkeypatch.chdir(tmp_path)
    to_stdout = papertrade("data", "export", name, "BTC/USDT", "1h", "-o", "-")
    assert to_stdout.code == 0 and not (tmp_path / "-").exists()
    assert to_stdout.stdout.splitlines()[0] == "timestamp,open,high,low,close,volume"
    assert len(to_stdout.stdout.splitlines()) == len(rows) + 1
    frame = pd.read_parquet(parquet)
    assert str(frame["timestamp"].dtype) == "datetime64[ms, UTC]"
    assert all(isinstance(frame[c].iloc[0], Decimal) for c in ("open", "high", "low", "close", "volume"))
    as_rows = [
        (int(r.timestamp.value // 1_000_000), r.open, r.high, r.low, r.close, r.volume)
        for r in frame.itertuples(index=False)
    ]
    assert as_rows == rows and len(rows) == 456  # 2021-02-11 04:00 is missing


def hostile_cases(name: str, tmp_path) -> list[tuple[list[str], str]]:
    a_file = tmp_path / "a-file"
    a_file.write_text("")
    export = ["data", "export", name, "BTC/USDT", "1h"]
    since = ["--since", "2021-04-01"]
    return [
        (["data", "download", "nosuchexchange", "BTC/USDT", "1h", *since], "ccxt has no exchange 'nosuchexchange'"),
        (["data", "download", name, "DOGE/USDT", "1h", *since], "does not list"),
        (["data", "download", name, "BTC/USDT", "7h", *since], "unsupported timeframe '7h'"),
        (
            ["data", "download", name, "BTC/USDT", "8h" if name == "okx" else "1w", *since],
            "timeframe" if name == "binance" else "okx has no 8h candles",
        ),
        (["data", "download", name, "btc-usdt", "1h", *since], "malformed symbol"),
        (["data", "download", name, "BTC/USDT", "1h", *since, "--until", "2021-03-01"], "is after --until"),
        (["data", "download", name, "BTC/USDT", "1h", "--since", "2999-01-01"], "is in the future"),
        (["data", "download", name, "BTC/USDT", "1h", "--since", "last tuesday"], "ISO time"),
        (["data", "download", name, "BTC/USDT", "1h"], "give --since DATE or --days N"),
        (["data", "download", name, "BTC/USDT", "1h", *since, "--days", "3"], "give --since DATE or --days N"),
        (["data", "download", name, "BTC/USDT", "1h", "--days", "0"], "--days must be 1 to 36500"),
        ([*export, "-o", str(tmp_path / "missing" / "x.csv")], "is not a directory"),
        ([*export, "-o", str(a_file / "x.csv")], "is not a directory"),
        ([*export, "-o", str(tmp_path)], "it is a directory"),
        ([*export, "-o", str(tmp_path / "x.xlsx"), "--format", "xlsx"], "--format must be csv, json or parquet"),
        ([*export, "-o", str(tmp_path / "x.xlsx")], "cannot tell the format of"),
        ([*export, "-o", str(tmp_path / "candles")], "(no suffix): name it .csv, .json or .parquet"),
        (
            [*export, "-o", str(tmp_path / "x.csv"), "--from", "2021-05-01", "--to", "2021-04-01"],
            "--from 2021-05-01 is after --to 2021-04-01",
        ),
        (["data", "export", name, "ETH/USDT", "1h", "-o", str(tmp_path / "x.csv")], "no 1h candles of ETH/USDT"),
        (["backtest", "--strategy", "rsi", "--exchange", name, "--symbol", "BTC/USDT"], "--timeframe"),
        (["backtest", "--strategy", "rsi", "--exchange", name, "--symbol", "BTC/USDT", "--timeframe", "5m"], "no 5m"),
    ]


def test_hostile_input_exits_2_with_one_line_and_writes_nothing(papertrade, exchange, database_url, tmp_path):
    name, _ = exchange
    assert download(papertrade, name, "2021-04-20T00:00", "2021-04-22T00:00").code == 0
    (tmp_path / "out").mkdir()
    for args, message in hostile_cases(name, tmp_path / "out"):
        before = ledger_state(database_url), sorted((tmp_path / "out").iterdir())
        result = papertrade(*args)
        assert (result.code, len(result.error_lines)) == (2, 1), (args, result.stderr)
        assert message in result.stderr, (args, result.stderr)
        assert (ledger_state(database_url), sorted((tmp_path / "out").iterdir())) == before, args


def test_a_refused_download_creates_no_database(exchange, tmp_path, monkeypatch, capsys):
    name, server = exchange
    path = tmp_path / "never.db"
    monkeypatch.setenv("PAPERTRADE_CCXT_CONFIG", json.dumps(server.ccxt_config()))
    for symbol, timeframe in (("DOGE/USDT", "1h"), ("BTC/USDT", "1w")):
        args = ("--db", str(path), "data", "download", name, symbol, timeframe, "--since", "2021-04-01")
        assert run_inprocess(capsys, *args).code == 2
    assert not path.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize("fault", ["only-forming", "empty"])
def test_an_empty_or_forming_only_answer_is_temporary_and_records_no_gap(papertrade, exchange, fault):
    import time

    name, server = exchange
    server.align_now_to(dataset_ms("2021-05-12T00:00"))  # the forming candle is served, as it is live
    try:
        since = time.time_ns() // 1_000_000 - 500 * HOUR
        server.inject(fault, path="/klines" if name == "binance" else "candles")
        failed = papertrade("data", "download", name, "BTC/USDT", "1h", "--since", str(since))
        assert failed.code == 75 and len(failed.error_lines) == 1, failed.stderr
        reason = "held only the newest candle" if fault == "only-forming" else "no closed candle was served"
        assert reason in failed.stderr and "run the same command to continue" in failed.stderr

        server.clear_faults()
        healed = papertrade("data", "download", name, "BTC/USDT", "1h", "--since", str(since))
        assert healed.code == 0, healed.stderr
        (stored,) = json.loads(papertrade("data", "list", "--json").stdout)
        offset, first = server.state.offset_ms, since + (-since) % HOUR
        served = [row[0] + offset for row in load_rows(HOURLY) if first <= row[0] + offset <= stored["last_ts"]]
        assert (stored["first_ts"], stored["count"]) == (first, len(served))  # nothing was taken for a gap
        assert [gap["candles"] for gap in stored["gap_list"]] == [3]  # the 2021-04-25 outage, and only it
        assert (
            "fetched 0 in 0 requests"
            in papertrade("data", "download", name, "BTC/USDT", "1h", "--since", str(since)).stdout
        )
    finally:
        server.state.offset_ms = 0


def test_days_downloads_the_last_n_days_up_to_now(papertrade, exchange):
    import time

    name, server = exchange
    server.align_now_to(dataset_ms("2021-05-12T00:00"))  # the data set's 2021-05-12 is now
    try:
        before = time.time_ns() // 1_000_000 - 2 * 24 * HOUR
        result = papertrade("data", "download", name, "BTC/USDT", "1h", "--days", "2")
        after = time.time_ns() // 1_000_000 - 2 * 24 * HOUR
        assert result.code == 0, result.stderr
        (stored,) = json.loads(papertrade("data", "list", "--json").stdout)
        assert stored["first_ts"] in {before + (-before) % HOUR, after + (-after) % HOUR}
        assert 46 <= stored["count"] <= 48 and stored["last_ts"] >= after + 2 * 24 * HOUR - 2 * HOUR
    finally:
        server.state.offset_ms = 0


@pytest.mark.serial  # interrupts after a number of rate-limited pages
def test_ctrl_c_keeps_the_committed_pages_and_the_same_command_continues(servers, tmp_path):
    import os
    import signal
    import subprocess
    import time

    from tests.support.paths import REPO, VENV_BIN

    server = servers["okx"]
    server.reset_counts()
    slow = {**server.ccxt_config(), "enableRateLimit": True, "rateLimit": 300}  # a page per 300 ms
    env = {**os.environ, "PAPERTRADE_CCXT_CONFIG": json.dumps(slow), "PYTHONPATH": str(REPO)}
    db = f"sqlite:///{tmp_path / 'ledger.db'}"
    command = [str(VENV_BIN / "papertrade"), "--db", db, "data", "download", "okx", "BTC/USDT", "1h"]
    command += ["--since", FIRST, "--until", LAST]
    # A shell without job control starts background commands with SIGINT ignored, and children
    # inherit that: give the download the terminal's default, as Ctrl-C would find it.
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while server.count("/history-candles") < 4 and time.monotonic() < deadline:
            time.sleep(0.02)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=30)
    finally:
        if process.poll() is None:  # whatever happened above, nothing outlives the test
            process.kill()
            process.communicate()
    assert process.returncode == 130 and len(stderr.splitlines()) == 1
    interrupted_after = server.count("/history-candles")
    assert 4 <= interrupted_after < 19
    kept = int(stderr.split("kept ")[1].split(" candles")[0].replace(",", ""))
    assert stderr.startswith("papertrade: error: interrupted: kept") and kept >= 3 * 300 - 11

    server.reset_counts()
    again = subprocess.run(command, env={**env, "PAPERTRADE_CCXT_CONFIG": json.dumps(server.ccxt_config())},
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert again.returncode == 0, again.stderr
    assert "5,482 candles from 2020-12-01 00:00Z to 2021-07-17 20:00Z" in again.stdout
    assert f"fetched {5482 - kept:,} in" in again.stdout  # what was kept is not fetched again
    assert server.count("/history-candles") <= 19 - interrupted_after + 1  # at most the page Ctrl-C cut short


@pytest.mark.serial  # measures the spacing of requests
def test_requests_on_their_way_at_once_still_start_a_rate_limit_apart(servers):
    import time
    from itertools import pairwise

    from papertrade.adapters.exchange import CcxtMarketData
    from papertrade.domain.timeframes import Timeframe

    server = servers["binance"]
    server.reset_counts()
    # 750 ms x the cost ccxt gives a 1,000-candle klines request (0.4): a request every 300 ms
    source = CcxtMarketData("binance", {**server.ccxt_config(), "enableRateLimit": True, "rateLimit": 750})
    source.market("BTC/USDT")
    first, last = "2021-01-01T00:00", "2021-07-01T00:00"
    hours = source.pages(
        "BTC/USDT", Timeframe.parse("1h"), dataset_ms(first), dataset_ms(last), time.time_ns() // 1_000_000
    )
    pages = list(hours)
    assert [(bar.ts, bar.close) for page in pages for bar in page] == [(r[0], r[4]) for r in file_rows(first, last)]
    starts = sorted(moment for moment, path in server.state.arrivals if "/klines" in path)
    assert len(starts) == len(pages) == 5
    # The limit lets the k-th request leave k x 300 ms after the first, whichever thread sends
    # it. One that leaves late (a busy machine) shortens its gap to the next one (0.19 s was
    # seen) but never lets the five start sooner: they span at least 4 x 300 ms, less the first
    # one's own lateness. Two clients without the shared limit would send two at once, and five
    # requests would span about half that.
    assert starts[-1] - starts[0] >= 0.9 * 4 * 0.3, starts
    assert min(b - a for a, b in pairwise(starts)) >= 0.05, starts


@pytest.mark.serial  # draws between rate-limited pages
def test_a_terminal_gets_a_progress_bar_and_a_pipe_one_summary_line(servers, tmp_path):
    import os
    import pty
    import subprocess

    from tests.support.paths import REPO, VENV_BIN

    server = servers["okx"]
    slow = {**server.ccxt_config(), "enableRateLimit": True, "rateLimit": 100}  # long enough to draw
    env = {**os.environ, "PAPERTRADE_CCXT_CONFIG": json.dumps(slow), "PYTHONPATH": str(REPO), "COLUMNS": "100"}
    command = [str(VENV_BIN / "papertrade"), "--db", f"sqlite:///{tmp_path / 'tty.db'}", "data", "download", "okx"]
    command += ["BTC/USDT", "1h", "--since", "2021-01-01", "--until", "2021-02-01"]  # 3 pages
    terminal, other_end = pty.openpty()
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=other_end, text=True)
    stdout, _ = process.communicate(timeout=60)
    os.close(other_end)
    drawn = os.read(terminal, 1 << 16).decode(errors="replace")
    os.close(terminal)
    assert process.returncode == 0
    assert "━" in drawn and "okx BTC/USDT 1h" in drawn  # Rich's bar, on the terminal only
    assert stdout.count("\n") == 1 and stdout.startswith("okx BTC/USDT 1h: 745 candles from 2021-01-01 00:00Z")

    piped = subprocess.run([*command[:2], f"sqlite:///{tmp_path / 'pipe.db'}", *command[3:]], env=env,
                           capture_output=True, text=True, timeout=60)  # fmt: skip
    assert piped.returncode == 0 and piped.stderr == ""  # no bar, nothing but the summary line
    assert piped.stdout.rsplit(",", 1)[0] == stdout.rsplit(",", 1)[0]  # the same line, but for the seconds


# -- several series at once, and deleting one ------------------------------------------------


@pytest.fixture
def on_binance(servers, database_url, monkeypatch, capsys):
    """`papertrade ...` in-process against the Binance imitation and the database of the test."""
    if database_url.startswith("postgresql"):
        migrate(database_url)
    server = servers["binance"]
    server.clear_faults()
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", database_url)
    monkeypatch.setenv("PAPERTRADE_CCXT_CONFIG", json.dumps(server.ccxt_config()))
    monkeypatch.setenv("PAPERTRADE_EXCHANGE_RETRIES", "0")
    return lambda *args: run_inprocess(capsys, *args)


def stored_series(papertrade) -> dict[tuple[str, str], int]:
    return {(s["symbol"], s["timeframe"]): s["count"] for s in json.loads(papertrade("data", "list", "--json").stdout)}


APRIL = ("--since", "2021-04-20T00:00", "--until", "2021-04-21T23:00")


def test_download_takes_several_symbols_and_timeframes_and_the_single_form_still_works(on_binance):
    both = on_binance("data", "download", "binance", "--symbols", "BTC/USDT", "ETH/USDT", "--timeframes", "1h", *APRIL)
    assert both.code == 0, both.stderr
    assert [line.split(":")[0] for line in both.stdout.splitlines()] == [
        "binance BTC/USDT 1h", "binance ETH/USDT 1h"
    ]  # fmt: skip
    stored = stored_series(on_binance)
    assert list(stored) == [("BTC/USDT", "1h"), ("ETH/USDT", "1h")] and stored[("BTC/USDT", "1h")] == 46
    again = on_binance("data", "download", "binance", "BTC/USDT", "--timeframes", "1h", "1d", *APRIL)
    assert again.code == 0, again.stderr
    assert "fetched 0 in 0 requests" in again.stdout.splitlines()[0]  # 1h was stored: nothing asked for
    assert stored_series(on_binance)[("BTC/USDT", "1d")] == 2
    single = on_binance("data", "download", "binance", "ETH/USDT", "1h", *APRIL)
    assert (single.code, single.stdout.count("\n")) == (0, 1)


def test_one_series_in_trouble_does_not_stop_the_others_and_bad_input_stops_all(on_binance, database_url):
    before = ledger_state(database_url)
    bad = on_binance("data", "download", "binance", "--symbols", "BTC/USDT", "DOGE/USDT", "--timeframes", "1h", *APRIL)
    assert (bad.code, len(bad.error_lines)) == (2, 1) and "DOGE/USDT" in bad.stderr
    assert ledger_state(database_url) == before  # every series is checked before any is fetched
    pairs = ("--symbols", "ETH/USDT", "BTC/USDT", "--timeframes", "1d")  # no ETH/USDT 1d on this exchange
    troubled = on_binance("data", "download", "binance", *pairs, *APRIL)
    assert troubled.code == 75
    assert troubled.error_lines[0].startswith("papertrade: error: binance ETH/USDT 1d: no closed candle was served")
    assert troubled.error_lines[-1] == (
        "papertrade: error: 1 of 2 series are incomplete; run the same command to continue"
    )
    assert stored_series(on_binance) == {("BTC/USDT", "1d"): 2}


def test_delete_removes_a_series_journaled_and_is_refused_while_a_portfolio_trades_it(on_binance, database_url):
    from papertrade.bootstrap import open_ledger
    from papertrade.settings import Settings

    pairs = ("--symbols", "BTC/USDT", "ETH/USDT", "--timeframes", "1h")
    assert on_binance("data", "download", "binance", *pairs, *APRIL).code == 0
    assert on_binance("create-portfolio", "bot", "1000").code == 0
    assert on_binance("replay", "1", "BTC/USDT").code == 0  # its ticks read the stored BTC/USDT 1h
    before = ledger_state(database_url)
    refused = on_binance("data", "delete", "binance", "BTC/USDT", "1h")
    assert (refused.code, refused.error_lines) == (2, [
        "papertrade: error: portfolio 1 trades binance BTC/USDT 1h: its next tick would fetch the candles again "
        "and its report would lose them; archive it first, or give --force"
    ])  # fmt: skip
    assert ledger_state(database_url) == before
    unknown = on_binance("data", "delete", "binance", "BTC/USDT", "5m")
    assert unknown.code == 2 and "no binance BTC/USDT 5m candles are stored" in unknown.stderr
    eth = stored_series(on_binance)[("ETH/USDT", "1h")]
    plain = on_binance("data", "delete", "binance", "ETH/USDT", "1h")  # nobody trades it
    assert plain.code == 0 and plain.stdout.startswith(f"Deleted binance ETH/USDT 1h: {eth} candles (2021-04-20 ")
    forced = json.loads(on_binance("data", "delete", "binance", "BTC/USDT", "1h", "--force", "--json").stdout)
    assert (forced["candles"], forced["trading"], forced["journaled"]) == (46, [1], [1])
    assert stored_series(on_binance) == {}
    ledger = open_ledger(Settings(database_url=database_url))
    try:
        with ledger.unit_of_work() as uow:
            (entry,) = uow.journal.entries(1, "data.deleted")
    finally:
        ledger.dispose()
    assert entry.payload == {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1h", "candles": 46,
                             "first_ts": forced["first_ts"], "last_ts": forced["last_ts"], "forced": True}  # fmt: skip
    assert on_binance("audit", "verify", "1").code == 0  # the journal's chain still holds
