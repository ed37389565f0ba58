"""The notification outbox and its targets, in the ledger (SQLAlchemy Core).

An event is written in the transaction that makes it true, together with one delivery row per
target subscribed to it; a delivery stays pending until the service accepted it. Only the
notification service reads URLs back: everything else sees the redacted form.
"""

import hashlib
import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, and_, delete, func, insert, or_, select, update
from sqlalchemy.exc import IntegrityError

from papertrade.adapters import schema as t
from papertrade.domain.ledger import FillResult
from papertrade.domain.money import exact
from papertrade.domain.notifications import SUBSCRIPTION, OutboxEvent, events_text, fill_payload, mask_url_paths
from papertrade.domain.pnl import Closing


class Conflict(Exception):
    """Another run wrote the same once-only row first (a streak, a daily summary)."""


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    portfolio_id: int
    url: str
    redacted: str
    events: frozenset[str]
    created_ts: int


@dataclass(frozen=True, slots=True)
class TargetState:
    """A target as shown to users: redacted, with its deliveries."""

    target: Target
    pending: int
    delivered: int
    last_error: str | None


@dataclass(frozen=True, slots=True)
class Streak:
    since_ts: int
    last_alert_ts: int
    failures: int
    last_error: str


@dataclass(frozen=True, slots=True)
class Pending:
    target: Target
    event: OutboxEvent


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


