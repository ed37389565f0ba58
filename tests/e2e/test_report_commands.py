"""`report`, `backtest`, `replay` and `demo` through the real entry point."""

import json
import re
import shutil
import subprocess
import warnings
from decimal import ROUND_CEILING, Decimal

import pytest

from papertrade.reports.statistics import STAT_NAMES
from tests.support.cli import run_captured, run_inprocess
from tests.support.databases import file_state
from tests.support.paths import DATA, VENV_BIN

HOURS = DATA / "binance_BTC-USDT_1h.csv"


@pytest.fixture(scope="module")
def replayed_once(tmp_path_factory):
    """A portfolio after replaying 1,500 real hours through the tick path (once for the module)."""
    db = str(tmp_path_factory.mktemp("replayed") / "ledger.db")
    assert run_captured("--db", db, "create-portfolio", "bot", "10000", "--strategy", "sma-cross").code == 0
    result = run_captured("--db", db, "replay", "1", "BTC/USDT", "--data", str(HOURS), "--to", "2021-01-31T23:00")
    assert result.code == 0, result.stderr
    return db


@pytest.fixture
def replayed(replayed_once, tmp_path):
    """A copy of that ledger for each test: what one test does to it, no other sees."""
    db = tmp_path / "ledger.db"
    shutil.copy2(replayed_once, db)
    return str(db)


def test_replay_summarises_what_it_did_and_is_idempotent(replayed, capsys):
    again = run_inprocess(
        capsys,
        "--db",
        replayed,
        "replay",
        "1",
        "BTC/USDT",
        "--data",
        str(HOURS),
        "--from",
        "2021-01-01",
        "--to",
        "2021-01-31T23:00",
        "--json",
    )
    summary = json.loads(again.stdout)
    assert summary["statuses"] == {"duplicate": summary["candles"]} and summary["candles"] == 744


def test_report_json_has_every_statistic_and_the_trades(replayed, capsys):
    document = json.loads(run_inprocess(capsys, "--db", replayed, "report", "1", "--json").stdout)
    assert list(document["stats"]) == list(STAT_NAMES)
    stats = document["stats"]
    assert stats["Start"] == "2020-12-01T00:00:00Z" and stats["End"] == "2021-01-31T23:00:00Z"
    assert isinstance(stats["Equity Final [$]"], str) and isinstance(stats["Commissions [$]"], str)
    assert isinstance(stats["Return [%]"], float) and stats["# Trades"] == len(document["trades"]) // 2
    trade = document["trades"][0]
    assert set(trade) >= {"candle_ts", "side", "quantity", "price", "fee"} and isinstance(trade["price"], str)
    (symbol,) = document["symbols"]
    assert symbol["symbol"] == "BTC/USDT" and isinstance(symbol["realized_pnl"], str)


def test_report_for_humans_is_a_table(replayed, capsys):
    text = run_inprocess(capsys, "--db", replayed, "report", "1").stdout
    assert re.search(r"^Sharpe Ratio\s+-?[\d,.]+$", text, re.M)
    assert re.search(r"^BTC/USDT\s", text, re.M)


def test_report_writes_one_self_contained_html_page(replayed, capsys, tmp_path):
    page = tmp_path / "equity.html"
    result = run_inprocess(capsys, "--db", replayed, "report", "1", "--plot", str(page))
    assert result.code == 0 and f"Chart written to {page}" in result.stdout
    html = page.read_text()
    assert html.startswith("<!DOCTYPE html>") and "Plotly.newPlot(" in html
    assert not re.search(r"<(script|link|img|iframe)[^>]+(src|href)=", html), "no external resources"
    figure = json.loads(re.search(r"Plotly\.newPlot\(\s*\"[^\"]+\",\s*(\[.*?\]),\s*\{", html, re.S).group(1))
    kinds = {(trace["type"], trace.get("name")) for trace in figure}
    assert {("candlestick", "BTC/USDT"), ("scatter", "buy"), ("scatter", "equity"), ("scatter", "buy & hold")} <= kinds


def test_report_shows_commissions_as_the_fees_column_does_rounded_up(replayed, capsys):
    document = json.loads(run_inprocess(capsys, "--db", replayed, "report", "1", "--json").stdout)
    text = run_inprocess(capsys, "--db", replayed, "report", "1").stdout
    commissions = re.search(r"^Commissions \[\$\]\s+([\d,.]+)$", text, re.M).group(1)
    fees_column = re.search(r"^BTC/USDT\s.*\s([\d,.]+)$", text, re.M).group(1)
    exact = Decimal(document["stats"]["Commissions [$]"])
    assert commissions == fees_column == f"{exact.quantize(Decimal('0.01'), rounding=ROUND_CEILING):,}"


