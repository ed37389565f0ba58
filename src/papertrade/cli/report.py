"""`report`, `backtest`, `replay` and `demo`: how a strategy did, on paper and in a backtest."""

import math
import sys
from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import long_running, state

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON: {'stats': ..., 'trades': ...}.")]
DataOption = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE.csv",
        help="Candles: timestamp,open,high,low,close,volume. Without it, candles come from the candle store.",
    ),
]
ExchangeOption = Annotated[
    str | None, typer.Option(help="Without --data: read stored candles of this exchange (see `data download`).")
]
TimeframeOption = Annotated[str | None, typer.Option(help="Without --data: the stored candles' timeframe.")]
FromOption = Annotated[str | None, typer.Option("--from", metavar="TS", help="First candle (ms or ISO time).")]
ToOption = Annotated[str | None, typer.Option("--to", metavar="TS", help="Last candle (ms or ISO time).")]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", metavar="FILE", help="Also write a chart: FILE.png or FILE.html.")
]


def report(
    ctx: typer.Context,
    portfolio_id: Annotated[int, typer.Argument(metavar="ID")],
    json: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Performance of a paper portfolio: backtesting.py's statistics, PnL per symbol, trades."""
    from papertrade.services.performance import from_ledger
    from papertrade.views.chart_data import for_ledger

    _check_plot(plot)
    ledger = state(ctx).ledger()
    performance = from_ledger(ledger, portfolio_id)
    title = f"Portfolio {portfolio_id}"
    show(performance, title, json, plot, lambda: for_ledger(ledger, portfolio_id, performance, title))


def backtest(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Option(help="Strategy name or package.module:Class.")],
    data: DataOption = None,
    param: Annotated[list[str] | None, typer.Option("--param", help="Strategy parameter KEY=VALUE.")] = None,
    cash: Annotated[str, typer.Option(help="Starting cash.")] = "10000",
    fee_rate: Annotated[str, typer.Option(help="Fee per trade as a fraction of its value.")] = "0.001",
    slippage_bps: Annotated[str, typer.Option(help="Price moved against each fill, in bps.")] = "0",
    stake_fraction: Annotated[str, typer.Option(help="Fraction of cash each BUY spends.")] = "1",
    symbol: Annotated[str | None, typer.Option(help="Symbol the file holds (default: from its name).")] = None,
    exchange: ExchangeOption = None,
    timeframe: TimeframeOption = None,
    start: FromOption = None,
    end: ToOption = None,
    json: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Backtest a strategy over a candle file, or stored candles, in memory, with the live tick's
    rules and fill model."""
    from papertrade.cli.data import backtest_candles
    from papertrade.domain.portfolio import parse_cash, parse_fill_model, parse_symbol
    from papertrade.services.backtest import backtest as run_backtest
    from papertrade.strategies import registry
    from papertrade.views.chart_data import for_backtest

    _check_plot(plot)
    chosen = registry.build(strategy, registry.parse_param_pairs(param or ()))
    fills = parse_fill_model(fee_rate, slippage_bps, stake_fraction)
    starting_cash = parse_cash(cash)
    candles, name = backtest_candles(ctx, data, exchange, symbol, timeframe, start, end)
    _, quote = parse_symbol(name)
    long_running()
    performance = run_backtest(candles, chosen, fills, starting_cash, name, quote)
    title = f"Backtest of {strategy} on {name} {candles.timeframe}"
    show(performance, title, json, plot, lambda: for_backtest(performance, title, candles, chosen))


def replay(
    ctx: typer.Context,
    portfolio_id: Annotated[int, typer.Argument(metavar="ID")],
    symbol: Annotated[str, typer.Argument(help="Symbol the file holds, e.g. BTC/USDT.")],
    data: DataOption = None,
    start: FromOption = None,
    end: ToOption = None,
    exchange: Annotated[
        str | None,
        typer.Option(help="Without --data: replay stored candles of this exchange (default: the portfolio's)."),
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="Without --data: must be the portfolio's (its default).")
    ] = None,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Drive the real LIVE tick path candle by candle over a file, or stored candles, with a
    simulated clock.

    Each candle becomes one tick at the moment it closes: candle store, ledger, tick key and
    journal exactly as in a cron run. Re-running a range is safe (already processed candles
    are duplicates).
    """
    from papertrade.cli.data import replay_candles
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.errors import InputError
    from papertrade.services.portfolios import get_portfolio
    from papertrade.services.replay import replay as run_replay

    parse_symbol(symbol)
    first, last = parse_time(start, "--from"), parse_time(end, "--to")
    ledger = state(ctx).ledger(durable=False)  # a replay can always be run again
    portfolio = get_portfolio(ledger, portfolio_id)
    candles = replay_candles(ledger, portfolio.config, symbol, data, exchange, timeframe)
    if candles.timeframe != portfolio.config.timeframe:
        raise InputError(
            f"{candles.path.name} holds {candles.timeframe} candles but portfolio {portfolio_id} trades "
            f"{portfolio.config.timeframe}"
        )
    bars = candles.between(first if first is not None else 0, last if last is not None else 2**62)
    long_running()
    with _progress(len(bars), json) as advance:
        summary = run_replay(ledger, candles, portfolio_id, symbol, start=first, end=last, progress=advance)
    final = get_portfolio(ledger, portfolio_id).book
    if json:
        output.emit_json(
            {
                "portfolio_id": portfolio_id,
                "symbol": symbol,
                "candles": summary.ticks,
                "statuses": summary.statuses,
                "cash": final.cash,
            }
        )
        return
    counts = ", ".join(f"{n} {status}" for status, n in sorted(summary.statuses.items()))
    typer.echo(
        f"Replayed {summary.ticks} candles of {symbol} into portfolio {portfolio_id}: {counts}; "
        f"cash {output.money(final.cash)} {portfolio.config.quote}"
    )


def demo(
    directory: Annotated[Path, typer.Option("--dir", help="Where the throw-away ledger and charts go.")] = Path(
        "demo-output"
    ),
) -> None:
    """Replay a bundled sample of real BTC/USDT candles through the tick path, offline, and report."""
    from papertrade.services.demo import run_demo

    long_running()
    outcome = run_demo(directory, progress=_progress)
    show(outcome.performance, outcome.title, False, None, None)
    typer.echo("")
    typer.echo(f"Ledger:       {outcome.ledger_path}")
    typer.echo(f"Equity curve: {outcome.png}")
    typer.echo(f"Interactive:  {outcome.html}")


# -- rendering ------------------------------------------------------------------------------


def _check_plot(plot: Path | None) -> None:
    if plot is not None:
        from papertrade.views.plots import check_plot_path

        check_plot_path(plot)


def show(performance, title: str, as_json: bool, plot: Path | None, chart_of) -> None:
    """Print the report (a table, or the JSON document) and write the chart `plot` names."""
    if plot is not None:
        from papertrade.views.plots import write_plot

        write_plot(chart_of(), plot)
    if as_json:
        from papertrade.views.documents import report_document

        output.emit_json(report_document(performance))
        return
    from papertrade.services.performance import statistics

    typer.echo(title)
    rows = [[name, human_value(value)] for name, value in statistics(performance).items()]
    typer.echo(output.table(["STATISTIC", "VALUE"], rows, right=(1,)))
    if performance.symbols:
        typer.echo("")
        typer.echo(_symbols_table(performance.symbols))
    if plot is not None:
        typer.echo(f"\nChart written to {plot.resolve()}")


def _symbols_table(symbols) -> str:
    rows = [
        [
            s.symbol,
            output.amount(s.quantity),
            output.price(s.last_price),
            output.money(s.realized_pnl),
            output.money(s.unrealized_pnl),
            output.money(s.fees_paid),
        ]
        for s in symbols
    ]
    headers = ["SYMBOL", "HOLDING", "LAST PRICE", "REALIZED PNL", "UNREALIZED PNL", "FEES"]
    return output.table(headers, rows, right=(1, 2, 3, 4, 5))


def human_value(value) -> str:
    import pandas as pd

    if isinstance(value, Decimal):
        return output.money(value)
    if value is None or value is pd.NaT or (isinstance(value, pd.Timedelta) and pd.isna(value)):
        return "-"
    if isinstance(value, pd.Timestamp):
        return value.strftime("%Y-%m-%d %H:%MZ")
    if isinstance(value, pd.Timedelta):
        return str(value)
    if isinstance(value, int):
        return str(value)
    number = float(value)
    return "-" if math.isnan(number) else f"{number:,.2f}"


def parse_time(text: str | None, option: str) -> int | None:
    """A candle time given as integer milliseconds or an ISO date/time (UTC unless it says)."""
    if text is None:
        return None
    from datetime import UTC, datetime

    from papertrade.errors import InputError

    if text.strip().lstrip("-").isdigit():
        return int(text)
    try:
        moment = datetime.fromisoformat(text.strip())
    except ValueError:
        raise InputError(f"{option} takes milliseconds or an ISO time like 2021-03-01T12:00, not {text!r}") from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return int(moment.timestamp() * 1000)


class _progress:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self._bar = None
        if not quiet and sys.stderr.isatty() and total > 0:
            self._bar = typer.progressbar(length=total, label="replaying", file=sys.stderr)

    def __enter__(self):
        if self._bar is None:
            return lambda done: None
        self._bar.__enter__()
        state = {"done": 0}

        def advance(done: int) -> None:
            self._bar.update(done - state["done"])
            state["done"] = done

        return advance

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc_info)
