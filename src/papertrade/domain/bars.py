"""Bars (candles) and the rules a series of them must pass before it is stored or traded on.

The rules are one table, `RULES`, read two ways: candle by candle over exact `Bar`s (what an
exchange sends, what a replay reads: `validate_series`), and over whole columns at once (what a
backtest reads: `first_violation`). Both name the same first bad candle with the same words.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from papertrade.domain.timeframes import Timeframe
from papertrade.errors import DataError

_INFINITY = float("inf")


@dataclass(frozen=True, slots=True)
class Bar:
    """One closed candle; `ts` is its open time in milliseconds since the epoch (UTC)."""

    ts: int
    open: Decimal
    high: Decimal
    low: Decimal
    close: Decimal
    volume: Decimal


@dataclass(frozen=True, slots=True)
class CandleRule:
    """One rule a candle must pass.

    `row_ok(bar, previous_ts, timeframe)` judges one exact candle (`previous_ts` is None for the
    first). `columns_ok(columns, timeframe)` judges every candle at once: `columns` maps `ts`,
    `open`, `high`, `low`, `close`, `volume` and `previous_ts` (the open time before each, and
    anything below the first's own for the first) to arrays with elementwise operators, such as
    numpy's, and the answer is an array of booleans. `problem` says what is wrong, after
    "candle <ts> ", with `{timeframe}` filled in.
    """

    name: str
    row_ok: Callable[[Bar, int | None, Timeframe], bool]
    columns_ok: Callable[[Mapping[str, Any], Timeframe], Any]
    problem: str

    def message(self, ts: int, timeframe: Timeframe) -> str:
        return f"candle {ts} {self.problem.format(timeframe=timeframe)}"


def _positive(values: Any) -> Any:
    return (values > 0) & (values < _INFINITY)  # NaN compares false: not positive either


def _prices_ok(c: Mapping[str, Any], _tf: Timeframe) -> Any:
    return _positive(c["open"]) & _positive(c["high"]) & _positive(c["low"]) & _positive(c["close"])


def _range_ok(c: Mapping[str, Any], _tf: Timeframe) -> Any:
    return (c["high"] >= c["open"]) & (c["high"] >= c["close"]) & (c["low"] <= c["open"]) & (c["low"] <= c["close"])


#: Every rule, in the order they are checked: on one candle the first that fails is reported.
RULES: tuple[CandleRule, ...] = (
    CandleRule(
        "price",
        lambda bar, _previous, _tf: all(p.is_finite() and p > 0 for p in (bar.open, bar.high, bar.low, bar.close)),
        _prices_ok,
        "has a price that is not a positive number",
    ),
    CandleRule(
        "volume",
        lambda bar, _previous, _tf: bar.volume.is_finite() and bar.volume >= 0,
        lambda c, _tf: (c["volume"] >= 0) & (c["volume"] < _INFINITY),
        "has a negative or non-finite volume",
    ),
    CandleRule(
        "high-low",
        lambda bar, _previous, _tf: bar.high >= max(bar.open, bar.close) and bar.low <= min(bar.open, bar.close),
        _range_ok,
        "has high/low outside its open and close",
    ),
    CandleRule(
        "grid",
        lambda bar, _previous, tf: tf.on_grid(bar.ts),
        lambda c, tf: c["ts"] % tf.ms == 0,
        "does not open on the {timeframe} grid",
    ),
    CandleRule(
        "duplicate",
        lambda bar, previous, _tf: bar.ts != previous,
        lambda c, _tf: c["ts"] != c["previous_ts"],
        "repeats the candle before it (a duplicate)",
    ),
    CandleRule(
        "order",
        lambda bar, previous, _tf: previous is None or bar.ts > previous,
        lambda c, _tf: c["ts"] > c["previous_ts"],
        "opens before the candle before it (out of order)",
    ),
)


class CandleError(DataError):
    """A candle broke a rule; `index` is its position in the series checked."""

    def __init__(self, index: int, rule: CandleRule, message: str) -> None:
        super().__init__(message)
        self.index = index
        self.rule = rule


def validate_series(bars: Sequence[Bar], timeframe: Timeframe) -> None:
    """Raise `CandleError` for the first candle (and its first rule) in `RULES` that fails."""
    previous = None
    for index, bar in enumerate(bars):
        for rule in RULES:
            if not rule.row_ok(bar, previous, timeframe):
                raise CandleError(index, rule, rule.message(bar.ts, timeframe))
        previous = bar.ts


def first_violation(columns: Mapping[str, Any], timeframe: Timeframe) -> CandleError | None:
    """The `CandleError` `validate_series` would raise over the same candles given as columns
    (see `CandleRule`), or None when every candle passes."""
    found: CandleError | None = None
    for rule in RULES:
        ok = rule.columns_ok(columns, timeframe)
        index = int(ok.argmin()) if len(ok) else 0  # the first False, if there is one
        if len(ok) and not ok[index] and (found is None or index < found.index):
            found = CandleError(index, rule, rule.message(int(columns["ts"][index]), timeframe))
    return found
