"""`papertrade portfolios`: every portfolio in the ledger; and the JSON document of one portfolio."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object (decimals as strings).")]


def list_portfolios(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the portfolios in the ledger."""
    from papertrade.services.portfolios import list_portfolios

    stored = list_portfolios(state(ctx).ledger())
    if json:
        output.emit_json([portfolio_json(p) for p in stored])
        return
    if not stored:
        typer.echo("No portfolios yet: create one with `papertrade create-portfolio NAME CASH`.")
        return
    rows = [
        [
            str(p.id),
            p.config.name,
            p.config.strategy,
            f"{p.config.exchange} {p.config.timeframe}",
            f"{output.money(p.book.cash, p.config.quote)} {p.config.quote}",
            str(sum(1 for pos in p.book.positions.values() if pos.is_open)),
        ]
        for p in stored
    ]
    typer.echo(
        output.table(
            ["ID", "NAME", "STRATEGY", "MARKET DATA", "CASH", "OPEN POSITIONS"],
            rows,
            right=(0, 4, 5),
        )
    )


def portfolio_json(stored) -> dict:
    from papertrade.views.documents import portfolio_document

    return portfolio_document(stored)
