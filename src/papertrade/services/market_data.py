"""Market data as the user's data set: download an exchange's history into the candle store the
ticks use, describe what is stored, and read it back for exports, backtests and replays.

A download asks the exchange only for the open times in the wanted range that are neither
stored (by an earlier download or by ticks) nor confirmed empty, and commits page by page: an
interrupted download keeps every page it finished, and running it again continues from there.
A run of open times the exchange answered without candles, between two candles it did send (or
that were stored), is a real gap in its history (an outage): it is recorded as such and never
asked for again. An answer without any closed candle, or with only the newest candle of its
window (an exchange serving its forming candle alone), proves nothing: the download says so
(`TemporaryError`, exit 75) and the next run asks again.
"""

import gc
import queue
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Protocol

from papertrade.domain.bars import Bar
from papertrade.domain.coverage import Range, Series, empty_runs, slots, subtract
from papertrade.domain.fills import Market
from papertrade.domain.timeframes import Timeframe, timestamp
from papertrade.errors import InputError, NotFound, TemporaryError
from papertrade.services.ports import Ledger


class CandleSource(Protocol):
    """An exchange's candle history, one validated page per request (see `CcxtMarketData`)."""

    exchange_id: str

    @property
    def page_size(self) -> int: ...

    def market(self, symbol: str, cached: Market | None = None) -> Market: ...

    def check_timeframe(self, timeframe: Timeframe) -> None: ...

    def pages(self, symbol: str, timeframe: Timeframe, start: int, end: int, now: int) -> Iterator[list[Bar]]: ...


@dataclass(frozen=True, slots=True)
class SeriesInfo:
    """What is stored of one series in a range: extent, count, and the runs of missing candles."""

    series: Series
    first_ts: int | None
    last_ts: int | None
    count: int
    gaps: list[Range]
    step: int

    @property
    def longest_gap(self) -> Range | None:
        return max(self.gaps, key=lambda gap: gap[1] - gap[0], default=None)

    def candles_in(self, gap: Range) -> int:
        return slots([gap], self.step)


@dataclass
class DownloadTally:
    """A download so far: what the progress display and the summary line show."""

    wanted: int  # candle open times the download had to ask about
    asked: int = 0  # of those, how many it has asked about
    fetched: int = 0
    requests: int = 0
    confirmed_gaps: int = 0
    started: float = field(default_factory=time.monotonic)

    @property
    def seconds(self) -> float:
        return time.monotonic() - self.started


@dataclass(frozen=True, slots=True)
class DownloadPlan:
    series: Series
    timeframe: Timeframe
    since: int
    end: int
    missing: list[Range]


def check_download(
    source: CandleSource, symbol: str, timeframe: Timeframe, since: int, until: int | None, now: int
) -> tuple[Series, int, int, Market]:
    """The series, the range [first, last] of open times a download asks for, and the market
    (give it back to `source.market` before downloading another checked series); `InputError`
    (`NotFound`) for anything the exchange or the clock refuses. Writes nothing.

    `until` None means up to the latest closed candle; a later `until` is cut to it.
    """
    first, end = _check_range(timeframe, since, until, now)
    source.check_timeframe(timeframe)
    market = source.market(symbol)
    return Series(source.exchange_id, market.symbol, timeframe.name), first, end, market


def plan_download(ledger: Ledger, series: Series, timeframe: Timeframe, first: int, end: int) -> DownloadPlan:
    """What a download of [first, end] must ask the exchange for."""
    return DownloadPlan(series, timeframe, first, end, missing_ranges(ledger, series, timeframe, first, end))


def _check_range(timeframe: Timeframe, since: int, until: int | None, now: int) -> tuple[int, int]:
    if since > now:
        raise InputError(f"--since {timestamp(since)} is in the future")
    if until is not None and since > until:
        raise InputError(f"--since {timestamp(since)} is after --until {timestamp(until)}")
    first = since + (-since) % timeframe.ms  # the first open time at or after `since`
    end = timeframe.last_closed(now) if until is None else min(timeframe.floor(until), timeframe.last_closed(now))
    if first > end:
        raise InputError(f"no {timeframe} candle opening from {timestamp(since)} has closed yet")
    return first, end


