"""What a parameter search searches: ranges and choices typed on the command line, constraints
between parameters (parsed as comparisons, never evaluated as Python), the grid they span, and
reproducible random draws from it.

A value is an `int` (an integer range), a `Decimal` (a range with a decimal step: 20.0..35.0:0.5
gives 20.0, 20.5, ... exactly), a `float` (a range without a step, for random and model-based
samplers only) or a `str` (a choice that is not a number, such as `none` for an exit).
"""

import itertools
import operator
import random
import re
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from papertrade.errors import InputError

#: A grid larger than this is refused: enumerating it is not a search anybody waits for.
MAX_GRID = 1_000_000

Value = int | Decimal | float | str
Params = Mapping[str, Value]


@dataclass(frozen=True, slots=True)
class Dimension:
    """One searched parameter: `low..high` (both included) with `step` (None: continuous), or
    a list of `choices` (then low, high and step are None)."""

    name: str
    low: int | Decimal | None = None
    high: int | Decimal | None = None
    step: int | Decimal | None = None
    choices: tuple[Value, ...] = ()

    @property
    def is_discrete(self) -> bool:
        return bool(self.choices) or self.step is not None

    @property
    def is_integer(self) -> bool:
        return not self.choices and isinstance(self.step, int)

    def values(self) -> list[Value]:
        """Every value of a discrete dimension, in order."""
        if self.choices:
            return list(self.choices)
        if self.step is None:
            raise InputError(f"{self.name}: a range without a step has no grid; give one ({self.name}=a..b:step)")
        count = int((self.high - self.low) // self.step) + 1
        return [self.low + k * self.step for k in range(count)]

    def draw(self, rng: random.Random) -> Value:
        """One value at random: uniform over the grid, or over [low, high] when continuous."""
        if self.is_discrete:
            return rng.choice(self.values())
        return rng.uniform(float(self.low), float(self.high))

    def snap(self, value: float | int | str) -> Value:
        """A value a sampler proposed, as this dimension's own value (a decimal step's multiple exactly)."""
        if self.choices or self.step is None:
            return value
        if isinstance(self.step, int):
            return int(value)
        return (self.low + round((Decimal(repr(float(value))) - self.low) / self.step) * self.step).quantize(self.step)


def parse_dimension(name: str, text: str) -> Dimension:
    """`5..30` (integers), `20.0..35.0:0.5` (a step), `0.01..0.05` (continuous), `a,b,c`
    (choices) or one value; both ends of a range are included."""
    text = text.strip()
    if not name.isidentifier():
        raise InputError(f"{name!r} is not a parameter name")
    if ".." in text:
        return _parse_range(name, text)
    choices = tuple(_choice(part.strip()) for part in text.split(","))
    if any(part == "" for part in choices):
        raise InputError(f"{name}={text}: an empty choice")
    if len(set(choices)) != len(choices):
        raise InputError(f"{name}={text}: a choice given twice")
    return Dimension(name, choices=choices)


def _parse_range(name: str, text: str) -> Dimension:
    bounds, _, step_text = text.partition(":")
    low_text, _, high_text = bounds.partition("..")
    low, high = _number(name, low_text), _number(name, high_text)
    step = _number(name, step_text) if step_text else None
    if low > high:
        raise InputError(f"{name}={text}: the range's low end {low_text.strip()} is above its high end")
    if step is not None and step <= 0:
        raise InputError(f"{name}={text}: the step must be above 0")
    if all(isinstance(v, int) for v in (low, high)) and (step is None or isinstance(step, int)):
        return Dimension(name, low, high, step or 1)
    if step is not None and (high - low) // Decimal(step) + 1 > MAX_GRID:
        raise InputError(f"{name}={text}: more than {MAX_GRID:,} values")
    as_decimal = [Decimal(v) if v is not None else None for v in (low, high, step)]
    return Dimension(name, *as_decimal)


def _number(name: str, text: str) -> int | Decimal:
    text = text.strip()
    if re.fullmatch(r"-?\d+", text):
        return int(text)
    try:
        value = Decimal(text) if re.fullmatch(r"-?\d*\.?\d+(e-?\d+)?", text, re.IGNORECASE) else None
    except InvalidOperation:
        value = None
    if value is None or not value.is_finite():
        raise InputError(f"{name}: {text!r} is not a number (ranges look like 5..30 or 20.0..35.0:0.5)")
    return value


def _choice(text: str) -> Value:
    try:
        return _number("", text)
    except InputError:
        return text


# -- constraints ---------------------------------------------------------------------------------

_COMPARISONS = {"<": operator.lt, "<=": operator.le, ">": operator.gt, ">=": operator.ge, "==": operator.eq,
                "!=": operator.ne}  # fmt: skip
_TOKEN = re.compile(r"\s*(<=|>=|==|!=|<|>|-?\d+(?:\.\d+)?|[A-Za-z_][A-Za-z0-9_]*)")


@dataclass(frozen=True, slots=True)
class Constraint:
    """`fast < slow`, `5 <= fast < slow`: terms (parameter names or numbers) joined by comparisons."""

    text: str
    terms: tuple[str | Decimal, ...]
    operators: tuple[str, ...]

    def holds(self, params: Params) -> bool:
        values = [term if isinstance(term, Decimal) else _comparable(params[term]) for term in self.terms]
        return all(_COMPARISONS[op](a, b) for op, a, b in zip(self.operators, values, values[1:], strict=False))

    @property
    def names(self) -> set[str]:
        return {term for term in self.terms if isinstance(term, str)}


def parse_constraint(text: str, known: Sequence[str]) -> Constraint:
    """A constraint over the searched parameters `known`; anything but a comparison of names and
    numbers is refused (it is never evaluated as Python)."""
    tokens, position = [], 0
    while position < len(text.rstrip()):
        match = _TOKEN.match(text, position)
        if match is None:
            raise InputError(f"--constraint {text!r}: not a comparison of parameters and numbers (like fast < slow)")
        tokens.append(match.group(1))
        position = match.end()
    terms, operators = tokens[::2], tokens[1::2]
    if len(tokens) < 3 or len(tokens) % 2 == 0 or any(op not in _COMPARISONS for op in operators):
        raise InputError(f"--constraint {text!r}: not a comparison of parameters and numbers (like fast < slow)")
    parsed = tuple(_term(term, text, known) for term in terms)
    if not any(isinstance(term, str) for term in parsed):
        raise InputError(f"--constraint {text!r} names no searched parameter")
    return Constraint(text.strip(), parsed, tuple(operators))


def _term(token: str, text: str, known: Sequence[str]) -> str | Decimal:
    if token in _COMPARISONS:
        raise InputError(f"--constraint {text!r}: not a comparison of parameters and numbers (like fast < slow)")
    if token[0].isdigit() or token[0] == "-":
        return Decimal(token)
    if token not in known:
        raise InputError(f"--constraint {text!r}: {token!r} is not a searched parameter ({', '.join(known)})")
    return token


def _comparable(value: Value) -> Decimal | str:
    if isinstance(value, str):
        return value
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


# -- the space -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class SearchSpace:
    """The searched dimensions and the constraints every candidate must meet."""

    dimensions: tuple[Dimension, ...]
    constraints: tuple[Constraint, ...] = ()

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dimensions]

    def allows(self, params: Params) -> bool:
        return all(c.holds(params) for c in self.constraints)

    def grid(self) -> Iterator[dict[str, Value]]:
        """Every cell that meets the constraints, in a fixed order (the last dimension fastest)."""
        columns = [d.values() for d in self.dimensions]
        size = 1
        for column in columns:
            size *= len(column)
        if size > MAX_GRID:
            raise InputError(f"the grid has {size:,} cells, more than {MAX_GRID:,}: narrow a range or use tpe")
        for cell in itertools.product(*columns):
            params = dict(zip(self.names, cell, strict=True))
            if self.allows(params):
                yield params

    def draws(self, seed: int) -> Iterator[dict[str, Value]]:
        """Random candidates that meet the constraints, the same sequence for the same seed."""
        rng = random.Random(seed)
        while True:
            params = {d.name: d.draw(rng) for d in self.dimensions}
            if self.allows(params):
                yield params


