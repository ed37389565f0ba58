"""Grid and random trials are written to Optuna's storage in batches, one transaction each,
by papertrade's own statements (`adapters/studies._add_finished`): Optuna must read back exactly
what its own `Study.add_trial` writes for the same trials (numbers, states, values, parameters
with their distributions, user attributes), on SQLite and PostgreSQL."""

import pytest

from papertrade.adapters.studies import OptunaStudies, _attrs, _optuna_value
from papertrade.domain.search import StudySpec, TrialOutcome
from papertrade.services import optimize as service

SPACE = service.parse_space("sma-cross", ["fast=5..7", "slow=20..40:10"], {}, ["fast < slow"])
SPEC = StudySpec(("maximize", "minimize"), "grid", None, {"data": {}})


def finished() -> list[tuple[dict, TrialOutcome]]:
    """Every cell of the grid, a few rejected, one with an infinite objective."""
    cells = list(SPACE.grid())
    outcomes = [
        TrialOutcome((1000.5 + i, -i * 0.25), {"Equity Final [$]": str(1000.5 + i), "# Trades": i}, "")
        if i % 4 else TrialOutcome(None, {"# Trades": i}, f"{i} trades, fewer than --min-trades 5")
        for i in range(len(cells))
    ]  # fmt: skip
    outcomes[1] = TrialOutcome((float("inf"), 0.0), {"# Trades": 1}, "")
    return list(zip(cells, outcomes, strict=True))


def optuna_add_trial(study, params, outcome: TrialOutcome) -> None:
    """What papertrade wrote before the batches: Optuna's own `add_trial`, one trial at a time."""
    from optuna.trial import TrialState, create_trial

    state = TrialState.COMPLETE if outcome.values is not None else TrialState.PRUNED
    study._study.add_trial(create_trial(
        state=state, values=list(outcome.values) if outcome.values is not None else None,
        params={name: _optuna_value(value) for name, value in params.items()}, distributions=study._distributions(),
        user_attrs={"papertrade": _attrs(params, outcome)},
    ))  # fmt: skip


def stored(store: OptunaStudies, name: str) -> list[tuple]:
    import optuna

    trials = optuna.load_study(study_name=name, storage=store.storage()).get_trials()
    return [(t.number, t.state, t.values, t.params, t.distributions, t.user_attrs, t.system_attrs,
             t.intermediate_values, t.datetime_complete is not None) for t in trials]  # fmt: skip


def check_batches_equal_add_trial(url: str) -> None:
    store = OptunaStudies(url)
    theirs, ours = store.open("one-by-one", SPACE, SPEC), store.open("batched", SPACE, SPEC)
    trials = finished()
    for params, outcome in trials:
        optuna_add_trial(theirs, params, outcome)
    ours.add(trials[:5])
    ours.add(trials[5:])
    assert stored(store, "batched") == stored(store, "one-by-one")
    assert [t.number for t in ours.trials()] == list(range(len(trials)))
    asked, _ = ours.ask()  # Optuna's own trials go on numbering after the batches
    ours.tell(asked, TrialOutcome((1.0, 1.0), {}, ""))
    assert [t.number for t in ours.trials()] == list(range(len(trials) + 1))


def test_batched_trials_are_what_optuna_writes_sqlite(tmp_path):
    check_batches_equal_add_trial(f"sqlite:///{tmp_path / 'studies.db'}")


@pytest.mark.postgres
def test_batched_trials_are_what_optuna_writes_postgresql(postgres_url):
    from tests.support.databases import PostgresSchema

    with PostgresSchema() as studies:
        check_batches_equal_add_trial(studies.url)
