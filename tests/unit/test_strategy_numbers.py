"""Prices and sizes as strategies write them: numpy scalars from the candles, Decimals, ints,
floats and numeric strings, taken exactly from the digits they print (README, "Orders")."""

import textwrap
from decimal import Decimal

import numpy as np
import pytest

from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.fills import FillModel
from papertrade.domain.orders import Entry, Exits, Level, OrderKind, Size, price
from papertrade.domain.signals import Decision
from papertrade.errors import InputError
from papertrade.services.backtest import backtest
from papertrade.strategies import base
from tests.support.paths import DATA

D = Decimal

#: Every kind of number a strategy hands over, and the Decimal it must become.
PRICES = [
    (np.float64(30270.45), D("30270.45")),
    (np.float32(0.1), D("0.1")),  # its own shortest repr, not the float64 it widens to
    (np.float16(0.5), D("0.5")),
    (np.int64(30270), D(30270)),
    (np.int32(7), D(7)),
    (D("0.25"), D("0.25")),
    (3, D(3)),
    (0.1, D("0.1")),  # never Decimal(0.1)'s binary 0.1000000000000000055511151231257827...
    ("0.3", D("0.3")),
    (" 12.5 ", D("12.5")),
]
FRACTIONS = [
    (np.float64(0.98), D("0.98")),
    (np.float32(0.03), D("0.03")),
    (np.float16(0.5), D("0.5")),
    (D("0.25"), D("0.25")),
    (0.1, D("0.1")),
    ("0.3", D("0.3")),
]


@pytest.mark.parametrize(("given", "expected"), PRICES, ids=[repr(n) for n, _ in PRICES])
def test_every_kind_of_number_is_taken_exactly_as_a_price_or_size(given, expected):
    assert Decision.buy(limit=given).entry.price == expected
    assert Decision.buy(stop=given).entry.price == expected
    assert Decision.buy(stop_loss=price(given)).entry.exits.stop_loss == Level(expected, absolute=True)
    assert price(given).value == expected
    assert Size.quote(given).value == expected and Size.base(given).value == expected


@pytest.mark.parametrize(("given", "expected"), FRACTIONS, ids=[repr(n) for n, _ in FRACTIONS])
def test_every_kind_of_number_is_taken_exactly_as_a_distance_portion_or_cash_fraction(given, expected):
    exits = Decision.buy(stop_loss=given, take_profit=given, trailing_stop=given).entry.exits
    assert (exits.stop_loss.value, exits.take_profit.value, exits.trailing_stop) == (expected,) * 3
    assert Level.of(given).value == expected
    assert Size.cash(given).value == expected
    assert Decision.sell(portion=given).portion == expected


def test_a_float_is_the_number_it_prints_whatever_its_width():
    assert Decision.buy(limit=np.float64(0.1) + np.float64(0.2)).entry.price == D("0.30000000000000004")
    assert Decision.buy(limit=round(np.float64(30270.456) * 0.98, 2)).entry.price == D("29665.05")
    assert Size.base(np.float32(0.3)).value == D("0.3")


def test_values_built_directly_are_converted_too():
    assert Exits(0.03, np.float64(0.06), np.float32(0.04)) == Exits(Level(D("0.03")), Level(D("0.06")), D("0.04"))
    assert Size("quote", np.int64(100)).value == D(100)
    assert Entry(OrderKind.LIMIT, np.float64(95.5), expires=np.int64(6)) == Entry(OrderKind.LIMIT, D("95.5"), expires=6)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (True, "entry price must be a number, not the bool True"),
        (np.True_, "entry price must be a number, not the bool True"),
        (float("nan"), "entry price must be a finite number, not nan"),
        (np.float64("inf"), "entry price must be a finite number, not inf"),
        ("-inf", "entry price must be a finite number, not '-inf'"),
        ("abc", "entry price must be a number, not 'abc'"),
        ([95], "entry price must be a number, not [95]"),
    ],
)
def test_flags_nan_infinities_and_words_are_refused_with_the_reason(given, message):
    with pytest.raises(InputError, match=f"^{message.replace('[', '.').replace(']', '.')}$"):
        Decision.buy(limit=given)


def test_an_expiry_is_a_whole_number_of_candles_numpy_included():
    assert Decision.buy(limit=1, expires=np.int64(2)).entry.expires == 2
    for wrong in (True, 1.5, 0, np.float64(2)):
        with pytest.raises(InputError, match="whole number of candles"):
            Decision.buy(limit=1, expires=wrong)


def _docstring_strategy() -> type[base.Strategy]:
    """The second example of `papertrade.strategies.base`'s docstring, run as it is written."""
    doc = base.__doc__
    start = doc.index("        def decide(self, candles, position):", doc.index("A decision can also size"))
    body = textwrap.dedent(doc[start : doc.index("`position.orders`", start)])
    namespace = {"Decision": Decision, "Size": Size, "price": price}
    source = "class DocExample(Strategy):\n    name = 'doc-example'\n" + textwrap.indent(body, "    ")
    exec(compile(source, "strategies/base.py docstring", "exec"), {**namespace, "Strategy": base.Strategy}, namespace)
    return namespace["DocExample"]


def test_the_docstring_example_of_the_strategy_api_trades_on_real_candles():
    """`limit=round(close * 0.98, 2)` with close a numpy float from the DataFrame: its limit
    entries rest, fill, get their exits, and it takes half off, as the docstring says."""
    candles = load_columns(DATA / "binance_BTC-USDT_1d.csv")
    fills = FillModel(D("0.001"), D(0), D(1))
    performance = backtest(candles, _docstring_strategy()(), fills, D(10_000), "BTC/USDT", "USDT")
    kinds = {row.kind for row in performance.fills}
    assert {"limit", "signal"} <= kinds and kinds & {"stop-loss", "take-profit", "trailing-stop"}
    assert any(row.side == "SELL" and row.kind == "signal" for row in performance.fills)  # half taken off
