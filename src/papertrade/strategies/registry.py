"""Finding strategies by name: built-ins, the `papertrade.strategies` entry-point group, or a
`package.module:ClassName` reference."""

import importlib
import math
import os
import sys
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from importlib.metadata import entry_points
from typing import Any

from pydantic import BaseModel, ValidationError

from papertrade.errors import InputError
from papertrade.strategies.base import Strategy

ENTRY_POINT_GROUP = "papertrade.strategies"
BUILTINS = {
    "rsi": "papertrade.strategies.rsi:RsiStrategy",
    "sma-cross": "papertrade.strategies.sma_cross:SmaCrossStrategy",
}


def load_class(name: str) -> type[Strategy]:
    """The strategy class called `name`. Built-in names win over entry points of the same name."""
    if name in BUILTINS:
        return _import(BUILTINS[name], name)
    if ":" in name:
        return _import(name, name)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name == name:
            return _checked(_load_entry(entry), name)
    raise InputError(f"unknown strategy {name!r}: run `papertrade strategies` to list them")


def available() -> Iterator[tuple[str, type[Strategy] | InputError]]:
    """Every strategy that can be named with `--strategy`, built-ins first; a plug-in that fails
    to load comes with the error instead of its class, so one broken package hides nothing else."""
    for name, target in BUILTINS.items():
        yield name, _import(target, name)
    for entry in entry_points(group=ENTRY_POINT_GROUP):
        if entry.name not in BUILTINS:
            try:
                yield entry.name, _checked(_load_entry(entry), entry.name)
            except InputError as exc:
                yield entry.name, exc


def parse_params(cls: type[Strategy], raw: Mapping[str, Any]) -> BaseModel:
    """Validate parameters (strings from the command line, or stored values) against `cls.Params`."""
    for key, value in raw.items():
        if _not_finite(value):  # pydantic would say NaN is not "less than 100", which misleads
            message = f"{key}: must be a finite number, not {value!r}"
            raise InputError(f"invalid parameters for strategy {cls.name!r}: {message}")
    try:
        return cls.Params.model_validate(dict(raw))
    except ValidationError as exc:
        raise InputError(f"invalid parameters for strategy {cls.name!r}: {_describe(exc)}") from None


def parse_param_pairs(pairs: Iterable[str]) -> dict[str, str]:
    """`KEY=VALUE` strings (from `--param`) into a dict; each key at most once."""
    params: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        key = key.strip()
        if not sep or not key:
            raise InputError(f"--param takes KEY=VALUE, not {pair!r}")
        if key in params:
            raise InputError(f"--param {key} given twice")
        params[key] = value.strip()
    return params


def build(name: str, raw_params: Mapping[str, Any]) -> Strategy:
    cls = load_class(name)
    return cls(parse_params(cls, raw_params))


def _not_finite(value: Any) -> bool:
    try:
        return not math.isfinite(float(value))
    except (TypeError, ValueError, OverflowError):
        return False


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        where = ".".join(str(p) for p in error["loc"])
        message = "unknown parameter" if error["type"] == "extra_forbidden" else error["msg"]
        parts.append(f"{where}: {message}" if where else message)
    return "; ".join(parts)


def _import(target: str, name: str) -> type[Strategy]:
    module_name, _, attr = target.partition(":")
    if not (all(part.isidentifier() for part in module_name.split(".")) and attr.isidentifier()):
        # A file path or a relative name (`../x:Y`) is not something Python imports.
        raise InputError(f"strategy reference {name!r} must look like package.module:ClassName")
    try:
        with working_directory_importable():
            module = importlib.import_module(module_name)
        cls = getattr(module, attr)
    except (ImportError, AttributeError) as exc:
        raise InputError(f"cannot load strategy {name!r}: {exc}") from None
    return _checked(cls, name)


@contextmanager
def working_directory_importable() -> Iterator[None]:
    """The working directory on the import path while a `package.module:Class` strategy is
    looked for, so that a package next to you is found by the installed command as by `python -m
    papertrade`. It comes last (an installed module of the same name wins) and only for this:
    nothing else papertrade imports can come from the working directory."""
    try:
        here = os.getcwd()
    except OSError:  # the directory was removed under us
        here = None
    added = here is not None and "" not in sys.path and here not in sys.path
    if added:
        sys.path.append(here)
    try:
        yield
    finally:
        if added and here in sys.path:
            sys.path.reverse()
            sys.path.remove(here)  # the last occurrence: ours
            sys.path.reverse()


def _load_entry(entry) -> Any:
    try:
        return entry.load()
    except Exception as exc:
        raise InputError(f"cannot load strategy {entry.name!r} from {entry.value}: {exc}") from None


def _checked(cls: Any, name: str) -> type[Strategy]:
    if not (isinstance(cls, type) and issubclass(cls, Strategy)):
        raise InputError(f"{name!r} is not a papertrade Strategy subclass")
    return cls
