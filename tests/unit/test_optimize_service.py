"""The search on the project's own ports: a fake study store and a fake cluster that finishes
trials out of order; every trial is a real backtest of a slice of the hourly file."""

from decimal import Decimal

import pytest

from papertrade.adapters.cluster import InProcess
from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.portfolio import parse_fill_model
from papertrade.domain.search import TrialRecord, params_key
from papertrade.errors import InputError
from papertrade.services import optimize as service
from tests.support.paths import DATA
from tests.unit.fakes import FakeCluster, FakeStudyStore


@pytest.fixture(scope="module")
def candles():
    columns = load_columns(DATA / "binance_BTC-USDT_1h.csv")
    return columns.between(None, int(columns.ts[700]))


def setup_for(*objectives: str, min_trades: int = 0) -> service.Setup:
    return service.Setup("sma-cross", Decimal(10000), parse_fill_model("0.001", "0", "1"), "BTC/USDT", "USDT",
                         service.parse_objectives(objectives or ("Equity Final [$]",)), min_trades)  # fmt: skip


def search(sampler: str = "grid", trials: int | None = None, seed: int | None = None, **ranges) -> service.Search:
    params = [f"{k}={v}" for k, v in (ranges or {"fast": "5..15:5", "slow": "20..40:10"}).items()]
    space = service.parse_space("sma-cross", params, {}, ["fast < slow"])
    return service.Search(space, sampler, trials, None, seed)


def run(store, cluster, candles, setup=None, how=None, name="s"):
    setup = setup or setup_for()
    return service.optimize(store, cluster, candles, name, setup, how or search(), service.data_description(
        candles, "BTC/USDT", None))  # fmt: skip


def by_params(trials: list[TrialRecord]) -> dict:
    return {params_key(t.params): (t.state, t.values, t.stats) for t in trials}


def test_a_grid_runs_every_allowed_cell_once(candles):
    cluster = FakeCluster()
    result = run(FakeStudyStore(), cluster, candles)
    cells = sorted((t.params["fast"], t.params["slow"]) for t in result.trials)
    assert cells == [(f, s) for f in (5, 10, 15) for s in (20, 30, 40)]
    assert cluster.ran == 9 and cluster.shared is candles
    assert all(t.state == "complete" and t.stats["# Trades"] > 0 for t in result.trials)


def test_the_order_trials_finish_in_changes_no_result(candles):
    out_of_order = run(FakeStudyStore(), FakeCluster(slots=4), candles)
    in_order = run(FakeStudyStore(), InProcess(), candles)
    assert by_params(out_of_order.trials) == by_params(in_order.trials)
    assert {t.worker for t in out_of_order.trials} == {"fake-0", "fake-1", "fake-2", "fake-3"}


def test_the_best_trial_has_the_highest_objective(candles):
    result = run(FakeStudyStore(), FakeCluster(), candles)
    best = max(result.trials, key=lambda t: t.values[0])
    assert result.best == [best]
    assert best.values[0] == float(Decimal(best.stats["Equity Final [$]"]))


def test_a_leading_minus_minimises(candles):
    result = run(FakeStudyStore(), FakeCluster(), candles, setup_for("-Max. Drawdown [%]"))
    assert result.best[0].values[0] == min(t.values[0] for t in result.trials)


def test_a_resumed_grid_runs_only_the_cells_it_lacks(candles):
    store = FakeStudyStore()
    run(store, FakeCluster(), candles, how=search(trials=4))
    cluster = FakeCluster()
    result = run(store, cluster, candles)
    assert cluster.ran == 5 and len(result.trials) == 9
    assert len({params_key(t.params) for t in result.trials}) == 9


def test_a_resumed_random_search_draws_new_candidates(candles):
    store = FakeStudyStore()
    how = search("random", trials=3, seed=7, fast="2..20", slow="21..60")
    first = run(store, FakeCluster(), candles, how=how)
    result = run(store, FakeCluster(), candles, how=search("random", trials=6, seed=7, fast="2..20", slow="21..60"))
    assert [t.params for t in result.trials[:3]] == [t.params for t in first.trials]
    assert len({params_key(t.params) for t in result.trials}) == 6


def test_random_candidates_do_not_depend_on_the_workers(candles):
    how = search("random", trials=5, seed=3, fast="2..20", slow="21..60")
    one = run(FakeStudyStore(), InProcess(), candles, how=how)
    four = run(FakeStudyStore(), FakeCluster(slots=4), candles, how=how)
    assert by_params(one.trials) == by_params(four.trials)


def test_a_study_refuses_to_resume_on_other_candles(candles):
    store = FakeStudyStore()
    run(store, FakeCluster(), candles, how=search(trials=2))
    other = candles.between(None, int(candles.ts[-2]))
    with pytest.raises(InputError, match="was run on other candles"):
        run(store, FakeCluster(), other)
    assert len(store.studies["s"].records) == 2


