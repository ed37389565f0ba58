"""Optimisation: a strategy's parameters (and the portfolio's exits and stake) searched with the
backtest's own engine, trial by trial, into a study that lasts.

Grid and random searches choose their candidates here, in a fixed order (random: from the seed),
so a study's results do not depend on how many workers ran it, and a resumed study skips the
candidates it already has. TPE and NSGA-II ask Optuna's samplers (through the `Study` port). The
trials run on a `Cluster` (this process, a Dask LocalCluster or a Dask cluster), which receives
the candles once; each trial is one `papertrade.services.backtest.backtest`.
"""

import itertools
import math
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

from papertrade.domain.fills import FillModel
from papertrade.domain.money import to_plain
from papertrade.domain.orders import NO_EXITS, Exits
from papertrade.domain.portfolio import parse_exits, parse_fill_model
from papertrade.domain.search import (
    Dimension,
    SearchSpace,
    StudySpec,
    TrialOutcome,
    TrialRecord,
    Value,
    params_key,
    parse_constraint,
    parse_dimension,
    plain,
)
from papertrade.errors import InputError
from papertrade.services.ports import Cluster, Study, StudyStore
from papertrade.strategies import registry

SAMPLERS = ("grid", "random", "tpe", "nsga2")
#: Portfolio settings searched beside the strategy's parameters, by their option's name.
PORTFOLIO_SETTINGS = ("stop_loss", "take_profit", "trailing_stop", "stake_fraction")
#: Statistics that are moments, not measures: no objective.
NOT_OBJECTIVES = ("Start", "End")
DEFAULT_TRIALS = 100


@dataclass(frozen=True, slots=True)
class Objective:
    """A report statistic by its name, maximised (or minimised: `-Name`)."""

    name: str
    minimise: bool = False

    @property
    def direction(self) -> str:
        return "minimize" if self.minimise else "maximize"

    @property
    def text(self) -> str:
        return f"-{self.name}" if self.minimise else self.name


@dataclass(frozen=True, slots=True)
class Setup:
    """Everything fixed in a search: the strategy, the backtest's settings and the objectives."""

    strategy: str
    cash: Decimal
    fills: FillModel
    symbol: str
    quote: str
    objectives: tuple[Objective, ...]
    min_trades: int = 0
    exits: Exits = NO_EXITS  # the exits not searched

    def meta(self) -> dict:
        fills = self.fills
        return {
            "strategy": self.strategy, "symbol": self.symbol, "quote": self.quote, "cash": str(self.cash),
            "fee_rate": str(fills.fee_rate), "slippage_bps": str(fills.slippage_bps),
            "stake_fraction": str(fills.stake_fraction), "exits": self.exits.as_dict(),
            "objectives": [o.text for o in self.objectives], "min_trades": self.min_trades,
        }  # fmt: skip


@dataclass(frozen=True, slots=True)
class Search:
    """How to search: the space, the sampler, how many trials and for how long."""

    space: SearchSpace
    sampler: str = "tpe"
    trials: int | None = None  # None: the whole grid (grid), else DEFAULT_TRIALS
    timeout: float | None = None
    seed: int | None = None


@dataclass(frozen=True, slots=True)
class TrialJob:
    """One backtest to run on a worker: the candidate's strategy parameters and portfolio settings."""

    setup: Setup
    params: Mapping[str, Value]


@dataclass
class StudyResult:
    """A study after a run: every trial, and the best (one per objective's Pareto front)."""

    name: str
    storage: str
    spec: StudySpec
    trials: list[TrialRecord]
    best: list[TrialRecord] = field(default_factory=list)
    ran_now: int = 0


# -- parsing -------------------------------------------------------------------------------------


def parse_objectives(texts: Sequence[str]) -> tuple[Objective, ...]:
    """`--objective` names (a leading `-` minimises); default "Sharpe Ratio"."""
    from papertrade.reports.statistics import STAT_NAMES

    objectives = []
    for text in texts or ("Sharpe Ratio",):
        name = text.strip().removeprefix("-").strip()
        if name not in STAT_NAMES or name in NOT_OBJECTIVES:
            usable = ", ".join(f'"{n}"' for n in STAT_NAMES if n not in NOT_OBJECTIVES)
            raise InputError(f"unknown objective {text!r}: use a report statistic: {usable}")
        objectives.append(Objective(name, text.strip().startswith("-")))
    if len({o.name for o in objectives}) != len(objectives):
        raise InputError("an --objective is given twice")
    return tuple(objectives)


