"""Notifications as values: which events a URL wants, what each event says, when an error alerts.

Pure: the outbox stores an event's payload (JSON-ready values, decimals as plain strings); this
module turns payloads into messages and decides when a failing bot deserves another message.
Every message names its event id, so a receiver can drop a repeat after a crash between sending
and marking it delivered.
"""

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from enum import StrEnum
from typing import Any

from papertrade.domain.ledger import FillResult
from papertrade.domain.money import exact, to_plain
from papertrade.domain.numbers import amount, duration, fee, money, price
from papertrade.domain.pnl import Closing
from papertrade.domain.timeframes import timestamp
from papertrade.errors import InputError

#: A failing bot is reminded of at most once an hour.
REMINDER_MS = 3_600_000
DAY_MS = 86_400_000


class Event(StrEnum):
    """What a notification URL can subscribe to (`--events`)."""

    FILL = "fill"
    ERROR = "error"  # the first failure, hourly reminders, the recovery; a bot gone stale, and back
    DAILY = "daily"


ALL_EVENTS = frozenset(Event)

#: The outbox's event kinds and the subscription each belongs to.
SUBSCRIPTION = {
    "fill": Event.FILL,
    "error": Event.ERROR,
    "recovery": Event.ERROR,
    "stale": Event.ERROR,
    "resumed": Event.ERROR,
    "daily": Event.DAILY,
}


def parse_events(text: str | None) -> frozenset[Event]:
    """`fill,error,daily` (any subset, any order) into events; None means all three."""
    if text is None:
        return ALL_EVENTS
    names = [name.strip().lower() for name in text.split(",")]
    if not any(names):
        raise InputError("--events needs at least one of fill, error, daily")
    events = set()
    for name in filter(None, names):
        try:
            events.add(Event(name))
        except ValueError:
            raise InputError(f"unknown event {name!r}: choose from fill, error, daily") from None
    return frozenset(events)


def events_text(events: Iterable[Event | str]) -> str:
    """The canonical comma list stored in the ledger: in the order fill, error, daily."""
    wanted = {str(event) for event in events}
    return ",".join(str(event) for event in Event if str(event) in wanted)


#: Generic webhooks: Apprise shows their path whole, yet a path like /services/T0/B0/SECRET is the secret.
WEBHOOK_SCHEMES = frozenset({"json", "jsons", "xml", "xmls", "form", "forms"})
#: Services whose path (and, on the public server, the host position) names a topic anyone may read.
TOPIC_SCHEMES = frozenset({"ntfy", "ntfys"})
MASK = "****"


def mask_url_paths(redacted: str) -> str:
    """Hide what Apprise's privacy form leaves readable: every path segment after the host of a
    generic webhook (json://, xml://, form://), and ntfy topics, in the path and where the public
    server's URL puts the topic (ntfy://TOPIC). Idempotent; the query string is dropped."""
    scheme, sep, rest = redacted.split("?", 1)[0].partition("://")
    if not sep or scheme.lower() not in WEBHOOK_SCHEMES | TOPIC_SCHEMES:
        return redacted.split("?", 1)[0]
    address, _, path = rest.partition("/")
    masked = [MASK if segment else "" for segment in path.split("/")] if path else []
    if scheme.lower() in TOPIC_SCHEMES and not _is_host(address.rpartition("@")[2]):
        address = address.rpartition("@")[0] + ("@" if "@" in address else "") + MASK
    return f"{scheme}://{address}" + ("/" + "/".join(masked) if path else "")


#: A URL inside a message: its scheme, then everything up to white space, a quote or a bracket
#: (a scheme named alone, as in "use json://, xml:// or form://", is no URL).
_URL_IN_TEXT = re.compile(r"([A-Za-z][A-Za-z0-9+.-]{0,31})://[^\s'\"()\[\]<>,;.][^\s'\"()\[\]<>]*")


def mask_urls(text: str, typed: Iterable[str] = ()) -> str:
    """`text` with every URL in it shown as SCHEME://**** alone: an error message that quotes what
    was typed (click's usage errors, a bad argument's value) must not print a notification URL's
    token, password or webhook path. `typed` are the words of the command line: each one holding a
    URL is replaced whole first, so the text around it reads as before."""
    for word in sorted({w for w in typed if "://" in w}, key=len, reverse=True):
        scheme = _URL_IN_TEXT.match(word)
        text = text.replace(word, f"{scheme.group(1)}://{MASK}" if scheme else MASK)
    return _URL_IN_TEXT.sub(lambda found: f"{found.group(1)}://{MASK}", text)


