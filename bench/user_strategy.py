"""A trader's own strategy, written the ways the README teaches, for `make bench`.

One SMA cross (fast 10, slow 30 closes; BUY when the fast average goes above the slow one while
flat, SELL when it goes back to or under it while holding) three times: `decide` on the
DataFrame-like view, `decide` on the numpy columns, and the README's `decide_series` twin over
the whole file. `bench/run.py` runs backtesting.py's `next()` twin of the same rule beside them.
"""

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from papertrade.strategies import Signal, SignalSeries, Strategy

FAST, SLOW = 10, 30


class FrameSmaCross(Strategy):
    """The SMA cross on the DataFrame-like view (the default): `.iloc` slices and `.mean()`."""

    name = "user-sma-cross-frame"
    warmup = SLOW + 1

    def decide(self, candles, position):
        close = candles["close"]
        above = close.iloc[-FAST:].mean() > close.iloc[-SLOW:].mean()
        was_above = close.iloc[-FAST - 1 : -1].mean() > close.iloc[-SLOW - 1 : -1].mean()
        if above and not was_above and not position.is_open:
            return Signal.BUY
        if was_above and not above and position.is_open:
            return Signal.SELL
        return Signal.HOLD


class ArraysSmaCross(Strategy):
    """The SMA cross on the numpy columns (`candles_as = "arrays"`)."""

    name = "user-sma-cross-arrays"
    warmup = SLOW + 1
    candles_as = "arrays"

    def decide(self, candles, position):
        close = candles.close
        above = close[-FAST:].mean() > close[-SLOW:].mean()
        was_above = close[-FAST - 1 : -1].mean() > close[-SLOW - 1 : -1].mean()
        if above and not was_above and not position.is_open:
            return Signal.BUY
        if was_above and not above and position.is_open:
            return Signal.SELL
        return Signal.HOLD


def sma(closes, length: int):
    """The mean of the `length` closes ending at each candle (NaN before), exactly as
    `closes[i - length + 1 : i + 1].mean()` computes it."""
    means = np.full(len(closes), np.nan)
    if len(closes) >= length:
        means[length - 1 :] = sliding_window_view(closes, length).mean(axis=1)
    return means


class SeriesSmaCross(ArraysSmaCross):
    """The same rule for every candle at once: backtests call `decide_series`, ticks `decide`."""

    name = "user-sma-cross-series"

    def decide_series(self, candles):
        close = candles["close"].to_numpy()
        above = sma(close, FAST) > sma(close, SLOW)
        was_above = np.r_[False, above[:-1]]
        return SignalSeries(buy=above & ~was_above, sell=was_above & ~above, indicators={})
