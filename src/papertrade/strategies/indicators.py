"""Indicators evaluated on windows of closes, in two forms with bit-identical results.

A live tick evaluates one window (`*_last`, plain Python floats: numpy's per-call overhead would
dominate); a backtest evaluates every window of a history at once (numpy). Both forms run the
same IEEE operations in the same order, so a backtest decides exactly as ticks would.

The RSI is Wilder's, computed as TA-Lib's TA_RSI does: the averages are seeded with the simple
mean of the first `period` gains and losses in the window, then smoothed as
avg = (avg * (period - 1) + value) / period. Dividing by the period is done as multiplying by
1/period, because the TA-Lib binaries on PyPI are compiled that way and only then are the
results bit-identical to theirs (tests/unit/test_indicators.py checks every window of the
shared data). Where gains and losses are both (nearly) zero, the RSI is 0, as in TA-Lib.
"""

import numpy as np


def wilder_rsi_last(closes, period: int) -> float:
    """Wilder's RSI of the last close of one window of closes (more than `period` of them)."""
    closes = closes.tolist() if isinstance(closes, np.ndarray) else [float(c) for c in closes]
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


def wilder_rsi_rolling(closes: np.ndarray, period: int, length: int, block: int = 16384) -> np.ndarray:
    """Wilder's RSI of every window of `length` consecutive closes, for a whole series at once.

    Element i of the result is the RSI of closes[i - length + 1 : i + 1] (NaN before that),
    bit-identical to `wilder_rsi_last` of that window. Gains and losses are split once for the
    series, and the windows are worked through in blocks small enough to stay in the cache.
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


def simple_mean(windows: np.ndarray, length: int, end_offset: int = 0) -> np.ndarray:
    """Mean of the `length` closes ending `end_offset` columns before the last of each window
    (the rows of a 2-D array), summed in order."""
    stop = windows.shape[1] - end_offset
    total = windows[:, stop - length].copy()
    for k in range(stop - length + 1, stop):
        total += windows[:, k]
    return total / length


def simple_mean_last(closes, length: int, end_offset: int = 0) -> float:
    """`simple_mean` of one window, in plain Python floats (bit-identical)."""
    stop = len(closes) - end_offset
    total = float(closes[stop - length])
    for k in range(stop - length + 1, stop):
        total += float(closes[k])
    return total / length
