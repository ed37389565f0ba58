"""What the dashboard shows: the overview of every portfolio, and a portfolio's page.

Built from the same documents as the command line's `--json` (`views.documents`), plus what
only a dashboard needs: equity, return and drawdown for every portfolio at once, whether each
bot's cron still runs, and the tick journal page by page. Everything here only reads.
"""

from dataclasses import dataclass

from papertrade.domain.ticks import STALE_AFTER, candles_missed
from papertrade.views import documents

#: Ticks per page of the journal.
PAGE_SIZE = 50


def overview_document(ledger, now: int, archived: bool = False) -> dict:
    """Every portfolio with its equity, return, drawdown and each symbol's last tick; archived
    ones too when `archived`."""
    from papertrade.adapters.read_models import all_tick_floats, latest_ticks
    from papertrade.adapters.repositories import tick_record

    if ledger is None:
        return {"now": now, "portfolios": []}
    from papertrade.services.valuation import value_each

    with ledger.unit_of_work() as uow:
        valuations = value_each(uow, uow.portfolios.list(archived=archived))
        floats = all_tick_floats(uow.connection)
        latest = latest_ticks(uow.connection)
        floats = {
            v.portfolio.id: _with_unticked(uow, v.portfolio.config, floats.get(v.portfolio.id)) for v in valuations
        }
    rows = []
    for valuation in valuations:
        ticks = [tick_record(row) for row in latest.get(valuation.portfolio.id, [])]
        rows.append(_overview_row(valuation, ticks, floats.get(valuation.portfolio.id), now))
    return {"now": now, "portfolios": rows}


def _overview_row(valuation, ticks, floats, now: int) -> dict:
    """A portfolio's status, valued as `status` values it, with `report`'s return and drawdown."""
    portfolio = valuation.portfolio
    headline = _headline(floats, float(portfolio.book.initial_cash))
    document = documents.status_document(valuation, ticks)
    document["last_ticks"] = [
        {**tick, **staleness(tick, portfolio.config.timeframe, now)} for tick in document["last_ticks"]
    ]
    return {
        **document,
        "symbols": sorted({*(t.key.symbol for t in ticks), *(p["symbol"] for p in document["positions"])}),
        "return_pct": headline[0],
        "max_drawdown_pct": headline[1],
    }


def _with_unticked(uow, config, floats):
    """A portfolio's float tick columns with the candles no tick processed among them, as the
    report values them (`services.reports.from_ledger`)."""
    if floats is None:
        return None
    from papertrade.reports.model import with_unticked_candles
    from papertrade.services.reports import unticked_candles

    symbols, times, close, cash, held = floats
    unticked = unticked_candles(uow.candles, config, symbols, times)
    if not unticked:
        return floats
    merged = with_unticked_candles((symbols, times, close, cash, held, [False] * len(times)), unticked)
    return merged[:5]


def _headline(floats, initial: float) -> tuple[float | None, float | None]:
    """Return [%] and Max. Drawdown [%] as `report` computes them (from the initial cash, which
    is also the first peak), from float tick columns."""
    import numpy as np

    from papertrade.reports.model import equity_floats, run_ends

    if floats is None:
        return None, None
    symbols, times, close, cash, held = floats
    _, equity, _ = equity_floats(symbols, np.asarray(close), np.asarray(cash), np.asarray(held))
    equity = np.r_[initial, equity[run_ends(np.asarray(times))]]
    drawdown = 1 - equity / np.maximum.accumulate(equity)
    return float((equity[-1] - initial) / initial * 100), float(-np.nan_to_num(drawdown.max()) * 100)


def staleness(tick: dict, timeframe, now: int, failing: tuple | None = None) -> dict:
    """Whether a symbol's last tick is older than `STALE_AFTER` candles, and the likely cause;
    `failing` is what the ledger knows of its failing runs (see `failing_runs`), if anything."""
    missed = candles_missed(tick["candle_ts"], timeframe, now)
    known = {"last_error": failing[2] if failing else None, "failing_since_ts": failing[0] if failing else None}
    if missed < STALE_AFTER:
        return {"stale": False, "missed": missed, "cause": None, **known}
    return {"stale": True, "missed": missed, "cause": _cause(tick, missed, now, failing), **known}


def _cause(tick: dict, missed: int, now: int, failing: tuple | None) -> str:
    from papertrade.domain.timeframes import timestamp

    silent = f"no tick for {age(now - tick['processed_ts'])} ({missed:,} candles closed since)"
    if failing is not None:
        since, failures, error = failing
        runs = "1 failed run" if failures == 1 else f"{failures:,} failed runs"
        return f"{silent}: its runs fail ({runs} since {timestamp(since)}), the last with: {error}"
    return (
        f"{silent}: cron is not running this bot, or its runs fail; a failed run writes nothing to the ledger "
        "(unless the portfolio notifies about errors), so see the bot's cron log (`papertrade cron ID SYMBOL` "
        "names it)"
    )


def failing_runs(ledger, portfolio_id: int | None = None) -> dict[tuple[int, str], tuple]:
    """(portfolio, symbol) -> (failing since, failed runs, last error), for the symbols whose
    runs the ledger knows to be failing (read now: a failure adds no tick)."""
    from papertrade.adapters.read_models import failing_runs as read

    if ledger is None:
        return {}
    with ledger.unit_of_work() as uow:
        return read(uow.connection, portfolio_id)


def age(ms: int) -> str:
    """A duration for people: 5 minutes, 3 hours, 12 days."""
    for unit, size in (("day", 86_400_000), ("hour", 3_600_000), ("minute", 60_000)):
        if ms >= size:
            count = ms // size
            return f"{count:,} {unit}{'s' if count > 1 else ''}"
    return "less than a minute"


@dataclass(frozen=True)
class JournalPage:
    ticks: list[dict]
    page: int
    pages: int
    total: int


def journal_page(ledger, portfolio_id: int, page: int) -> JournalPage:
    """Page `page` (1 = newest) of the tick journal: each processed candle's decision and reason."""
    from papertrade.adapters.read_models import tick_count, tick_page
    from papertrade.adapters.repositories import tick_record

    with ledger.unit_of_work() as uow:
        uow.portfolios.get(portfolio_id, with_positions=False)  # NotFound for an unknown id
        total = tick_count(uow.connection, portfolio_id)
        pages = max(1, -(-total // PAGE_SIZE))
        page = min(max(page, 1), pages)
        rows = tick_page(uow.connection, portfolio_id, (page - 1) * PAGE_SIZE, PAGE_SIZE)
    return JournalPage([documents.tick_document(tick_record(row)) for row in rows], page, pages, total)
