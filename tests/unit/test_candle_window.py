"""The window of closed candles a strategy sees, kept across a runner's ticks."""

import numpy as np
import pytest

from papertrade.strategies.runner import CandleWindow
from tests.unit.fakes import hourly_bars

BARS = hourly_bars(list(range(100, 120)))


@pytest.mark.parametrize(("held", "added", "keep"), [(0, 17, 7), (5, 3, 7), (7, 1, 7), (3, 2, None), (4, 0, 7)])
def test_extending_keeps_the_latest_candles_in_bars_and_columns_alike(held, added, keep):
    window = CandleWindow(BARS[:held]).extended(BARS[held : held + added], keep)
    expected = BARS[: held + added][-keep:] if keep else BARS[: held + added]
    assert window.bars == expected
    arrays = window.arrays()
    assert arrays.ts.tolist() == [b.ts for b in expected]
    assert arrays.close.tolist() == [float(b.close) for b in expected]
    assert len(window.frame()) == len(expected)


def test_a_strategy_cannot_change_what_the_next_tick_sees():
    arrays = CandleWindow(BARS[:5]).arrays()
    with pytest.raises(ValueError, match="read-only"):
        arrays.close[0] = np.nan


def test_extending_an_older_window_again_leaves_every_newer_window_as_it_was():
    older = CandleWindow(BARS[:5]).extended(BARS[5:6], 4)
    newer = older.extended(BARS[6:8], 4)
    held = newer.arrays().close  # as a strategy might keep it between ticks
    branch = older.extended(BARS[10:12], 4)  # a DRY tick decided on older candles, say
    assert held.tolist() == newer.arrays().close.tolist() == [float(b.close) for b in BARS[4:8]]
    assert branch.arrays().close.tolist() == [float(b.close) for b in [*BARS[4:6], *BARS[10:12]]]


def test_a_long_run_of_extensions_sees_exactly_the_latest_candles():
    window = CandleWindow(BARS[:3])
    views = []
    for k in range(3, len(BARS)):
        window = window.extended(BARS[k : k + 1], 5)
        views.append((k, window.arrays()))
    for k, arrays in views:  # every view still shows what it showed when made
        expected = BARS[max(0, k - 4) : k + 1]
        assert arrays.ts.tolist() == [b.ts for b in expected]
        assert arrays.high.tolist() == [float(b.high) for b in expected]
