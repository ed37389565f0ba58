"""`papertrade demo`: the offline demo."""

from pathlib import Path
from typing import Annotated

import typer

from papertrade.cli.context import long_running
from papertrade.cli.options import progress
from papertrade.cli.report import show


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the throw-away ledger and charts go.")] = Path(
        "demo-output"
    ),
) -> None:
    """Replay a bundled sample of real BTC/USDT candles through the tick path, offline, and report."""
    from papertrade.demo import run_demo

    long_running()
    outcome = run_demo(directory, progress=progress)
    show(outcome.performance, outcome.title, False, None, None)
    typer.echo("")
    typer.echo(f"Ledger:       {outcome.ledger_path}")
    typer.echo(f"Equity curve: {outcome.png}")
    typer.echo(f"Interactive:  {outcome.html}")
