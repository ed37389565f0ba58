"""`strategies`: what `--strategy` accepts, with parameters and defaults."""

from typing import Annotated

import typer

from papertrade.cli import output


def strategies(json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """List the available strategies (built-in and from the papertrade.strategies entry points)."""
    from papertrade.strategies import registry

    described = []
    for name, found in registry.available():
        if isinstance(found, Exception):
            output.error_line(f"strategy {name!r} is installed but broken: {found}")
        else:
            described.append(_describe(name, found))
    if json:
        output.emit_json(described)
        return
    rows = [
        [
            d["name"],
            str(d["warmup"]),
            " ".join(_parameter_text(k, v) for k, v in d["parameters"].items()),
            d["description"],
        ]
        for d in described
    ]
    typer.echo(output.table(["NAME", "WARM-UP", "PARAMETERS (DEFAULTS, LIMITS)", "DESCRIPTION"], rows, right=(1,)))


def _parameter_text(key: str, described: dict) -> str:
    limits = f" ({described['limits']})" if described["limits"] else ""
    return f"{key}={described['default']}{limits}"


def _describe(name: str, cls) -> dict:
    from papertrade.strategies.base import Strategy

    schema = cls.parameter_schema()
    parameters = {
        key: {
            "default": spec.get("default"),
            "type": spec.get("type"),
            "description": spec.get("description", ""),
            "limits": limits_text(spec),
        }
        for key, spec in schema.get("properties", {}).items()
    }
    return {
        "name": name,
        "description": cls.description or (cls.__doc__ or "").strip().splitlines()[0],
        "warmup": cls().warmup,
        "parameters": parameters,
        "candles": cls.candles_as,  # what decide takes: "arrays" or "frame" (README, "Writing a fast strategy")
        "decide_series": cls.decide_series is not Strategy.decide_series,
    }


def limits_text(spec: dict) -> str:
    """A parameter's bounds from its JSON schema, for people: "2 to 100", "above 0, below 100"."""
    low = (f"{spec['minimum']}", "at least") if "minimum" in spec else None
    low = (f"{spec['exclusiveMinimum']}", "above") if "exclusiveMinimum" in spec else low
    high = (f"{spec['maximum']}", "at most") if "maximum" in spec else None
    high = (f"{spec['exclusiveMaximum']}", "below") if "exclusiveMaximum" in spec else high
    if low and high and (low[1], high[1]) == ("at least", "at most"):
        return f"{low[0]} to {high[0]}"
    return ", ".join(f"{word} {value}" for value, word in filter(None, (low, high)))
