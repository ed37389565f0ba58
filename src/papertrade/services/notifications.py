"""Notifications: where each portfolio's messages go, and delivering the outbox.

The tick writes a `fill` event in its own transaction (`OutboxRepository.record_fill`). After a
tick, a `Notifier` writes what only the outcome tells (an `error` event after a failure, in a
transaction of its own; a `recovery`; the day's first `daily` summary), then delivers every
pending event of the ledger within a time budget. Nothing here changes a tick's result: the
notifier used by ticks swallows its own failures, and what it could not deliver stays pending
for the next tick of any bot on the ledger, or `papertrade notify flush`.
"""

from collections.abc import Callable, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Protocol

from papertrade.adapters.outbox import Conflict, Pending, Target, TargetState
from papertrade.domain.money import to_plain
from papertrade.domain.notifications import (
    DAY_MS,
    Alert,
    Event,
    Message,
    batch,
    daily_payload,
    events_text,
    failure_alert,
    parse_events,
    stale_episode,
    stale_fields,
    utc_day,
)
from papertrade.errors import InputError, NotFound, TemporaryError
from papertrade.services.portfolios import get_portfolio
from papertrade.services.ports import Ledger, UnitOfWork

#: Seconds all deliveries after a tick may take together.
DELIVERY_BUDGET = 5.0
#: The most (event, URL) deliveries one flush attempts; the rest wait for the next.
FLUSH_LIMIT = 500


class Sender(Protocol):
    """Where messages go out (Apprise in production)."""

    def max_body(self, url: str) -> int: ...

    def send(self, jobs: Sequence[tuple[str, Sequence[Message]]], budget: float) -> list[list[str | None]]:
        """For each (url, messages) job, per message: None when accepted, else why not."""
        ...


@dataclass(frozen=True, slots=True)
class NewTarget:
    url: str
    redacted: str
    events: frozenset[Event]


def parse_targets(urls: Iterable[str], events: str | None, check_url: Callable[[str], str]) -> list[NewTarget]:
    """Validate URLs (`check_url` returns the redacted form) and `--events`, touching no database."""
    wanted = parse_events(events)
    return [NewTarget(canonical_url(url), check_url(url), wanted) for url in urls]


def canonical_url(url: str) -> str:
    """`url` as it is stored and compared: its scheme in lower case (`JSON://h/x` is `json://h/x`:
    one URL, one message, not two)."""
    scheme, separator, rest = url.partition("://")
    return f"{scheme.lower()}{separator}{rest}" if separator else url


@dataclass(frozen=True, slots=True)
class Added:
    """A URL `--add` named: its number in `--list`, and the events it had before (None: new)."""

    number: int
    target: Target
    before: frozenset[str] | None


def add_targets(
    ledger: Ledger | None, portfolio_id: int, targets: Sequence[NewTarget | str], now: int, events=None
) -> list[Added]:
    """Add the URLs to a portfolio; a URL it has (or a number of `--list`, given as text) gets
    `events` (a NewTarget's own when None) instead. What each had before, for saying what changed."""
    get_portfolio(ledger, portfolio_id)
    with ledger.unit_of_work(write=True) as uow:
        existing = uow.outbox.targets(portfolio_id)
        named = [_named(existing, portfolio_id, t) if isinstance(t, str) else t for t in targets]
        befores = [uow.outbox.add_target(portfolio_id, t.url, t.redacted, events or t.events, now) for t in named]
        after = uow.outbox.targets(portfolio_id)
        uow.commit()
    numbers = {target.url: n for n, target in enumerate(after, 1)}
    by_url = {target.url: target for target in after}
    return [Added(numbers[t.url], by_url[t.url], before) for t, before in zip(named, befores, strict=True)]


def remove_target(ledger: Ledger | None, portfolio_id: int, name: str) -> Target:
    """Remove one URL of a portfolio, named by itself, by its number in `notify ID --list`, or
    by its redacted form as `--list` prints it (when that names one URL only)."""
    get_portfolio(ledger, portfolio_id)
    with ledger.unit_of_work(write=True) as uow:
        found = _named(uow.outbox.targets(portfolio_id), portfolio_id, name)
        uow.outbox.remove_target(found.id)
        uow.commit()
    return found


