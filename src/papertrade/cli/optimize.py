"""`papertrade optimize`: search a strategy's parameters (and the exits and stake) with the
backtest's engine; `papertrade studies` and `papertrade study NAME` show what was searched."""

import os
from dataclasses import dataclass
from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import long_running, now_ms, state
from papertrade.cli.options import (
    DataOption,
    ExchangeOption,
    FeeRateOption,
    FromOption,
    SlippageOption,
    TimeframeOption,
    ToOption,
)

RangeParamOption = Annotated[
    list[str] | None,
    typer.Option("--param", metavar="KEY=RANGE",
                 help="A parameter's values: 5..30 (integers), 20.0..35.0:0.5 (a step), a,b,c (choices) or one value."),
]  # fmt: skip
ConstraintOption = Annotated[
    list[str] | None,
    typer.Option("--constraint", metavar="EXPR", help='A comparison the parameters must meet, like "fast < slow".'),
]
ObjectiveOption = Annotated[
    list[str] | None,
    typer.Option("--objective", metavar="STAT",
                 help='A report statistic to maximise ("-STAT" minimises); several: a Pareto front '
                      '(default "Sharpe Ratio").'),
]  # fmt: skip
StakeRangeOption = Annotated[
    str, typer.Option(metavar="F|RANGE", help="Fraction of cash each BUY spends (above 0, at most 1), or a range.")
]
ExitRangeOption = Annotated[
    str | None,
    typer.Option(metavar="F|RANGE", help="An exit as a fraction of the entry price, or a range (none: off)."),
]
CashOption = Annotated[str, typer.Option(metavar="AMOUNT", help="Starting cash: above 0, at most 1e15.")]
SymbolOption = Annotated[str | None, typer.Option(metavar="SYMBOL", help="Symbol the file holds (default: its name).")]
SamplerOption = Annotated[str, typer.Option(metavar="NAME", help="grid, random, tpe or nsga2.")]
TrialsOption = Annotated[
    int | None, typer.Option(metavar="N", help="Trials the study should have (default: the grid, or 100).")
]
TimeoutOption = Annotated[float | None, typer.Option(metavar="S", help="Start no trial after S seconds.")]
SeedOption = Annotated[int | None, typer.Option(metavar="N", help="Seed of the random, tpe and nsga2 samplers.")]
MinTradesOption = Annotated[int, typer.Option(metavar="N", help="Reject trials with fewer trades.")]
StudyOption = Annotated[str | None, typer.Option(metavar="NAME", help="Study name: the same name resumes it.")]
StorageOption = Annotated[
    str | None, typer.Option(metavar="URL|PATH", help="Study storage (default: studies.db beside the ledger).")
]
WorkersOption = Annotated[
    int | None, typer.Option(metavar="N", help="Worker processes (default: every core); 1 runs trials here.")
]
SchedulerOption = Annotated[
    str | None, typer.Option(metavar="tcp://HOST:PORT", help="Run the trials on this Dask cluster.")
]
SchedulerTimeoutOption = Annotated[
    float, typer.Option(metavar="S", help="Seconds to wait for the Dask scheduler to answer.")
]
CreatePortfolioOption = Annotated[
    str | None, typer.Option(metavar="NAME", help="Create a paper portfolio with the best trial's settings.")
]
JsonOption = Annotated[bool, typer.Option("--json", help="Print every trial as JSON, and the best.")]


@dataclass(frozen=True)
class Data:
    """Where the candles come from (the backtest's options)."""

    data: object
    symbol: str | None
    exchange: str | None
    timeframe: str | None
    start: str | None
    end: str | None