def test_a_study_refuses_to_resume_with_other_settings(candles):
    store = FakeStudyStore()
    run(store, FakeCluster(), candles, how=search(trials=2))
    with pytest.raises(InputError, match="other objectives"):
        run(store, FakeCluster(), candles, setup_for("SQN"))


def test_too_few_trades_reject_a_trial(candles):
    result = run(FakeStudyStore(), FakeCluster(), candles, setup_for(min_trades=12))
    rejected = [t for t in result.trials if t.state == "rejected"]
    assert rejected and all(t.stats["# Trades"] < 12 and "--min-trades 12" in t.reason for t in rejected)
    assert all(t.stats["# Trades"] >= 12 for t in result.trials if t.state == "complete")


def test_a_sampler_candidate_that_breaks_a_constraint_is_not_run_nor_counted(candles):
    store, cluster = FakeStudyStore(), FakeCluster()
    result = run(store, cluster, candles, how=search("tpe", trials=5, fast="5..40", slow="10..45"))
    ran = [t for t in result.trials if t.ran]
    assert len(ran) == 5 == cluster.ran
    assert all(t.params["fast"] < t.params["slow"] for t in ran)
    assert all(t.state == "rejected" and t.params["fast"] >= t.params["slow"] for t in result.trials if not t.ran)


def test_ctrl_c_keeps_finished_trials_and_fails_the_ones_on_their_way(candles):
    class Interrupted(FakeCluster):
        def next_done(self):
            if self.ran == 2:
                raise KeyboardInterrupt
            return super().next_done()

    store = FakeStudyStore()
    with pytest.raises(KeyboardInterrupt):
        run(store, Interrupted(slots=2), candles, how=search("tpe", trials=8, fast="5..9", slow="20..30"))
    states = [t.state for t in store.studies["s"].records if t.ran]
    # two finished; the cluster had four on their way (two per slot), each told it failed
    assert sorted(states) == ["complete"] * 2 + ["failed"] * 4


def test_several_objectives_give_the_pareto_front():
    def trial(number, a, b):
        return TrialRecord(number, {}, "complete", (a, b), {})

    trials = [trial(0, 1.0, 5.0), trial(1, 2.0, 4.0), trial(2, 1.5, 3.0), trial(3, 3.0, 1.0)]
    front = service.best_trials(trials, ("maximize", "maximize"))
    assert [t.number for t in front] == [0, 1, 3]
    assert [t.number for t in service.best_trials(trials, ("minimize", "maximize"))] == [0]


def test_an_unknown_parameter_or_objective_is_refused():
    with pytest.raises(InputError, match="unknown parameter 'fst'"):
        service.parse_space("sma-cross", ["fst=1..5"], {}, [])
    with pytest.raises(InputError, match="unknown objective 'Sharpe'"):
        service.parse_objectives(["Sharpe"])
    with pytest.raises(InputError, match="unknown objective 'Start'"):
        service.parse_objectives(["Start"])


def test_portfolio_settings_are_checked_as_their_options_are():
    with pytest.raises(InputError, match="stop loss must be"):
        service.parse_space("sma-cross", [], {"stop_loss": "0.01..1.5:0.01"}, [])
    with pytest.raises(InputError, match="stake fraction"):
        service.parse_space("sma-cross", [], {"stake_fraction": "0..1:0.5"}, [])
    space = service.parse_space("sma-cross", [], {"stop_loss": "none,0.02"}, [])
    assert space.dimensions[0].values() == ["none", Decimal("0.02")]


def test_a_grid_needs_steps_and_tpe_one_objective():
    with pytest.raises(InputError, match="without a step"):
        service.check_search(search("grid", fast="5..9", slow="0.5..1.5"), setup_for().objectives)
    with pytest.raises(InputError, match="nsga2"):
        service.check_search(search("tpe"), setup_for("SQN", "Return [%]").objectives)


def test_a_timeout_starts_no_trial_after_it(candles):
    how = service.Search(search().space, "grid", None, 1e-9, None)
    cluster = FakeCluster()
    result = run(FakeStudyStore(), cluster, candles, how=how)
    assert result.trials == [] and cluster.ran == 0


def test_a_portfolio_is_made_from_the_best_trial_or_the_one_asked_for(candles):
    result = run(FakeStudyStore(), FakeCluster(), candles)
    assert service.chosen_trial(result, None) == result.best[0]
    other = next(t for t in result.trials if t != result.best[0])
    assert service.chosen_trial(result, other.number) == other
    with pytest.raises(InputError, match="no complete trial 99"):
        service.chosen_trial(result, 99)
