"""Walk-forward folds and what is judged on them: no test candle is ever seen in training, the
warm-up comes from before the test window, and the efficiency and stability are what they say."""

from decimal import Decimal
from itertools import pairwise
from types import SimpleNamespace

import pytest

from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.folds import Fold, make_folds, parse_span
from papertrade.domain.portfolio import parse_fill_model
from papertrade.errors import InputError
from papertrade.services import optimize as service
from papertrade.services.walk_forward import efficiency, stability, walk_forward
from tests.support.paths import DATA
from tests.unit.fakes import FakeCluster, FakeStudyStore

HOUR = 3_600_000


def hours(count: int, skip: tuple[int, ...] = ()) -> list[int]:
    return [i * HOUR for i in range(count) if i not in skip]


def test_rolling_folds_by_candles():
    folds = make_folds(hours(20), HOUR, parse_span("5", "--train"), parse_span("3", "--test"), anchored=False)
    assert folds == [Fold(1, 0, 5, 5, 8), Fold(2, 3, 8, 8, 11), Fold(3, 6, 11, 11, 14), Fold(4, 9, 14, 14, 17),
                     Fold(5, 12, 17, 17, 20)]  # fmt: skip


def test_anchored_folds_keep_the_first_candle_and_grow():
    folds = make_folds(hours(20), HOUR, parse_span("5", "--train"), parse_span("3", "--test"), anchored=True)
    assert [(f.train_start, f.train_stop, f.test_start, f.test_stop) for f in folds] == [
        (0, 5, 5, 8), (0, 8, 8, 11), (0, 11, 11, 14), (0, 14, 14, 17), (0, 17, 17, 20)]  # fmt: skip


@pytest.mark.parametrize("anchored", [False, True])
def test_no_test_candle_is_ever_in_a_train_window_and_test_windows_follow_each_other(anchored):
    folds = make_folds(hours(500), HOUR, parse_span("2d", "--train"), parse_span("12h", "--test"), anchored)
    for fold in folds:
        assert fold.train_start < fold.train_stop == fold.test_start < fold.test_stop
        assert fold.test_stop - fold.test_start == 12 and fold.train_stop - fold.train_start >= 48
    assert all(a.test_stop == b.test_start for a, b in pairwise(folds))


def test_a_last_test_window_the_candles_do_not_fill_is_left_out():
    folds = make_folds(hours(21), HOUR, parse_span("5h", "--train"), parse_span("3h", "--test"), anchored=False)
    assert folds[-1].test_stop == 20 and len(folds) == 5  # candle 20 starts a window that would end at 23


def test_duration_windows_follow_the_clock_across_a_gap():
    ts = hours(30, skip=(7, 8, 9))  # three hours missing
    folds = make_folds(ts, HOUR, parse_span("6h", "--train"), parse_span("4h", "--test"), anchored=False)
    first = folds[0]
    assert [ts[i] for i in (first.train_start, first.test_start)] == [0, 6 * HOUR]
    assert ts[first.test_stop - 1] < 10 * HOUR <= ts[first.test_stop]


def test_too_few_candles_for_a_fold_is_bad_input():
    with pytest.raises(InputError, match="hold no fold"):
        make_folds(hours(10), HOUR, parse_span("8", "--train"), parse_span("3", "--test"), anchored=False)


@pytest.mark.parametrize("text", ["0", "-5", "5x", "1.5d", "", "d"])
def test_a_bad_window_is_refused(text):
    with pytest.raises(InputError, match="--train takes"):
        parse_span(text, "--train")


@pytest.fixture(scope="module")
def walked():
    columns = load_columns(DATA / "binance_BTC-USDT_1h.csv")
    candles = columns.between(None, int(columns.ts[899]))
    setup = service.Setup("sma-cross", Decimal(10000), parse_fill_model("0.001", "0", "1"), "BTC/USDT", "USDT",
                          service.parse_objectives(["Return [%]"]))  # fmt: skip
    space = service.parse_space("sma-cross", ["fast=5..15:5", "slow=20..40:10"], {}, [])
    folds = make_folds([int(t) for t in candles.ts], HOUR, parse_span("400", "--train"), parse_span("150", "--test"),
                       anchored=False)  # fmt: skip
    store = FakeStudyStore()
    result = walk_forward(store, FakeCluster(), candles, "wf", setup, service.Search(space, "grid"), folds, None)
    return candles, folds, result, store


def test_each_fold_trains_only_before_its_test_window(walked):
    candles, folds, result, store = walked
    assert [f.study.name for f in result.folds] == ["wf.fold1", "wf.fold2", "wf.fold3"]
    for fold, judged in zip(folds, result.folds, strict=True):
        trained_on = store.studies[judged.study.name].meta["data"]
        assert trained_on["first_ts"] == candles.ts[fold.train_start]
        assert trained_on["last_ts"] == candles.ts[fold.train_stop - 1] < candles.ts[fold.test_start]


def test_the_test_backtest_warms_up_before_its_window_and_stops_at_its_end(walked):
    candles, folds, result, _ = walked
    for fold, judged in zip(folds, result.folds, strict=True):
        slow = judged.chosen.params["slow"]
        assert judged.warmup_start == fold.test_start - slow  # the warm-up is slow + 1 candles
        times = list(judged.performance.times)
        assert times == [int(t) for t in candles.ts[fold.test_start : fold.test_stop]]
        assert all(candles.ts[fold.test_start] <= f.candle_ts for f in judged.performance.fills)


def test_the_chosen_trial_is_each_train_window_s_best(walked):
    _, _, result, _ = walked
    for judged in result.folds:
        assert judged.chosen.values[0] == max(t.values[0] for t in judged.study.trials)


def test_the_test_windows_are_stitched_with_their_equity_carried_on(walked):
    _, _, result, _ = walked
    for before, after in zip(result.folds, result.folds[1:], strict=False):
        assert after.performance.initial_cash == before.performance.equity[-1]
    assert result.performance.equity[-1] == result.folds[-1].performance.equity[-1]
    assert len(result.performance.times) == sum(len(f.performance.times) for f in result.folds)
    final = Decimal(result.stats["Equity Final [$]"])
    assert final == result.folds[-1].performance.equity[-1]


def fold_with(annual: float | None, **params):
    return SimpleNamespace(chosen=SimpleNamespace(stats={"Return (Ann.) [%]": annual}, params=params))


def test_walk_forward_efficiency_is_out_of_sample_over_mean_in_sample_annualised_return():
    folds = [fold_with(40.0), fold_with(20.0)]
    assert efficiency(folds, {"Return (Ann.) [%]": 15.0}) == pytest.approx(0.5)
    assert efficiency(folds, {"Return (Ann.) [%]": -6.0}) == pytest.approx(-0.2)
    assert efficiency([fold_with(-10.0)], {"Return (Ann.) [%]": 5.0}) is None


def test_parameter_stability_counts_the_most_common_choice_and_the_spread():
    space = service.parse_space("sma-cross", ["fast=5..25:5", "slow=30,60"], {}, [])
    folds = [fold_with(1.0, fast=10, slow=30), fold_with(1.0, fast=10, slow=60), fold_with(1.0, fast=20, slow=30)]
    report = stability(folds, service.Search(space, "grid"))
    assert report["fast"] == {"values": [10, 10, 20], "most_common": "10", "share": pytest.approx(2 / 3),
                              "spread_of_range": pytest.approx(0.5)}  # fmt: skip
    assert report["slow"]["most_common"] == "30" and "spread_of_range" not in report["slow"]
