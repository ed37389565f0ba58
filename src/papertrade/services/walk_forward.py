"""Walk-forward analysis: optimise on a train window, judge the chosen parameters on the test
window right after it (never seen in training), fold after fold, and stitch the test windows
into one out-of-sample result.

Each fold's search is a study of its own (`NAME.fold1`, `NAME.fold2`, ...), so a walk-forward
resumes fold by fold like any study. A test window's backtest starts its strategy's warm-up
that many candles before the window (from the candles before it, never from the window's
future), so the strategy can decide from the window's first candle on; every statistic is then
measured over the test window alone. Each test window starts in cash with the equity the
previous one ended with (an open position is valued at its last close, as a backtest values it).
"""

from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal

from papertrade.domain.folds import Fold
from papertrade.domain.search import TrialRecord, Value, plain
from papertrade.errors import InputError
from papertrade.reports.model import EquitySeries, Performance
from papertrade.services.optimize import (
    Search,
    Setup,
    StudyResult,
    chosen_trial,
    data_description,
    optimize,
    plain_statistics,
    portfolio_settings,
)
from papertrade.services.ports import Cluster, StudyStore
from papertrade.strategies import registry

ANNUAL = "Return (Ann.) [%]"


@dataclass
class FoldResult:
    """One fold: its windows, the study on its train window, the trial chosen there, and how the
    chosen parameters did on the test window (no trial chosen: the window is sat out in cash)."""

    fold: Fold
    study: StudyResult
    chosen: TrialRecord | None
    warmup_start: int  # index of the first candle of the test backtest (its warm-up's start)
    performance: Performance
    stats: Mapping[str, object]


@dataclass
class WalkForwardResult:
    name: str
    folds: list[FoldResult]
    performance: Performance  # the test windows stitched together
    stats: Mapping[str, object]
    efficiency: float | None
    stability: dict[str, dict] = field(default_factory=dict)


Progress = Callable[[int, int, float | None], None]


def walk_forward(store: StudyStore, cluster: Cluster, candles, name: str, setup: Setup, search: Search,
                 folds: Sequence[Fold], exchange: str | None, progress: Progress = lambda *a: None,
                 ) -> WalkForwardResult:  # fmt: skip
    """Optimise on every fold's train window and backtest the best trial on its test window."""
    from papertrade.reports.statistics import statistics

    results, cash = [], setup.cash
    for fold in folds:
        train = window(candles, fold.train_start, fold.train_stop)
        study = optimize(store, cluster, train, f"{name}.fold{fold.number}", setup, search,
                         data_description(train, setup.symbol, exchange), progress)  # fmt: skip
        result = _judge(candles, fold, study, setup, cash)
        results.append(result)
        cash = result.performance.equity[-1]
    stitched = stitch([r.performance for r in results], setup)
    stats = plain_statistics(statistics(stitched))
    return WalkForwardResult(name, results, stitched, stats, efficiency(results, stats),
                             stability(results, search))  # fmt: skip


def window(candles, start: int, stop: int):
    """Candles start..stop-1."""
    return candles.between(int(candles.ts[start]), int(candles.ts[stop - 1]))


def _judge(candles, fold: Fold, study: StudyResult, setup: Setup, cash: Decimal) -> FoldResult:
    """Backtest the fold's chosen trial on its test window, warmed up on the candles before it."""
    from papertrade.reports.statistics import statistics
    from papertrade.services.backtest import backtest

    chosen = _best(study)
    if chosen is None:
        performance = _in_cash(window(candles, fold.test_start, fold.test_stop), setup, cash)
        return FoldResult(fold, study, None, fold.test_start, performance, plain_statistics(statistics(performance)))
    params = {k: plain(v) for k, v in chosen.params.items()}
    fills, exits = portfolio_settings(setup, params)
    strategy = registry.build(setup.strategy, {k: v for k, v in params.items() if k not in _SETTINGS})
    warm = max(0, fold.test_start - (strategy.warmup - 1))
    tested = backtest(window(candles, warm, fold.test_stop), strategy, fills, cash, setup.symbol, setup.quote, exits)
    performance = since(tested, fold.test_start - warm)
    return FoldResult(fold, study, chosen, warm, performance, plain_statistics(statistics(performance)))


_SETTINGS = ("stop_loss", "take_profit", "trailing_stop", "stake_fraction")


