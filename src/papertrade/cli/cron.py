"""`cron`: a ready crontab line that ticks a portfolio shortly after each candle closes."""

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from papertrade.cli.context import state
from papertrade.cli.options import IdArgument


def cron(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    symbol: Annotated[str, typer.Argument(help="Market symbol, e.g. BTC/USDT.")],
    log: Annotated[
        str | None, typer.Option(metavar="FILE", help="Log file (default: logs/ in the data directory).")
    ] = None,
) -> None:
    """Print a crontab line for LIVE ticks of this portfolio (absolute paths, output to a log)."""
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.services.portfolios import get_portfolio

    base, quote = parse_symbol(symbol)
    portfolio = get_portfolio(state(ctx).ledger(), portfolio_id)
    if portfolio.archived:
        from papertrade.errors import InputError

        raise InputError(f"portfolio {portfolio_id} is archived and does not trade (unarchive it first)")
    timeframe = portfolio.config.timeframe
    delay = "sleep 5; " if timeframe.ms == 60_000 else ""
    prefix = delay + _environment(portfolio.config.strategy)
    default_log = f"portfolio-{portfolio_id}-{base}-{quote}.log"
    args = ["trade", str(portfolio_id), symbol, "LIVE"]
    typer.echo(command_line(ctx, schedule(timeframe.name), args, log, default_log, prefix))
    if timeframe.ms > 3_600_000 and time.localtime().tm_gmtoff != 0:
        typer.echo(
            "papertrade: note: the hour fields assume cron runs in UTC; this machine does not "
            "(set CRON_TZ=UTC above the line if your cron supports it)",
            err=True,
        )


def command_line(
    ctx: typer.Context, fields: str, args: list[str], log: str | None, default_log: str, prefix: str = ""
) -> str:
    """A crontab line running `papertrade --db URL ARGS` at `fields`, with absolute paths and
    its output appended to `log` (default: `default_log` in logs/ of the data directory)."""
    from papertrade.adapters.database import resolve_url
    from papertrade.settings import default_database_path

    cli = state(ctx)
    url = resolve_url(cli.settings().database)
    log_path = default_database_path().parent / "logs" / default_log if log is None else check_log_file(log)
    command = [*_papertrade_command(), "--db", url.render_as_string(hide_password=False), *args]
    _refuse_database(log_path, cli.ledger_file())
    log_path = log_path.resolve()
    _make_parent(log_path)
    redirect = f">> {shlex.quote(str(log_path))} 2>&1"
    return f"{fields} {prefix}{shlex.join(command)} {redirect}".replace("%", "\\%")  # cron reads a bare % as a newline


def _environment(strategy: str) -> str:
    """The variables the cron line sets: the ccxt configuration if one is set here, and where
    to import a `package.module:Class` strategy from when it is not installed."""
    env = os.environ.get("PAPERTRADE_CCXT_CONFIG")
    prefix = f"PAPERTRADE_CCXT_CONFIG={shlex.quote(env)} " if env else ""
    found, path = strategy_import_path(strategy)
    if not found:
        typer.echo(
            f"papertrade: note: strategy {strategy} cannot be imported here; put PYTHONPATH=DIR (the "
            "directory holding its package) before the command, or cron will fail to load it",
            err=True,
        )
    return prefix + (f"PYTHONPATH={shlex.quote(path)} " if path else "")


def strategy_import_path(strategy: str) -> tuple[bool, str | None]:
    """Whether the strategy can be found here, and the directory a `package.module:Class`
    strategy's top-level package is imported from when cron would not find it by itself (it is
    not installed in this Python); None for built-in and entry-point strategies, and for
    installed modules. Nothing is imported."""
    if ":" not in strategy:
        return True, None
    import importlib.util

    from papertrade.strategies.registry import working_directory_importable

    top = strategy.partition(":")[0].split(".")[0]
    try:
        with working_directory_importable():
            spec = importlib.util.find_spec(top)
    except (ImportError, ValueError):
        spec = None
    if spec is None:
        return False, None
    locations = list(spec.submodule_search_locations or [])
    origin = Path(locations[0] if locations else spec.origin or "").resolve()
    root = origin.parent
    installed = (Path(p).resolve() for p in {sys.prefix, sys.base_prefix})
    return True, None if any(root.is_relative_to(p) for p in installed) else str(root)


def check_log_file(text: str) -> Path:
    """`--log` as a file cron can append to: not empty, not a directory."""
    from papertrade.errors import InputError

    if not text.strip() or "\x00" in text:
        raise InputError(f"--log must name a file, not {text!r}")
    if any(ord(char) < 32 or ord(char) == 127 for char in text):
        raise InputError(f"--log {text!r} holds a control character: a newline would split the crontab line")
    path = Path(text).expanduser()
    if text.endswith(("/", os.sep)) or path.is_dir():
        raise InputError(f"--log {text} names a directory: name a file in it")
    return path


def _refuse_database(log_path: Path, ledger: Path | None) -> None:
    """The tick's output must never be appended to the ledger, its side files or a database."""
    from papertrade.adapters.user_files import refuse_database

    refuse_database(log_path, "--log", ledger)


def _make_parent(log_path: Path) -> None:
    """Make the log's directory (0700): cron cannot append to a file in a missing one."""
    from papertrade.errors import InputError

    try:
        log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the directory of --log {log_path}: {exc.strerror}") from None


def schedule(timeframe: str) -> str:
    """Cron fields that fire one minute after each candle of `timeframe` closes (UTC)."""
    count, unit = int(timeframe[:-1]), timeframe[-1]
    if unit == "m":
        return "* * * * *" if count == 1 else f"1-59/{count} * * * *"
    if unit == "h":
        return "1 * * * *" if count == 1 else f"1 */{count} * * *"
    return "1 0 * * *"


def _papertrade_command() -> list[str]:
    script = Path(sys.executable).parent / "papertrade"
    if script.exists():
        return [str(script)]
    return [sys.executable, "-m", "papertrade"]
