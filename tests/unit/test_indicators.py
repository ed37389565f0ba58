import numpy as np
import pytest
import talib
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrade.strategies.indicators import simple_mean, simple_mean_last, wilder_rsi_last, wilder_rsi_rolling
from tests.support.paths import DATA

FILES = sorted(DATA.glob("*.csv"))


def closes(path) -> np.ndarray:
    return np.loadtxt(path, delimiter=",", skiprows=1, usecols=4)


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
@pytest.mark.parametrize("period", [14, 2, 30])
def test_rsi_is_bit_identical_to_talib_on_every_window_of_real_data(path, period):
    series = closes(path)[:6000]
    windows = np.lib.stride_tricks.sliding_window_view(series, 250)
    ours = wilder_rsi_rolling(series, period, 250)[249:]
    theirs = np.array([talib.RSI(window, period)[-1] for window in windows])
    assert np.array_equal(ours, theirs)


@pytest.mark.parametrize("path", FILES[:2], ids=lambda p: p.stem)
def test_the_single_window_rsi_is_bit_identical_to_the_rolling_one(path):
    series = closes(path)[:3000]
    windows = np.lib.stride_tricks.sliding_window_view(series, 250)
    assert [wilder_rsi_last(w, 14) for w in windows] == list(wilder_rsi_rolling(series, 14, 250)[249:])


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(min_value=0.01, max_value=1e6, allow_nan=False), min_size=20, max_size=60),
    st.integers(min_value=2, max_value=18),
)
def test_both_rsi_forms_agree_with_talib_on_random_series(prices, period):
    series = np.array(prices)
    expected = talib.RSI(series, period)[-1]
    assert wilder_rsi_rolling(series, period, len(series))[-1] == expected
    assert wilder_rsi_last(series, period) == expected


def test_a_flat_market_has_an_rsi_of_zero_as_in_talib():
    flat = np.full(30, 100.0)
    assert wilder_rsi_last(flat, 14) == 0.0 == talib.RSI(flat, 14)[-1] == wilder_rsi_rolling(flat, 14, 30)[-1]


@settings(max_examples=100, deadline=None)
@given(st.lists(st.floats(min_value=0.01, max_value=1e6), min_size=12, max_size=40), st.integers(1, 10))
def test_simple_means_agree_in_both_forms(prices, length):
    series = np.array(prices)
    windows = np.lib.stride_tricks.sliding_window_view(series, length + 1)
    assert list(simple_mean(windows, length)) == [simple_mean_last(w, length) for w in windows]
    assert list(simple_mean(windows, length, 1)) == [simple_mean_last(w, length, 1) for w in windows]
    assert simple_mean_last(series, length) == pytest.approx(series[-length:].mean())


@pytest.mark.parametrize("path", FILES[:3], ids=lambda p: p.stem)
@pytest.mark.parametrize(("period", "length", "block"), [(14, 250, 1000), (3, 20, 7)])
def test_the_rolling_rsi_does_not_depend_on_its_block_size(path, period, length, block):
    series = closes(path)[:5000]
    rolling = wilder_rsi_rolling(series, period, length, block=block)
    assert np.isnan(rolling[: length - 1]).all()
    assert np.array_equal(rolling, wilder_rsi_rolling(series, period, length, block=len(series)), equal_nan=True)
    windows = np.lib.stride_tricks.sliding_window_view(series, length)
    assert list(rolling[length - 1 :]) == [wilder_rsi_last(w, period) for w in windows]


def test_the_rolling_rsi_of_a_short_series_is_all_nan():
    assert np.isnan(wilder_rsi_rolling(np.arange(1.0, 11.0), 3, 20)).all()