def optimize(
    ctx: typer.Context,
    strategy: Annotated[str, typer.Option(metavar="NAME", help="Strategy name or package.module:Class.")],
    data: DataOption = None,
    param: RangeParamOption = None,
    constraint: ConstraintOption = None,
    objective: ObjectiveOption = None,
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
    top: Annotated[int, typer.Option(metavar="N", help="Rows of the table of best trials.")] = 10,
    create_portfolio: CreatePortfolioOption = None,
    trial: Annotated[int | None, typer.Option(metavar="N", help="With --create-portfolio: this trial.")] = None,
    json: JsonOption = False,
) -> None:
    """Search a strategy's parameters, exits and stake with the backtest's engine, into a study
    kept in its own database (resumed when the --study name is given again)."""
    from papertrade.services import optimize as service

    settings = {"stop_loss": stop_loss, "take_profit": take_profit, "trailing_stop": trailing_stop,
                "stake_fraction": stake_fraction}  # fmt: skip
    search = parse_search(strategy, param, settings, constraint, sampler, trials, timeout, seed, objective)
    where = Data(data, symbol, exchange, timeframe, start, end)
    setup, candles, description = prepare(ctx, strategy, where, cash, fee_rate, slippage_bps, settings, objective,
                                          min_trades)  # fmt: skip
    service.check_search(search, setup.objectives)
    store = state(ctx).study_store(storage)
    check_new_portfolio(ctx, create_portfolio)
    name = study or default_study_name(strategy, description)
    result = run_search(
        lambda cluster, progress: service.optimize(store, cluster, candles, name, setup, search, description, progress),
        workers,
        scheduler,
        scheduler_timeout,
    )
    origin = promote(ctx, create_portfolio, trial, result, candles, description) if create_portfolio else None
    show_study(result, json, top, origin)


def parse_search(strategy, param, settings, constraint, sampler, trials, timeout, seed, objective):
    """The search the options describe (the space checked against the strategy's parameters)."""
    from papertrade.errors import InputError
    from papertrade.services import optimize as service

    ranged = {name: text for name, text in settings.items() if text is not None and is_range(text)}
    space = service.parse_space(strategy, param or (), ranged, constraint or ())
    if timeout is not None and not timeout > 0:
        raise InputError("--timeout must be above 0 seconds")
    search = service.Search(space, sampler.strip().lower(), trials, timeout, seed)
    service.check_search(search, service.parse_objectives(objective or ()))
    return search


def is_range(text: str) -> bool:
    """Whether a setting's text is a range or choices (searched) rather than one value (fixed)."""
    return ".." in text or "," in text


def prepare(ctx, strategy, where: Data, cash, fee_rate, slippage_bps, settings, objective, min_trades):
    """The fixed part of the search, the candles, and what the study remembers of them."""
    from papertrade.cli.data import backtest_candles
    from papertrade.domain.portfolio import parse_cash, parse_exits, parse_fill_model, parse_symbol
    from papertrade.errors import InputError
    from papertrade.services import optimize as service

    fixed = {name: text for name, text in settings.items() if text is not None and not is_range(text)}
    fills = parse_fill_model(fee_rate, slippage_bps, fixed.get("stake_fraction", "1"))
    exits = parse_exits(fixed.get("stop_loss"), fixed.get("take_profit"), fixed.get("trailing_stop"))
    objectives = service.parse_objectives(objective or ())
    starting_cash = parse_cash(cash)
    if min_trades < 0:
        raise InputError("--min-trades must be 0 or more")
    candles, symbol = backtest_candles(ctx, where.data, where.exchange, where.symbol, where.timeframe, where.start,
                                       where.end)  # fmt: skip
    _, quote = parse_symbol(symbol)
    setup = service.Setup(strategy, starting_cash, fills, symbol, quote, objectives, min_trades, exits)
    return setup, candles, service.data_description(candles, symbol, where.exchange)


def default_study_name(strategy: str, description) -> str:
    from datetime import UTC, datetime

    moment = datetime.fromtimestamp(now_ms() / 1000, UTC).strftime("%Y%m%dT%H%M%S")
    return f"{strategy}-{description['symbol'].replace('/', '-')}-{description['timeframe']}-{moment}"


def run_search(search, workers: int | None, scheduler: str | None, scheduler_timeout: float):
    """Run `search(cluster, progress)` on the cluster the options name, with a progress bar."""
    from papertrade.bootstrap import open_cluster
    from papertrade.errors import InputError

    if workers is not None and not 1 <= workers <= 1024:
        raise InputError("--workers must be between 1 and 1024")
    if workers is not None and scheduler is not None:
        raise InputError("give either --workers or --scheduler, not both")
    cluster = open_cluster(workers or os.cpu_count() or 1, scheduler, scheduler_timeout)
    long_running()
    try:
        with TrialProgress() as progress:
            return search(cluster, progress)
    finally:
        cluster.close()