def missing_ranges(ledger: Ledger, series: Series, timeframe: Timeframe, first: int, end: int) -> list[Range]:
    """The open times in [first, end] that are neither stored nor confirmed empty."""
    step = timeframe.ms
    with ledger.unit_of_work() as uow:
        store = uow.series
        span = store.span(series, first, end)
        if span is None:
            unstored = [(first, end)]
        else:
            unstored = [(first, span[0] - step), *store.holes(series, step, first, end), (span[1] + step, end)]
        confirmed = store.confirmed_gaps(series)
    return list(subtract([r for r in unstored if r[0] <= r[1]], confirmed, step))


def download(
    ledger: Ledger, source: CandleSource, plan: DownloadPlan, now: int, progress: Callable[[DownloadTally], None]
) -> DownloadTally:
    """Fetch every missing range of `plan`, committing page by page; `progress` after each page.

    A network failure ends it with `TemporaryError`, keeping every committed page.
    """
    tally = DownloadTally(slots(plan.missing, plan.timeframe.ms))
    try:
        with _collector_set_for_bulk():
            troubles = [_download_range(ledger, source, plan, wanted, now, tally, progress) for wanted in plan.missing]
        for trouble in filter(None, troubles):
            raise TemporaryError(trouble)  # the first, once every range has been asked for
    except TemporaryError as exc:
        kept = f"{tally.fetched:,} candle{'' if tally.fetched == 1 else 's'}"
        raise TemporaryError(f"{exc}; kept {kept}, run the same command to continue") from None
    return tally


@contextmanager
def _collector_set_for_bulk() -> Iterator[None]:
    """Python's cycle collector set for a download, and put back when it ends.

    A download makes millions of short-lived objects (rows, candles) and frees each as soon as
    it is done with it, by reference counting, which needs no collector. Left as it is, the
    collector would still run every 700 new objects, two dozen times a page, and every few
    dozen pages walk the whole long-lived heap (ccxt's exchange tables, SQLAlchemy, the modules):
    about 100 ms here, five of Binance's 20 ms pages. So the heap that exists before the
    download is left out of collections (`gc.freeze`), and one runs per 50,000 new objects.
    A heap that was already partly frozen (the command line freezes its start-up's) stays so.
    """
    threshold, frozen = gc.get_threshold(), gc.get_freeze_count()
    gc.freeze()
    gc.set_threshold(50_000, *threshold[1:])
    try:
        yield
    finally:
        gc.set_threshold(*threshold)
        if not frozen:
            gc.unfreeze()


def _download_range(ledger, source, plan: DownloadPlan, wanted: Range, now: int, tally, progress) -> str | None:
    """Fetch one missing range. A run of open times without candles is recorded as a gap only
    between two candles the exchange served (or that were stored before): what the exchange
    left out at the edges of an answer is asked for again next time. A page that holds only
    the newest candle of its window (a forming-only answer, the rest held back), or a range
    for which nothing at all was served or confirmed, is temporary trouble: said in the returned
    text, once every page is committed."""
    step, (first, last) = plan.timeframe.ms, wanted
    edge = _Edge(pending=first, anchored=first > plan.since)
    troubled = []
    with PageWriter(ledger, plan.series) as writer:
        with _interruptible(source.pages(plan.series.symbol, plan.timeframe, first, last, now)) as pages:
            for index, page in enumerate(pages):
                window = _window(first, last, index, source.page_size, step)
                gaps = edge.advance(page, step, trusted=not _newest_only(page, window, step))
                if gaps is None:
                    troubled.append(window)
                    gaps = []
                if page or gaps:
                    writer.put(page, gaps)
                _count(tally, page, gaps, source.page_size, progress)
        if last < plan.end and edge.anchored and edge.pending <= last:  # a stored candle (or a known gap) follows
            writer.put([], [(edge.pending, last)])
            edge.confirmed = True
            tally.confirmed_gaps += 1
    return _trouble(source, plan, wanted, troubled, edge)


@contextmanager
def _interruptible(pages: Iterator[list[Bar]]) -> Iterator[Iterator[list[Bar]]]:
    """`pages`, closed in this thread on leaving. A Ctrl-C that arrives here, between pages, is
    thrown into it as a Ctrl-C: the source then leaves at once instead of waiting for the
    requests it has on their way (which closing it, as the garbage collector would, waits for)."""
    try:
        yield pages
    except KeyboardInterrupt:
        with suppress(KeyboardInterrupt, StopIteration):
            pages.throw(KeyboardInterrupt)  # type: ignore[attr-defined]
        raise
    finally:
        pages.close()  # type: ignore[attr-defined]