def test_an_html_chart_raises_no_plotly_warning(replayed, capsys, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert run_inprocess(capsys, "--db", replayed, "report", "1", "--plot", str(tmp_path / "c.html")).code == 0
    assert "Unrecognized config" not in capsys.readouterr().err


def test_report_writes_a_png(replayed, capsys, tmp_path):
    png = tmp_path / "equity.png"
    assert run_inprocess(capsys, "--db", replayed, "report", "1", "--plot", str(png)).code == 0
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000


def test_backtest_json_gives_stats_and_trades(capsys):
    result = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", str(HOURS), "--json")
    document = json.loads(result.stdout)
    assert list(document["stats"]) == list(STAT_NAMES)
    assert document["trades"] and set(document["trades"][0]) >= {"candle_ts", "side", "quantity", "price", "fee"}
    assert document["symbols"][0]["symbol"] == "BTC/USDT"


def test_report_json_lists_the_round_trips_and_the_equity_curve(replayed, capsys):
    document = json.loads(run_inprocess(capsys, "--db", replayed, "report", "1", "--json").stdout)
    trips, stats = document["round_trips"], document["stats"]
    assert len(trips) == stats["# Trades"] > 0
    sells = [t for t in document["trades"] if t["side"] == "SELL"]
    for trip, sell in zip(trips, sells, strict=True):
        assert trip["exit_ts"] == sell["candle_ts"] and trip["exit_price"] == sell["price"]
        assert trip["exit_kind"] == sell["kind"] and trip["pnl"] == sell["net_realized_pnl"]
        assert trip["duration_ms"] == trip["exit_ts"] - trip["entry_ts"] > 0
    assert max(t["profit_pct"] for t in trips) == pytest.approx(stats["Best Trade [%]"])
    curve = document["equity_curve"]
    times = curve["candle_ts"]
    assert times == sorted(set(times)) and (times[0], times[-1]) == (1_606_780_800_000, 1_612_134_000_000)
    assert len(curve["equity"]) == len(curve["drawdown_pct"]) == len(times)
    assert curve["equity"][-1] == stats["Equity Final [$]"] and isinstance(curve["equity"][0], str)
    assert min(curve["drawdown_pct"]) == pytest.approx(stats["Max. Drawdown [%]"])


def test_report_for_humans_lists_the_latest_round_trips(replayed, capsys):
    text = run_inprocess(capsys, "--db", replayed, "report", "1").stdout
    assert re.search(r"^Round trips \(\d+", text, re.M)
    assert re.search(
        r"^ENTRY\s+EXIT\s+SYMBOL\s+SIZE\s+ENTRY PRICE\s+EXIT PRICE\s+PROFIT %\s+PNL\s+DURATION", text, re.M
    )
    assert re.search(r"^2021-01-\S+ \S+\s+2021-01-\S+ \S+\s+BTC/USDT\s.*\s(signal|stop-loss)$", text, re.M)


def test_backtest_json_has_the_equity_curve_and_round_trips(capsys):
    result = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", str(HOURS), "--json")
    document = json.loads(result.stdout)
    curve, stats = document["equity_curve"], document["stats"]
    assert len(curve["candle_ts"]) == len(curve["equity"]) == 5482
    assert len(document["round_trips"]) == stats["# Trades"] and curve["equity"][-1] == stats["Equity Final [$]"]
    assert max(Decimal(e) for e in curve["equity"]) == Decimal(stats["Equity Peak [$]"])  # exact at every candle
    floats = [float(e) for e in curve["equity"]]
    peak = 10_000.0
    for value, drawdown in zip(floats, curve["drawdown_pct"], strict=True):
        peak = max(peak, value)
        assert drawdown == pytest.approx((value / peak - 1) * 100)


def test_backtest_options_change_the_fills(capsys):
    def first_buy(*options):
        result = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", str(HOURS), "--json", *options)
        return json.loads(result.stdout)["trades"][0]

    plain, costly = first_buy(), first_buy("--fee-rate", "0.002", "--slippage-bps", "10", "--cash", "5000")
    assert costly["candle_ts"] == plain["candle_ts"]
    assert float(costly["price"]) == pytest.approx(float(plain["price"]) * 1.001)
    assert float(costly["quantity"]) < float(plain["quantity"]) / 2


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["backtest", "--strategy", "rsi", "--data", "/no/such.csv"], "cannot read"),
        (["backtest", "--strategy", "nope", "--data", str(HOURS)], "unknown strategy"),
        (["backtest", "--strategy", "rsi", "--data", str(HOURS), "--cash", "-1"], "cash must be positive"),
        (["backtest", "--strategy", "rsi", "--data", str(HOURS), "--plot", "chart.jpg"], "png or .html"),
        (["backtest", "--strategy", "rsi", "--data", str(DATA / "SOURCES.md")], "must start with the header"),
        (["replay", "1", "BTC/USDT", "--data", str(DATA / "binance_BTC-USDT_1d.csv")], "holds 1d candles but"),
        (["replay", "1", "BTC/USDT", "--data", str(HOURS), "--from", "yesterday"], "--from takes"),
        (["replay", "1", "ETH/USDT", "--data", str(HOURS), "--to", "2021-01-01"], "holds BTC/USDT"),
        (["report", "2"], "no portfolio with id 2"),
    ],
)
def test_bad_report_input_exits_2_and_writes_nothing(replayed, capsys, args, message):
    before = file_state(__import__("pathlib").Path(replayed))
    result = run_inprocess(capsys, "--db", replayed, *args)
    assert result.code == 2 and len(result.error_lines) == 1 and message in result.stderr, result.stderr
    assert file_state(__import__("pathlib").Path(replayed)) == before


@pytest.mark.skipif(shutil.which("unshare") is None, reason="needs unshare(1) to cut the network")
def test_the_demo_runs_offline_and_writes_an_equity_curve(tmp_path):
    no_network = ["unshare", "--net"]
    if subprocess.run([*no_network, "true"], capture_output=True).returncode != 0:
        pytest.skip("this machine does not allow a process without network (unshare --net)")
    completed = subprocess.run(
        [*no_network, str(VENV_BIN / "papertrade"), "demo", "--dir", str(tmp_path / "demo")],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert completed.returncode == 0, completed.stderr
    out = completed.stdout
    assert "Return [%]" in out and "# Trades" in out
    png = tmp_path / "demo" / "equity.png"
    assert f"Equity curve: {png}" in out
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "demo" / "equity.html").exists()
