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