@dataclass
class _Edge:
    """Where a range's download stands: the first open time not yet seen, whether a candle
    (served or stored) precedes it, and whether anything was served or confirmed."""

    pending: int
    anchored: bool
    served: bool = False
    confirmed: bool = False

    def advance(self, page: list[Bar], step: int, *, trusted: bool) -> list[Range] | None:
        """The gaps `page` proves; None when the page is not to be trusted with the run before it."""
        if not page:
            return [] if trusted else None
        known_before = self.anchored and trusted  # else the run up to its first candle proves nothing
        gaps = list(empty_runs(page, self.pending if known_before else page[0].ts, step))
        self.pending, self.anchored, self.served = page[-1].ts + step, True, True
        self.confirmed = self.confirmed or bool(gaps)
        return gaps if trusted else None


def _window(first: int, last: int, index: int, page_size: int, step: int) -> Range:
    """The open times request `index` of a range asks for (`CandleSource.pages`: a window of
    `page_size` slots each, from `first` on)."""
    start = first + index * page_size * step
    return start, min(start + (page_size - 1) * step, last)


def _newest_only(page: list[Bar], window: Range, step: int) -> bool:
    """Whether an answer holds nothing but the newest candle of a window of several: what an
    exchange serving only its forming candle (a fault, a lagging node) sends once it is closed."""
    return len(page) == 1 and page[0].ts == window[1] and window[1] > window[0]


def _count(tally: DownloadTally, page: list[Bar], gaps: list[Range], page_size: int, progress) -> None:
    tally.requests += 1
    tally.fetched += len(page)
    tally.confirmed_gaps += len(gaps)
    tally.asked = min(tally.wanted, tally.asked + page_size)
    progress(tally)


def _trouble(source, plan: DownloadPlan, wanted: Range, troubled: list[Range], edge: _Edge) -> str | None:
    what = f"{source.exchange_id} {plan.series.symbol} {plan.timeframe}"
    if troubled:
        return (
            f"{what}: {len(troubled)} answer{'' if len(troubled) == 1 else 's'} held only the newest candle "
            f"(first from {timestamp(troubled[0][0])} to {timestamp(troubled[0][1])}); nothing before it "
            "is recorded as missing"
        )
    if not edge.served and not edge.confirmed:
        return (
            f"{what}: no closed candle was served from {timestamp(wanted[0])} to {timestamp(wanted[1])} "
            "(an empty or forming-only answer); nothing is recorded as missing"
        )
    return None


class PageWriter:
    """Commits pages in a thread of its own, in the order given, while the caller fetches the
    next ones: the exchange's rate limit, not the disk, sets the pace.

    Each page is committed whole, with its gaps. Pages given while the disk is still busy with
    an earlier commit wait (up to `WAITING` of them; `put` blocks beyond that) and go together
    in the next transaction: a slow disk then costs one wait for several pages, not one each.
    Leaving the block waits until every page given is committed, however it is left (the end, a
    network failure, Ctrl-C): what was fetched is kept. A failed commit ends the download: the
    pages in it and after it are not written, and its error is raised by the next `put` or on
    leaving.
    """

    WAITING = 8

    def __init__(self, ledger: Ledger, series: Series) -> None:
        self._ledger, self._series = ledger, series
        self._pages: queue.Queue = queue.Queue(maxsize=self.WAITING)
        self._failure: BaseException | None = None
        self._thread = threading.Thread(target=self._write, name="download-writer", daemon=True)

    def __enter__(self) -> "PageWriter":
        self._thread.start()
        return self

    def put(self, bars: list[Bar], gaps: list[Range]) -> None:
        self._raise_failure()
        self._pages.put((bars, gaps))

    def __exit__(self, kind, *_) -> None:
        self._pages.put(None)
        self._thread.join()
        if kind is None:
            self._raise_failure()

    def _write(self) -> None:
        from papertrade.threads import leave_interrupts_to_the_main_thread

        leave_interrupts_to_the_main_thread()
        ended = False
        while not ended:
            pages, ended = self._waiting()
            if pages and self._failure is None:
                try:
                    _commit(self._ledger, self._series, pages)
                except BaseException as exc:  # handed to the fetching thread
                    self._failure = exc

    def _waiting(self) -> tuple[list[tuple[list[Bar], list[Range]]], bool]:
        """The pages given since the last commit (waiting for the first if there are none), and
        whether the block was left after them."""
        pages, page = [], self._pages.get()
        while page is not None:
            pages.append(page)
            try:
                page = self._pages.get_nowait()
            except queue.Empty:
                return pages, False
        return pages, True

    def _raise_failure(self) -> None:
        if self._failure is not None:
            raise self._failure