def _named(targets: Sequence[Target], portfolio_id: int, name: str) -> Target:
    """The target `name` means: N of `--list` (numbered 1, 2, ... per portfolio), the URL, or
    its redacted form; NotFound otherwise, InputError when a redacted form fits several."""
    if name.isascii() and name.isdigit():
        if 0 < int(name) <= len(targets):
            return targets[int(name) - 1]
        raise NotFound(f"portfolio {portfolio_id} has no notification URL {name} (see: notify {portfolio_id} --list)")
    url = canonical_url(name)
    found = [t for t in targets if t.url == url] or [t for t in targets if t.redacted == name]
    if len(found) > 1:
        raise InputError(f"{name} names {len(found)} URLs: give its number from notify {portfolio_id} --list")
    if not found:
        raise NotFound(f"portfolio {portfolio_id} has no such notification URL (see: notify {portfolio_id} --list)")
    return found[0]


def list_targets(ledger: Ledger | None, portfolio_id: int) -> list[TargetState]:
    get_portfolio(ledger, portfolio_id)
    with ledger.unit_of_work() as uow:
        return uow.outbox.states(portfolio_id)


def test_targets(
    ledger: Ledger | None, sender: Sender, portfolio_id: int, budget: float
) -> list[tuple[Target, str | None]]:
    """Send a test message to every URL of a portfolio (not through the outbox); per URL, None
    when the service accepted it, else why not."""
    stored = get_portfolio(ledger, portfolio_id)
    with ledger.unit_of_work() as uow:
        targets = uow.outbox.targets(portfolio_id)
    if not targets:
        raise NotFound(
            f"portfolio {portfolio_id} has no notification URLs: add one with notify {portfolio_id} --add URL"
        )
    jobs = [(t.url, [_test_message(stored.config.name, portfolio_id, t)]) for t in targets]
    return [(t, outcome[0]) for t, outcome in zip(targets, sender.send(jobs, budget), strict=True)]


def _test_message(name: str, portfolio_id: int, target: Target) -> Message:
    events = events_text(target.events).replace(",", ", ")
    return Message(
        f"papertrade: test from {name}", f"{name} (portfolio {portfolio_id}) will notify here about: {events}"
    )


@dataclass(frozen=True, slots=True)
class Flushed:
    delivered: int  # (event, URL) deliveries the services accepted
    failed: int  # attempted and refused, or out of time: still pending
    pending: int  # left pending in all, failed included


class Notifier:
    """Observes tick outcomes and delivers the outbox; one per command (a tick, a batch run).

    With `quiet`, any failure of its own is swallowed: a tick's result must not change because
    a notification could not be written or sent.
    """

    def __init__(
        self,
        ledger: Ledger | None,
        sender: Sender,
        budget: float = DELIVERY_BUDGET,
        *,
        quiet: bool = True,
        enabled: bool = True,
    ) -> None:
        self.ledger = ledger
        self.sender = sender
        self.budget = budget
        self.quiet = quiet
        self.enabled = enabled and ledger is not None
        self._targets: dict[int, list[Target]] | None = None

    @contextmanager
    def watch(self, portfolio_id: int, symbol: str, now: int) -> Iterator[None]:
        """Around one tick: observe how it ended; a failure is also delivered before it goes on
        up (a success is delivered by `deliver`, once the tick's output is out)."""
        try:
            yield
        except Exception as exc:
            self.observe(portfolio_id, symbol, exc, now)
            self.deliver(now)
            raise
        self.observe(portfolio_id, symbol, None, now)

    def observe(self, portfolio_id: int, symbol: str, error: BaseException | None, now: int) -> None:
        """After a LIVE tick: `error` is what it raised, None when it succeeded."""
        if error is None:
            self.tick_succeeded(portfolio_id, symbol, now)
        else:
            self.tick_failed(portfolio_id, symbol, error, now)

    def tick_succeeded(self, portfolio_id: int, symbol: str, now: int) -> None:
        """After a LIVE tick that succeeded: announce a recovery, and the day's summary."""
        self._quietly(self._succeeded, portfolio_id, symbol, now)

    def tick_failed(self, portfolio_id: int, symbol: str, error: BaseException, now: int) -> None:
        """After a LIVE tick that failed (bad input is not a failure of the bot: nothing then)."""
        if not isinstance(error, InputError):
            self._quietly(self._failed, portfolio_id, symbol, error, now)

    def deliver(self, now: int) -> Flushed | None:
        """Send every pending event of the ledger, batched per URL, within the budget."""
        return self._quietly(flush, self.ledger, self.sender, now, self.budget)

    def _quietly(self, action, *args):
        if not self.enabled:
            return None
        if not self.quiet:
            return action(*args)
        try:
            return action(*args)
        except Exception:  # the tick's outcome stands; the outbox keeps what was not sent
            return None

    def _wants(self, portfolio_id: int, event: Event) -> bool:
        if self._targets is None:
            with self.ledger.unit_of_work() as uow:
                targets = uow.outbox.targets()
            self._targets = {}
            for target in targets:
                self._targets.setdefault(target.portfolio_id, []).append(target)
        return any(event in target.events for target in self._targets.get(portfolio_id, ()))

    def _succeeded(self, portfolio_id: int, symbol: str, now: int) -> None:
        recover = self._wants(portfolio_id, Event.ERROR)
        summarize = self._wants(portfolio_id, Event.DAILY)
        if not (recover or summarize):
            return
        with self.ledger.unit_of_work() as uow:
            recover = recover and uow.outbox.streak(portfolio_id, symbol) is not None
            summarize = summarize and not uow.outbox.has_event(portfolio_id, "daily", utc_day(now))
        if recover:
            self._write(_record_recovery, portfolio_id, symbol, now)
        if summarize:
            self._write(_record_daily, portfolio_id, now)

    def _failed(self, portfolio_id: int, symbol: str, error: BaseException, now: int) -> None:
        if self._wants(portfolio_id, Event.ERROR):
            self._write(_record_failure, portfolio_id, symbol, error, now)

    def _write(self, record, *args) -> None:
        with self.ledger.unit_of_work(write=True) as uow:
            try:
                record(uow, *args)
            except Conflict:
                return  # another run wrote it first: theirs stands
            uow.commit()