def parse_space(strategy: str, params: Sequence[str], settings: Mapping[str, str | None],
                constraints: Sequence[str]) -> SearchSpace:  # fmt: skip
    """The searched dimensions: `--param KEY=RANGE` of the strategy's parameters, and the
    portfolio settings given as ranges (`settings`: stop_loss, take_profit, ... -> text or None)."""
    known = set(registry.load_class(strategy).Params.model_fields)
    dimensions = []
    for key, text in registry.parse_param_pairs(params).items():
        if key not in known:
            raise InputError(f"unknown parameter {key!r} of strategy {strategy!r} (it has: {', '.join(sorted(known))})")
        dimensions.append(parse_dimension(key, text))
    for name, text in settings.items():
        if text is not None:
            dimensions.append(_checked_setting(parse_dimension(name, text)))
    names = [d.name for d in dimensions]
    return SearchSpace(tuple(dimensions), tuple(parse_constraint(text, names) for text in constraints))


def _checked_setting(dimension: Dimension) -> Dimension:
    """A portfolio setting's range, each end (or choice) validated as the option itself is."""
    ends = dimension.choices or (dimension.low, dimension.high)
    for value in ends:
        if dimension.name == "stake_fraction":
            parse_fill_model("0", "0", str(value))
        elif not (isinstance(value, str) and value.lower() == "none"):
            parse_exits(*(str(value) if key == dimension.name else None for key in PORTFOLIO_SETTINGS[:3]))
    return dimension


def check_search(search: Search, objectives: Sequence[Objective]) -> None:
    """Refuse a search that cannot run: a grid over a continuous range, NSGA-II with one
    objective, several objectives without NSGA-II (or a grid or random search, which keep all)."""
    if search.sampler not in SAMPLERS:
        raise InputError(f"--sampler must be one of {', '.join(SAMPLERS)}, not {search.sampler!r}")
    if search.sampler == "grid":
        for dimension in search.space.dimensions:
            dimension.values()
    if search.sampler == "tpe" and len(objectives) > 1:
        raise InputError("several --objective values need --sampler nsga2 (or grid, random)")
    if search.trials is not None and search.trials < 1:
        raise InputError("--trials must be at least 1")


# -- one trial -----------------------------------------------------------------------------------


def run_trial(candles, job: TrialJob) -> TrialOutcome:
    """Backtest one candidate on `candles` (on a worker): every report statistic, and the
    objectives' values; rejected when the strategy refuses the parameters, when there are fewer
    trades than the minimum or an objective is undefined (NaN)."""
    from papertrade.reports.statistics import statistics
    from papertrade.services.backtest import backtest

    setup = job.setup
    strategy_params = {k: plain(v) for k, v in job.params.items() if k not in PORTFOLIO_SETTINGS}
    try:
        strategy = registry.build(setup.strategy, strategy_params)
        fills, exits = portfolio_settings(setup, job.params)
    except InputError as exc:
        return TrialOutcome(None, {}, str(exc))
    performance = backtest(candles, strategy, fills, setup.cash, setup.symbol, setup.quote, exits)
    stats = plain_statistics(statistics(performance))
    return TrialOutcome(*_judged(setup, stats), stats)


def _judged(setup: Setup, stats: Mapping[str, object]) -> tuple[tuple[float, ...] | None, Mapping, str]:
    values = tuple(_number(stats[o.name]) for o in setup.objectives)
    if stats["# Trades"] < setup.min_trades:
        return None, stats, f"{stats['# Trades']} trades, fewer than --min-trades {setup.min_trades}"
    undefined = [o.name for o, v in zip(setup.objectives, values, strict=True) if v is None]
    if undefined:
        return None, stats, f"{', '.join(undefined)} is undefined"
    return values, stats, ""


