"""`papertrade walk-forward`: optimise on rolling (or anchored) train windows, judge each choice
on the test window after it, and stitch the test windows into one out-of-sample result."""

from decimal import Decimal
from pathlib import Path
from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import now_ms, state
from papertrade.cli.optimize import (
    CashOption,
    ConstraintOption,
    CreatePortfolioOption,
    Data,
    ExitRangeOption,
    MinTradesOption,
    RangeParamOption,
    SamplerOption,
    SchedulerOption,
    SchedulerTimeoutOption,
    SeedOption,
    StakeRangeOption,
    StorageOption,
    StudyOption,
    SymbolOption,
    TimeoutOption,
    TrialsOption,
    WorkersOption,
    check_new_portfolio,
    default_study_name,
    parse_search,
    prepare,
    run_search,
)
from papertrade.cli.options import (
    DataOption,
    ExchangeOption,
    FeeRateOption,
    FromOption,
    SlippageOption,
    TimeframeOption,
    ToOption,
)
from papertrade.cli.report import check_plot

SpanOption = Annotated[str, typer.Option(metavar="N|DURATION", help="Candles (500) or a duration (180d, 12h, 4w).")]


def walk_forward(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Option(metavar="NAME", help="Strategy name or package.module:Class.")],
    train: SpanOption,
    test: SpanOption,
    anchored: Annotated[bool, typer.Option("--anchored", help="Train from the first candle on (growing).")] = False,
    data: DataOption = None,
    param: RangeParamOption = None,
    constraint: ConstraintOption = None,
    objective: Annotated[
        str, typer.Option(metavar="STAT", help='The report statistic chosen by ("-STAT" minimises).')
    ] = "Sharpe Ratio",
    sampler: SamplerOption = "tpe",
    trials: TrialsOption = None,
    timeout: TimeoutOption = None,
    seed: SeedOption = None,
    min_trades: MinTradesOption = 0,
    cash: CashOption = "10000",
    fee_rate: FeeRateOption = "0.001",
    slippage_bps: SlippageOption = "0",
    stake_fraction: StakeRangeOption = "1",
    stop_loss: ExitRangeOption = None,
    take_profit: ExitRangeOption = None,
    trailing_stop: ExitRangeOption = None,
    symbol: SymbolOption = None,
    exchange: ExchangeOption = None,
    timeframe: TimeframeOption = None,
    start: FromOption = None,
    end: ToOption = None,
    study: StudyOption = None,
    storage: StorageOption = None,
    workers: WorkersOption = None,
    scheduler: SchedulerOption = None,
    scheduler_timeout: SchedulerTimeoutOption = 10.0,
    create_portfolio: CreatePortfolioOption = None,
    json: Annotated[
        bool, typer.Option("--json", help="Print every fold and the out-of-sample result as JSON.")
    ] = False,
    plot: Annotated[
        Path | None, typer.Option(metavar="FILE", help="Also write a chart: FILE.html or FILE.png.")
    ] = None,
) -> None:
    """Optimise on each train window, backtest the choice on the test window after it (warmed up
    on the candles before it), and stitch the test windows: out-of-sample evidence."""
    from papertrade.domain.folds import make_folds, parse_span
    from papertrade.services.walk_forward import walk_forward as run_walk_forward

    settings = {"stop_loss": stop_loss, "take_profit": take_profit, "trailing_stop": trailing_stop,
                "stake_fraction": stake_fraction}  # fmt: skip
    search = parse_search(strategy, param, settings, constraint, sampler, trials, timeout, seed, [objective])
    spans = parse_span(train, "--train"), parse_span(test, "--test")
    check_plot(ctx, plot)
    where = Data(data, symbol, exchange, timeframe, start, end)
    setup, candles, description = prepare(ctx, strategy, where, cash, fee_rate, slippage_bps, settings, [objective],
                                          min_trades)  # fmt: skip
    folds = make_folds([int(t) for t in candles.ts], candles.timeframe.ms, *spans, anchored)
    store = state(ctx).study_store(storage)
    check_new_portfolio(ctx, create_portfolio)
    name = study or "wf-" + default_study_name(strategy, description)
    result = run_search(
        lambda cluster, progress: run_walk_forward(
            store, cluster, candles, name, setup, search, folds, exchange, progress
        ),
        workers,
        scheduler,
        scheduler_timeout,
    )
    if plot is not None:
        from papertrade.views.walk_forward import write_chart

        write_chart(result, setup.objectives[0].text, plot, state(ctx).ledger_file())
    origin = _promote(ctx, create_portfolio, result, candles, exchange) if create_portfolio else None
    _show(result, setup.objectives[0].text, description, anchored, json, plot, origin)


def _promote(ctx, name: str, result, candles, exchange):
    """The paper portfolio of the last fold's choice."""
    from papertrade.errors import InputError
    from papertrade.services.optimize import promote_trial

    last = result.folds[-1]
    if last.chosen is None:
        raise InputError(f"the last fold ({last.study.name}) has no complete trial to create a portfolio from")
    portfolio = promote_trial(state(ctx).ledger(create=True), name, last.study, last.chosen, candles.timeframe.name,
                              exchange, now_ms())  # fmt: skip
    return portfolio, last


def _show(result, objective: str, description, anchored: bool, as_json: bool, plot, origin) -> None:
    from papertrade.views.walk_forward import SHOWN, fold_rows, stability_lines, walk_forward_document

    if as_json:
        document = walk_forward_document(result, objective, description, anchored)
        if origin is not None:
            document["portfolio"] = {"id": origin[0].id, "name": origin[0].config.name, "study": origin[1].study.name,
                                     "trial": origin[1].chosen.number}  # fmt: skip
        output.emit_json(document)
        return
    kind = "anchored" if anchored else "rolling"
    typer.echo(f"Walk-forward {result.name}: {len(result.folds)} {kind} folds on {description['symbol']} "
               f"{description['timeframe']}, chosen by {objective}")  # fmt: skip
    headers, rows = fold_rows(result, objective)
    typer.echo(output.table(headers, rows, right=tuple(range(3, len(headers)))))
    typer.echo("\nOut of sample (the test windows stitched):")
    typer.echo(output.table(["STATISTIC", "VALUE"], [[n, _stat(result.stats.get(n))] for n in SHOWN], right=(1,)))
    efficiency = result.efficiency
    typer.echo(f"\nWalk-forward efficiency: {'-' if efficiency is None else f'{efficiency:.2f}'} "
               "(out-of-sample annualised return / in-sample annualised return)")  # fmt: skip
    typer.echo("Parameter stability across folds:")
    for line in stability_lines(result):
        typer.echo(line)
    if plot is not None:
        typer.echo(f"\nChart written to {plot.resolve()}")
    if origin is not None:
        typer.echo(f'\nCreated portfolio {origin[0].id} "{origin[0].config.name}" from trial '
                   f"{origin[1].chosen.number} of study {origin[1].study.name}")  # fmt: skip


def _stat(value) -> str:
    if value is None:
        return "-"
    if isinstance(value, str):
        return output.money(Decimal(value))
    return f"{value:,.2f}" if isinstance(value, float) else str(value)