def _portfolio_fields(uow: UnitOfWork, portfolio_id: int) -> dict:
    config = uow.portfolios.get(portfolio_id, with_positions=False).config
    return {"portfolio_id": portfolio_id, "portfolio": config.name}


def _record_failure(uow: UnitOfWork, portfolio_id: int, symbol: str, error: BaseException, now: int) -> None:
    text = _one_line(error)
    streak = uow.outbox.streak(portfolio_id, symbol)
    alert = failure_alert(streak.last_alert_ts if streak else None, now)
    if streak is None:
        uow.outbox.start_streak(portfolio_id, symbol, text, now)
        since, failures = now, 1
    else:
        counted = uow.outbox.continue_streak(
            portfolio_id, symbol, text, streak.last_alert_ts if alert is Alert.REMINDER else None, now
        )
        if not counted:
            raise Conflict(f"streak {portfolio_id} {symbol}")
        since, failures = streak.since_ts, streak.failures + 1
    if alert is Alert.NONE:
        return
    payload = {
        **_portfolio_fields(uow, portfolio_id),
        "symbol": symbol,
        "alert": str(alert),
        "error": text,
        "temporary": isinstance(error, TemporaryError),
        "since_ts": since,
        "failures": failures,
    }
    uow.outbox.record(portfolio_id, "error", payload, now, symbol=symbol)


def _record_recovery(uow: UnitOfWork, portfolio_id: int, symbol: str, now: int) -> None:
    streak = uow.outbox.end_streak(portfolio_id, symbol)
    if streak is None:
        return
    payload = {
        **_portfolio_fields(uow, portfolio_id),
        "symbol": symbol,
        "since_ts": streak.since_ts,
        "failures": streak.failures,
        "last_error": streak.last_error,
    }
    uow.outbox.record(portfolio_id, "recovery", payload, now, symbol=symbol)


def _record_daily(uow: UnitOfWork, portfolio_id: int, now: int) -> int | None:
    """The summary of the day before `now`'s UTC day; none for a portfolio created today."""
    stored = uow.portfolios.get(portfolio_id, with_positions=False)
    today = now - now % DAY_MS
    if stored.created_ts >= today:
        return None
    yesterday = today - DAY_MS
    initial = stored.book.initial_cash
    opening = uow.outbox.equity_at(portfolio_id, yesterday)
    closing = uow.outbox.equity_at(portfolio_id, today) or (initial, initial)
    trades = uow.outbox.trades_between(portfolio_id, yesterday, today)
    config = stored.config
    payload = daily_payload(
        portfolio_id, config.name, config.quote, utc_day(yesterday), opening[1] if opening else initial, closing, trades
    )
    payload["net_realized_pnl"] = to_plain(_net_realized_between(uow, portfolio_id, yesterday, today))
    last = uow.outbox.last_candles(portfolio_id)
    payload["stale"] = [
        stale_fields(s.symbol, s.timeframe, s.last_candle_ts, s.missed) for s in _stale_symbols(stored, last, now)
    ]
    return uow.outbox.record(portfolio_id, "daily", payload, now, dedupe=utc_day(now))