def _best(study: StudyResult) -> TrialRecord | None:
    try:
        return chosen_trial(study, None)
    except InputError:  # no complete trial in the train window
        return None


def _in_cash(test, setup: Setup, cash: Decimal) -> Performance:
    """A test window sat out (its train window had no complete trial): equity flat in cash."""
    import numpy as np

    count = len(test)
    flat = EquitySeries(np.full(count, float(cash)), lambda i: cash)
    prices = {setup.symbol: (test.ts, test.floats["close"])}
    return Performance(setup.quote, cash, cash, test.ts, flat, np.zeros(count, dtype=bool), [], [], prices,
                       int(test.ts[0]))  # fmt: skip


def since(performance: Performance, first: int) -> Performance:
    """The performance from candle `first` on (the warm-up before it dropped: nothing trades
    there, since the strategy's first decision is at `first`)."""
    if first == 0:
        return performance
    equity = performance.equity
    prices = {s: (times[first:], closes[first:]) for s, (times, closes) in performance.prices.items()}
    return replace(performance, times=performance.times[first:],
                   equity=EquitySeries(equity.floats()[first:], lambda i: equity[i + first]),
                   in_market=performance.in_market[first:], prices=prices)  # fmt: skip


def stitch(parts: Sequence[Performance], setup: Setup) -> Performance:
    """The test windows as one performance: equity and exposure candle by candle; as trades,
    each window's closed round trips (an entry still open at a window's end is exposure, not a
    trade, as the report counts an open position)."""
    import numpy as np

    floats = np.concatenate([p.equity.floats() for p in parts])
    starts = np.cumsum([0] + [len(p.times) for p in parts])

    def exact_at(i: int) -> Decimal:
        part = int(np.searchsorted(starts, i, "right")) - 1
        return parts[part].equity[i - int(starts[part])]

    symbol = setup.symbol
    times = np.concatenate([np.asarray(p.times) for p in parts])
    closes = np.concatenate([np.asarray(p.prices[symbol][1]) for p in parts if symbol in p.prices])
    fills = [fill for p in parts for fill in _closed(p.fills)]
    return Performance(setup.quote, setup.cash, parts[-1].cash, times, EquitySeries(floats, exact_at),
                       np.concatenate([np.asarray(p.in_market) for p in parts]), fills, parts[-1].symbols,
                       {symbol: (times, closes)}, int(times[0]))  # fmt: skip


def _closed(fills: Sequence) -> list:
    """The fills up to the last one that left the position flat."""
    held, last_flat = Decimal(0), 0
    for i, fill in enumerate(fills):
        held += fill.quantity if fill.side == "BUY" else -fill.quantity
        if held == 0:
            last_flat = i + 1
    return list(fills[:last_flat])


def efficiency(folds: Sequence[FoldResult], stitched: Mapping[str, object]) -> float | None:
    """Walk-forward efficiency: the stitched out-of-sample annualised return over the mean
    in-sample annualised return of the chosen trials (None when that is not above zero)."""
    in_sample = [f.chosen.stats.get(ANNUAL) for f in folds if f.chosen is not None]
    in_sample = [v for v in in_sample if v is not None]
    out = stitched.get(ANNUAL)
    if not in_sample or out is None:
        return None
    mean = sum(in_sample) / len(in_sample)
    return out / mean if mean > 0 else None


def stability(folds: Sequence[FoldResult], search: Search) -> dict[str, dict]:
    """How steady each parameter's chosen value was across folds: its values fold by fold, the
    most common one and its share of the folds, and for a range, the spread of the values as a
    share of the range searched (0: the same every time)."""
    chosen = [f.chosen.params for f in folds if f.chosen is not None]
    report = {}
    for dimension in search.space.dimensions:
        values = [params.get(dimension.name) for params in chosen]
        if not values:
            continue
        mode, count = Counter(str(plain(v)) for v in values).most_common(1)[0]
        entry = {"values": [plain(v) for v in values], "most_common": mode, "share": count / len(values)}
        if not dimension.choices and dimension.high != dimension.low:
            spread = float(max(values)) - float(min(values))
            entry["spread_of_range"] = spread / float(dimension.high - dimension.low)
        report[dimension.name] = entry
    return report


def fold_params(result: FoldResult) -> dict[str, Value]:
    return {} if result.chosen is None else dict(result.chosen.params)
