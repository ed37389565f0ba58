"""`data download`, `data list`, `data export`, `data delete`: the candle store as the user's data set."""

import sys
from pathlib import Path
from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import long_running, now_ms, state
from papertrade.cli.options import parse_range, parse_time

app = typer.Typer(
    help="Download exchange history into the candle store, list it, export it, delete it.",
    no_args_is_help=True,
    rich_markup_mode=None,
)

ExchangeArg = Annotated[str, typer.Argument(metavar="EXCHANGE", help="A ccxt exchange id, e.g. binance or okx.")]
SymbolArg = Annotated[str, typer.Argument(metavar="SYMBOL", help="e.g. BTC/USDT.")]
TimeframeArg = Annotated[str, typer.Argument(metavar="TIMEFRAME", help="e.g. 1h.")]
FromOption = Annotated[str | None, typer.Option("--from", metavar="TS", help="First candle (ms or ISO time, UTC).")]
ToOption = Annotated[str | None, typer.Option("--to", metavar="TS", help="Last candle (ms or ISO time, UTC).")]


@app.command()
def download(
    ctx: typer.Context,
    exchange: ExchangeArg,
    symbol: Annotated[str | None, typer.Argument(metavar="[SYMBOL]", help="e.g. BTC/USDT (or --symbols).")] = None,
    timeframe: Annotated[str | None, typer.Argument(metavar="[TIMEFRAME]", help="e.g. 1h (or --timeframes).")] = None,
    symbols: Annotated[
        list[str] | None, typer.Option("--symbols", metavar="SYMBOL...", help="Several symbols: BTC/USDT ETH/USDT.")
    ] = None,
    timeframes: Annotated[
        list[str] | None, typer.Option("--timeframes", metavar="TIMEFRAME...", help="Several timeframes: 1h 1d.")
    ] = None,
    since: Annotated[
        str | None, typer.Option("--since", metavar="DATE", help="First candle (ISO time or ms, UTC).")
    ] = None,
    until: Annotated[
        str | None, typer.Option("--until", metavar="DATE", help="Last candle (default: the latest closed one).")
    ] = None,
    days: Annotated[
        int | None, typer.Option("--days", metavar="N", help="Instead of --since: the last N days up to now.")
    ] = None,
) -> None:
    """Fetch closed candles from an exchange into the candle store the ticks use: one series
    (EXCHANGE SYMBOL TIMEFRAME), or every pair of --symbols and --timeframes.

    Pages under the exchange's rate limit and commits page by page: interrupted, it keeps what it
    has, and run again it fetches only what is still missing. Gaps the exchange really has are
    recorded and never asked for again. Every series is checked before any is fetched; one that
    meets temporary trouble does not stop the others (exit 75 at the end).
    """
    from papertrade.bootstrap import market_data_factory
    from papertrade.services import market_data

    pairs = _series_wanted(symbol, timeframe, symbols, timeframes)
    cli, now = state(ctx), now_ms()
    first, last = _first_candle(since, days, now), parse_time(until, "--until")
    source = market_data_factory(cli.settings())(exchange)
    checked = [(tf, *market_data.check_download(source, sym, tf, first, last, now)) for sym, tf in pairs]
    ledger = cli.ledger(create=True)
    long_running()
    troubles = [_download_one(ledger, source, *one, now, alone=len(checked) == 1) for one in checked]
    failed = sum(1 for trouble in troubles if trouble is not None)
    if failed:
        from papertrade.errors import TemporaryError

        raise TemporaryError(f"{failed} of {len(checked)} series are incomplete; run the same command to continue")


