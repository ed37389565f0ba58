"""Backtests and replays trade on a market's limits: `--amount-step` and `--min-notional` for a
file, the market cached for the exchange and symbol for stored candles. A strategy that sells
half its position on every candle must stop at the minimum order, as a live tick does."""

import json
from decimal import Decimal

import pytest

from papertrade.adapters.csv_candles import CandleFile
from papertrade.domain.fills import Market
from tests.support.cli import run_inprocess
from tests.support.databases import new_sqlite_ledger, sqlite_url
from tests.support.paths import DATA

D = Decimal
DAYS = DATA / "binance_BTC-USDT_1d.csv"
HALF_SELLER = ("--strategy", "tests.support.strategies:HalfSeller")
WINTER = ("--from", "2020-01-01", "--to", "2020-02-29")  # 60 daily candles: a buy, then a sell a day


@pytest.fixture
def ledger_url(tmp_path, monkeypatch):
    path = tmp_path / "ledger.db"
    new_sqlite_ledger(path)
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", sqlite_url(path))
    return sqlite_url(path)


def backtest_trades(capsys, *args: str) -> list[dict]:
    result = run_inprocess(capsys, "backtest", *HALF_SELLER, "--cash", "1000", *WINTER, *args, "--json")
    assert result.code == 0, result.stderr
    return json.loads(result.stdout)["trades"]


def sells(trades: list[dict]) -> list[dict]:
    return [trade for trade in trades if trade["side"] == "SELL"]


def test_by_default_a_file_has_no_minimum_and_the_halving_goes_down_to_dust(capsys):
    halved = sells(backtest_trades(capsys, "--data", str(DAYS)))
    assert len(halved) > 20 and D(halved[-1]["notional"]) < D("0.01")


def test_a_minimum_notional_stops_the_halving_at_the_minimum(capsys):
    halved = sells(backtest_trades(capsys, "--data", str(DAYS), "--min-notional", "5"))
    assert all(D(trade["notional"]) >= 5 for trade in halved)
    last = halved[-1]
    assert D(last["notional"]) < 10  # the next half would have been under 5: no dust sold
    assert len(halved) == 8  # 1000 USDT of a rising BTC halved: ~500, 250, ... 8.7, then nothing


def test_quantities_keep_to_the_amount_step(capsys):
    trades = backtest_trades(capsys, "--data", str(DAYS), "--amount-step", "0.001")
    assert trades and all(D(trade["quantity"]) % D("0.001") == 0 for trade in trades)
    assert D(trades[0]["quantity"]) < D(1000) / D(trades[0]["price"])  # not a single 1e-8 step more


def test_a_replay_of_the_file_trades_on_the_same_limits_as_the_backtest(capsys, ledger_url):
    limits = ("--amount-step", "0.0001", "--min-notional", "5")
    expected = backtest_trades(capsys, "--data", str(DAYS), *limits)
    assert run_inprocess(capsys, "create-portfolio", "halves", "1000", *HALF_SELLER, "--timeframe", "1d").code == 0
    replayed = run_inprocess(capsys, "replay", "1", "BTC/USDT", "--data", str(DAYS), *WINTER, *limits)
    assert replayed.code == 0, replayed.stderr
    assert trade_lines(json.loads(run_inprocess(capsys, "trades", "1", "--json").stdout)) == trade_lines(expected)


def trade_lines(trades: list[dict]) -> list[tuple]:
    return [(t["candle_ts"], t["side"], D(t["quantity"]), D(t["price"]), D(t["fee"])) for t in trades]


def test_stored_candles_trade_on_the_market_cached_for_their_exchange(capsys, ledger_url):
    from papertrade.bootstrap import open_ledger
    from papertrade.settings import Settings

    ledger = open_ledger(Settings(database_url=ledger_url))
    with ledger.unit_of_work() as uow:
        uow.candles.upsert("binance", "BTC/USDT", "1d", CandleFile.load(DAYS).bars[:60])
        uow.markets.put("binance", Market("BTC/USDT", "BTC", "USDT", D("0.001"), D(0), D(5)), 0)
        uow.commit()
    ledger.dispose()
    store = ("--exchange", "binance", "--symbol", "BTC/USDT", "--timeframe", "1d")
    from_store = backtest_trades(capsys, *store)
    assert trade_lines(from_store) == trade_lines(
        backtest_trades(capsys, "--data", str(DAYS), "--amount-step", "0.001", "--min-notional", "5")
    )
    assert all(D(trade["quantity"]) % D("0.001") == 0 for trade in from_store)
    assert run_inprocess(capsys, "create-portfolio", "halves", "1000", *HALF_SELLER, "--timeframe", "1d").code == 0
    assert run_inprocess(capsys, "replay", "1", "BTC/USDT", "--exchange", "binance").code == 0
    assert trade_lines(json.loads(run_inprocess(capsys, "trades", "1", "--json").stdout)) == trade_lines(from_store)
    overridden = backtest_trades(capsys, *store, "--amount-step", "0.00000001", "--min-notional", "0")
    assert len(sells(overridden)) > len(sells(from_store))  # an option given wins over the cached market


@pytest.mark.parametrize(
    ("option", "value", "message"),
    [
        ("--amount-step", "0", "amount step must be above 0, not 0"),
        ("--amount-step", "abc", "amount step must be a number"),
        ("--min-notional", "-5", "minimum notional must be 0 or more, not -5"),
    ],
)
def test_bad_limits_are_bad_input(capsys, option, value, message):
    result = run_inprocess(capsys, "backtest", *HALF_SELLER, "--data", str(DAYS), option, value)
    assert result.code == 2 and message in result.stderr and len(result.error_lines) == 1
