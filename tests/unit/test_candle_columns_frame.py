"""A candle file's DataFrame is built once and shared by every backtest of it (an optimisation
runs thousands): what one strategy does to the frame it was given never reaches another's."""

import numpy as np

from papertrade.adapters.csv_candles import load_columns
from tests.support.paths import DATA


def test_each_backtest_s_frame_is_its_own_though_built_once():
    candles = load_columns(DATA / "binance_BTC-USDT_1d.csv")
    first = candles.frame()
    assert np.shares_memory(first["high"].to_numpy(), candles.frame()["high"].to_numpy())  # built once
    closes = first["close"].to_numpy().copy()
    first["close"] = 0.0
    first.loc[first.index[3], "open"] = -1.0
    first["signal"] = 1
    first.iloc[0, 1] = 5.0
    second = candles.frame()
    assert second is not first and list(second.columns) == ["ts", "open", "high", "low", "close", "volume"]
    np.testing.assert_array_equal(second["close"].to_numpy(), closes)
    np.testing.assert_array_equal(second["open"].to_numpy(), candles.floats["open"])
    assert str(second.index.dtype) == "datetime64[ns, UTC]" and second.index.name == "time"
    cut = candles.between(int(candles.ts[10]), None).frame()  # cut columns build a frame of their own
    assert len(cut) == len(candles) - 10 and cut.index[0] == second.index[10]