def _series_wanted(symbol, timeframe, symbols, timeframes) -> list[tuple[str, object]]:
    """Every (symbol, timeframe) asked for, in the order given, each once: the positional
    SYMBOL and TIMEFRAME with --symbols and --timeframes (a lone positional that is a timeframe,
    as in `binance 1h --symbols ...`, counts as one)."""
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.domain.timeframes import Timeframe
    from papertrade.errors import InputError

    if symbol is not None and timeframe is None and "/" not in symbol and timeframes is None:
        symbol, timeframe = None, symbol
    wanted_symbols = list(dict.fromkeys([*([symbol] if symbol else []), *(symbols or [])]))
    wanted_timeframes = list(dict.fromkeys([*([timeframe] if timeframe else []), *(timeframes or [])]))
    if not wanted_symbols or not wanted_timeframes:
        raise InputError("name a symbol and a timeframe: EXCHANGE SYMBOL TIMEFRAME, or --symbols and --timeframes")
    for name in wanted_symbols:
        parse_symbol(name)
    chosen = list(dict.fromkeys(Timeframe.parse(name) for name in wanted_timeframes))
    return [(name, tf) for name in wanted_symbols for tf in chosen]


def _download_one(ledger, source, timeframe, series, first: int, end: int, market, now: int, alone: bool):
    """Download one checked series and print its summary line. Unless it is the only one, its
    TemporaryError is said on stderr and returned, so that the other series still run."""
    from papertrade.errors import TemporaryError
    from papertrade.services import market_data

    source.market(series.symbol, market)  # the market checked, without asking the exchange again
    plan = market_data.plan_download(ledger, series, timeframe, first, end)
    stored_before = market_data.describe(ledger, series, first, end).count
    display = _Progress(plan.series, sum((b - a) // timeframe.ms + 1 for a, b in plan.missing))
    try:
        with display as progress:
            tally = market_data.download(ledger, source, plan, now, progress)
    except KeyboardInterrupt:  # count what the ledger holds: the display may not have shown the last page
        kept = market_data.describe(ledger, series, first, end).count - stored_before
        output.error_line(f"interrupted: kept {output.plural(kept, 'candle')}; run the same command to continue")
        raise
    except TemporaryError as exc:
        if alone:
            raise
        name = f"{series.exchange} {series.symbol} {series.timeframe}"
        output.error_line(str(exc) if str(exc).startswith(name) else f"{name}: {exc}")
        return exc
    typer.echo(download_summary(market_data.describe(ledger, series, first, end), tally))
    if ":" in series.symbol:  # a swap: its funding rates too
        try:
            funding = market_data.download_funding(ledger, source, series.symbol, first, end + timeframe.ms)
        except TemporaryError as exc:
            if alone:
                raise
            output.error_line(f"{series.exchange} {series.symbol} funding: {exc}")
            return exc
        typer.echo(funding_summary(series, funding))
    return None


def funding_summary(series, funding) -> str:
    """One line: the swap's funding rates stored for the candles' range, and what was fetched."""
    name = f"{series.exchange} {series.symbol} funding"
    if not funding.stored:
        return f"{name}: no funding rates in that range; fetched {funding.fetched:,}"
    return (f"{name}: {output.plural(funding.stored, 'rate')} from {output.timestamp(funding.first_ts)} to "
            f"{output.timestamp(funding.last_ts)}; fetched {funding.fetched:,}")  # fmt: skip


def _first_candle(since: str | None, days: int | None, now: int) -> int:
    """`--since` as milliseconds, or `--days N` as the time N days before `now` (exactly one)."""
    from papertrade.errors import InputError

    if (since is None) == (days is None):
        raise InputError("give --since DATE or --days N (one of them)")
    if days is None:
        return parse_time(since, "--since")
    if not 0 < days <= 36_500:
        raise InputError(f"--days must be 1 to 36500, not {days}")
    return now - days * 86_400_000


@app.command()
def delete(
    ctx: typer.Context,
    exchange: ExchangeArg,
    symbol: SymbolArg,
    timeframe: TimeframeArg,
    force: Annotated[bool, typer.Option("--force", help="Delete it even while a portfolio trades it.")] = False,
    json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Remove a stored series: its candles and the gaps the exchange confirmed in it, journaled
    as `data.deleted` by every portfolio whose ticks read it. Refused (exit 2, nothing deleted)
    while a portfolio that is not archived trades it, unless --force."""
    from papertrade.services.market_data import delete_series

    series, _, _ = store_selection(exchange, symbol, timeframe, None, None)
    deleted = delete_series(state(ctx).ledger(), series, force, now_ms())
    info = deleted.info
    if json:
        output.emit_json(
            {"exchange": series.exchange, "symbol": series.symbol, "timeframe": series.timeframe,
             "candles": info.count, "first_ts": info.first_ts, "last_ts": info.last_ts, "gaps": deleted.gaps,
             "trading": deleted.trading, "journaled": deleted.journaled}
        )  # fmt: skip
        return
    span = "" if not info.count else f" ({output.timestamp(info.first_ts)} to {output.timestamp(info.last_ts)})"
    typer.echo(
        f"Deleted {series.exchange} {series.symbol} {series.timeframe}: {output.plural(info.count, 'candle')}{span}, "
        f"{output.plural(deleted.gaps, 'confirmed gap')}"
    )
    if deleted.trading:
        typer.echo(f"  still traded by portfolio {', '.join(map(str, deleted.trading))}: its next tick fetches "
                   "what it needs again")  # fmt: skip


@app.command("list")
def list_series(ctx: typer.Context, json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False) -> None:
    """Every stored series: first and last candle, count, and its gaps (how many, the longest)."""
    from papertrade.services.market_data import list_series as stored_series

    infos = stored_series(state(ctx).ledger())
    if json:
        output.emit_json([series_json(info) for info in infos])
        return
    if not infos:
        typer.echo("No candles stored yet: fetch some with `papertrade data download`.")
        return
    rows = [
        [i.series.exchange, i.series.symbol, i.series.timeframe, output.timestamp(i.first_ts),
         output.timestamp(i.last_ts), f"{i.count:,}", str(len(i.gaps)), _longest(i)]
        for i in infos
    ]  # fmt: skip
    headers = ["EXCHANGE", "SYMBOL", "TF", "FIRST", "LAST", "CANDLES", "GAPS", "LONGEST GAP"]
    typer.echo(output.table(headers, rows, right=(5, 6)))


@app.command()
def export(
    ctx: typer.Context,
    exchange: ExchangeArg,
    symbol: SymbolArg,
    timeframe: TimeframeArg,
    out: Annotated[Path, typer.Option("-o", "--output", metavar="FILE", help="Where to write (- for stdout).")],
    format: Annotated[
        str | None,
        typer.Option("--format", metavar="csv|json|parquet", help="File format (default: from the -o suffix)."),
    ] = None,
    start: FromOption = None,
    end: ToOption = None,
) -> None:
    """Write stored candles to a file: CSV as `backtest --data` reads it, JSON (exact decimal
    strings), or Parquet (exact decimal columns, UTC timestamps). The format is the one the -o
    suffix names (.csv, .json, .parquet) unless --format says; `-o -` writes CSV to stdout."""
    from papertrade.adapters import candle_export
    from papertrade.adapters.user_files import check_output, write_output

    destination = check_output(out, "-o", state(ctx).ledger_file())
    named = destination.kind in ("new", "file")
    encode = candle_export.encoder(candle_export.format_for(str(out), format, named))
    bars = _stored(ctx, exchange, symbol, timeframe, start, end)
    write_output(destination, encode(bars))
    if destination.kind == "stdout":
        return  # the candles are the output: no summary line among them
    typer.echo(
        f"Wrote {output.plural(len(bars), 'candle')} "
        f"({output.timestamp(bars[0].ts)} to {output.timestamp(bars[-1].ts)}) to {out}"
    )


def _stored(ctx: typer.Context, exchange: str, symbol: str, timeframe: str, start: str | None, end: str | None):
    from papertrade.services.market_data import stored_bars

    series, first, last = store_selection(exchange, symbol, timeframe, start, end)
    return stored_bars(state(ctx).ledger(), series, first, last)


def store_selection(exchange: str, symbol: str, timeframe: str, start: str | None, end: str | None):
    """A stored series and a range of it, as `--exchange --symbol --timeframe --from --to` name them."""
    from papertrade.domain.coverage import Series
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.domain.timeframes import Timeframe

    parse_symbol(symbol)
    first, last = time_range(start, end)
    return Series(exchange, symbol, Timeframe.parse(timeframe).name), first, last


def time_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """`--from` and `--to` as milliseconds; `InputError` when `--from` is after `--to`."""
    return parse_range(start, end)


def backtest_candles(ctx, data: Path | None, exchange, symbol, timeframe, start, end):
    """The candles a backtest runs over, and their symbol: from `data` (a file), or from the
    candle store when `--exchange`, `--symbol` and `--timeframe` name a series instead."""
    history, name, first = backtest_history(ctx, data, exchange, symbol, timeframe, start, end)
    return history.between(first, None), name


def backtest_history(ctx, data: Path | None, exchange, symbol, timeframe, start, end):
    """The candles a backtest reads: every one up to `--to`, since those before `--from` warm
    the strategy up; their symbol; and the open time `--from` names (None: from the first).
    `InputError` when `--from` and `--to` select no candle."""
    from papertrade.adapters.csv_candles import load_columns, symbol_from_filename
    from papertrade.errors import InputError

    if data is not None:
        if exchange is not None or timeframe is not None:
            raise InputError("give either --data or --exchange/--timeframe, not both")
        first, last = time_range(start, end)
        candles = load_columns(data)
        if len(candles.between(first, last)) == 0:
            raise InputError(
                f"{data.name} has no candles from {start or 'its start'} to {end or 'its end'} "
                f"(it holds {_span(candles)})"
            )
        return candles.between(None, last), symbol or symbol_from_filename(data), first
    if exchange is None or symbol is None or timeframe is None:
        raise InputError("give --data FILE, or --exchange, --symbol and --timeframe to use stored candles")
    from papertrade.services.market_data import candle_columns

    series, first, last = store_selection(exchange, symbol, timeframe, start, end)
    history = candle_columns(state(ctx).ledger(), series, None, last)
    if first is not None and history.ts[-1] < first:
        candle_columns(state(ctx).ledger(), series, first, last)  # none: says so, naming the range
    return history, series.symbol, first


def funding_for(ctx, symbol: str, funding: Path | None, exchange: str | None):
    """The funding rates a backtest or replay of `symbol` books: none for a spot symbol; a
    swap's from `--funding FILE.csv`, else those stored for `exchange` (its stored candles'
    exchange). A swap's candle file without `--funding` is refused: funding left out would
    report profits the account never sees."""
    from papertrade.domain.funding import NO_FUNDING, is_swap
    from papertrade.errors import InputError

    if funding is not None:
        if not is_swap(symbol):
            raise InputError(f"--funding is for swaps (like BTC/USDT:USDT); {symbol} is not one")
        from papertrade.adapters.funding_file import load_funding

        return load_funding(funding)
    if not is_swap(symbol):
        return NO_FUNDING
    if exchange is None:
        raise InputError(f"{symbol} is a swap: give its funding rates with --funding FILE.csv")
    from papertrade.services.market_data import stored_funding

    rates = stored_funding(state(ctx).ledger(), exchange, symbol)
    if not rates:
        raise InputError(f"no funding rates of {symbol} are stored for {exchange}: `papertrade data download` the "
                         "swap, or give --funding FILE.csv")  # fmt: skip
    return rates


def stored_market(ctx, exchange: str, symbol: str):
    """The market cached for `symbol` on `exchange` (None: none cached), for stored candles."""
    from papertrade.services.market_data import cached_market

    return cached_market(state(ctx).ledger(), exchange, symbol)


def _span(candles) -> str:
    from papertrade.domain.timeframes import timestamp

    return f"{timestamp(int(candles.ts[0]))} to {timestamp(int(candles.ts[-1]))}" if len(candles) else "none"


def replay_candles(ledger, config, symbol: str, data: Path | None, exchange: str | None, timeframe: str | None):
    """The candles a replay ticks over: a file, or the whole stored series of `exchange`
    (default: the portfolio's) in the portfolio's timeframe."""
    from papertrade.adapters.csv_candles import CandleFile, symbol_from_filename
    from papertrade.errors import InputError

    if data is not None:
        if exchange is not None or timeframe is not None:
            raise InputError("give either --data or --exchange/--timeframe, not both")
        named = symbol_from_filename(data)
        if named != "ASSET/USD" and named != symbol.split(":")[0]:  # a swap may replay its spot candles
            raise InputError(f"{data.name} holds {named} candles (says its name), not {symbol}")
        return CandleFile.load(data)
    from papertrade.services.market_data import candle_file

    series, _, _ = store_selection(exchange or config.exchange, symbol, timeframe or config.timeframe.name, None, None)
    return candle_file(ledger, series, None, None)


# -- rendering ------------------------------------------------------------------------------


def download_summary(info, tally) -> str:
    """One line: what is stored in the range now, its gaps, and what this run fetched."""
    series = info.series
    name = f"{series.exchange} {series.symbol} {series.timeframe}"
    if info.count == 0:
        stored = "no candles in that range"
    else:
        stored = (f"{output.plural(info.count, 'candle')} from {output.timestamp(info.first_ts)} to "
                  f"{output.timestamp(info.last_ts)}, {_gaps(info)}")  # fmt: skip
    fetched = f"fetched {tally.fetched:,} in {output.plural(tally.requests, 'request')}, {tally.seconds:.1f} s"
    return f"{name}: {stored}; {fetched}"


def _gaps(info) -> str:
    if not info.gaps:
        return "no gaps"
    return f"{output.plural(len(info.gaps), 'gap')} (longest: {_longest(info)})"


def _longest(info) -> str:
    gap = info.longest_gap
    if gap is None:
        return "-"
    count = info.candles_in(gap)
    return f"{output.plural(count, 'candle')} from {output.timestamp(gap[0])}"


def series_json(info) -> dict:
    gap = info.longest_gap
    return {
        "exchange": info.series.exchange,
        "symbol": info.series.symbol,
        "timeframe": info.series.timeframe,
        "first_ts": info.first_ts,
        "last_ts": info.last_ts,
        "count": info.count,
        "gaps": len(info.gaps),
        "missing": sum(info.candles_in(g) for g in info.gaps),
        "longest_gap": None if gap is None else _gap_json(info, gap),
        "gap_list": [_gap_json(info, g) for g in info.gaps],
    }


def _gap_json(info, gap) -> dict:
    return {"first_ts": gap[0], "last_ts": gap[1], "candles": info.candles_in(gap)}


class _Progress:
    """A Rich progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, series, total: int) -> None:
        self._bar = None
        self._task = None
        self.fetched = 0
        if sys.stderr.isatty() and total > 0:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeRemainingColumn

            from papertrade.cli.progress import CountColumn

            self._bar = Progress(
                TextColumn(f"{series.exchange} {series.symbol} {series.timeframe}"),
                BarColumn(),
                CountColumn(),
                TextColumn("{task.description}"),
                TimeRemainingColumn(),
                console=Console(stderr=True),
                transient=True,
            )
            self._task = self._bar.add_task("", total=total)

    def __enter__(self):
        if self._bar is not None:
            self._bar.__enter__()
        return self._advance

    def _advance(self, tally) -> None:
        self.fetched = tally.fetched
        if self._bar is not None:
            self._bar.update(self._task, completed=tally.asked, description=f"{output.count(tally.fetched)} fetched")

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc_info)
