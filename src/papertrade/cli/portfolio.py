"""`papertrade portfolio rename|archive|unarchive|delete|set`: managing one portfolio."""

import sys
from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import now_ms, state
from papertrade.cli.options import IdArgument

app = typer.Typer(
    help="Manage a portfolio: rename, archive or unarchive, delete, or change its settings.",
    no_args_is_help=True,
    rich_markup_mode=None,
)


@app.command()
def rename(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    name: Annotated[str, typer.Argument(metavar="NEW_NAME", help="The new name (unique, at most 100 characters).")],
) -> None:
    """Rename a portfolio (journaled in its audit journal)."""
    from papertrade.services.portfolios import get_portfolio, rename_portfolio

    ledger = state(ctx).ledger()
    old = get_portfolio(ledger, portfolio_id).config.name
    renamed = rename_portfolio(ledger, portfolio_id, name, now_ms())
    typer.echo(f'Renamed portfolio {portfolio_id} "{old}" to "{renamed.config.name}"')


@app.command()
def archive(ctx: typer.Context, portfolio_id: IdArgument) -> None:
    """Archive a portfolio: it stops trading (trade, run, replay and cron refuse it) and leaves
    `portfolios` and the dashboard's overview; status, trades, report and audit still show its
    history. `unarchive` brings it back."""
    from papertrade.services.portfolios import archive_portfolio

    stored = archive_portfolio(state(ctx).ledger(), portfolio_id, True, now_ms())
    typer.echo(
        f'Archived portfolio {portfolio_id} "{stored.config.name}": it no longer trades '
        "(`papertrade portfolios --archived` lists it)"
    )


@app.command()
def unarchive(ctx: typer.Context, portfolio_id: IdArgument) -> None:
    """Bring an archived portfolio back: it trades again from its next tick."""
    from papertrade.services.portfolios import archive_portfolio

    stored = archive_portfolio(state(ctx).ledger(), portfolio_id, False, now_ms())
    typer.echo(f'Unarchived portfolio {portfolio_id} "{stored.config.name}": it trades again from its next tick')


@app.command()
def delete(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    yes: Annotated[bool, typer.Option("--yes", help="Delete without asking (for scripts).")] = False,
) -> None:
    """Delete a portfolio after asking for confirmation: it is gone from every command and its
    name is free again. Its trades, ticks and audit journal stay in the database (the journal is
    append-only). To stop a portfolio and keep it at hand, archive it instead."""
    from papertrade.errors import InputError
    from papertrade.services.portfolios import delete_portfolio, get_portfolio

    ledger = state(ctx).ledger()
    stored = get_portfolio(ledger, portfolio_id)
    if not yes and not _confirmed(f'Delete portfolio {portfolio_id} "{stored.config.name}"?'):
        raise InputError(f"portfolio {portfolio_id} was not deleted (answer y, or add --yes in scripts)")
    delete_portfolio(ledger, portfolio_id, now_ms())
    typer.echo(f'Deleted portfolio {portfolio_id} "{stored.config.name}"')


def _confirmed(question: str) -> bool:
    """Ask on stderr and read the answer from stdin; no answer (end of input) is a no."""
    typer.echo(f"{question} [y/N] ", err=True, nl=False)
    answer = sys.stdin.readline()
    if not answer.endswith("\n"):
        typer.echo("", err=True)
    return answer.strip().lower() in ("y", "yes")


@app.command("set")
def set_settings(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    fee_rate: Annotated[
        str | None,
        typer.Option(
            metavar="RATE|exchange",
            help="Fee per trade as a fraction of its value (0 to 0.1), maker and taker alike; "
            "exchange: each market's own rates.",
        ),
    ] = None,
    maker_fee: Annotated[
        str | None, typer.Option(metavar="RATE", help="Fee of resting limit and take-profit fills.")
    ] = None,
    taker_fee: Annotated[str | None, typer.Option(metavar="RATE", help="Fee of market and stop fills.")] = None,
    slippage_bps: Annotated[
        str | None, typer.Option(metavar="BPS", help="Price moved against each fill, in bps (0 to 1000).")
    ] = None,
    stake_fraction: Annotated[
        str | None, typer.Option(metavar="FRACTION", help="Fraction of cash each BUY spends (above 0, at most 1).")
    ] = None,
    param: Annotated[
        list[str] | None,
        typer.Option("--param", metavar="KEY=VALUE", help="A strategy parameter to change (repeatable)."),
    ] = None,
    stop_loss: Annotated[
        str | None, typer.Option(metavar="F|none", help="Stop-loss for new entries (0.03 = 3 %).")
    ] = None,
    take_profit: Annotated[str | None, typer.Option(metavar="F|none", help="Take-profit for new entries.")] = None,
    trailing_stop: Annotated[str | None, typer.Option(metavar="F|none", help="Trailing stop for new entries.")] = None,
    fill: Annotated[
        str | None, typer.Option(metavar="close|book", help="Fill market orders at the close or from the order book.")
    ] = None,
    max_slippage: Annotated[
        str | None,
        typer.Option(metavar="FRACTION", help="How far from the close a book fill may walk (above 0, below 0.5)."),
    ] = None,
    leverage: Annotated[
        str | None, typer.Option(metavar="X", help="Leverage of new entries, 1 to 125 (open positions keep theirs).")
    ] = None,
) -> None:
    """Change settings that are safe to change between ticks: the fee rate, slippage, stake
    fraction, leverage of new entries, strategy parameters and the exits attached to new entries
    ("none" removes one; exits already resting stay as placed). The change is journaled (before and after) and takes
    effect from the next tick; the strategy, exchange, timeframe and quote stay as created."""
    from papertrade.services.portfolios import SettingsChange, change_settings, get_portfolio

    ledger = state(ctx).ledger()
    before = get_portfolio(ledger, portfolio_id).config
    exits = (stop_loss, take_profit, trailing_stop)
    change = SettingsChange(fee_rate, slippage_bps, stake_fraction, tuple(param or ()), exits, fill, max_slippage,
                            maker_fee, taker_fee, leverage)  # fmt: skip
    after = change_settings(ledger, portfolio_id, change, now_ms()).config
    typer.echo(f'Changed portfolio {portfolio_id} "{after.name}", from its next tick:')
    for label, old, new in _differences(before, after):
        typer.echo(f"  {label}: {old} -> {new}")


def _differences(before, after) -> list[tuple[str, str, str]]:
    from papertrade.cli.status import fees_text

    rows = [
        ("fee rate", output.amount(before.fills.fee_rate), output.amount(after.fills.fee_rate)),
        ("maker fee", output.amount(before.fills.maker), output.amount(after.fills.maker)),
        ("fees", fees_text(before), fees_text(after)),
        ("slippage bps", output.amount(before.fills.slippage_bps), output.amount(after.fills.slippage_bps)),
        ("stake fraction", output.amount(before.fills.stake_fraction), output.amount(after.fills.stake_fraction)),
        ("fill", before.fill, after.fill),
        ("max slippage", output.amount(before.max_slippage), output.amount(after.max_slippage)),
        ("leverage", output.amount(before.margin.leverage), output.amount(after.margin.leverage)),
    ]
    for key in sorted(after.strategy_params):
        rows.append((key, str(before.strategy_params.get(key)), str(after.strategy_params[key])))
    old, new = before.exits.as_dict(), after.exits.as_dict()
    for key in ("stop_loss", "take_profit", "trailing_stop"):
        rows.append((key.replace("_", "-"), old.get(key, "none"), new.get(key, "none")))
    return [row for row in rows if row[1] != row[2]]
