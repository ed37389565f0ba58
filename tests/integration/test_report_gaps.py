"""A paper portfolio's statistics when cron did not run for weeks: the equity is valued on every
day the market traded (open positions marked at the candles the next tick's catch-up stored),
never only on the days a tick ran, and the days the market did not trade (a stock's weekends)
stay out; so every statistic equals backtesting.py's over the same candles and trades."""

import json
from decimal import Decimal

import pandas as pd
import pytest

from tests.support.cli import run_captured
from tests.support.paths import DATA

IBM = DATA / "quandl-wiki_IBM_1d.csv"
#: Three stretches of daily ticks with two cron outages between them, each outage with the
#: position open (the strategy buys on Mondays, sells on Thursdays), the last ending flat.
RUNS = [("2012-01-03", "2012-02-07"), ("2012-03-13", "2012-04-03"), ("2012-06-19", "2012-07-06")]
COMPARED = (
    "Start", "End", "Duration", "Exposure Time [%]", "Equity Final [$]", "Equity Peak [$]", "Return [%]",
    "Return (Ann.) [%]", "Volatility (Ann.) [%]", "CAGR [%]", "Sharpe Ratio", "Sortino Ratio", "Calmar Ratio",
    "Max. Drawdown [%]", "Avg. Drawdown [%]", "Max. Drawdown Duration", "Avg. Drawdown Duration", "# Trades",
    "Win Rate [%]", "Best Trade [%]", "Worst Trade [%]", "Avg. Trade [%]", "Max. Trade Duration", "Profit Factor",
    "Expectancy [%]", "SQN",
)  # fmt: skip


@pytest.fixture(scope="module")
def gappy(tmp_path_factory) -> tuple[str, dict]:
    db = str(tmp_path_factory.mktemp("gaps") / "ledger.db")

    def cli(*args) -> str:
        result = run_captured("--db", db, *args)
        assert result.code == 0, result.stderr
        return result.stdout

    cli("create-portfolio", "gappy", "10000", "--strategy", "tests.support.strategies:WeekdayTrader",
        "--timeframe", "1d", "--quote", "USD", "--stake-fraction", "0.5",
        "--fee-rate", "0")  # fmt: skip
    for start, end in RUNS:
        cli("replay", "1", "IBM/USD", "--data", str(IBM), "--from", start, "--to", end)
    return db, json.loads(cli("report", "1", "--json"))


@pytest.fixture
def gappy_report(gappy) -> dict:
    return gappy[1]


def backtesting_py_stats(report: dict):
    """backtesting.py 0.6.6 over every candle from the report's first to its last, repeating the
    paper trades (same candles and sizes, filled at the close). Without fees: backtesting.py
    records a bar's equity before the fill at its close, so a fee would show one bar late."""
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    frame = pd.read_csv(IBM)
    frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True)
    frame.columns = ["Open", "High", "Low", "Close", "Volume"]
    start, end = (pd.Timestamp(report["stats"][name]) for name in ("Start", "End"))
    buys = {t["candle_ts"]: Decimal(t["quantity"]) for t in report["trades"] if t["side"] == "BUY"}
    sells = {t["candle_ts"] for t in report["trades"] if t["side"] == "SELL"}

    class Repeat(Strategy):
        def init(self):
            pass

        def next(self):
            now = int(self.data.index[-1].timestamp() * 1000)
            if now in buys:
                self.buy(size=int(buys[now] * 10**8))  # in FractionalBacktest's units of 1e-8
            elif now in sells:
                self.position.close()

    test = FractionalBacktest(frame.loc[start:end], Repeat, cash=10_000, commission=0, trade_on_close=True,
                              fractional_unit=1e-8)  # fmt: skip
    return test.run()


def test_the_paper_run_has_gaps_the_market_did_not_have(gappy_report):
    ticked = set(gappy_report["equity_curve"]["candle_ts"])
    days = pd.read_csv(IBM).timestamp
    start, end = min(ticked), max(ticked)
    assert set(days[(days >= start) & (days <= end)]) == ticked  # every trading day, ticked or not
    assert all(pd.Timestamp(ts, unit="ms").day_of_week < 5 for ts in ticked)  # and never a weekend


def test_every_statistic_equals_backtesting_py_s_over_the_same_candles(gappy_report):
    ours, theirs = gappy_report["stats"], backtesting_py_stats(gappy_report)
    assert len(theirs._trades) == ours["# Trades"] >= 8
    for name in COMPARED:
        expected = theirs[name]
        if isinstance(expected, pd.Timestamp):
            assert pd.Timestamp(ours[name]) == expected, name
        elif isinstance(expected, pd.Timedelta):
            assert pd.Timedelta(ours[name]) == expected, name
        else:
            assert float(ours[name]) == pytest.approx(float(expected), rel=1e-6, abs=1e-9), name


def test_the_dashboard_overview_shows_the_reports_drawdown(gappy):
    from papertrade.bootstrap import open_ledger
    from papertrade.settings import Settings
    from papertrade.views.dashboard import overview_document

    db, report = gappy
    ledger = open_ledger(Settings(database_url=db))
    try:
        (row,) = overview_document(ledger, report["equity_curve"]["candle_ts"][-1])["portfolios"]
    finally:
        ledger.dispose()
    assert row["max_drawdown_pct"] == pytest.approx(report["stats"]["Max. Drawdown [%]"])
    assert row["return_pct"] == pytest.approx(report["stats"]["Return [%]"])
