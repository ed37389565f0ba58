"""Studies for people and scripts: the best trials as a table, every trial as JSON."""

from papertrade.domain.search import plain
from papertrade.services.optimize import ranked

SETTINGS = ("cash", "fee_rate", "slippage_bps", "stake_fraction", "exits", "min_trades")


def study_document(result) -> dict:
    """Every trial of a study (its parameters, every report statistic, its state, the worker
    that ran it) and the best: one trial number, or the Pareto front's with several objectives."""
    meta = result.spec.meta
    objectives = list(meta.get("objectives", ()))
    return {
        "study": result.name,
        "storage": result.storage,
        "strategy": meta.get("strategy"),
        "objectives": objectives,
        "directions": list(result.spec.directions),
        "settings": {key: meta.get(key) for key in SETTINGS},
        "data": meta.get("data", {}),
        "trials": [_trial_document(trial, objectives) for trial in result.trials],
        "best": [trial.number for trial in result.best],
        "trials_run_now": result.ran_now,
    }


def _trial_document(trial, objectives) -> dict:
    values = None if trial.values is None else dict(zip(objectives, trial.values, strict=False))
    return {
        "number": trial.number,
        "state": trial.state,
        "params": {name: plain(value) for name, value in trial.params.items()},
        "values": values,
        "stats": _stats_document(trial.stats),
        "reason": trial.reason or None,
        "worker": trial.worker or None,
    }


def _stats_document(stats) -> dict:
    """The statistics as `backtest --json` writes them (times as ISO text, durations as pandas')."""
    from papertrade.reports.statistics import STAT_KINDS
    from papertrade.views.documents import stat_value

    return {name: stat_value(value, STAT_KINDS.get(name, "number")) if value is not None else None
            for name, value in stats.items()}  # fmt: skip


def best_rows(result, top: int) -> tuple[str, list[str], list[list[str]]]:
    """A heading, and the study's best trials (its Pareto front with several objectives), best
    first, as table rows."""
    meta = result.spec.meta
    objectives = list(meta.get("objectives", ()))
    rows = ranked(result.best if len(objectives) > 1 else result.trials, result.spec.directions)[: max(top, 0)]
    names = sorted({name for trial in rows for name in trial.params})
    headers = ["TRIAL", *(n.upper() for n in names), *objectives, "TRADES", "MAX DD [%]", "RETURN [%]"]
    lines = [[str(t.number), *(_text(t.params.get(n)) for n in names), *(_number(v) for v in t.values),
              str(t.stats.get("# Trades", "-")), _number(t.stats.get("Max. Drawdown [%]")),
              _number(t.stats.get("Return [%]"))] for t in rows]  # fmt: skip
    return _heading(result), headers, lines


def _heading(result) -> str:
    counts: dict[str, int] = {}
    for trial in result.trials:
        counts[trial.state] = counts.get(trial.state, 0) + 1
    states = ", ".join(f"{count} {state}" for state, count in sorted(counts.items()))
    data = result.spec.meta.get("data", {})
    what = f"{result.spec.meta.get('strategy')} on {data.get('symbol')} {data.get('timeframe')}"
    counted = f"{len(result.trials)} trials ({states or 'none'}), {result.ran_now} run now"
    return f"Study {result.name} ({result.storage}): {what}, {counted}"


def _text(value) -> str:
    return "-" if value is None else str(plain(value))


def _number(value) -> str:
    if value is None:
        return "-"
    number = float(value)
    return "0.00" if round(number, 2) == 0 else f"{number:,.2f}"


def studies_document(summaries) -> list[dict]:
    """Every study in the storage, oldest first."""
    return [
        {"study": s.name, "strategy": s.meta.get("strategy"), "objectives": s.meta.get("objectives"),
         "data": s.meta.get("data", {}), "trials": s.trials,
         "best_values": list(s.best_values) if s.best_values else None, "created_ts": s.created_ts}
        for s in summaries
    ]  # fmt: skip


def studies_rows(summaries) -> tuple[list[str], list[list[str]]]:
    """The studies as table rows."""
    from papertrade.domain.timeframes import timestamp

    rows = [[s.name, str(s.meta.get("strategy")), f"{s.meta.get('data', {}).get('symbol')} "
             f"{s.meta.get('data', {}).get('timeframe')}", ", ".join(s.meta.get("objectives") or ()), str(s.trials),
             ", ".join(_number(v) for v in s.best_values) if s.best_values else "-",
             timestamp(s.created_ts) if s.created_ts is not None else "-"]
            for s in summaries]  # fmt: skip
    return ["STUDY", "STRATEGY", "DATA", "OBJECTIVES", "TRIALS", "BEST", "CREATED"], rows
