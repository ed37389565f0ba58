"""`papertrade portfolios`: every portfolio in the ledger, valued; and the JSON document of one portfolio."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object (decimals as strings).")]


def list_portfolios(
    ctx: typer.Context,
    archived: Annotated[bool, typer.Option("--archived", help="List archived portfolios too.")] = False,
    json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list of portfolios (decimals as strings).")
    ] = False,
) -> None:
    """List the portfolios in the ledger with their cash and equity (open positions marked at
    the latest stored close); archived ones only with --archived."""
    from papertrade.services.valuation import value_all

    valuations = value_all(state(ctx).ledger(), archived=archived)
    if json:
        output.emit_json([portfolio_json(v) for v in valuations])
        return
    if not valuations:
        typer.echo("No portfolios yet: create one with `papertrade create-portfolio NAME CASH`.")
        return
    rows = [_row(v) for v in valuations]
    headers = ["ID", "NAME", "STRATEGY", "MARKET DATA", "CASH", "EQUITY", "MARKED AT", "OPEN POSITIONS"]
    typer.echo(output.table(headers, rows, right=(0, 4, 5, 7)))


def _row(valuation) -> list[str]:
    p, quote = valuation.portfolio, valuation.portfolio.config.quote
    return [
        str(p.id),
        f"{p.config.name} (archived)" if p.archived else p.config.name,
        p.config.strategy,
        f"{p.config.exchange} {p.config.timeframe}",
        f"{output.money(p.book.cash, quote)} {quote}",
        f"{output.money(valuation.equity, quote)} {quote}",
        output.timestamp(valuation.marked_ts),
        str(len(valuation.marks)),
    ]


def portfolio_json(valuation) -> dict:
    from papertrade.views.documents import portfolio_document

    return portfolio_document(valuation)
