"""The DataFrame-like view `decide` receives: the same candles, values, index and dtypes as the
DataFrame strategies always received, pandas' answers, and nothing a strategy does to it reaching
another candle's view."""

import random
from decimal import Decimal

import numpy as np
import pandas as pd
import pytest

from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.fills import FillModel
from papertrade.services.backtest import backtest
from papertrade.strategies import Signal, Strategy
from papertrade.strategies.candle_frame import NAMES, CandleFrame, CandleSource
from papertrade.strategies.runner import CandleArrays, CandleWindow
from tests.support.paths import DATA
from tests.unit.fakes import hourly_bars

FILES = sorted(DATA.glob("*.csv"))


def old_frame(source: CandleSource, start: int, stop: int) -> pd.DataFrame:
    """The DataFrame a strategy received for rows start..stop-1 before the view: built anew."""
    return CandleArrays(*(source.arrays[name][start:stop].copy() for name in NAMES)).frame()


def sampled_windows(count: int, seed: int) -> list[tuple[int, int]]:
    """A few windows of every shape: the first candle, the whole file, and random ones."""
    rng = random.Random(seed)
    windows = [(0, 1), (0, count), (count - 1, count)]
    for _ in range(8):
        stop = rng.randrange(1, count + 1)
        windows.append((max(0, stop - rng.choice([1, 2, 31, 250, 1000])), stop))
    return windows


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_view_is_the_old_per_candle_frame_on_every_data_file(path):
    candles = load_columns(path)
    source = CandleSource(candles.ts, candles.floats)
    windows = sampled_windows(len(candles), seed=len(candles))
    for start, stop in windows:
        view, expected = source.view(start, stop), old_frame(source, start, stop)
        assert len(view) == len(expected) and view.shape == expected.shape
        assert view.index.equals(expected.index) and view.index.dtype == expected.index.dtype
        assert view.index.name == expected.index.name == "time"
        assert view.columns.equals(expected.columns) and list(view) == list(expected)
        for name in NAMES:
            column, old = view[name], expected[name]
            assert column.dtype == old.dtype and column.name == old.name
            assert np.array_equal(column.values, old.values) and np.array_equal(column.to_numpy(), old.to_numpy())
            assert column.index.equals(old.index)
    assert source._frame is None, "the fast idioms built a DataFrame"
    for start, stop in windows:
        pd.testing.assert_frame_equal(source.view(start, stop).frame(), old_frame(source, start, stop))


@pytest.mark.parametrize("path", FILES[:2], ids=lambda p: p.name)
def test_the_fast_idioms_answer_exactly_what_pandas_answers(path):
    candles = load_columns(path)
    source = CandleSource(candles.ts, candles.floats)
    for start, stop in sampled_windows(len(candles), seed=7):
        view, expected = source.view(start, stop), old_frame(source, start, stop)
        for name in NAMES:
            column, old = getattr(view, name), expected[name]
            for k in (1, 2, 10, 30):
                fast, slow = column.iloc[-k:], old.iloc[-k:]
                assert_same(fast.mean(), slow.mean()) and assert_same(fast.max(), slow.max())
                assert_same(fast.min(), slow.min()) and assert_same(fast.sum(), slow.sum())
                assert_same(column.iloc[-k], old.iloc[-k]) if k <= len(old) else None
                assert_same(column.iat[0], old.iat[0])
                assert_same(column[-k:].mean(), old[-k:].mean())
            assert_same((column - column.iloc[0]).iloc[-1], (old - old.iloc[0]).iloc[-1])
            assert column.tolist() == old.tolist() and list(column) == list(old)
        assert np.array_equal((view.close > view.open).values, (expected.close > expected.open).values)


def assert_same(fast, slow) -> bool:
    assert type(fast) is type(slow) and (fast == slow or (fast != fast and slow != slow)), (fast, slow)
    return True


@pytest.fixture
def hourly():
    candles = load_columns(DATA / "binance_BTC-USDT_1h.csv")
    return CandleSource(candles.ts, candles.floats)


def test_everything_else_is_answered_by_pandas_itself(hourly):
    view, expected = hourly.view(100, 160), old_frame(hourly, 100, 160)
    pd.testing.assert_series_equal(view.close.rolling(10).mean(), expected.close.rolling(10).mean())
    pd.testing.assert_series_equal(view["close"].ewm(span=9).mean(), expected["close"].ewm(span=9).mean())
    pd.testing.assert_series_equal(view.close.shift(1), expected.close.shift(1))
    pd.testing.assert_frame_equal(view.tail(5).frame(), expected.tail(5))
    pd.testing.assert_series_equal(view.iloc[-1], expected.iloc[-1])
    # columns of different rows align on the index, as pandas' do: not elementwise
    pd.testing.assert_series_equal(
        view.close.iloc[-10:] - view.close.iloc[-11:-1], expected.close.iloc[-10:] - expected.close.iloc[-11:-1]
    )
    nan_column = view.close / 0 * 0  # NaN everywhere: the fast reductions hand it to pandas
    assert_same(nan_column.mean(), (expected.close / 0 * 0).mean())
    with pytest.raises(IndexError, match="out-of-bounds"):
        view.close.iloc[60]


