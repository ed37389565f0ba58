"""A strategy that raises: one line naming the candle and the strategy's own file:line, exit 1,
the traceback only with PAPERTRADE_DEBUG=1; in a tick, a replay and a backtest alike."""

import sys
import textwrap

import pytest

from papertrade.domain.timeframes import timestamp
from tests.support.cli import run_inprocess
from tests.support.databases import new_sqlite_ledger
from tests.support.paths import REPO

ROWS = (REPO / "tests/data/ohlcv/binance_BTC-USDT_1h.csv").read_text().splitlines()[:41]
#: The strategy divides by the volume of the candle before the latest: zero on the 6th candle.
DIP = textwrap.dedent(
    """
    from papertrade.domain.signals import Signal
    from papertrade.strategies import Strategy


    class Dip(Strategy):
        name = "dip"

        @property
        def warmup(self):
            return 3

        def decide(self, candles, position):
            volume = candles["volume"].iloc[-2]
            if candles["ts"].iloc[-1] == FAILING_TS:
                volume = 0
            return Signal.BUY if float(candles["close"].iloc[-1]) / volume > 1e9 else Signal.HOLD  # decide


    class SeriesDip(Dip):
        name = "series-dip"

        def decide_series(self, candles):
            return candles["volume"].iloc[len(candles)]  # decide_series
    """
)
FAILING = 5
FAILING_TS = int(ROWS[1 + FAILING].split(",")[0])
LINE, SERIES_LINE = (next(n for n, text in enumerate(DIP.splitlines(), 1) if text.endswith(f"# {name}"))
                     for name in ("decide", "decide_series"))  # fmt: skip


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A project directory holding `mystrats/dip.py` and a candle file, run from."""
    (tmp_path / "mystrats").mkdir()
    (tmp_path / "mystrats" / "__init__.py").write_text("")
    (tmp_path / "mystrats" / "dip.py").write_text(DIP.replace("FAILING_TS", str(FAILING_TS)))
    (tmp_path / "binance_BTC-USDT_1h.csv").write_text("\n".join(ROWS) + "\n")
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(tmp_path))
    yield tmp_path
    for name in [name for name in sys.modules if name.partition(".")[0] == "mystrats"]:
        del sys.modules[name]  # the next test's mystrats is another directory's


def expected_line(name="dip") -> str:
    return (
        f"papertrade: error: strategy {name!r} failed on {timestamp(FAILING_TS)} at mystrats/dip.py:{LINE}: "
        "ZeroDivisionError: float division by zero"
    )


def test_a_backtest_names_the_candle_and_the_strategy_s_line(here, capsys):
    result = run_inprocess(capsys, "backtest", "--strategy", "mystrats.dip:Dip", "--data", "binance_BTC-USDT_1h.csv")
    assert (result.code, result.error_lines, result.stdout) == (1, [expected_line()], "")


def test_a_vectorized_backtest_names_its_candles_and_the_strategy_s_line(here, capsys):
    args = ("backtest", "--strategy", "mystrats.dip:SeriesDip", "--data", "binance_BTC-USDT_1h.csv")
    result = run_inprocess(capsys, *args)
    first, last = (timestamp(int(row.split(",")[0])) for row in (ROWS[1], ROWS[-1]))
    assert result.code == 1
    assert result.error_lines == [
        f"papertrade: error: strategy 'series-dip' failed on the candles {first} to {last} (decide_series) "
        f"at mystrats/dip.py:{SERIES_LINE}: IndexError: single positional indexer is out-of-bounds"
    ]


def test_a_replay_names_the_candle_and_the_strategy_s_line_and_keeps_the_candles_before(here, capsys):
    new_sqlite_ledger(here / "ledger.db")
    db = ["--db", str(here / "ledger.db")]
    run_inprocess(capsys, *db, "create-portfolio", "dip", "1000", "--strategy", "mystrats.dip:Dip")
    result = run_inprocess(capsys, *db, "replay", "1", "BTC/USDT", "--data", "binance_BTC-USDT_1h.csv")
    assert (result.code, result.error_lines[-1]) == (1, expected_line())
    ticks = run_inprocess(capsys, *db, "ticks", "1", "--json", "--last", "0")
    assert ticks.stdout.count('"candle_ts"') == FAILING


def test_the_traceback_shows_only_with_papertrade_debug(here, capsys, monkeypatch):
    args = ("backtest", "--strategy", "mystrats.dip:Dip", "--data", "binance_BTC-USDT_1h.csv")
    assert "Traceback" not in run_inprocess(capsys, *args).stderr
    monkeypatch.setenv("PAPERTRADE_DEBUG", "1")
    debugged = run_inprocess(capsys, *args)
    assert debugged.code == 1 and "Traceback" in debugged.stderr and f'dip.py", line {LINE}' in debugged.stderr
    assert debugged.error_lines[-1] == expected_line()