# -- stale symbols: `notify check` ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StaleSymbol:
    """A symbol of a trading portfolio whose bot has stopped (see `domain.ticks.candles_missed`)."""

    symbol: str
    timeframe: str
    last_candle_ts: int
    missed: int
    portfolio_id: int


@dataclass(frozen=True, slots=True)
class Checked:
    """What `notify check` found and wrote: every stale symbol now; the `stale`, `resumed` and
    `daily` events it wrote (another run may have written some first); what it delivered."""

    stale: list[StaleSymbol]
    stale_events: int
    resumed_events: int
    summaries: int
    flushed: Flushed | None


def check_stale(ledger: Ledger | None, sender: Sender, now: int, budget: float = DELIVERY_BUDGET) -> Checked:
    """Run by cron every few minutes (`papertrade notify check`): for every portfolio that
    trades, a `stale` event the first time a symbol's last processed candle is `STALE_AFTER`
    candles old (once per episode: an episode is keyed by that candle), a `resumed` event once it
    processes a newer one, and the day's summary for a portfolio whose every symbol is stale (no
    tick would write it); then deliver everything pending."""
    if ledger is None:
        raise NotFound("there is no ledger yet: nothing to check")
    with ledger.unit_of_work() as uow:
        portfolios = uow.portfolios.list()
        last = uow.outbox.last_candles()
    stale = {p.id: _stale_symbols(p, last, now) for p in portfolios}
    counts = [0, 0, 0]
    for portfolio in portfolios:
        found = stale[portfolio.id]
        resumed, announced = _check_portfolio(ledger, portfolio.id, found, now)
        counts[0] += announced
        counts[1] += resumed
        if found and len(found) == sum(1 for pid, _ in last if pid == portfolio.id):
            counts[2] += _write_daily(ledger, portfolio.id, now)
    flushed = flush(ledger, sender, now, budget)
    return Checked([s for p in portfolios for s in stale[p.id]], *counts, flushed)


def _stale_symbols(portfolio, last: dict[tuple[int, str], int], now: int) -> list[StaleSymbol]:
    """The portfolio's stale symbols, from `last` (each symbol's last processed candle); none
    for an archived portfolio, which no longer trades."""
    from papertrade.domain.ticks import STALE_AFTER, candles_missed

    if portfolio.archived:
        return []
    timeframe = portfolio.config.timeframe
    found = []
    for (portfolio_id, symbol), candle_ts in sorted(last.items()):
        if portfolio_id != portfolio.id:
            continue
        missed = candles_missed(candle_ts, timeframe, now)
        if missed >= STALE_AFTER:
            found.append(StaleSymbol(symbol, timeframe.name, candle_ts, missed, portfolio.id))
    return found


def _check_portfolio(ledger: Ledger, portfolio_id: int, stale: list[StaleSymbol], now: int) -> tuple[int, int]:
    """Write the portfolio's `resumed` events (episodes whose symbol processed a newer candle),
    then its new `stale` ones; how many of each this run wrote."""
    with ledger.unit_of_work() as uow:
        if not any(Event.ERROR in target.events for target in uow.outbox.targets(portfolio_id)):
            return 0, 0
        last = uow.outbox.last_candles(portfolio_id)
        ended = [(symbol, key, p) for symbol, key, p in uow.outbox.open_stale(portfolio_id)
                 if last.get((portfolio_id, symbol), 0) > p["last_candle_ts"]]  # fmt: skip
        new = [s for s in stale if not uow.outbox.has_event(portfolio_id, "stale", _episode(s))]
        failing = {symbol: uow.outbox.streak(portfolio_id, symbol) for symbol in {s.symbol for s in new}}
    resumed = sum(
        _write(ledger, _record_resumed, portfolio_id, symbol, key, p, last[(portfolio_id, symbol)], now)
        for symbol, key, p in ended
    )
    announced = sum(_write(ledger, _record_stale, portfolio_id, s, failing[s.symbol], now) for s in new)
    return resumed, announced


