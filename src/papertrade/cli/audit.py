"""`audit verify`: prove the ledger tables agree with the append-only journal."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state
from papertrade.cli.options import parse_portfolio_id

app = typer.Typer(
    help="Check the ledger against its append-only audit journal.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command()
def verify(
    ctx: typer.Context,
    portfolio_id: Annotated[
        int | None,
        typer.Argument(metavar="ID", help="Portfolio id (or --all for every portfolio).", parser=parse_portfolio_id),
    ] = None,
    every: Annotated[bool, typer.Option("--all", help="Verify every portfolio, archived ones too.")] = False,
    json: Annotated[
        bool, typer.Option("--json", help="Print JSON: one report object (a list of them with --all).")
    ] = False,
) -> None:
    """Rebuild cash and positions from the journal alone and compare them with the ledger.

    Exit 0 when everything agrees; exit 1, listing every difference, when it does not (with
    --all: when any portfolio does not).
    """
    from papertrade.errors import InputError
    from papertrade.services.audit import verify as run_verify
    from papertrade.services.audit import verify_all

    if every == (portfolio_id is not None):
        raise InputError("give a portfolio ID or --all (not both)")
    ledger = state(ctx).ledger()
    _check_integrity(ledger)
    reports = verify_all(ledger) if every else [run_verify(ledger, portfolio_id)]
    if json:
        documents = [_document(report) for report in reports]
        output.emit_json(documents if every else documents[0])
    else:
        for report in reports:
            _show(report)
        if every:
            failed = sum(1 for report in reports if not report.ok)
            typer.echo(f"{output.plural(len(reports), 'portfolio')} verified, {failed} with differences")
    failing = [report for report in reports if not report.ok]
    for report in failing:
        output.error_line(
            f"portfolio {report.portfolio_id} does not match its journal "
            f"({output.plural(len(report.problems), 'difference')})"
        )
    if failing:
        raise typer.Exit(1)


def _check_integrity(ledger) -> None:
    """SQLite's own integrity check comes first: a damaged file can agree with its journal."""
    from papertrade.errors import SetupError

    problems = ledger.integrity_problems() if ledger is not None else []
    if problems:
        for problem in problems:
            typer.echo(f"  {problem}")
        raise SetupError(f"the ledger {ledger.name} fails SQLite's integrity check "
                         f"({output.plural(len(problems), 'problem')}, listed above): restore a copy")  # fmt: skip


def _document(report) -> dict:
    return {
        "portfolio_id": report.portfolio_id,
        "ok": report.ok,
        "journal_entries": report.entries,
        "fills": report.fills,
        "cash": report.cash,
        "problems": report.problems,
        "journal_head": report.head,
    }


def _show(report) -> None:
    if report.ok:
        typer.echo(
            f"Portfolio {report.portfolio_id} agrees with its journal: {output.plural(report.entries, 'entry')}, "
            f"{output.plural(report.fills, 'fill')} rebuild cash {output.amount(report.cash)} and "
            f"{output.plural(report.positions, 'open position')} exactly."
        )
        return
    typer.echo(f"Portfolio {report.portfolio_id} differs from its journal:")
    for problem in report.problems:
        typer.echo(f"  {problem}")