def portfolio_settings(setup: Setup, params: Mapping[str, Value]) -> tuple[FillModel, Exits]:
    """The fill model and exits of a candidate: the setup's, with its searched stake fraction
    and exits (an exit searched as `none` is left off)."""
    fills, exits = setup.fills, {k: str(v) for k, v in setup.exits.as_dict().items()}
    for name in PORTFOLIO_SETTINGS[:3]:
        value = params.get(name)
        if isinstance(value, str) and value.lower() == "none":
            exits.pop(name, None)
        elif value is not None:
            exits[name] = str(value)
    stake = params.get("stake_fraction", fills.stake_fraction)
    chosen = parse_fill_model(str(fills.fee_rate), str(fills.slippage_bps), str(stake))
    return chosen, parse_exits(exits.get("stop_loss"), exits.get("take_profit"), exits.get("trailing_stop"))


def plain_statistics(stats: Mapping[str, object]) -> dict[str, object]:
    """Statistics as JSON values: money as exact text, NaN and infinity as None."""
    return {name: _plain_stat(value) for name, value in stats.items()}


def _plain_stat(value):
    if isinstance(value, Decimal):
        return to_plain(value)
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def _number(value) -> float | None:
    return None if value is None else float(value)


# -- the search ----------------------------------------------------------------------------------


def optimize(store: StudyStore, cluster: Cluster, candles, name: str, setup: Setup, search: Search,
             data_meta: Mapping[str, object], progress: Callable[[int, int, float | None], None] = lambda *a: None,
             ) -> StudyResult:  # fmt: skip
    """Run (or resume) the study `name`: trials until `search.trials` have run in it (the whole
    grid for a grid search), `search.timeout` seconds have passed, or the candidates run out.
    Ctrl-C stops it with every finished trial kept."""
    spec = StudySpec(tuple(o.direction for o in setup.objectives), search.sampler, search.seed,
                     {**setup.meta(), "data": dict(data_meta)})  # fmt: skip
    study = store.open(name, search.space, spec)
    check_same_study(study, spec)
    target = _target(search)
    runner = _Runner(study, cluster, cluster.share(candles), setup, search, progress)
    runner.run(target)
    trials = study.trials()
    return StudyResult(name, store.url, spec, trials, best_trials(trials, spec.directions), runner.ran)


def _target(search: Search) -> int:
    if search.trials is not None:
        return search.trials
    if search.sampler == "grid":
        return sum(1 for _ in search.space.grid())
    return DEFAULT_TRIALS


def check_same_study(study: Study, spec: StudySpec) -> None:
    """Refuse to resume a study on other candles, another strategy, other settings or objectives."""
    before, now = study.meta, spec.meta
    if before.get("data", {}).get("sha256") != now["data"]["sha256"]:
        raise InputError(f"study {study.name!r} was run on other candles ({_data_text(before.get('data', {}))}); "
                         f"give another --study name for these ({_data_text(now['data'])})")  # fmt: skip
    changed = sorted(key for key in now if key != "data" and before.get(key) != now[key])
    if changed:
        raise InputError(f"study {study.name!r} was run with other {', '.join(changed)}: give another --study name")


def _data_text(data: Mapping) -> str:
    sha = str(data.get("sha256"))[:12]
    return f"{data.get('symbol')} {data.get('timeframe')}, {data.get('candles')} candles, sha256 {sha}"


#: The most trials one task runs: enough that a cluster's per-task overhead stays small.
MAX_BATCH = 32


def run_trials(candles, jobs: Sequence[TrialJob]) -> list[TrialOutcome]:
    """Several trials in one task (on a worker): `run_trial` for each, in order."""
    return [run_trial(candles, job) for job in jobs]