def params_key(params: Params) -> tuple[tuple[str, str], ...]:
    """What identifies a candidate: its values by name, numbers compared as numbers (20.50 is 20.5)."""
    return tuple(sorted((name, _key_text(value)) for name, value in params.items()))


def _key_text(value: Value) -> str:
    if isinstance(value, str):
        try:
            number = Decimal(value)
        except InvalidOperation:
            return value
        return format(number.normalize(), "f") if number.is_finite() else value
    return format(_comparable(value).normalize(), "f")


def plain(value: Value) -> int | float | str:
    """A value for JSON: integers and floats as they are, decimals as their exact text."""
    return str(value) if isinstance(value, Decimal) else value


# -- trials --------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class TrialOutcome:
    """What one backtest of a candidate gave: its objective values (None when it was rejected:
    too few trades, an undefined objective, parameters the strategy refuses), every report
    statistic as plain JSON values, why it was rejected, and the worker that ran it."""

    values: tuple[float, ...] | None
    stats: Mapping[str, object]
    reason: str = ""
    worker: str = ""
    ran: bool = True  # False: never backtested (it broke a constraint); such trials are not counted

    @property
    def state(self) -> str:
        return "complete" if self.values is not None else "rejected"


@dataclass(frozen=True, slots=True)
class TrialRecord:
    """A trial as the study keeps it."""

    number: int
    params: Mapping[str, Value]
    state: str  # complete, rejected, failed (interrupted), running
    values: tuple[float, ...] | None
    stats: Mapping[str, object]
    reason: str = ""
    worker: str = ""
    ran: bool = True

    @property
    def counts(self) -> bool:
        """Whether it counts towards `--trials`: it was backtested (or refused by the strategy)."""
        return self.ran and self.state in ("complete", "rejected")


@dataclass(frozen=True, slots=True)
class StudySpec:
    """What a study is about, fixed when it begins: a resumed study must be about the same
    (`meta`: strategy, settings, objectives and the candles, by hash); `directions` are
    "maximize" or "minimize" per objective; `sampler` and `seed` may change between runs."""

    directions: tuple[str, ...]
    sampler: str
    seed: int | None
    meta: Mapping[str, object]
