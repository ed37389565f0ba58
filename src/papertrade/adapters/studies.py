"""Studies kept in Optuna's own database storage, never in the ledger's database.

Optuna versions its schema with its own Alembic (an `alembic_version` table, as the ledger
does): two such applications in one database would collide on that table. So the storage is a
database of its own: by default `studies.db` beside a SQLite ledger (in the data directory when
the ledger is elsewhere), or any SQLAlchemy URL given with `--storage`.

Each trial keeps papertrade's record of it in one Optuna user attribute, `papertrade` (one row
to write, not five): the candidate's exact values (`params`), every report statistic (`stats`),
why it was rejected (`reason`), the worker that ran it (`worker`), and whether it was backtested
at all (`ran`).
"""

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from pathlib import Path

from papertrade.domain.search import SearchSpace, StudySpec, TrialOutcome, TrialRecord, plain
from papertrade.errors import InputError, NotFound, TemporaryError

STUDIES_FILE = "studies.db"
#: Optuna's trial states as papertrade names them.
_STATES = {"COMPLETE": "complete", "PRUNED": "rejected", "FAIL": "failed", "RUNNING": "running", "WAITING": "waiting"}


@dataclass(frozen=True, slots=True)
class StudySummary:
    """A study as `papertrade studies` lists it."""

    name: str
    meta: Mapping[str, object]
    directions: tuple[str, ...]
    trials: int
    best_values: tuple[float, ...] | None
    created_ts: int | None


def storage_url(storage: str | None, ledger_url: str, default_directory: Path) -> str:
    """The study storage's URL: `storage` (a URL or a SQLite file path), or `studies.db` beside
    a SQLite ledger (in `default_directory` otherwise). InputError when it is the ledger's own
    database."""
    from papertrade.adapters.database import resolve_url, sqlite_path

    ledger = resolve_url(ledger_url)
    ledger_file = sqlite_path(ledger)
    if storage is None:
        directory = ledger_file.parent if ledger_file is not None else default_directory
        return str(resolve_url(str(directory / STUDIES_FILE)).render_as_string(hide_password=False))
    url = resolve_url(storage)
    if _same_database(url, ledger):
        raise InputError(f"--storage {storage} is the ledger's own database: studies need a database of their own "
                         "(Optuna keeps its own schema and Alembic version table)")  # fmt: skip
    return url.render_as_string(hide_password=False)


def _same_database(a, b) -> bool:
    from papertrade.adapters.database import sqlite_path

    path_a, path_b = sqlite_path(a), sqlite_path(b)
    if path_a is not None or path_b is not None:
        return path_a is not None and path_b is not None and path_a.resolve() == path_b.resolve()
    return _where(a) == _where(b)


def _where(url) -> tuple:
    """A server database and the schemas its connections see (`options=-csearch_path=...`)."""
    host = "localhost" if url.host in (None, "", "127.0.0.1", "::1") else url.host
    return url.get_backend_name(), host, url.port or 5432, url.database, url.query.get("options")


class OptunaStudies:
    """The `StudyStore` port on an Optuna RDB storage (created on first use)."""

    def __init__(self, url: str) -> None:
        self._url = url
        self._storage = None

    @property
    def url(self) -> str:
        from sqlalchemy.engine import make_url

        return make_url(self._url).render_as_string(hide_password=True)

    def storage(self, create: bool = True):
        """Optuna's storage; None when the SQLite file does not exist and `create` is false."""
        if self._storage is None:
            from papertrade.adapters.database import create_sqlite_file, resolve_url, sqlite_path

            path = sqlite_path(resolve_url(self._url))
            if path is not None and not path.exists():
                if not create:
                    return None
                create_sqlite_file(path)
            self._check_not_a_ledger()
            self._storage = _rdb_storage(self._url)
        return self._storage

    def _check_not_a_ledger(self) -> None:
        """Refuse a database that holds a ledger (its tables, not Optuna's)."""
        import sqlalchemy

        engine = sqlalchemy.create_engine(self._url)
        try:
            tables = set(sqlalchemy.inspect(engine).get_table_names())
        except sqlalchemy.exc.OperationalError as exc:
            raise TemporaryError(f"cannot open the study storage {self.url}: {exc.orig}") from None
        finally:
            engine.dispose()
        if "portfolios" in tables:
            raise InputError(f"the study storage {self.url} holds a papertrade ledger: give studies their own database")

    def open(self, name: str, space: SearchSpace, spec: StudySpec) -> "OptunaStudy":
        import optuna

        storage = self.storage()
        study = optuna.create_study(study_name=name, storage=storage, directions=list(spec.directions),
                                    load_if_exists=True)  # fmt: skip
        if "papertrade" not in study.user_attrs:
            study.set_user_attr("papertrade", dict(spec.meta))
        if list(study.directions) and [d.name.lower() for d in study.directions] != list(spec.directions):
            raise InputError(f"study {name!r} has other objectives' directions: give another --study name")
        study.sampler = _sampler(spec.sampler, spec.seed, len(study.get_trials(deepcopy=False)))
        return OptunaStudy(study, space, storage)

    def load(self, name: str) -> "OptunaStudy":
        import optuna

        storage = self.storage(create=False)
        if storage is None or name not in optuna.get_all_study_names(storage):
            raise NotFound(f"no study named {name!r} in {self.url}")
        return OptunaStudy(optuna.load_study(study_name=name, storage=storage), None)

    def names(self) -> list[str]:
        import optuna

        storage = self.storage(create=False)
        return [] if storage is None else list(optuna.get_all_study_names(storage))

    def summaries(self) -> list[StudySummary]:
        """Every study, oldest first, with its number of trials and best values."""
        import optuna

        storage = self.storage(create=False)
        if storage is None:
            return []
        return [_summary(s) for s in optuna.get_all_study_summaries(storage, include_best_trial=True)]