def _write(ledger: Ledger, record, *args) -> int:
    """Write one event in a transaction of its own: 1, or 0 when another run wrote it first."""
    with ledger.unit_of_work(write=True) as uow:
        try:
            written = record(uow, *args)
        except Conflict:
            return 0
        uow.commit()
    return 0 if written is None else 1


def _record_stale(uow: UnitOfWork, portfolio_id: int, stale: StaleSymbol, streak, now: int) -> int | None:
    payload = {
        **_portfolio_fields(uow, portfolio_id),
        **stale_fields(stale.symbol, stale.timeframe, stale.last_candle_ts, stale.missed),
        "last_error": streak.last_error if streak else None,
    }
    return uow.outbox.record(portfolio_id, "stale", payload, now, symbol=stale.symbol, dedupe=_episode(stale))


def _episode(stale: StaleSymbol) -> str:
    return stale_episode(stale.symbol, stale.last_candle_ts)


def _record_resumed(uow: UnitOfWork, portfolio_id: int, symbol: str, key: str, stale: dict, candle_ts, now):
    payload = {**_portfolio_fields(uow, portfolio_id), "symbol": symbol,
               "last_candle_ts": stale["last_candle_ts"], "candle_ts": candle_ts}  # fmt: skip
    return uow.outbox.record(portfolio_id, "resumed", payload, now, symbol=symbol, dedupe=key)


def _write_daily(ledger: Ledger, portfolio_id: int, now: int) -> int:
    with ledger.unit_of_work() as uow:
        wanted = any(Event.DAILY in target.events for target in uow.outbox.targets(portfolio_id))
        if not wanted or uow.outbox.has_event(portfolio_id, "daily", utc_day(now)):
            return 0
    return _write(ledger, _record_daily, portfolio_id, now)


def _net_realized_between(uow: UnitOfWork, portfolio_id: int, start: int, end: int):
    """The realized PnL after fees (entry fees included, as `trades` counts it) of the trades
    on candles from `start` to before `end`."""
    from papertrade.domain.money import ZERO, exact
    from papertrade.domain.pnl import net_realized

    history = [r for r in uow.trades.list(portfolio_id) if r.candle_ts < end]
    nets = net_realized(history).by_trade
    with exact():
        return sum((n for r, n in zip(history, nets, strict=True) if n is not None and r.candle_ts >= start), ZERO)


def _one_line(error: BaseException) -> str:
    from papertrade.domain.text import printable

    return printable(str(error), 500) or type(error).__name__


# -- delivery -------------------------------------------------------------------------------


def flush(ledger: Ledger, sender: Sender, now: int, budget: float = DELIVERY_BUDGET) -> Flushed:
    """Deliver pending events, oldest first: per URL (however many portfolios send to it), as
    few messages as its service allows; all URLs at once, within `budget` seconds. A delivery is
    marked delivered only when the service accepted its message."""
    with ledger.unit_of_work() as uow:
        if not uow.outbox.pending(now, limit=1):
            return Flushed(0, 0, 0)  # the usual case, without taking the write lock
    with ledger.unit_of_work(write=True) as uow:
        pending = uow.outbox.claim(now, now + int((2 * budget + 1) * 1000), FLUSH_LIMIT)
        uow.commit()
    if not pending:
        return Flushed(0, 0, 0)
    by_url: dict[str, list[Pending]] = {}
    for item in pending:
        by_url.setdefault(item.target.url, []).append(item)
    plans = [(url, batch([item.event for item in items], sender.max_body(url))) for url, items in by_url.items()]
    outcomes = sender.send([(url, [message for _, message in groups]) for url, groups in plans], budget)
    delivered = failed = 0
    with ledger.unit_of_work(write=True) as uow:
        for (url, groups), results in zip(plans, outcomes, strict=True):
            target_ids = {item.target.id for item in by_url[url]}
            for (event_ids, _), error in zip(groups, results, strict=True):
                if error is None:
                    uow.outbox.mark_delivered(target_ids, event_ids, now)
                    delivered += len(event_ids)
                else:
                    uow.outbox.mark_failed(target_ids, event_ids, error)
                    failed += len(event_ids)
        uow.commit()
    return Flushed(delivered, failed, len(pending) - delivered)