def _is_host(address: str) -> bool:
    """Whether ntfy's first part is a server (a dotted name, an address, a port, localhost),
    not a topic of the public server."""
    return "." in address or ":" in address or address.startswith("[") or address.lower() == "localhost"


def utc_day(ms: int) -> str:
    """The UTC day `ms` falls in, as 2026-11-26."""
    return timestamp(ms - ms % DAY_MS)[:10]


def fill_payload(
    portfolio_id: int,
    name: str,
    quote: str,
    candle_ts: int,
    booked: FillResult,
    kind: str = "signal",
    closing: Closing | None = None,
) -> dict[str, Any]:
    """What a `fill` event records: enough to describe the trade without reading the ledger;
    `kind` says what made it ("signal", or a resting order's kind such as "stop-loss");
    `closing`, the round trip a closing fill ended (net PnL, profit %, when it was opened)."""
    fill = booked.fill
    trip = {} if closing is None else _trip_fields(closing)
    return trip | {
        "kind": kind,
        "portfolio_id": portfolio_id,
        "portfolio": name,
        "quote": quote,
        "symbol": fill.symbol,
        "side": str(fill.side),
        "quantity": to_plain(fill.quantity),
        "price": to_plain(fill.price),
        "fee": to_plain(fill.fee),
        "realized_pnl": to_plain(booked.realized_pnl),
        "cash_after": to_plain(booked.cash_after),
        "candle_ts": candle_ts,
    }


def _trip_fields(closing: Closing) -> dict[str, Any]:
    pct = closing.profit_pct
    return {
        "net_pnl": to_plain(closing.net),
        "profit_pct": None if pct is None else _signed_pct(pct),
        "entry_ts": closing.entry_ts,
    }


def daily_payload(
    portfolio_id: int,
    name: str,
    quote: str,
    day: str,
    opening: Decimal,
    closing: tuple[Decimal, Decimal],
    trades: Sequence[Mapping[str, Any]],
) -> dict[str, Any]:
    """What a `daily` event records about `day`: equity at its end (`closing` = cash, equity),
    the PnL since `opening` equity, and its trades."""
    cash, equity = closing
    with exact():
        pnl = equity - opening
        fees = sum((trade["fee"] for trade in trades), Decimal(0))
        realized = sum((trade["realized_pnl"] for trade in trades if trade["side"] == "SELL"), Decimal(0))
    pct = None if opening.is_zero() else _signed_pct(pnl * 100 / opening)
    return {
        "portfolio_id": portfolio_id,
        "portfolio": name,
        "quote": quote,
        "day": day,
        "cash": to_plain(cash),
        "equity": to_plain(equity),
        "pnl": to_plain(pnl),
        "pnl_pct": pct,
        "fees": to_plain(fees),
        "realized_pnl": to_plain(realized),
        "trades": [
            {
                "candle": timestamp(trade["candle_ts"]),
                "symbol": trade["symbol"],
                "side": trade["side"],
                "quantity": to_plain(trade["quantity"]),
                "price": to_plain(trade["price"]),
            }
            for trade in trades
        ],
    }


def _signed_pct(value: Decimal) -> str:
    """A percentage for a message: two places, half-even, always signed."""
    text = str(value.quantize(Decimal("0.01"), rounding=ROUND_HALF_EVEN))
    return text if text.startswith("-") else f"+{text}"


def _signed(value: str, currency: str) -> str:
    """Money gained or lost, signed, by the one rule (`numbers.money`)."""
    text = money(value, currency)
    return text if text.startswith("-") else f"+{text}"


# -- error streaks --------------------------------------------------------------------------


class Alert(StrEnum):
    FIRST = "first"
    REMINDER = "reminder"
    NONE = "none"


def failure_alert(last_alert_ts: int | None, now: int) -> Alert:
    """Whether a failing tick alerts: always for the first failure of a streak (no earlier
    alert), then once `REMINDER_MS` has passed since the last alert."""
    if last_alert_ts is None:
        return Alert.FIRST
    return Alert.REMINDER if now - last_alert_ts >= REMINDER_MS else Alert.NONE