def _summary(summary) -> StudySummary:
    best = summary.best_trial
    created = summary.datetime_start
    return StudySummary(
        summary.study_name,
        summary.user_attrs.get("papertrade", {}),
        tuple(d.name.lower() for d in summary.directions),
        summary.n_trials,
        tuple(best.values) if best is not None and best.values else None,
        int(created.timestamp() * 1000) if created is not None else None,
    )


def _rdb_storage(url: str):
    import optuna

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    try:
        storage = optuna.storages.RDBStorage(url, engine_kwargs={"pool_pre_ping": True})
    except Exception as exc:  # Optuna wraps the driver's errors in its own
        raise TemporaryError(f"cannot open the study storage: {exc}") from None
    if storage.engine.dialect.name == "sqlite":
        _write_ahead(storage.engine)
    return storage


def _write_ahead(engine) -> None:
    """SQLite in WAL mode, committing without waiting for the disk each time: a trial's row is
    a few milliseconds instead of tens (a crash loses at most the last trials, which a resumed
    study runs again)."""
    from sqlalchemy import event

    def on_connect(connection, _record) -> None:
        cursor = connection.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.close()

    event.listen(engine, "connect", on_connect)
    engine.dispose()


def _sampler(name: str, seed: int | None, offset: int):
    """The study's sampler; the seed moves on with the trials a resumed study already has, so
    that it proposes new candidates rather than its first ones again."""
    import optuna

    seed = None if seed is None else seed + offset
    if name == "tpe":
        return optuna.samplers.TPESampler(seed=seed)
    if name == "nsga2":
        return optuna.samplers.NSGAIISampler(seed=seed)
    return optuna.samplers.RandomSampler(seed=seed)  # grid and random choose their candidates themselves


class OptunaStudy:
    """The `Study` port on one Optuna study (`storage`: its `RDBStorage`)."""

    def __init__(self, study, space: SearchSpace | None, storage=None) -> None:
        self._study, self._space, self._storage = study, space, storage
        self.name = study.study_name
        self.directions = [d.name.lower() for d in study.directions]
        self.meta = study.user_attrs.get("papertrade", {})

    def ask(self):
        trial = self._study.ask(self._distributions())
        params = {d.name: d.snap(trial.params[d.name]) for d in self._space.dimensions}
        return trial, params

    def tell(self, handle, outcome: TrialOutcome | None) -> None:
        from optuna.trial import TrialState

        if outcome is None:
            handle.set_user_attr("papertrade", {"reason": "interrupted"})
            self._study.tell(handle, state=TrialState.FAIL)
            return
        params = {d.name: d.snap(handle.params[d.name]) for d in self._space.dimensions}
        handle.set_user_attr("papertrade", _attrs(params, outcome))
        if outcome.values is None:
            self._study.tell(handle, state=TrialState.PRUNED)
        else:
            self._study.tell(handle, values=list(outcome.values))

    def add(self, finished: Sequence[tuple[Mapping, TrialOutcome]]) -> None:
        """Finished grid or random trials, numbered in the given order, in one transaction: what
        Optuna's `add_trial` writes for each (the trial, its parameters with their distributions,
        its values, papertrade's user attribute), as a few multi-row statements instead of about
        fifteen ORM statements per trial, which cost more than the trial's backtest."""
        if finished:
            _add_finished(self._study, self._storage, self._distributions(), finished)

    def trials(self) -> list[TrialRecord]:
        return [_record(trial) for trial in self._study.get_trials(deepcopy=False)]

    def _distributions(self) -> dict:
        return {d.name: _distribution(d) for d in self._space.dimensions}