class OutboxRepository:
    def __init__(self, connection: Connection) -> None:
        self._c = connection

    # -- targets --------------------------------------------------------------------------

    def targets(self, portfolio_id: int | None = None) -> list[Target]:
        query = select(t.notify_targets).order_by(t.notify_targets.c.id)
        if portfolio_id is not None:
            query = query.where(t.notify_targets.c.portfolio_id == portfolio_id)
        return [_target(row) for row in self._c.execute(query).mappings()]

    def add_target(
        self, portfolio_id: int, url: str, redacted: str, events: Iterable[str], now: int
    ) -> frozenset[str] | None:
        """Add a URL to a portfolio, or change the events of one it has; None when added, else
        the events it had before."""
        c = t.notify_targets.c
        key = and_(c.portfolio_id == portfolio_id, c.url_hash == url_hash(url))
        before = self._c.execute(select(c.events).where(key)).scalar()
        if before is not None:
            self._c.execute(update(t.notify_targets).where(key).values(events=events_text(events)))
            return frozenset(filter(None, before.split(",")))
        row = {"portfolio_id": portfolio_id, "url": url, "url_hash": url_hash(url), "redacted": redacted}
        self._c.execute(insert(t.notify_targets).values(**row, events=events_text(events), created_ts=now))
        return None

    def remove_target(self, target_id: int) -> None:
        """Forget a target and whatever it had not been sent yet."""
        self._c.execute(delete(t.notify_deliveries).where(t.notify_deliveries.c.target_id == target_id))
        self._c.execute(delete(t.notify_targets).where(t.notify_targets.c.id == target_id))

    def states(self, portfolio_id: int) -> list[TargetState]:
        d = t.notify_deliveries.c
        pending = func.count() - func.count(d.delivered_ts)
        counts = {
            row.target_id: row
            for row in self._c.execute(
                select(d.target_id, pending.label("pending"), func.count(d.delivered_ts).label("delivered")).group_by(
                    d.target_id
                )
            )
        }
        errors = dict(
            self._c.execute(
                select(d.target_id, d.last_error)
                .where(d.delivered_ts.is_(None), d.last_error.is_not(None))
                .order_by(d.event_id)
            ).all()
        )
        return [
            TargetState(target, int(getattr(counts.get(target.id), "pending", 0) or 0),
                        int(getattr(counts.get(target.id), "delivered", 0) or 0), errors.get(target.id))
            for target in self.targets(portfolio_id)
        ]  # fmt: skip

    # -- events ---------------------------------------------------------------------------

    def _wanted(self, portfolio_id: int, kind: str) -> list[int]:
        """The targets of the portfolio subscribed to `kind`."""
        return [target.id for target in self.targets(portfolio_id) if SUBSCRIPTION[kind] in target.events]

    def record_fill(
        self,
        portfolio_id: int,
        name: str,
        quote: str,
        candle_ts: int,
        booked: FillResult,
        now: int,
        kind="signal",
        closing: Callable[[], Closing | None] = lambda: None,
    ):
        """The `fill` event of a trade, written in the trade's own transaction. `closing` (which
        reads the round trip back from the ledger) is called only when a target wants fills: a
        portfolio without notifications pays nothing for it on each of its fills."""
        wanted = self._wanted(portfolio_id, "fill")
        if not wanted:
            return None
        payload = fill_payload(portfolio_id, name, quote, candle_ts, booked, kind, closing())
        return self.record(portfolio_id, "fill", payload, now, symbol=booked.fill.symbol, wanted=wanted)

    def record(
        self,
        portfolio_id: int,
        kind: str,
        payload: Mapping[str, Any],
        now: int,
        *,
        symbol=None,
        dedupe=None,
        wanted: list[int] | None = None,
    ) -> int | None:
        """Write an event for every target of the portfolio subscribed to it (`wanted`, when the
        caller has just asked `_wanted`); its id, or None when no target wants it. A `dedupe` key
        already used raises Conflict."""
        wanted = self._wanted(portfolio_id, kind) if wanted is None else wanted
        if not wanted:
            return None
        row = {"portfolio_id": portfolio_id, "kind": kind, "symbol": symbol, "dedupe": dedupe, "created_ts": now}
        try:
            with self._c.begin_nested():
                event_id = self._c.execute(
                    insert(t.notify_events).values(**row, payload=json.dumps(payload, sort_keys=True))
                ).inserted_primary_key[0]
        except IntegrityError as exc:
            raise Conflict(f"{kind} {dedupe}") from exc
        self._c.execute(
            insert(t.notify_deliveries),
            [{"event_id": event_id, "target_id": target_id, "attempts": 0} for target_id in wanted],
        )
        return event_id

    def has_event(self, portfolio_id: int, kind: str, dedupe: str) -> bool:
        e = t.notify_events.c
        query = select(e.id).where(e.portfolio_id == portfolio_id, e.kind == kind, e.dedupe == dedupe)
        return self._c.execute(query).first() is not None

    # -- deliveries -----------------------------------------------------------------------

    def pending(self, now: int, limit: int = 500) -> list[Pending]:
        """Undelivered (event, target) pairs nobody is sending at `now`, oldest event first."""
        d, e = t.notify_deliveries.c, t.notify_events.c
        query = (
            select(t.notify_targets, e.id.label("event_id"), e.kind, e.payload, e.created_ts.label("event_ts"))
            .select_from(t.notify_deliveries.join(t.notify_events).join(t.notify_targets))
            .where(d.delivered_ts.is_(None), or_(d.lease_until.is_(None), d.lease_until <= now))
            .order_by(d.event_id, d.target_id)
            .limit(limit)
        )
        return [
            Pending(
                _target(row), OutboxEvent(row["event_id"], row["kind"], json.loads(row["payload"]), row["event_ts"])
            )
            for row in self._c.execute(query).mappings()
        ]

    def claim(self, now: int, until: int, limit: int = 500) -> list[Pending]:
        """Take the pending deliveries nobody is sending, for this run to send until `until`, so
        that runs ticking at the same moment (on one host or several) send each message once.
        In a write transaction: SQLite holds the write lock; PostgreSQL locks the rows."""
        d = t.notify_deliveries.c
        free = or_(d.lease_until.is_(None), d.lease_until <= now)
        keys = self._c.execute(
            select(d.event_id, d.target_id)
            .where(d.delivered_ts.is_(None), free)
            .order_by(d.event_id, d.target_id)
            .limit(limit)
            .with_for_update(skip_locked=True)
        ).all()
        if not keys:
            return []
        for event_id, target_id in keys:
            self._c.execute(
                update(t.notify_deliveries)
                .where(d.event_id == event_id, d.target_id == target_id)
                .values(lease_until=until)
            )
        claimed = set(keys)
        return [p for p in self.pending(until + 1, limit) if (p.event.id, p.target.id) in claimed]

    def mark_delivered(self, target_ids: Iterable[int], event_ids: Iterable[int], now: int) -> None:
        d = t.notify_deliveries.c
        where = _deliveries(target_ids, event_ids)
        self._c.execute(
            update(t.notify_deliveries).where(where).values(delivered_ts=now, lease_until=None, attempts=d.attempts + 1)
        )

    def mark_failed(self, target_ids: Iterable[int], event_ids: Iterable[int], error: str) -> None:
        d = t.notify_deliveries.c
        where = _deliveries(target_ids, event_ids)
        values = {"last_error": error, "lease_until": None, "attempts": d.attempts + 1}
        self._c.execute(update(t.notify_deliveries).where(where).values(**values))

    # -- error streaks --------------------------------------------------------------------

    def streak(self, portfolio_id: int, symbol: str) -> Streak | None:
        s = t.notify_streaks.c
        row = self._c.execute(
            select(s.since_ts, s.last_alert_ts, s.failures, s.last_error).where(*_streak_key(portfolio_id, symbol))
        ).first()
        return Streak(*row) if row is not None else None

    def start_streak(self, portfolio_id: int, symbol: str, error: str, now: int) -> None:
        """The first failure of a streak; Conflict if another run started it first."""
        row = {"portfolio_id": portfolio_id, "symbol": symbol, "since_ts": now, "last_alert_ts": now}
        try:
            with self._c.begin_nested():
                self._c.execute(insert(t.notify_streaks).values(**row, failures=1, last_error=error))
        except IntegrityError as exc:
            raise Conflict(f"streak {portfolio_id} {symbol}") from exc

    def continue_streak(self, portfolio_id: int, symbol: str, error: str, alert_after: int | None, now: int) -> bool:
        """Count a further failure; with `alert_after` (the last alert seen), also take the right
        to alert, which only one run gets. True when this run counted (and alerts)."""
        s = t.notify_streaks.c
        where = list(_streak_key(portfolio_id, symbol))
        values: dict[str, Any] = {"failures": s.failures + 1, "last_error": error}
        if alert_after is not None:
            where.append(s.last_alert_ts == alert_after)
            values["last_alert_ts"] = now
        return self._c.execute(update(t.notify_streaks).where(*where).values(**values)).rowcount == 1

    def end_streak(self, portfolio_id: int, symbol: str) -> Streak | None:
        """Close a streak; the streak, for only the run that closed it."""
        streak = self.streak(portfolio_id, symbol)
        if streak is None:
            return None
        deleted = self._c.execute(delete(t.notify_streaks).where(*_streak_key(portfolio_id, symbol))).rowcount
        return streak if deleted == 1 else None

    # -- stale symbols ------------------------------------------------------------------

    def last_candles(self, portfolio_id: int | None = None) -> dict[tuple[int, str], int]:
        """(portfolio, symbol) -> the open time of its last processed candle."""
        k = t.ticks.c
        query = select(k.portfolio_id, k.symbol, func.max(k.candle_ts)).group_by(k.portfolio_id, k.symbol)
        if portfolio_id is not None:
            query = query.where(k.portfolio_id == portfolio_id)
        return {(row[0], row[1]): row[2] for row in self._c.execute(query)}

    def open_stale(self, portfolio_id: int) -> list[tuple[str, str, Mapping[str, Any]]]:
        """The portfolio's stale episodes not yet followed by their `resumed` event: (symbol,
        episode key, the stale event's payload), oldest first."""
        e = t.notify_events.c
        resumed = select(e.dedupe).where(e.portfolio_id == portfolio_id, e.kind == "resumed")
        query = (
            select(e.symbol, e.dedupe, e.payload)
            .where(e.portfolio_id == portfolio_id, e.kind == "stale", e.dedupe.not_in(resumed))
            .order_by(e.id)
        )
        return [(row[0], row[1], json.loads(row[2])) for row in self._c.execute(query)]

    # -- what a daily summary reports ------------------------------------------------------

    def equity_at(self, portfolio_id: int, before: int) -> tuple[Decimal, Decimal] | None:
        """(cash, equity) as of the candles that opened before `before`: the last cash and each
        symbol's last position marked at its candle's close, less the cost basis of the margin
        positions then open (which never left the cash). None when nothing ticked before."""
        k = t.ticks.c
        latest = (
            select(func.max(k.id))
            .where(k.portfolio_id == portfolio_id, k.candle_ts < before)
            .group_by(k.symbol)
            .scalar_subquery()
        )
        rows = self._c.execute(
            select(k.id, k.candle_ts, k.cash_after, k.margin_basis_after, k.position_after, k.close).where(
                k.id.in_(latest)
            )
        ).all()
        if not rows:
            return None
        last = max(rows, key=lambda row: (row.candle_ts, row.id))
        with exact():
            marked = sum((row.position_after * row.close for row in rows), Decimal(0))
            return last.cash_after, last.cash_after - last.margin_basis_after + marked

    def trades_between(self, portfolio_id: int, start: int, end: int) -> list[Mapping[str, Any]]:
        r = t.trades.c
        query = (
            select(r.symbol, r.side, r.quantity, r.price, r.fee, r.realized_pnl, r.candle_ts)
            .where(r.portfolio_id == portfolio_id, r.candle_ts >= start, r.candle_ts < end)
            .order_by(r.candle_ts, r.id)
        )
        return list(self._c.execute(query).mappings())


def _deliveries(target_ids: Iterable[int], event_ids: Iterable[int]):
    d = t.notify_deliveries.c
    return and_(d.target_id.in_(list(target_ids)), d.event_id.in_(list(event_ids)), d.delivered_ts.is_(None))


def _streak_key(portfolio_id: int, symbol: str):
    s = t.notify_streaks.c
    return s.portfolio_id == portfolio_id, s.symbol == symbol


def _target(row: Mapping[str, Any]) -> Target:
    events = frozenset(filter(None, row["events"].split(",")))
    redacted = mask_url_paths(row["redacted"])  # a URL added before paths were masked is masked too
    return Target(row["id"], row["portfolio_id"], row["url"], redacted, events, row["created_ts"])