# -- stale symbols -------------------------------------------------------------------------


def stale_episode(symbol: str, last_candle_ts: int) -> str:
    """The key of a stale episode (a symbol whose last processed candle is `last_candle_ts`):
    its `stale` event and its `resumed` event carry it, so each is written once however many
    checks see it. Fits the outbox's 40-character key whatever the symbol's length."""
    import hashlib

    return f"{last_candle_ts}:{hashlib.sha256(symbol.encode()).hexdigest()[:24]}"


def stale_fields(symbol: str, timeframe: str, last_candle_ts: int, missed: int) -> dict[str, Any]:
    """What a `stale` event (and a daily summary) says of a symbol whose bot stopped."""
    return {"symbol": symbol, "timeframe": timeframe, "last_candle_ts": last_candle_ts, "missed": missed}


# -- messages -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Message:
    """One notification: `level` is Apprise's notify type (info, success, warning, failure)."""

    title: str
    body: str
    level: str = "info"


@dataclass(frozen=True, slots=True)
class OutboxEvent:
    id: int
    kind: str
    payload: Mapping[str, Any]
    created_ts: int


def render(event: OutboxEvent) -> Message:
    """The message an outbox event sends; its last line names the event id."""
    title, lines, level = _RENDERERS[event.kind](event.payload)
    return Message(title, "\n".join([*lines, f"event {event.id}"]), level)


def batch(events: Sequence[OutboxEvent], max_body: int, max_events: int = 20) -> list[tuple[list[int], Message]]:
    """Group events, in order, into as few messages as the service's body limit allows (one
    event per message when an event alone is too long); each message with its events' ids."""
    groups: list[tuple[list[int], list[Message]]] = []
    for event in events:
        message = render(event)
        if groups:
            ids, messages = groups[-1]
            if len(ids) < max_events and _size(messages) + 2 + _block_size(message) <= max_body:
                ids.append(event.id)
                messages.append(message)
                continue
        groups.append(([event.id], [message]))
    return [(ids, _combine(messages)) for ids, messages in groups]


def _block_size(message: Message) -> int:
    return len(message.title) + 1 + len(message.body)


def _size(messages: Sequence[Message]) -> int:
    return sum(_block_size(m) for m in messages) + 2 * (len(messages) - 1)


def _combine(messages: Sequence[Message]) -> Message:
    if len(messages) == 1:
        return messages[0]
    levels = {m.level for m in messages}
    level = next((lv for lv in ("failure", "warning", "success") if lv in levels), "info")
    body = "\n\n".join(f"{m.title}\n{m.body}" for m in messages)
    return Message(f"papertrade: {len(messages)} events", body, level)


def _fill(p: Mapping[str, Any]) -> tuple[str, list[str], str]:
    quote = p["quote"]
    made_by = "" if p.get("kind", "signal") == "signal" else f"{p['kind']} "
    title = f"papertrade: {made_by}{p['side']} {p['symbol']} in {p['portfolio']}"
    lines = [
        f"{p['portfolio']} (portfolio {p['portfolio_id']}) {made_by}{p['side']} {amount(p['quantity'])} {p['symbol']} "
        f"@ {price(p['price'])} {quote}",
        f"fee {fee(p['fee'], quote)} {quote}, cash after {money(p['cash_after'], quote)} {quote}",
        f"candle {timestamp(p['candle_ts'])}",
    ]
    if "net_pnl" in p:
        lines.insert(2, _round_trip_line(p))
    elif p["side"] == "SELL":  # an event written before fills carried their round trip
        lines.insert(2, f"realized PnL before fees {money(p['realized_pnl'], quote)} {quote}")
    return title, lines, "info"


def _round_trip_line(p: Mapping[str, Any]) -> str:
    """The round trip a closing fill ended: net PnL (after the entry's and the exit's fees, as
    `trades` shows it), its profit on the entry value, and how long the position was held."""
    quote = p["quote"]
    pct = "" if p["profit_pct"] is None else f" ({p['profit_pct']} %)"
    held = duration(p["candle_ts"] - p["entry_ts"])
    return f"realized PnL {_signed(p['net_pnl'], quote)} {quote}{pct} after fees, held {held}"


