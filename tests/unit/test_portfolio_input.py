from decimal import Decimal

import pytest

from papertrade.domain.portfolio import (
    check_currency,
    check_exchange,
    check_name,
    parse_cash,
    parse_fill_model,
    parse_symbol,
)
from papertrade.domain.timeframes import Timeframe
from papertrade.errors import InputError
from papertrade.services.portfolios import parse_new_portfolio
from papertrade.strategies.registry import parse_param_pairs


def test_accepts_a_reasonable_portfolio():
    request = parse_new_portfolio(name="  My RSI Bot ", cash="10000", params=["period=21"])
    assert request.config.name == "My RSI Bot"
    assert request.cash == Decimal(10000)
    assert request.config.strategy_params == {"period": 21, "oversold": 30.0, "overbought": 70.0}
    assert request.config.timeframe == Timeframe("1h", 3_600_000)


@pytest.mark.parametrize("cash", ["-5", "0", "0.0", "NaN", "inf", "-inf", "ten", "1,000", "1e400", "1e16", "1e-30"])
def test_refuses_bad_cash(cash):
    with pytest.raises(InputError):
        parse_cash(cash)


@pytest.mark.parametrize("name", ["", "   ", "x" * 101, "bad\nname", "tab\there"])
def test_refuses_bad_names(name):
    with pytest.raises(InputError):
        check_name(name)


@pytest.mark.parametrize(
    ("fee", "slippage", "stake"),
    [
        ("-0.001", "0", "1"),
        ("0.2", "0", "1"),
        ("0.001", "-1", "1"),
        ("0.001", "0", "0"),
        ("0.001", "0", "1.5"),
    ],
)
def test_refuses_fill_settings_out_of_range(fee, slippage, stake):
    with pytest.raises(InputError):
        parse_fill_model(fee, slippage, stake)


def test_fee_rate_bounds_are_inclusive():
    assert parse_fill_model("0", "0", "1").fee_rate == 0
    assert parse_fill_model("0.1", "0", "0.01").fee_rate == Decimal("0.1")


@pytest.mark.parametrize("timeframe", ["", "1x", "7m", "1w", "1M", "60"])
def test_refuses_unsupported_timeframes(timeframe):
    with pytest.raises(InputError, match="timeframe"):
        Timeframe.parse(timeframe)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"strategy": "nope"}, "unknown strategy"),
        ({"params": ["bogus=1"]}, "unknown parameter"),
        ({"params": ["period=abc"]}, "period"),
        ({"params": ["period=1"]}, "period"),
        ({"params": ["oversold=80"]}, "oversold must be below overbought"),
        ({"params": ["period"]}, "KEY=VALUE"),
        ({"params": ["=3"]}, "KEY=VALUE"),
        ({"params": ["period=3", "period=4"]}, "twice"),
        ({"strategy": "sma-cross", "params": ["fast=40"]}, "fast must be shorter"),
        ({"strategy": "no.such.module:Thing"}, "cannot load strategy"),
        ({"strategy": "decimal:Decimal"}, "not a papertrade Strategy"),
        ({"quote": "usdt"}, "quote currency"),
        ({"exchange": "Binance!"}, "exchange"),
    ],
)
def test_refuses_bad_portfolio_settings(kwargs, message):
    with pytest.raises(InputError, match=message):
        parse_new_portfolio(name="bot", cash="100", **kwargs)


def test_param_pairs_keep_values_verbatim():
    assert parse_param_pairs(["a=1", "b = x=y "]) == {"a": "1", "b": "x=y"}


def test_currency_and_exchange_ids():
    assert check_currency("USDT") == "USDT"
    assert check_exchange("binanceus") == "binanceus"


@pytest.mark.parametrize(
    "symbol",
    [
        "BTC",
        "BTC/",
        "/USDT",
        "BTC//USDT",
        "btc/usdt",
        "BTC/USDT:",
        "BTC/USDT:USDT:USDT",
        "ВТС/USDT",  # noqa: RUF001 (Cyrillic look-alikes on purpose)
        "A" * 300,
        "BTC/USDT'; DROP TABLE x;--",
    ],
)
def test_refuses_malformed_symbols(symbol):
    with pytest.raises(InputError, match="malformed symbol"):
        parse_symbol(symbol)


def test_a_linear_swap_is_a_symbol_of_its_quote_and_an_inverse_one_is_refused():
    assert parse_symbol("BTC/USDT:USDT") == ("BTC", "USDT")
    with pytest.raises(InputError, match="only swaps settled in their quote"):
        parse_symbol("BTC/USD:BTC")


def test_suggests_capitals_for_a_lowercase_symbol():
    with pytest.raises(InputError, match="did you mean BTC/USDT"):
        parse_symbol("btc/usdt")
    assert parse_symbol("BTC/USDT") == ("BTC", "USDT")
