"""`backtest --from/--to` over a candle file: the range chosen, checked before anything runs."""

import json

from tests.support.cli import run_inprocess
from tests.support.paths import DATA

BTC = str(DATA / "binance_BTC-USDT_1h.csv")


def test_a_backtest_runs_over_the_range_it_is_given(capsys):
    result = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", BTC, "--from", "2021-03-01", "--to",
                           "2021-03-05", "--json")  # fmt: skip
    assert result.code == 0, result.stderr
    stats = json.loads(result.stdout)["stats"]
    assert (stats["Start"], stats["End"]) == ("2021-03-01T00:00:00Z", "2021-03-05T00:00:00Z")


def test_from_after_to_is_bad_input(capsys):
    result = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", BTC, "--from", "2021-03-05", "--to",
                           "2021-03-01")  # fmt: skip
    assert result.code == 2 and result.error_lines == ["papertrade: error: --from 2021-03-05 is after --to 2021-03-01"]


def test_a_range_outside_the_file_is_bad_input_that_says_what_the_file_holds(capsys):
    result = run_inprocess(capsys, "backtest", "--strategy", "rsi", "--data", BTC, "--from", "2030-01-01")
    assert result.code == 2 and len(result.error_lines) == 1
    assert (
        "has no candles from 2030-01-01" in result.stderr and "2020-12-01 00:00Z to 2021-07-17 20:00Z" in result.stderr
    )