def check_new_portfolio(ctx, name: str | None) -> None:
    """Refuse a --create-portfolio name that is not valid or already taken, before searching."""
    if name is None:
        return
    from papertrade.domain.portfolio import check_name
    from papertrade.errors import InputError
    from papertrade.services.portfolios import list_portfolios

    wanted = check_name(name)
    taken = [p.id for p in list_portfolios(state(ctx).ledger()) if p.config.name == wanted]
    if taken:
        raise InputError(f"a portfolio named {wanted!r} already exists (id {taken[0]})")


def promote(ctx, name: str, number: int | None, result, candles, description):
    """Create the paper portfolio of the chosen trial (the best, or `number`)."""
    from papertrade.services.optimize import chosen_trial, promote_trial

    chosen = chosen_trial(result, number)
    portfolio = promote_trial(state(ctx).ledger(create=True), name, result, chosen, candles.timeframe.name,
                              description.get("exchange"), now_ms())  # fmt: skip
    return portfolio, chosen


def show_study(result, as_json: bool, top: int, origin=None) -> None:
    """A study's best trials as a table, or every trial as JSON."""
    from papertrade.views.studies import best_rows, study_document

    if as_json:
        document = study_document(result)
        if origin is not None:
            document["portfolio"] = {"id": origin[0].id, "name": origin[0].config.name, "trial": origin[1].number}
        output.emit_json(document)
        return
    heading, headers, rows = best_rows(result, top)
    typer.echo(heading)
    typer.echo(output.table(headers, rows, right=tuple(range(len(headers)))) if rows else "No complete trial.")
    if origin is not None:
        portfolio, chosen = origin
        typer.echo(f'\nCreated portfolio {portfolio.id} "{portfolio.config.name}" from trial {chosen.number} '
                   f"of study {result.name}")  # fmt: skip


class TrialProgress:
    """A Rich progress bar on stderr when it is a terminal (trials done, best so far, rate)."""

    def __init__(self) -> None:
        import sys

        self._bar = self._task = None
        if sys.stderr.isatty():
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            from papertrade.cli.progress import CountColumn

            self._bar = Progress(TextColumn("trials"), BarColumn(), CountColumn(),
                                 TextColumn("{task.description}"), TimeRemainingColumn(),
                                 console=Console(stderr=True), transient=True)  # fmt: skip
            self._task = self._bar.add_task("", total=None)

    def __enter__(self):
        if self._bar is not None:
            self._bar.__enter__()
        return self._advance

    def _advance(self, done: int, total: int, best: float | None) -> None:
        if self._bar is not None:
            rate = self._bar.tasks[0].speed
            text = f"best {best:,.4g}" if best is not None else "best -"
            text += f"  {rate:.1f} trials/s" if rate else ""
            self._bar.update(self._task, completed=done, total=total, description=text)

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc_info)


def studies(
    ctx: typer.Context,
    storage: StorageOption = None,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """List the studies in the study storage, oldest first."""
    from papertrade.views.studies import studies_document, studies_rows

    summaries = state(ctx).study_store(storage).summaries()
    if json:
        output.emit_json(studies_document(summaries))
    elif not summaries:
        typer.echo("No studies yet: `papertrade optimize` makes one.")
    else:
        typer.echo(output.table(*studies_rows(summaries), right=(4, 5)))


def study(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(metavar="NAME", help="The study's name (see `papertrade studies`).")],
    storage: StorageOption = None,
    top: Annotated[int, typer.Option(metavar="N", help="Rows of the table of best trials.")] = 10,
    json: JsonOption = False,
) -> None:
    """Show one study: what it searched, on which candles, and its best trials (--json: all)."""
    from papertrade.services.optimize import load_study

    show_study(load_study(state(ctx).study_store(storage), name), json, top)
