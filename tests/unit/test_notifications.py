"""Notification values: event subscriptions, error alerts, messages and batches (no I/O)."""

import pytest

from papertrade.adapters.apprise_sender import scrub
from papertrade.domain.notifications import (
    ALL_EVENTS,
    REMINDER_MS,
    Alert,
    Event,
    OutboxEvent,
    batch,
    events_text,
    failure_alert,
    parse_events,
    render,
    utc_day,
)
from papertrade.errors import InputError

FILL = {
    "portfolio_id": 7,
    "portfolio": "My Bot",
    "quote": "USDT",
    "symbol": "BTC/USDT",
    "side": "SELL",
    "quantity": "0.5",
    "price": "30000.1",
    "fee": "15.00005",
    "realized_pnl": "-12.5",
    "cash_after": "14985.04995",
    "candle_ts": 1_609_459_200_000,
}


def test_events_default_to_all_three_and_parse_in_any_order():
    assert parse_events(None) == ALL_EVENTS
    assert parse_events(" Daily,fill ") == {Event.DAILY, Event.FILL}
    assert events_text(parse_events("daily,error,fill")) == "fill,error,daily"


@pytest.mark.parametrize("text", ["", ",", "fills", "fill,eror"])
def test_unknown_or_empty_events_are_bad_input(text):
    with pytest.raises(InputError):
        parse_events(text)


def test_a_streak_alerts_first_then_once_an_hour():
    assert failure_alert(None, 5) is Alert.FIRST
    assert failure_alert(1_000, 1_000 + REMINDER_MS - 1) is Alert.NONE
    assert failure_alert(1_000, 1_000 + REMINDER_MS) is Alert.REMINDER


def test_a_fill_message_has_every_field_and_ends_with_its_event_id():
    message = render(OutboxEvent(42, "fill", FILL, 0))
    assert message.title == "papertrade: SELL BTC/USDT in My Bot"
    assert message.body.splitlines() == [
        "My Bot (portfolio 7) SELL 0.5 BTC/USDT @ 30000.10 USDT",
        "fee 15.01 USDT, cash after 14,985.04 USDT",  # the one rule: fees rounded up, cash down
        "realized PnL before fees -12.50 USDT",
        "candle 2021-01-01 00:00Z",
        "event 42",
    ]


def test_a_resting_order_fill_says_what_made_it():
    message = render(OutboxEvent(43, "fill", {**FILL, "kind": "stop-loss"}, 0))
    assert message.title == "papertrade: stop-loss SELL BTC/USDT in My Bot"
    assert message.body.splitlines()[0] == "My Bot (portfolio 7) stop-loss SELL 0.5 BTC/USDT @ 30000.10 USDT"


def test_events_are_batched_in_order_within_the_services_limit():
    events = [OutboxEvent(n, "fill", FILL, 0) for n in range(1, 6)]
    one_size = len(render(events[0]).title) + 1 + len(render(events[0]).body)
    groups = batch(events, max_body=2 * one_size + 2)
    assert [ids for ids, _ in groups] == [[1, 2], [3, 4], [5]]
    assert groups[0][1].title == "papertrade: 2 events"
    assert groups[2][1] == render(events[4])
    assert [ids for ids, _ in batch(events, max_body=10)] == [[1], [2], [3], [4], [5]]
    assert [ids for ids, _ in batch(events, max_body=10**6, max_events=3)] == [[1, 2, 3], [4, 5]]


def test_what_a_service_reports_is_kept_without_the_urls_secrets():
    url = "tgram://123456789:AAHsecretTOKEN/987654321"
    text = "Failed to send to 123456789:AAHsecretTOKEN (chat 987654321): error 401"
    assert "AAHsecretTOKEN" not in scrub(text, url) and "123456789" not in scrub(text, url)


def test_days_are_utc():
    assert utc_day(1_609_545_599_999) == "2021-01-01"
    assert utc_day(1_609_545_600_000) == "2021-01-02"
