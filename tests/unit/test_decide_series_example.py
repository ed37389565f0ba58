"""The README's worked `decide_series` example runs as printed and answers as its `decide` does."""

import re
from decimal import Decimal

from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.fills import FillModel
from papertrade.services.backtest import backtest
from tests.support.paths import DATA, REPO


def readme_example() -> type:
    """The class defined by the README's code block that has a `decide_series`."""
    blocks = re.findall(r"```python\n(.*?)```", (REPO / "README.md").read_text(), re.S)
    (code,) = [block for block in blocks if "def decide_series" in block]
    namespace: dict = {"__name__": "readme_example"}
    exec(compile(code, "README.md", "exec"), namespace)
    return namespace["SmaCross"]


def test_the_readme_decide_series_example_trades_as_its_decide_does():
    vectorised = readme_example()
    candle_by_candle = type("CandleByCandle", (vectorised,), {"decide_series": lambda self, candles: None})
    candles = load_columns(DATA / "binance_BTC-USDT_1d.csv")
    fills = FillModel(Decimal("0.001"), Decimal(0), Decimal(1))
    cash = Decimal(10_000)
    runs = [backtest(candles, cls(), fills, cash, "BTC/USDT").fills for cls in (vectorised, candle_by_candle)]
    assert len(runs[0]) > 20
    assert runs[0] == runs[1]
