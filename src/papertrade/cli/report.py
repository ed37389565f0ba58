"""`papertrade report`: how a paper portfolio did; and how any performance is shown."""

from pathlib import Path
from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state
from papertrade.cli.options import IdArgument

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print JSON: {'stats', 'trades', 'round_trips', 'equity_curve', ...}.")
]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", metavar="FILE", help="Also write a chart: FILE.png or FILE.html.")
]


def report(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    json: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Performance of a paper portfolio: backtesting.py's statistics, PnL per symbol, trades."""
    from functools import partial

    from papertrade.services.reports import from_ledger
    from papertrade.views.chart_data import for_ledger

    check_plot(ctx, plot)
    ledger = state(ctx).ledger()
    performance = from_ledger(ledger, portfolio_id)
    title = f'Portfolio {portfolio_id} "{performance.name}"'
    chart_of = partial(for_ledger, ledger, portfolio_id, performance, title)
    show(performance, title, json, plot, chart_of, state(ctx).ledger_file())


def check_plot(ctx: typer.Context, plot: Path | None) -> None:
    """Refuse a `--plot` file before any work: the wrong suffix, the ledger, any database."""
    if plot is not None:
        from papertrade.views.plots import check_plot_path

        check_plot_path(plot, state(ctx).ledger_file())


def _sides(performance) -> None:
    """The long and the short round trips apart, when there were shorts."""
    from papertrade.reports.statistics import SIDE_STAT_KINDS, side_statistics

    sides = side_statistics(performance)
    if not sides["short"]["# Trades"]:
        return
    names = list(SIDE_STAT_KINDS)
    rows = [[name, *(human_value(sides[side][name], SIDE_STAT_KINDS[name]) for side in sides)] for name in names]
    typer.echo("")
    typer.echo(output.table(["BY SIDE", "LONG", "SHORT"], rows, right=(1, 2)))


def warmup_line(warmup, first_trading_ts: int | None) -> str:
    """How many candles before `--from` warmed the strategy up, and what follows when too few."""
    from papertrade.domain.timeframes import timestamp

    start = timestamp(warmup.start_ts)
    if warmup.enough:
        return f"Warm-up: {warmup.candles:,} candles before {start} (the strategy needs {warmup.needed:,})"
    decides = f"it decides from {timestamp(first_trading_ts)}" if first_trading_ts is not None else "it never decides"
    return (
        f"Warm-up: only {warmup.candles:,} of the {warmup.needed:,} candles the strategy needs before {start}: "
        f"{decides}, after warming up on the range's own candles"
    )


def show(performance, title: str, as_json: bool, plot: Path | None, chart_of, ledger: Path | None = None) -> None:
    """Print the report (a table, or the JSON document) and write the chart `plot` names
    (never over the `ledger` file)."""
    if plot is not None:
        from papertrade.views.plots import write_plot

        write_plot(chart_of(), plot, ledger)
    if as_json:
        from papertrade.views.documents import report_document

        output.emit_json(report_document(performance))
        return
    from papertrade.reports.statistics import STAT_KINDS, statistics

    typer.echo(title)
    if performance.warmup is not None:
        typer.echo(warmup_line(performance.warmup, performance.first_trading_ts))
    stats = statistics(performance)
    rows = [[name, human_value(value, STAT_KINDS[name], performance.quote)] for name, value in stats.items()]
    typer.echo(output.table(["STATISTIC", "VALUE"], rows, right=(1,)))
    exits = performance.exits_by_kind()
    if exits:
        typer.echo("Exits by kind: " + ", ".join(f"{kind} {output.count(n)}" for kind, n in sorted(exits.items())))
    if performance.refused:
        first_ts, why = performance.refused[0]
        typer.echo(f"Refused entries: {len(performance.refused):,} (the first on {output.timestamp(first_ts)}: {why})")
    _sides(performance)
    if performance.symbols:
        typer.echo("")
        typer.echo(_symbols_table(performance))
    trips = performance.round_trips()
    if trips:
        typer.echo("")
        typer.echo(_round_trips_table(trips, performance.quote))
    if plot is not None:
        typer.echo(f"\nChart written to {plot.resolve()}")


def _symbols_table(performance) -> str:
    from papertrade.domain.money import ZERO
    from papertrade.domain.pnl import net_realized

    quote, net = performance.quote, net_realized(performance.fills).by_symbol
    rows = [
        [
            s.symbol,
            output.amount(s.quantity),
            output.price(s.last_price),
            output.money(net.get(s.symbol, ZERO), quote),
            output.money(s.unrealized_pnl, quote),
            output.fee(s.fees_paid, quote),
        ]
        for s in performance.symbols
    ]
    headers = ["SYMBOL", "HOLDING", "LAST PRICE", "NET REALIZED PNL", "UNREALIZED PNL", "FEES"]
    return output.table(headers, rows, right=(1, 2, 3, 4, 5))


#: The newest round trips the table shows (`--json` has them all).
ROUND_TRIPS_SHOWN = 20


def _round_trips_table(trips, quote: str) -> str:
    shown = trips[-ROUND_TRIPS_SHOWN:]
    sizes = output.quantities_by_symbol([(t.symbol, t.size) for t in shown])
    rows = [
        [
            output.timestamp(t.entry_ts),
            output.timestamp(t.exit_ts),
            t.symbol,
            size,
            output.price(t.entry_price),
            output.price(t.exit_price),
            output.percent(t.return_pct * 100),
            output.money(t.pnl, quote),
            output.duration(t.exit_ts - t.entry_ts),
            t.exit_kind,
        ]
        for t, size in zip(shown, sizes, strict=True)
    ]
    headers = [
        "ENTRY",
        "EXIT",
        "SYMBOL",
        "SIZE",
        "ENTRY PRICE",
        "EXIT PRICE",
        "PROFIT %",
        "PNL",
        "DURATION",
        "EXIT KIND",
    ]
    title = f"Round trips ({len(trips)}" + (
        f", the last {len(shown)}; all in --json)" if len(shown) < len(trips) else ")"
    )
    return title + "\n" + output.table(headers, rows, right=(3, 4, 5, 6, 7))


def human_value(value, kind: str, currency: str | None = None) -> str:
    """A statistic for humans; its `kind` is one of `papertrade.reports.statistics.STAT_KINDS`."""
    return output.statistic(value, kind, currency)
