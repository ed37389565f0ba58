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
VsBacktestOption = Annotated[
    bool,
    typer.Option(
        "--vs-backtest",
        help="Backtest the portfolio over the candles it processed and show paper and backtest side by side, "
        "the trades that differ and the first candle where they part.",
    ),
]
PlotOption = Annotated[
    Path | None, typer.Option("--plot", metavar="FILE", help="Also write a chart: FILE.png or FILE.html.")
]


def report(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    json: JsonOption = False,
    plot: PlotOption = None,
    vs_backtest: VsBacktestOption = False,
) -> None:
    """Performance of a paper portfolio: backtesting.py's statistics, PnL per symbol, trades."""
    from functools import partial

    if vs_backtest:
        _vs_backtest(ctx, portfolio_id, json, plot)
        return

    from papertrade.services.reports import from_ledger
    from papertrade.views.chart_data import for_ledger

    check_plot(ctx, plot)
    ledger = state(ctx).ledger()
    performance = from_ledger(ledger, portfolio_id)
    title = f'Portfolio {portfolio_id} "{performance.name}"'
    chart_of = partial(for_ledger, ledger, portfolio_id, performance, title)
    show(performance, title, json, plot, chart_of, state(ctx).ledger_file())


def _vs_backtest(ctx: typer.Context, portfolio_id: int, as_json: bool, plot: Path | None) -> None:
    from papertrade.errors import InputError
    from papertrade.services.drift import vs_backtest

    if plot is not None:
        raise InputError("--plot does not go with --vs-backtest (the dashboard's portfolio page draws both curves)")
    drift = vs_backtest(state(ctx).ledger(), portfolio_id)
    if as_json:
        from papertrade.views.documents import drift_document

        output.emit_json(drift_document(drift))
        return
    for line in _drift_lines(drift):
        typer.echo(line)


#: The differing trades the text shows (`--json` has them all).
DIFFERING_SHOWN = 20


def _drift_lines(drift) -> list[str]:
    """`report --vs-backtest` for people: the two results side by side, the first divergence,
    the candles missed, the settings changes and the trades that differ."""
    from papertrade.domain.drift import describe

    paper = drift.paper.performance
    lines = [f'Portfolio {drift.portfolio_id} "{drift.name}" against its backtest: {drift.symbol}, '
             f"{output.plural(len(paper.times), 'candle')} from {output.timestamp(paper.times[0])} "
             f"to {output.timestamp(paper.times[-1])}", _drift_table(drift), ""]  # fmt: skip
    divergence = drift.divergence
    if divergence is None:
        lines.append("No divergence: paper and backtest agree fill for fill.")
    else:
        lines.append(f"First divergence: {output.timestamp(divergence.candle_ts)} ({divergence.reason}): "
                     f"{divergence.detail}")  # fmt: skip
    if drift.missed:
        shown = ", ".join(output.timestamp(ts) for ts in drift.missed[:5])
        more = ", ..." if len(drift.missed) > 5 else ""
        lines.append(f"Candles no tick processed: {len(drift.missed):,} ({shown}{more})")
    for change in drift.changes:
        lines.append(f"Settings changed from {output.timestamp(change.from_ts)}: {change.describe()}")
    differing = drift.differing
    if differing:
        shown = differing[:DIFFERING_SHOWN]
        more = f", the first {len(shown)}; all in --json" if len(shown) < len(differing) else ""
        rows = [[output.timestamp(p.candle_ts), describe(p.paper), describe(p.backtest)] for p in shown]
        lines += ["", f"Trades that differ ({len(differing):,}{more})",
                  output.table(["CANDLE", "PAPER", "BACKTEST"], rows)]  # fmt: skip
    return lines


def _drift_table(drift) -> str:
    from papertrade.reports.statistics import statistics

    quote = drift.paper.performance.quote

    def column(side) -> list[str]:
        performance = side.performance
        stats = statistics(performance)
        bps = "-" if side.slippage_bps is None else f"{side.slippage_bps:.2f}"
        return [human_value(stats["Return [%]"], "number"), output.money(stats["Equity Final [$]"], quote),
                output.count(stats["# Trades"]), output.count(len(performance.fills)),
                output.fee(performance.fees, quote), output.money(side.slippage, quote), bps,
                human_value(stats["Max. Drawdown [%]"], "number")]  # fmt: skip

    names = ["Return [%]", "Equity Final", "# Trades", "Fills", "Fees", "Slippage", "Avg. Slippage [bps]",
             "Max. Drawdown [%]"]  # fmt: skip
    rows = [[name, p, b] for name, p, b in zip(names, column(drift.paper), column(drift.backtest), strict=True)]
    return output.table(["", "PAPER", "BACKTEST"], rows, right=(1, 2))


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