def _commit(ledger: Ledger, series: Series, pages: list[tuple[list[Bar], list[Range]]]) -> None:
    with ledger.unit_of_work(write=True) as uow:
        bars = [bar for page, _ in pages for bar in page]
        uow.candles.upsert(series.exchange, series.symbol, series.timeframe, bars)
        store = uow.series
        for _, gaps in pages:
            for first, last in gaps:
                store.confirm_gap(series, first, last)
        uow.commit()


# -- deleting a series -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Deleted:
    """A series `data delete` removed: how many candles and confirmed gaps, the portfolios that
    were trading it (deleted anyway: `--force`), and those whose journal records it."""

    info: SeriesInfo
    gaps: int
    trading: list[int]
    journaled: list[int]


def delete_series(ledger: Ledger | None, series: Series, force: bool, now: int) -> Deleted:
    """Remove a stored series (its candles and confirmed gaps) in one transaction, journaled as
    `data.deleted` by every portfolio that processed its candles. Refused (`InputError`, nothing
    written) while an unarchived portfolio trades it, unless `force`; `NotFound` when nothing of
    it is stored."""
    nothing = f"no {series.exchange} {series.symbol} {series.timeframe} candles are stored (see: papertrade data list)"
    if ledger is None:
        raise NotFound(nothing)
    info = describe(ledger, series, 0, 2**62)
    with ledger.unit_of_work(write=True) as uow:
        if info.count == 0 and not uow.series.confirmed_gaps(series):
            raise NotFound(nothing)
        readers = uow.series.readers(series)
        trading = [pid for pid in readers if not uow.portfolios.get(pid, with_positions=False).archived]
        if trading and not force:
            raise InputError(_trading_refusal(series, trading))
        count, gap_count = uow.series.delete(series)
        payload = {
            **{"exchange": series.exchange, "symbol": series.symbol, "timeframe": series.timeframe},
            **{"candles": count, "first_ts": info.first_ts, "last_ts": info.last_ts, "forced": bool(trading)},
        }
        for portfolio_id in readers:
            uow.journal.append(portfolio_id, "data.deleted", payload, now)
        uow.commit()
    return Deleted(replace(info, count=count), gap_count, trading, readers)


def _trading_refusal(series: Series, trading: list[int]) -> str:
    ids = ", ".join(str(pid) for pid in trading)
    who = f"portfolio {ids} trades" if len(trading) == 1 else f"portfolios {ids} trade"
    return (
        f"{who} {series.exchange} {series.symbol} {series.timeframe}: its next tick would fetch the candles "
        "again and its report would lose them; archive it first, or give --force"
    )


# -- describing and reading the store --------------------------------------------------------


def list_series(ledger: Ledger | None) -> list[SeriesInfo]:
    """Every stored series with its extent, count and gaps (runs of missing open times)."""
    if ledger is None:
        return []
    with ledger.unit_of_work() as uow:
        store = uow.series
        infos = []
        for extent in store.extents():
            step = _step(extent.series.timeframe)
            gaps = store.holes(extent.series, step, extent.first_ts, extent.last_ts)
            infos.append(SeriesInfo(extent.series, extent.first_ts, extent.last_ts, extent.count, gaps, step))
    return infos


def describe(ledger: Ledger, series: Series, first: int, last: int) -> SeriesInfo:
    """What is stored of `series` in [first, last]."""
    step = _step(series.timeframe)
    with ledger.unit_of_work() as uow:
        store = uow.series
        span = store.span(series, first, last)
        if span is None:
            return SeriesInfo(series, None, None, 0, [], step)
        count = uow.candles.count_between(*_key(series), span[0] - 1, span[1] + 1)
        return SeriesInfo(series, span[0], span[1], count, store.holes(series, step, *span), step)


