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

    Dividing by the period is done as multiplying by 1/period: the TA-Lib binaries on PyPI are
    compiled that way, and only then are the results bit-identical to theirs (checked by
    tests/unit/test_indicators.py against every window of the shared data).
    """
    count, length = windows.shape
    if length <= period:
        raise ValueError(f"RSI({period}) needs more than {period} closes, got {length}")
    inverse = 1.0 / period
    gain = np.zeros(count)
    loss = np.zeros(count)
    for k in range(1, period + 1):
        _accumulate(windows[:, k] - windows[:, k - 1], gain, loss)
    gain *= inverse
    loss *= inverse
    for k in range(period + 1, length):
        gain *= period - 1
        loss *= period - 1
        _accumulate(windows[:, k] - windows[:, k - 1], gain, loss)
        gain *= inverse
        loss *= inverse
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


def wilder_rsi_last(closes, period: int) -> float:
    """`wilder_rsi` of a single window, in plain Python floats.

    The same IEEE operations in the same order as the vectorized version, so the results are
    bit-identical; a live tick uses this one because numpy's per-call overhead dominates when
    there is a single window.
    """
    closes = [float(c) for c in closes]
    if len(closes) <= period:
        raise ValueError(f"RSI({period}) needs more than {period} closes, got {len(closes)}")
    inverse = 1.0 / period
    gain = loss = 0.0
    for k in range(1, period + 1):
        change = closes[k] - closes[k - 1]
        gain += 0.0 if change < 0 else change
        loss -= change if change < 0 else 0.0
    gain *= inverse
    loss *= inverse
    for k in range(period + 1, len(closes)):
        gain *= period - 1
        loss *= period - 1
        change = closes[k] - closes[k - 1]
        gain += 0.0 if change < 0 else change
        loss -= change if change < 0 else 0.0
        gain *= inverse
        loss *= inverse
    total = gain + loss
    if -1e-8 < total < 1e-8:
        return 0.0
    return gain / total * 100.0


def simple_mean_last(closes, length: int, end_offset: int = 0) -> float:
    """`simple_mean` of a single window, in plain Python floats (bit-identical)."""
    stop = len(closes) - end_offset
    total = float(closes[stop - length])
    for k in range(stop - length + 1, stop):
        total += float(closes[k])
    return total / length


def wilder_rsi_rolling(closes: np.ndarray, period: int, length: int, block: int = 16384) -> np.ndarray:
    """`wilder_rsi` of every window of `length` consecutive closes, for a whole series at once.

    Element i of the result is the RSI of closes[i - length + 1 : i + 1] (NaN before that). The
    arithmetic is `wilder_rsi`'s, in the same order, so the results are bit-identical; gains and
    losses are split once for the series, and the windows are worked through in blocks small
    enough to stay in the processor's cache.
    """
    closes = np.asarray(closes, dtype=float)
    count = len(closes) - length + 1
    result = np.full(len(closes), np.nan)
    if length <= period:
        raise ValueError(f"RSI({period}) needs more than {period} closes, got {length}")
    if count <= 0:
        return result
    change = closes[1:] - closes[:-1]
    up = np.where(change < 0, 0.0, change)
    down = np.where(change < 0, -change, 0.0)  # loss -= change is loss += -change, exactly
    inverse = 1.0 / period
    for start in range(0, count, block):
        size = min(block, count - start)
        gain = np.zeros(size)
        loss = np.zeros(size)
        for k in range(1, period + 1):
            gain += up[start + k - 1 : start + k - 1 + size]
            loss += down[start + k - 1 : start + k - 1 + size]
        gain *= inverse
        loss *= inverse
        for k in range(period + 1, length):
            gain *= period - 1
            loss *= period - 1
            gain += up[start + k - 1 : start + k - 1 + size]
            loss += down[start + k - 1 : start + k - 1 + size]
            gain *= inverse
            loss *= inverse
        total = gain + loss
        nonzero = ~((total > -1e-8) & (total < 1e-8))
        rsi = np.zeros(size)
        np.divide(gain, total, out=rsi, where=nonzero)
        rsi *= 100.0
        result[start + length - 1 : start + length - 1 + size] = rsi
    return result