class _Runner:
    """Keeps the cluster busy with candidates until the study has its trials: two tasks per
    slot on their way, each a batch of grid or random candidates (one candidate at a time for
    a sampler, which learns from every result)."""

    def __init__(self, study: Study, cluster: Cluster, shared, setup: Setup, search: Search, progress) -> None:
        self.study, self.cluster, self.shared, self.setup, self.search = study, cluster, shared, setup, search
        self.progress, self.ran, self.in_flight = progress, 0, {}
        self.directions = [o.direction for o in setup.objectives]
        existing = study.trials()
        self.done = sum(1 for t in existing if t.counts)
        self.best = _best_value(existing, self.directions)
        self.candidates = _candidates(study, search, {params_key(t.params) for t in existing if t.counts})

    def run(self, target: int) -> None:
        started, keys = time.monotonic(), iter(range(1 << 62))
        try:
            while True:
                self._fill(target, started, keys)
                if not self.in_flight:
                    return
                self._collect(target)
        except KeyboardInterrupt:
            self._abandon()
            raise

    def _fill(self, target: int, started: float, keys: Iterator[int]) -> None:
        timeout = self.search.timeout
        while len(self.in_flight) < 2 * self.cluster.slots:
            if timeout is not None and time.monotonic() - started >= timeout:
                return
            batch = list(itertools.islice(self.candidates, self._batch_size(target)))
            if not batch:
                return
            key = next(keys)
            self.in_flight[key] = batch
            jobs = [TrialJob(self.setup, params) for _, params in batch]
            self.cluster.submit(key, run_trials, self.shared, jobs)

    def _batch_size(self, target: int) -> int:
        """How many candidates the next task takes: none once the target is on its way."""
        left = target - self.done - sum(len(batch) for batch in self.in_flight.values())
        if left <= 0 or self.search.sampler not in ("grid", "random"):
            return min(left, 1) if left > 0 else 0
        return max(1, min(MAX_BATCH, left // (4 * self.cluster.slots)))

    def _collect(self, target: int) -> None:
        key, outcomes, worker = self.cluster.next_done()
        chosen = []  # grid and random trials: recorded together, one transaction per task
        for (handle, params), outcome in zip(self.in_flight.pop(key), outcomes, strict=True):
            outcome = TrialOutcome(outcome.values, outcome.stats, outcome.reason, worker)
            if handle is None:
                chosen.append((params, outcome))
            else:
                self.study.tell(handle, outcome)
            if outcome.values is not None and _better(outcome.values[0], self.best, self.directions[0]):
                self.best = outcome.values[0]
        if chosen:
            self.study.add(chosen)
        self.done, self.ran = self.done + len(outcomes), self.ran + len(outcomes)
        self.progress(self.done, target, self.best)

    def _abandon(self) -> None:
        self.cluster.cancel()
        for batch in self.in_flight.values():
            for handle, _ in batch:
                if handle is not None:
                    self.study.tell(handle, None)
        self.in_flight.clear()


def _candidates(study: Study, search: Search, done: set) -> Iterator[tuple[object, dict]]:
    """(handle, params) of each candidate still to try: handle None for a grid or random
    candidate chosen here, the study's own for one its sampler proposed."""
    if search.sampler in ("grid", "random"):
        cells = search.space.grid() if search.sampler == "grid" else _draws(search)
        return ((None, params) for params in _unseen(cells, done))
    return _asked(study, search.space)


def _draws(search: Search) -> Iterator[dict]:
    """Random candidates from the seed (0 when none was given), ending when the space seems spent."""
    return search.space.draws(search.seed or 0)


def _unseen(cells: Iterator[dict], done: set, patience: int = 10_000) -> Iterator[dict]:
    """Cells not tried yet; gives up after `patience` tried ones in a row (a spent random space)."""
    seen, misses = set(done), 0
    for params in cells:
        key = params_key(params)
        if key in seen:
            misses += 1
            if misses >= patience:
                return
            continue
        seen.add(key)
        misses = 0
        yield params


def _asked(study: Study, space: SearchSpace, patience: int = 10_000) -> Iterator[tuple[object, dict]]:
    """Candidates the sampler proposes; one that breaks a constraint is told so and not run."""
    misses = 0
    while misses < patience:
        handle, params = study.ask()
        if space.allows(params):
            misses = 0
            yield handle, params
        else:
            misses += 1
            study.tell(handle, TrialOutcome(None, {}, "breaks a --constraint", ran=False))


# -- the best --------------------------------------------------------------------------------------


def _better(value: float, than: float | None, direction: str) -> bool:
    return than is None or (value > than if direction == "maximize" else value < than)


def _best_value(trials: Sequence[TrialRecord], directions: Sequence[str]) -> float | None:
    best = None
    for trial in trials:
        if trial.values is not None and _better(trial.values[0], best, directions[0]):
            best = trial.values[0]
    return best


def best_trials(trials: Sequence[TrialRecord], directions: Sequence[str]) -> list[TrialRecord]:
    """The best complete trial (the earliest of equals), or with several objectives the Pareto
    front: every trial no other beats on one objective without losing on another."""
    complete = [t for t in trials if t.state == "complete" and t.values is not None]
    signs = [1 if d == "maximize" else -1 for d in directions]
    scored = [(tuple(s * v for s, v in zip(signs, t.values, strict=True)), t) for t in complete]
    if len(directions) == 1:
        return [max(scored, key=lambda pair: pair[0])[1]] if scored else []
    return [t for score, t in scored if not any(_dominates(other, score) for other, _ in scored)]


def _dominates(a: tuple[float, ...], b: tuple[float, ...]) -> bool:
    return all(x >= y for x, y in zip(a, b, strict=True)) and any(x > y for x, y in zip(a, b, strict=True))


def ranked(trials: Sequence[TrialRecord], directions: Sequence[str]) -> list[TrialRecord]:
    """Complete trials, best first by the first objective (earliest first among equals)."""
    sign = 1 if directions[0] == "maximize" else -1
    complete = [t for t in trials if t.state == "complete" and t.values is not None]
    return sorted(complete, key=lambda t: (-sign * t.values[0], t.number))


def data_description(candles, symbol: str, exchange: str | None) -> dict[str, object]:
    """What a study remembers of its candles: where from, their range, and a hash of every row."""
    import hashlib

    digest = hashlib.sha256()
    for line in candles.lines:
        digest.update(line.encode())
        digest.update(b"\n")
    return {
        "exchange": exchange, "symbol": symbol, "timeframe": candles.timeframe.name, "candles": len(candles),
        "first_ts": int(candles.ts[0]), "last_ts": int(candles.ts[-1]), "sha256": digest.hexdigest(),
    }  # fmt: skip


# -- reading studies, and from study to paper ------------------------------------------------------


def load_study(store: StudyStore, name: str) -> StudyResult:
    """A kept study with its trials and its best."""
    study = store.load(name)
    directions = tuple(study.directions)
    spec = StudySpec(directions, "", None, dict(study.meta))
    trials = study.trials()
    return StudyResult(study.name, store.url, spec, trials, best_trials(trials, directions))


def chosen_trial(result: StudyResult, number: int | None) -> TrialRecord:
    """Trial `number` (it must be complete), or the study's best; with several objectives, the
    Pareto front's best on the first one (give `number` to choose another)."""
    if number is not None:
        for trial in result.trials:
            if trial.number == number and trial.state == "complete":
                return trial
        raise InputError(f"study {result.name!r} has no complete trial {number}")
    ranked_front = ranked(result.best, result.spec.directions)
    if not ranked_front:
        raise InputError(f"study {result.name!r} has no complete trial to create a portfolio from")
    return ranked_front[0]


def promote_trial(ledger, name: str, result: StudyResult, trial: TrialRecord, timeframe: str,
                  exchange: str | None, now: int):  # fmt: skip
    """Create the paper portfolio `name` with the trial's strategy parameters, exits, stake and
    the study's cash and fees, journaling the study and trial it came from."""
    from papertrade.services.portfolios import create_portfolio, parse_new_portfolio

    meta = result.spec.meta
    exits = dict(meta.get("exits", {}))
    for key in PORTFOLIO_SETTINGS[:3]:
        if key in trial.params:
            exits[key] = str(trial.params[key])
    exits = {k: v for k, v in exits.items() if v.lower() != "none"}
    strategy_params = [f"{k}={plain(v)}" for k, v in trial.params.items() if k not in PORTFOLIO_SETTINGS]
    stake = str(trial.params.get("stake_fraction", meta["stake_fraction"]))
    request = parse_new_portfolio(
        name=name, cash=meta["cash"], strategy=meta["strategy"], params=strategy_params,
        exchange=exchange or "binance", timeframe=timeframe, quote=meta["quote"], fee_rate=meta["fee_rate"],
        slippage_bps=meta["slippage_bps"], stake_fraction=stake,
        exits=(exits.get("stop_loss"), exits.get("take_profit"), exits.get("trailing_stop")),
    )  # fmt: skip
    origin = {"study": result.name, "trial": trial.number, "storage": result.storage,
              "objectives": dict(zip(meta["objectives"], trial.values or (), strict=False)),
              "data": meta.get("data", {})}  # fmt: skip
    return create_portfolio(ledger, request, now, origin=origin)