def _error(p: Mapping[str, Any]) -> tuple[str, list[str], str]:
    where = f"{p['portfolio']} (portfolio {p['portfolio_id']}) {p['symbol']}"
    if p["alert"] == Alert.FIRST:
        title, opening = f"papertrade: {p['symbol']} failing in {p['portfolio']}", f"{where}: tick failed"
    else:
        title = f"papertrade: {p['symbol']} still failing in {p['portfolio']}"
        opening = f"{where}: still failing, {p['failures']} failed ticks since {timestamp(p['since_ts'])}"
    what = "temporary trouble, the next run retries" if p["temporary"] else "needs attention"
    return title, [opening, f"{p['error']} ({what})"], "failure"


def _recovery(p: Mapping[str, Any]) -> tuple[str, list[str], str]:
    where = f"{p['portfolio']} (portfolio {p['portfolio_id']}) {p['symbol']}"
    failures = p["failures"]
    lines = [
        f"{where}: ticking again after {failures} failed tick{'s' if failures != 1 else ''} "
        f"since {timestamp(p['since_ts'])}",
        f"last error: {p['last_error']}",
    ]
    return f"papertrade: {p['symbol']} recovered in {p['portfolio']}", lines, "success"


def _stale(p: Mapping[str, Any]) -> tuple[str, list[str], str]:
    where = f"{p['portfolio']} (portfolio {p['portfolio_id']}) {p['symbol']}"
    lines = [
        f"{where}: no {p['timeframe']} candle processed since {timestamp(p['last_candle_ts'])} "
        f"({_candles(p['missed'])} closed since)",
        "cron is not running this bot, or its runs fail (see the bot's cron log)",
    ]
    if p.get("last_error"):
        lines[1] = f"its runs fail, the last with: {p['last_error']}"
    return f"papertrade: {p['symbol']} stale in {p['portfolio']}", lines, "warning"


def _resumed(p: Mapping[str, Any]) -> tuple[str, list[str], str]:
    where = f"{p['portfolio']} (portfolio {p['portfolio_id']}) {p['symbol']}"
    lines = [
        f"{where}: ticking again, candle {timestamp(p['candle_ts'])} processed "
        f"(stale since the candle of {timestamp(p['last_candle_ts'])})"
    ]
    return f"papertrade: {p['symbol']} ticking again in {p['portfolio']}", lines, "success"


def _candles(count: int) -> str:
    return f"{count:,} candle{'s' if count != 1 else ''}"


def _daily_realized(p: Mapping[str, Any]) -> str:
    quote = p["quote"]
    if "net_realized_pnl" in p:
        return f"realized PnL {_signed(p['net_realized_pnl'], quote)} {quote} after fees"
    return f"realized before fees {money(p['realized_pnl'], quote)} {quote}"  # an event of an earlier version


def _daily(p: Mapping[str, Any]) -> tuple[str, list[str], str]:
    quote = p["quote"]
    lines = [
        f"{p['portfolio']} (portfolio {p['portfolio_id']}) on {p['day']} (UTC)",
        f"equity {money(p['equity'], quote)} {quote} (cash {money(p['cash'], quote)} {quote})",
        f"PnL {_signed(p['pnl'], quote)} {quote}" + (f" ({p['pnl_pct']}%)" if p["pnl_pct"] is not None else ""),
        f"trades {len(p['trades'])}, fees {fee(p['fees'], quote)} {quote}, " + _daily_realized(p),
    ]
    lines += [
        f"  {t['candle']} {t['side']} {amount(t['quantity'])} {t['symbol']} @ {price(t['price'])}"
        for t in p["trades"][:10]
    ]
    if len(p["trades"]) > 10:
        lines.append(f"  and {len(p['trades']) - 10} more")
    lines += [
        f"stale: {s['symbol']}: no {s['timeframe']} candle processed since {timestamp(s['last_candle_ts'])} "
        f"({_candles(s['missed'])} closed since)"
        for s in p.get("stale", ())
    ]
    return f"papertrade daily: {p['portfolio']} {p['day']}", lines, "info"


_RENDERERS = {
    "fill": _fill,
    "error": _error,
    "recovery": _recovery,
    "stale": _stale,
    "resumed": _resumed,
    "daily": _daily,
}
