"""Indicators evaluated on windows of closes.

Each function takes a 2-D array whose rows are windows (oldest first) and returns the indicator
at the last column of every row. A live tick passes one row, a backtest every window of the
history at once; both run the same element-wise float operations in the same order, so their
results are bit-identical.
"""

import numpy as np


def wilder_rsi(windows: np.ndarray, period: int) -> np.ndarray:
    """Wilder's RSI of the last close of each window, computed as TA-Lib's TA_RSI does.

    The averages are seeded with the simple mean of the first `period` gains and losses in the
    window, then smoothed as avg = (avg * (period - 1) + value) / period. A window of n closes
    needs n > period. Where gains and losses are both (nearly) zero, the RSI is 0, as in TA-Lib.
    """
    count, length = windows.shape
    if length <= period:
        raise ValueError(f"RSI({period}) needs more than {period} closes, got {length}")
    gain = np.zeros(count)
    loss = np.zeros(count)
    for k in range(1, period + 1):
        _accumulate(windows[:, k] - windows[:, k - 1], gain, loss)
    gain /= period
    loss /= period
    for k in range(period + 1, length):
        gain *= period - 1
        loss *= period - 1
        _accumulate(windows[:, k] - windows[:, k - 1], gain, loss)
        gain /= period
        loss /= period
    total = gain + loss
    nonzero = ~((total > -1e-8) & (total < 1e-8))
    rsi = np.zeros(count)
    np.divide(gain, total, out=rsi, where=nonzero)
    rsi *= 100.0
    return rsi


def _accumulate(change: np.ndarray, gain: np.ndarray, loss: np.ndarray) -> None:
    gain += np.where(change < 0, 0.0, change)
    loss -= np.where(change < 0, change, 0.0)


def simple_mean(windows: np.ndarray, length: int, end_offset: int = 0) -> np.ndarray:
    """Mean of `length` closes ending `end_offset` columns before the last, summed in order."""
    stop = windows.shape[1] - end_offset
    total = windows[:, stop - length].copy()
    for k in range(stop - length + 1, stop):
        total += windows[:, k]
    return total / length