def _add_finished(study, storage, distributions: Mapping, finished: Sequence[tuple[Mapping, TrialOutcome]]) -> None:
    """Write finished trials into Optuna's tables as `Study.add_trial` would: the study's row
    locked first (as Optuna locks it to number a trial), each parameter's distribution checked
    against the one the study already has under that name, every trial numbered by the trials
    of the study before it (Optuna's `count_past_trials`)."""
    import datetime

    from optuna.storages._rdb import models
    from optuna.trial import TrialState
    from sqlalchemy import bindparam, func, insert, select, update

    trials = models.TrialModel.__table__
    study_id = storage.get_study_id_from_name(study.study_name)
    now = datetime.datetime.now(datetime.UTC).replace(tzinfo=None)  # Optuna keeps naive UTC
    with storage.engine.begin() as connection:
        connection.execute(select(models.StudyModel.study_id).where(models.StudyModel.study_id == study_id)
                           .with_for_update())  # fmt: skip
        _check_distributions(connection, models, study_id, distributions)
        rows = [{"study_id": study_id, "datetime_start": now, "datetime_complete": now,
                 "state": TrialState.COMPLETE if outcome.values is not None else TrialState.PRUNED}
                for _, outcome in finished]  # fmt: skip
        ids = connection.execute(insert(trials).returning(trials.c.trial_id, sort_by_parameter_order=True), rows)
        ids = [row[0] for row in ids]
        first = connection.execute(
            select(func.count(trials.c.trial_id)).where(trials.c.study_id == study_id, trials.c.trial_id < ids[0])
        ).scalar()  # fmt: skip
        connection.execute(update(trials).where(trials.c.trial_id == bindparam("id")).values(number=bindparam("n")),
                           [{"id": trial_id, "n": first + k} for k, trial_id in enumerate(ids)])  # fmt: skip
        _insert_trial_rows(connection, models, distributions, list(zip(ids, finished, strict=True)))


def _check_distributions(connection, models, study_id: int, distributions: Mapping) -> None:
    """Refuse a parameter whose distribution differs from the one the study already has under
    its name (Optuna's `check_distribution_compatibility`)."""
    from optuna.distributions import check_distribution_compatibility, json_to_distribution
    from sqlalchemy import select

    trials, params = models.TrialModel.__table__, models.TrialParamModel.__table__
    for name, distribution in distributions.items():
        before = connection.execute(
            select(params.c.distribution_json).join(trials, trials.c.trial_id == params.c.trial_id)
            .where(trials.c.study_id == study_id, params.c.param_name == name).limit(1)
        ).scalar()  # fmt: skip
        if before is not None:
            check_distribution_compatibility(json_to_distribution(before), distribution)


def _insert_trial_rows(connection, models, distributions: Mapping, numbered: Sequence) -> None:
    """Each numbered trial's parameters, objective values and papertrade attributes, one batched
    insert per table. `numbered` pairs a trial id with its (chosen parameters, outcome)."""
    import json

    from optuna.distributions import distribution_to_json
    from sqlalchemy import insert

    as_json = {name: distribution_to_json(d) for name, d in distributions.items()}
    connection.execute(insert(models.TrialParamModel.__table__), [
        {"trial_id": trial_id, "param_name": name, "param_value": distributions[name].to_internal_repr(
            _optuna_value(value)), "distribution_json": as_json[name]}
        for trial_id, (chosen, _) in numbered for name, value in chosen.items()
    ])  # fmt: skip
    stored = [
        dict(zip(("value", "value_type"), models.TrialValueModel.value_to_stored_repr(value), strict=True),
             trial_id=trial_id, objective=objective)
        for trial_id, (_, outcome) in numbered
        for objective, value in enumerate(outcome.values or ())
    ]  # fmt: skip
    if stored:
        connection.execute(insert(models.TrialValueModel.__table__), stored)
    connection.execute(insert(models.TrialUserAttributeModel.__table__), [
        {"trial_id": trial_id, "key": "papertrade", "value_json": json.dumps(_attrs(chosen, outcome))}
        for trial_id, (chosen, outcome) in numbered
    ])  # fmt: skip


def _distribution(dimension):
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    if dimension.choices:
        return CategoricalDistribution([_optuna_value(v) for v in dimension.choices])
    if dimension.is_integer:
        return IntDistribution(dimension.low, dimension.high, step=dimension.step)
    step = float(dimension.step) if dimension.step is not None else None
    high = dimension.values()[-1] if step is not None else dimension.high  # a multiple of the step
    return FloatDistribution(float(dimension.low), float(high), step=step)


def _optuna_value(value):
    return float(value) if isinstance(value, Decimal) else value


def _attrs(params, outcome: TrialOutcome) -> dict:
    return {
        "params": {name: plain(value) for name, value in params.items()},
        "stats": dict(outcome.stats),
        "reason": outcome.reason,
        "worker": outcome.worker,
        "ran": outcome.ran,
    }


def _record(trial) -> TrialRecord:
    attrs = trial.user_attrs.get("papertrade", {})
    params = {name: _typed(value) for name, value in attrs.get("params", trial.params).items()}
    values = tuple(trial.values) if trial.values is not None and trial.state.name == "COMPLETE" else None
    return TrialRecord(
        trial.number, params, _STATES.get(trial.state.name, trial.state.name.lower()), values,
        attrs.get("stats", {}), attrs.get("reason", ""), attrs.get("worker", ""), attrs.get("ran", True),
    )  # fmt: skip


def _typed(value):
    """A stored value as the search's own: a decimal's exact text back to a Decimal."""
    if isinstance(value, str):
        try:
            return Decimal(value) if any(c.isdigit() for c in value) else value
        except InvalidOperation:
            return value
    return value
