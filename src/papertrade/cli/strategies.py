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
            " ".join(f"{k}={v['default']}" for k, v in d["parameters"].items()),
            d["description"],
        ]
        for d in described
    ]
    typer.echo(output.table(["NAME", "WARM-UP", "PARAMETERS (DEFAULTS)", "DESCRIPTION"], rows, right=(1,)))


def _describe(name: str, cls) -> dict:
    schema = cls.parameter_schema()
    parameters = {
        key: {
            "default": spec.get("default"),
            "type": spec.get("type"),
            "description": spec.get("description", ""),
        }
        for key, spec in schema.get("properties", {}).items()
    }
    return {
        "name": name,
        "description": cls.description or (cls.__doc__ or "").strip().splitlines()[0],
        "warmup": cls().warmup,
        "parameters": parameters,
    }
