"""`cron`: a ready crontab line that ticks a portfolio shortly after each candle closes."""

import os
import shlex
import sys
import time
from pathlib import Path
from typing import Annotated

import typer

from papertrade.cli.context import state


def cron(
    ctx: typer.Context,
    portfolio_id: Annotated[int, typer.Argument(metavar="ID", help="Portfolio id.")],
    symbol: Annotated[str, typer.Argument(help="Market symbol, e.g. BTC/USDT.")],
    log: Annotated[Path | None, typer.Option(help="Log file (default: logs/ in the data directory).")] = None,
) -> None:
    """Print a crontab line for LIVE ticks of this portfolio (absolute paths, output to a log)."""
    from papertrade.adapters.database import resolve_url
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.services.portfolios import get_portfolio
    from papertrade.settings import default_database_path

    base, quote = parse_symbol(symbol)
    cli = state(ctx)
    url = resolve_url(cli.settings().database)
    portfolio = get_portfolio(cli.ledger(), portfolio_id)
    timeframe = portfolio.config.timeframe
    log_path = log or default_database_path().parent / "logs" / f"portfolio-{portfolio_id}-{base}-{quote}.log"
    command = [*_papertrade_command(), "--db", url.render_as_string(hide_password=False)]
    command += ["trade", str(portfolio_id), symbol, "LIVE"]
    env = os.environ.get("PAPERTRADE_CCXT_CONFIG")
    prefix = f"PAPERTRADE_CCXT_CONFIG={shlex.quote(env)} " if env else ""
    delay = "sleep 5; " if timeframe.ms == 60_000 else ""
    log_path = log_path.resolve()
    log_path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)  # cron cannot append to a missing dir
    redirect = f">> {shlex.quote(str(log_path))} 2>&1"
    line = f"{schedule(timeframe.name)} {delay}{prefix}{shlex.join(command)} {redirect}"
    typer.echo(line.replace("%", "\\%"))  # crontab turns a bare % into a newline
    if timeframe.ms > 3_600_000 and time.localtime().tm_gmtoff != 0:
        typer.echo(
            "papertrade: note: the hour fields assume cron runs in UTC; this machine does not "
            "(set CRON_TZ=UTC above the line if your cron supports it)",
            err=True,
        )


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
