"""`audit verify`: prove the ledger tables agree with the append-only journal."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state

app = typer.Typer(
    help="Check the ledger against its append-only audit journal.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command()
def verify(
    ctx: typer.Context,
    portfolio_id: Annotated[int, typer.Argument(metavar="ID", help="Portfolio id.")],
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Rebuild cash and positions from the journal alone and compare them with the ledger.

    Exit 0 when everything agrees; exit 1, listing every difference, when it does not.
    """
    from papertrade.services.audit import verify as run_verify

    report = run_verify(state(ctx).ledger(), portfolio_id)
    if json:
        output.emit_json(
            {
                "portfolio_id": report.portfolio_id,
                "ok": report.ok,
                "journal_entries": report.entries,
                "fills": report.fills,
                "cash": report.cash,
                "problems": report.problems,
            }
        )
    elif report.ok:
        typer.echo(
            f"Portfolio {portfolio_id} agrees with its journal: {report.entries} entries, "
            f"{report.fills} fills rebuild cash {output.amount(report.cash)} and "
            f"{report.positions} open positions exactly."
        )
    else:
        for problem in report.problems:
            typer.echo(f"  {problem}")
    if not report.ok:
        output.error_line(f"portfolio {portfolio_id} does not match its journal ({len(report.problems)} differences)")
        raise typer.Exit(1)
