"""Protective levels on the chart: each drawn over the candles it guards, even the newest."""

from decimal import Decimal

import numpy as np

from papertrade.domain.orders import OrderKind, RestingOrder, Side
from papertrade.views.chart_data import Candles, ChartData
from papertrade.views.charts import figure

HOUR = 3_600_000


def test_a_level_placed_on_the_last_candle_reaches_the_charts_right_edge():
    ts = np.arange(5) * HOUR
    closes = np.array([100.0, 101.0, 102.0, 101.0, 100.0])
    stop = RestingOrder("BTC/USDT", OrderKind.STOP_LOSS, Side.SELL, Decimal("95"), int(ts[-1]))
    take = RestingOrder("BTC/USDT", OrderKind.TAKE_PROFIT, Side.SELL, Decimal("110"), int(ts[1]))
    chart = ChartData("t", "USDT", 1000.0, ts, np.full(5, 1000.0), {"BTC/USDT": Candles.of_closes(ts, closes)},
                      timeframe_ms=HOUR, orders=[stop, take])  # fmt: skip
    levels = {trace.name.split()[0]: trace for trace in figure(chart).data if trace.name and "-" in trace.name}
    assert list(levels["stop-loss"].x) == [4 * HOUR, 5 * HOUR]  # was [4h, 4h]: a point, never drawn
    assert list(levels["take-profit"].x) == [HOUR, 5 * HOUR]


def test_merged_bars_say_so_and_how_wide_and_single_candles_say_nothing():
    from papertrade.views.charts import aggregation

    assert aggregation(np.arange(10) * 4 * HOUR, HOUR) == "each bar merges 4 candles (4h a bar) to keep the chart light"
    assert aggregation(np.arange(10) * HOUR, HOUR) is None
    ts = np.arange(3000) * HOUR
    chart = ChartData("t", "USDT", 1000.0, ts, np.full(3000, 1000.0), {"BTC/USDT": Candles.of_closes(ts, ts * 0.0 + 1)},
                      timeframe_ms=HOUR)  # fmt: skip
    notes = [a.text for a in figure(chart).layout.annotations]
    assert "each bar merges 2 candles (2h a bar) to keep the chart light" in notes