def test_a_view_is_read_only_and_what_a_strategy_writes_stays_in_its_own_view(hourly):
    kept, later = hourly.view(100, 131), hourly.view(101, 132)
    expected_later = old_frame(hourly, 101, 132)
    close = kept.close
    with pytest.raises(ValueError, match="read-only"):
        close.values[-1] = 0.0
    with pytest.raises(ValueError, match="read-only"):
        kept["open"].to_numpy()[0] = 0.0
    close.iloc[-1] = -1.0  # writes through a column: that column only, as pandas' copy-on-write
    kept["volume"] = 0.0  # and through the frame: that view only
    kept.iloc[-1, 1] = -2.0
    assert close.iloc[-1] == -1.0 and (kept.volume == 0).all() and kept["open"].iloc[-1] == -2.0
    pd.testing.assert_frame_equal(later.frame(), expected_later)
    pd.testing.assert_frame_equal(hourly.view(100, 131).frame(), old_frame(hourly, 100, 131))


class Scribbler(Strategy):
    """Keeps every view it is given and writes all over it, then decides on what it saw first."""

    name = "scribbler"
    warmup = 3

    def __init__(self, params=None) -> None:
        super().__init__(params)
        self.seen: list[tuple[CandleFrame, list[float]]] = []

    def decide(self, candles, position):
        self.seen.append((candles, candles.close.iloc[-3:].tolist()))
        close = candles["close"]
        close.iloc[-1] = 0.0
        candles["close"] = -1.0
        candles.iloc[0, 4] = -2.0
        return Signal.SELL if position.is_open else Signal.BUY


def test_a_strategy_that_keeps_and_writes_its_candles_changes_no_other_candle():
    candles = load_columns(DATA / "binance_BTC-USDT_1d.csv")
    candles = candles.between(None, int(candles.ts[120]))
    strategy = Scribbler()
    backtest(candles, strategy, FillModel(Decimal("0.001"), Decimal(0), Decimal(1)), Decimal(1000), "BTC/USDT")
    closes = candles.floats["close"]
    assert [seen for _, seen in strategy.seen] == [closes[i - 2 : i + 1].tolist() for i in range(2, len(candles))]
    for i, (view, _) in enumerate(strategy.seen[::10]):  # what it kept is its own writes, nothing else
        assert view["close"].tolist() == [-2.0, -1.0, -1.0]
        assert view["open"].tolist() == candles.floats["open"][i * 10 : i * 10 + 3].tolist()


class ArraysRecorder(Strategy):
    """Remembers the numpy columns it is given, and tries to write to them."""

    name = "arrays-recorder"
    warmup = 5
    candles_as = "arrays"

    def __init__(self, params=None) -> None:
        super().__init__(params)
        self.seen: list = []

    def decide(self, candles, position):
        self.seen.append({name: candles[name].tolist() for name in NAMES} | {"len": len(candles)})
        candles.close.flags.writeable or candles.close.__setitem__(0, -1.0)
        return Signal.HOLD


def test_a_backtest_hands_arrays_strategies_their_window_of_read_only_columns():
    candles = load_columns(DATA / "binance_BTC-USDT_1d.csv")
    strategy = ArraysRecorder()
    with pytest.raises(Exception, match="read-only"):
        backtest(candles, strategy, FillModel(Decimal("0.001"), Decimal(0), Decimal(1)), Decimal(1000), "BTC/USDT")
    columns = {"ts": candles.ts, **candles.floats}
    assert strategy.seen == [{name: columns[name][:5].tolist() for name in NAMES} | {"len": 5}]
    strategy.decide = lambda window, position: strategy.seen.append(window["close"].tolist()) or Signal.HOLD
    strategy.seen.clear()
    backtest(candles, strategy, FillModel(Decimal("0.001"), Decimal(0), Decimal(1)), Decimal(1000), "BTC/USDT")
    assert strategy.seen == [candles.floats["close"][i - 4 : i + 1].tolist() for i in range(4, len(candles))]


def test_a_ticks_view_is_the_frame_it_always_received():
    bars = hourly_bars(list(range(100, 150)))
    window = CandleWindow(bars[:40]).extended(bars[40:], 31)
    view = window.view()
    assert isinstance(view, CandleFrame)
    pd.testing.assert_frame_equal(view.frame(), window.frame())
    assert view.close.iloc[-1] == float(window.bars[-1].close)