def stored_bars(ledger: Ledger | None, series: Series, first: int | None, last: int | None) -> list[Bar]:
    """The stored candles of `series` opening in [first, last]; `InputError` when there are none."""
    bars: list[Bar] = []
    if ledger is not None:
        with ledger.unit_of_work() as uow:
            bars = uow.series.bars(series, first or 0, 2**62 if last is None else last)
    if not bars:
        raise InputError(
            f"no {series.timeframe} candles of {series.symbol} from {series.exchange} are stored"
            f"{'' if first is None and last is None else ' in that range'}: run papertrade data download first"
        )
    return bars


def cached_market(ledger: Ledger | None, exchange: str, symbol: str) -> Market | None:
    """The market (amount step, minimum order) last cached for `symbol` on `exchange`, however
    old: what a backtest or replay of stored candles trades on. None when none is cached."""
    if ledger is None:
        return None
    with ledger.unit_of_work() as uow:
        cached = uow.markets.get(exchange, symbol)
    return None if cached is None else cached[0]


@dataclass(frozen=True)
class FundingDownload:
    """What `download_funding` did: rates fetched, and the stored ones in the range now."""

    fetched: int
    stored: int
    first_ts: int | None
    last_ts: int | None


def download_funding(ledger: Ledger, source, symbol: str, first: int, until: int) -> FundingDownload:
    """Fetch the swap's funding rates settled in (first, until] that are newer than the latest
    stored (`source.funding_rates`, paged by the adapter), and store them in one transaction.
    `first` and `until` are the candle range's first open time and its last close."""
    with ledger.unit_of_work() as uow:
        latest = uow.funding.latest_ts(source.exchange_id, symbol)
    since = first + 1 if latest is None or latest < first else latest + 1
    fetched = source.funding_rates(symbol, since, until) if since <= until else []
    with ledger.unit_of_work(write=True) as uow:
        uow.funding.upsert(source.exchange_id, symbol, fetched)
        stored = uow.funding.between(source.exchange_id, symbol, first, until)
        uow.commit()
    return FundingDownload(len(fetched), len(stored), stored[0].ts if stored else None,
                           stored[-1].ts if stored else None)  # fmt: skip


def cached_markets(ledger: Ledger | None, exchange: str, symbols) -> list[Market]:
    """The markets cached for `symbols` on `exchange` (those cached), in symbol order: where
    `status` finds the maker and taker rates a portfolio's fees come from."""
    if ledger is None:
        return []
    with ledger.unit_of_work() as uow:
        found = [uow.markets.get(exchange, symbol) for symbol in sorted(symbols)]
    return [entry[0] for entry in found if entry is not None]


def stored_funding(ledger: Ledger | None, exchange: str, symbol: str):
    """Every funding rate stored for the swap `symbol` on `exchange` (`data download` stores
    them), as a `FundingSchedule`."""
    from papertrade.domain.funding import FundingSchedule

    if ledger is None:
        return FundingSchedule()
    with ledger.unit_of_work() as uow:
        return FundingSchedule.of(uow.funding.between(exchange, symbol, -1, 2**62))


def candle_columns(ledger: Ledger | None, series: Series, first: int | None, last: int | None):
    """Stored candles as the columns a backtest reads from a file, value for value the same as
    reading the file `data export` writes."""
    import numpy as np

    from papertrade.adapters.candle_export import csv_line
    from papertrade.adapters.candle_reader import HEADER
    from papertrade.adapters.csv_candles import CandleColumns

    bars = stored_bars(ledger, series, first, last)
    floats = {name: np.array([float(getattr(bar, name)) for bar in bars]) for name in HEADER[1:]}
    ts = np.array([bar.ts for bar in bars], dtype=np.int64)
    return CandleColumns(_label(series), Timeframe.parse(series.timeframe), ts, floats, [csv_line(b) for b in bars])


def candle_file(ledger: Ledger | None, series: Series, first: int | None, last: int | None):
    """Stored candles as the `CandleFile` a replay reads."""
    from papertrade.adapters.csv_candles import CandleFile

    bars = stored_bars(ledger, series, first, last)
    return CandleFile(_label(series), tuple(bars), Timeframe.parse(series.timeframe))


def _label(series: Series) -> Path:
    return Path(f"{series.exchange} {series.symbol} {series.timeframe} (candle store)")


def _key(series: Series) -> tuple[str, str, str]:
    return series.exchange, series.symbol, series.timeframe


def _step(timeframe: str) -> int:
    return Timeframe.parse(timeframe).ms
