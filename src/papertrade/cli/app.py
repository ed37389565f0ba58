"""The `papertrade` application: global options, the commands, and errors turned into exit codes."""

import functools
import gc
import os
import sys
import traceback
from typing import Annotated

import typer

from papertrade import __version__
from papertrade.cli import (
    audit,
    backtest,
    close,
    context,
    create_portfolio,
    cron,
    data,
    db,
    demo,
    notify,
    open,
    optimize,
    orders,
    output,
    portfolio,
    portfolios,
    replay,
    report,
    run,
    serve,
    status,
    strategies,
    ticks,
    trade,
    trades,
    walk_forward,
)
from papertrade.cli.context import CliState
from papertrade.cli.exit_codes import EXIT_FAILURE, EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, exit_code_for

app = typer.Typer(
    name="papertrade",
    help="Paper-trade a strategy against live market data into an exact, exactly-once ledger.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
    rich_markup_mode=None,  # plain help: rich's renderer would triple the start-up time
)


def _show_version(value: bool) -> None:
    if value:
        typer.echo(f"papertrade {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    db_url: Annotated[
        str | None,
        typer.Option(
            "--db",
            metavar="URL|PATH",
            help="Ledger database (SQLAlchemy URL or SQLite file); overrides PAPERTRADE_DATABASE_URL.",
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version."),
    ] = False,
) -> None:
    ctx.obj = CliState(db=db_url, context=ctx)


app.command("create-portfolio")(create_portfolio.create_portfolio)
app.command("portfolios")(portfolios.list_portfolios)
app.command("status")(status.status)
app.command("trade")(trade.trade)
app.command("trades")(trades.trades)
app.command("open")(open.open_position)
app.command("close")(close.close_position)
app.command("orders")(orders.orders)
app.command("ticks")(ticks.ticks)
app.command("strategies")(strategies.strategies)
app.command("cron")(cron.cron)
app.command("report")(report.report)
app.command("backtest")(backtest.backtest)
app.command("replay")(replay.replay)
app.command("demo")(demo.demo)
app.command("run")(run.run)
app.command("serve")(serve.serve)
app.command("notify")(notify.notify)
app.command("optimize")(optimize.optimize)
app.command("studies")(optimize.studies)
app.command("study")(optimize.study)
app.command("walk-forward")(walk_forward.walk_forward)
app.add_typer(portfolio.app, name="portfolio")
app.add_typer(db.app, name="db")
app.add_typer(audit.app, name="audit")
app.add_typer(data.app, name="data")


def plain_parameter_names() -> None:
    """Name each parameter in help by what to type, as click does (its metavar, else its name in
    capitals: `create-portfolio NAME CASH`, `--fee-rate FEE_RATE`), not by typer's Python types
    (`<str>`, `<list[str]>`, `{name}`), which tell a user nothing; the help text says the rest."""
    from typer import core

    def shown(param) -> str:
        return param.metavar or (param.name or "").upper()

    core.TyperArgument.display_type_rich = lambda self, ctx: None
    core.TyperArgument._rich_display_name = shown
    core.TyperArgument._usage_display_name = lambda self: shown(self) if self.required else f"[{shown(self)}]"
    core.TyperOption.display_type_rich = lambda self, ctx: shown(self)


def main(argv: list[str] | None = None) -> None:
    """Run the command line; exceptions become one line on stderr and an exit code."""
    plain_parameter_names()
    collecting = gc.isenabled()
    # A command is a short-lived process whose start-up (ccxt, pandas, SQLAlchemy, pydantic)
    # allocates millions of objects and no garbage cycles: collecting during it costs about a
    # third of a cold tick. Long-running commands turn collection back on (`long_running`).
    gc.disable()
    try:
        _run(argv)
    finally:
        if collecting:
            gc.enable()


@functools.cache
def _command():
    """The click command typer builds from `app`, built once per process: building it (every
    command's parameters read from its signature) cost more than a `status` itself, each time
    `main` runs (the tests run it thousands of times in one process)."""
    return typer.main.get_command(app)


def _damage() -> str | None:
    """The damaged value in a ledger the command opened, which explains a failure papertrade
    did not foresee (see `adapters/damage.py`); None when every value reads."""
    for ledger in context.OPENED:
        found = ledger.damage()
        if found is not None:
            return found
    return None


#: Options that take several values after one flag, as freqtrade's do: `--symbols A B --timeframes 1h 1d`.
SPREAD_OPTIONS = frozenset({"--symbols", "--timeframes"})


def spread_values(argv: list[str]) -> list[str]:
    """`--symbols A B` as click reads a repeated option: `--symbols A --symbols B` (the values
    run to the next argument that starts with a dash)."""
    spread: list[str] = []
    option = None
    for arg in argv:
        if arg == "--":
            option = None
        elif arg.startswith("-"):
            option = arg if arg in SPREAD_OPTIONS else None
        elif option is not None and spread[-1] != option:
            spread.append(option)
        spread.append(arg)
    return spread


def _unquoted_urls(message: str, argv: list[str]) -> str:
    """A bad-input message without the URLs it quotes (click echoes extra arguments and bad
    values; a notification URL holds a bot token or password): each shown as SCHEME://****."""
    from papertrade.domain.notifications import mask_urls

    return mask_urls(message, [part for arg in argv for part in (arg, arg.partition("=")[2])])


def _run(argv: list[str] | None) -> None:
    from papertrade.errors import PapertradeError

    argv = spread_values(sys.argv[1:] if argv is None else list(argv))
    debug = os.environ.get("PAPERTRADE_DEBUG", "").lower() in ("1", "true", "yes")
    try:
        code = _command()(args=argv, prog_name="papertrade", standalone_mode=False)
    except typer.TyperException as exc:  # usage errors from typer's bundled click
        if type(exc).__name__ == "NoArgsIsHelpError":
            typer.echo(exc.format_message(), err=True)  # bare `papertrade`: the help, as click does
        else:
            output.error_line(_unquoted_urls(exc.format_message(), argv))
        code = exc.exit_code
    except (typer.Abort, KeyboardInterrupt):
        output.error_line("interrupted")
        code = EXIT_INTERRUPTED
    except PapertradeError as exc:
        if debug:
            traceback.print_exc()
        code = exit_code_for(exc)
        output.error_line(_unquoted_urls(str(exc), argv) if code == EXIT_USAGE else str(exc))
    except Exception as exc:
        if debug:
            raise
        damage = _damage()
        output.error_line(
            damage or f"internal error: {type(exc).__name__}: {exc} (PAPERTRADE_DEBUG=1 shows the traceback)"
        )
        code = EXIT_FAILURE
    finally:
        context.OPENED.clear()
    sys.exit(code if isinstance(code, int) else EXIT_OK)
