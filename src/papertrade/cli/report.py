"""`papertrade report`: how a paper portfolio did; and how any performance is shown."""

import math
from pathlib import Path
from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON: {'stats': ..., 'trades': ...}.")]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", metavar="FILE", help="Also write a chart: FILE.png or FILE.html.")
]


def report(
    ctx: typer.Context,
    portfolio_id: Annotated[int, typer.Argument(metavar="ID", help="Portfolio id.")],
    json: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Performance of a paper portfolio: backtesting.py's statistics, PnL per symbol, trades."""
    from papertrade.services.reports import from_ledger
    from papertrade.views.chart_data import for_ledger

    check_plot(plot)
    ledger = state(ctx).ledger()
    performance = from_ledger(ledger, portfolio_id)
    title = f'Portfolio {portfolio_id} "{performance.name}"'
    show(performance, title, json, plot, lambda: for_ledger(ledger, portfolio_id, performance, title))


def check_plot(plot: Path | None) -> None:
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
    from papertrade.reports.statistics import STAT_KINDS, statistics

    typer.echo(title)
    rows = [[name, human_value(value, STAT_KINDS[name])] for name, value in statistics(performance).items()]
    typer.echo(output.table(["STATISTIC", "VALUE"], rows, right=(1,)))
    exits = performance.exits_by_kind()
    if exits:
        typer.echo("Exits by kind: " + ", ".join(f"{kind} {count}" for kind, count in sorted(exits.items())))
    if performance.symbols:
        typer.echo("")
        typer.echo(_symbols_table(performance))
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
            output.money(s.fees_paid, quote, cost=True),
        ]
        for s in performance.symbols
    ]
    headers = ["SYMBOL", "HOLDING", "LAST PRICE", "NET REALIZED PNL", "UNREALIZED PNL", "FEES"]
    return output.table(headers, rows, right=(1, 2, 3, 4, 5))


def human_value(value, kind: str) -> str:
    """A statistic for humans; its `kind` is one of `papertrade.reports.statistics.STAT_KINDS`."""
    from papertrade.views.documents import duration_text

    if value is None:
        return "-"
    if kind == "money":
        return output.money(value)
    if kind == "time":
        return output.timestamp(value)
    if kind == "duration":
        return duration_text(value)
    if kind == "count":
        return str(value)
    if math.isnan(value):
        return "-"
    return "0.00" if round(value, 2) == 0 else f"{value:,.2f}"  # never -0.00
