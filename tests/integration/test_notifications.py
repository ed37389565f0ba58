"""Notifications from the transactional outbox, delivered through Apprise's json:// over real HTTP
to a local receiver, on both databases. The tick's clock is injected, so streaks and days pass
in no time."""

import contextlib
import re
import time
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

import pytest
import sqlalchemy as sa

from papertrade.adapters import schema as t
from papertrade.adapters.apprise_sender import AppriseSender, check_url
from papertrade.domain import numbers
from papertrade.domain.notifications import DAY_MS
from papertrade.domain.pnl import net_realized
from papertrade.services.batch import Bot, run_bots
from papertrade.services.notifications import Notifier, add_targets, check_stale, list_targets, parse_targets
from papertrade.services.portfolios import create_portfolio, list_trades, parse_new_portfolio
from papertrade.services.tick import Mode, Status, run_tick
from tests.support.live import HOUR
from tests.support.receiver import Receiver

MINUTE = 60_000
ALTERNATE = "tests.support.strategies:Alternate"  # a trade on every candle


@pytest.fixture
def receiver():
    with Receiver() as server:
        yield server


def notified_portfolio(ledger, url, name="bot", events="fill", strategy=ALTERNATE, created=0):
    stored = create_portfolio(ledger, parse_new_portfolio(name=name, cash="10000", strategy=strategy), now=created)
    add_targets(ledger, stored.id, parse_targets([url], events, check_url), now=created)
    return stored.id


def notified_tick(ledger, market_data_for, clock, portfolio_id=1, mode=Mode.LIVE, budget=3.0):
    """A tick as `papertrade trade` runs it: observed, then delivered after its result."""
    notifier = Notifier(ledger, AppriseSender(), budget, enabled=mode is Mode.LIVE)
    now = clock()
    try:
        with notifier.watch(portfolio_id, "BTC/USDT", now):
            result = run_tick(ledger, market_data_for, portfolio_id, "BTC/USDT", mode, now)
    except Exception as exc:
        return exc
    notifier.deliver(now)
    return result


def pending(ledger, portfolio_id=1) -> int:
    return sum(state.pending for state in list_targets(ledger, portfolio_id))


def count_rows(ledger, table) -> int:
    with ledger.unit_of_work() as uow:
        return uow.connection.execute(sa.select(sa.func.count()).select_from(table)).scalar()


# -- fills ----------------------------------------------------------------------------------


def test_one_trade_sends_one_message_with_the_fill(ledger, market_data_for, clock, receiver):
    notified_portfolio(ledger, receiver.url(auth="me:secret@"), name="My Bot")
    result = notified_tick(ledger, market_data_for, clock)
    assert result.status is Status.EXECUTED
    (trade,) = list_trades(ledger, 1)
    (message,) = receiver.messages
    assert message["title"] == "papertrade: BUY BTC/USDT in My Bot"
    assert message["type"] == "info" and message["_path"] == "/hook" and message["_authorization"]
    text = message["message"]
    fee, cash = numbers.fee(trade.fee, "USDT"), numbers.money(trade.cash_after, "USDT")
    assert (
        f"My Bot (portfolio 1) BUY {numbers.amount(trade.quantity)} BTC/USDT @ {numbers.price(trade.price)} USDT"
        in text
    )
    assert f"fee {fee} USDT, cash after {cash} USDT" in text
    assert re.search(r"^candle \d{4}-\d\d-\d\d \d\d:00Z$", text, re.M)
    assert receiver.event_ids() == [1]
    assert pending(ledger) == 0


def test_a_closing_fill_says_its_net_pnl_as_trades_does_its_profit_and_how_long_it_was_held(
    ledger, market_data_for, clock, receiver
):
    notified_portfolio(ledger, receiver.url(), name="My Bot")
    notified_tick(ledger, market_data_for, clock)
    clock.advance(HOUR)
    assert notified_tick(ledger, market_data_for, clock).fill.side == "SELL"
    buy, sell = list_trades(ledger, 1)
    net = net_realized([buy, sell]).by_trade[1]  # what `trades` and the dashboard show
    assert net != sell.realized_pnl
    pct = (net * 100 / buy.notional).quantize(Decimal("0.01"))
    signed = numbers.money(net, "USDT")
    line = receiver.messages[-1]["message"].splitlines()[2]
    assert line == (
        f"realized PnL {signed if net < 0 else '+' + signed} USDT ({'' if pct < 0 else '+'}{pct} %) after fees, "
        "held 0 days 01:00:00"
    )


def test_the_fill_event_commits_with_its_trade_or_neither_does(ledger, market_data_for, clock, receiver):
    notified_portfolio(ledger, receiver.url())

    def refuse_the_outbox(_connection, _cursor, statement, *args):
        if statement.startswith("INSERT INTO notify_deliveries"):
            raise RuntimeError("no space left for the outbox")

    sa.event.listen(ledger.engine, "before_cursor_execute", refuse_the_outbox)
    try:
        with pytest.raises(Exception, match="no space left"):
            run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock())
    finally:
        sa.event.remove(ledger.engine, "before_cursor_execute", refuse_the_outbox)
    assert list_trades(ledger, 1) == [] and count_rows(ledger, t.ticks) == 0
    assert count_rows(ledger, t.notify_events) == 0
    assert notified_tick(ledger, market_data_for, clock).status is Status.EXECUTED  # the retry trades
    assert len(receiver.event_ids()) == 1


def test_a_retried_tick_sends_nothing(ledger, market_data_for, clock, receiver):
    notified_portfolio(ledger, receiver.url())
    notified_tick(ledger, market_data_for, clock)
    again = notified_tick(ledger, market_data_for, clock)
    assert again.status is Status.DUPLICATE
    assert receiver.event_ids() == [1]
    assert count_rows(ledger, t.notify_events) == 1


def test_a_dry_tick_writes_and_sends_nothing(ledger, market_data_for, clock, receiver):
    notified_portfolio(ledger, receiver.url())
    receiver.down()
    notified_tick(ledger, market_data_for, clock)  # a fill whose message cannot go out
    receiver.up()
    clock.advance(HOUR)
    dry = notified_tick(ledger, market_data_for, clock, mode=Mode.DRY)
    assert dry.status is Status.DRY_RUN and dry.fill is not None
    assert receiver.messages == [] and pending(ledger) == 1
    assert count_rows(ledger, t.notify_events) == 1


def test_an_undelivered_fill_stays_pending_and_the_next_tick_delivers_it(ledger, market_data_for, clock, receiver):
    notified_portfolio(ledger, receiver.url())
    receiver.down()
    first = notified_tick(ledger, market_data_for, clock)
    assert first.status is Status.EXECUTED
    (state,) = list_targets(ledger, 1)
    assert (state.pending, state.delivered) == (1, 0)
    assert "connection" in state.last_error.lower()
    receiver.up()
    clock.advance(HOUR)
    second = notified_tick(ledger, market_data_for, clock)
    assert second.status is Status.EXECUTED and second.fill.side == "SELL"
    (batched,) = receiver.messages  # both events, in one message to the one URL
    assert batched["title"] == "papertrade: 2 events"
    assert receiver.event_ids() == [1, 2]
    assert pending(ledger) == 0


#: How long the stalling endpoint keeps a connection at most: far beyond any delivery timeout.
HOLD_S = 60
#: It sends one byte of its answer this often: sooner than Apprise's own read timeout (4 s), so
#: only a client given the shorter PAPERTRADE_NOTIFY_TIMEOUT gives up; no assertion measures it.
TRICKLE_S = 2


@pytest.fixture
def stalling_endpoint():
    """A local webhook that takes the request and then answers one byte every TRICKLE_S seconds,
    for HOLD_S seconds (a hung service that looks alive): its URL, an event set when a request
    reached it, and one set when the client hung up on it."""
    import socket
    import threading

    server = socket.create_server(("127.0.0.1", 0))
    reached, hung_up, stop = threading.Event(), threading.Event(), threading.Event()

    def hold(connection: socket.socket) -> None:
        connection.settimeout(TRICKLE_S)
        answer = iter(b"HTTP/1.1 200 OK\r\nX-Hold: " + b"a" * HOLD_S)
        with contextlib.suppress(OSError), connection:
            for _ in range(HOLD_S // TRICKLE_S):
                try:
                    if connection.recv(65536) == b"":
                        hung_up.set()  # the client closed its end: it stopped waiting
                        return
                    reached.set()
                except TimeoutError:
                    connection.sendall(bytes([next(answer)]))
                if stop.is_set():
                    return

    def accept() -> None:
        with contextlib.suppress(OSError):
            while True:
                threading.Thread(target=hold, args=(server.accept()[0],), daemon=True).start()

    threading.Thread(target=accept, daemon=True).start()
    yield f"json://127.0.0.1:{server.getsockname()[1]}/hook", reached, hung_up
    stop.set()
    server.close()


def test_a_stalling_endpoint_gets_the_delivery_timeout_not_apprises(ledger, market_data_for, clock, stalling_endpoint):
    """PAPERTRADE_NOTIFY_TIMEOUT=1 reaches the HTTP layer: the client hangs up on an endpoint that
    answers one byte every 2 s. With Apprise's own 4 s read timeout it would keep reading for the
    whole 60 s hold, and the tick's delivery would wait as long. Nothing here is timed: the margin
    is 1 s against 60 s."""
    from papertrade.bootstrap import make_notifier
    from papertrade.settings import Settings

    url, reached, hung_up = stalling_endpoint
    notified_portfolio(ledger, url)
    notifier = make_notifier(Settings(notify_timeout=1), ledger, live=True)  # PAPERTRADE_NOTIFY_TIMEOUT=1
    now = clock()
    with notifier.watch(1, "BTC/USDT", now):
        result = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, now)
    flushed = notifier.deliver(now)  # as `trade` does, after printing the tick's line
    assert result.status is Status.EXECUTED and (flushed.delivered, flushed.failed) == (0, 1)
    (state,) = list_targets(ledger, 1)
    assert (state.pending, state.delivered) == (1, 0) and state.last_error  # `notify flush` sends it later
    assert reached.is_set(), "the message was on its way to the endpoint"
    assert hung_up.wait(HOLD_S), "the client kept waiting on the endpoint: the delivery timeout was not applied"


def test_runs_delivering_at_the_same_moment_send_each_message_once(ledger, market_data_for, clock, receiver):
    notified_portfolio(ledger, receiver.url())
    receiver.down()
    notified_tick(ledger, market_data_for, clock)
    receiver.up()
    receiver.on_request = lambda _document: time.sleep(0.3)  # a slow service
    notifiers = [Notifier(ledger, AppriseSender(), 3.0, quiet=False) for _ in range(4)]
    with ThreadPoolExecutor(4) as pool:
        flushed = list(pool.map(lambda notifier: notifier.deliver(clock()), notifiers))
    assert receiver.event_ids() == [1]
    assert sorted(f.delivered for f in flushed) == [0, 0, 0, 1]


def test_a_service_answering_5xx_is_not_marked_delivered(ledger, market_data_for, clock, receiver):
    notified_portfolio(ledger, receiver.url())
    receiver.status = 503
    notified_tick(ledger, market_data_for, clock)
    assert receiver.refused == 1 and pending(ledger) == 1
    receiver.status = 200
    notified_tick(ledger, market_data_for, clock)  # a duplicate: delivers what is pending
    assert receiver.event_ids() == [1]


def test_a_url_gets_only_the_events_it_asked_for(ledger, market_data_for, clock, receiver):
    notified_portfolio(ledger, receiver.url(), events="error")
    assert notified_tick(ledger, market_data_for, clock).status is Status.EXECUTED
    assert receiver.messages == []
    assert count_rows(ledger, t.notify_events) == 0


# -- errors ---------------------------------------------------------------------------------


def test_an_error_streak_alerts_first_then_hourly_then_on_recovery(ledger, market_data_for, clock, receiver, exchange):
    notified_portfolio(ledger, receiver.url(), events="error", strategy="rsi")
    exchange.inject("http-503")
    start = clock()
    alerts = {}
    for minutes in (0, 10, 50, 61, 100, 122):
        clock.now = start + minutes * MINUTE
        before = len(receiver.messages)
        assert isinstance(notified_tick(ledger, market_data_for, clock), Exception)
        alerts[minutes] = [m["title"] for m in receiver.messages[before:]]
    assert alerts == {
        0: ["papertrade: BTC/USDT failing in bot"],
        10: [],
        50: [],
        61: ["papertrade: BTC/USDT still failing in bot"],
        100: [],
        122: ["papertrade: BTC/USDT still failing in bot"],
    }
    first, reminder = receiver.messages[0], receiver.messages[1]
    assert first["type"] == "failure" and "temporary trouble, the next run retries" in first["message"]
    assert "4 failed ticks since" in reminder["message"]
    exchange.clear_faults()
    clock.now = start + 130 * MINUTE
    assert not isinstance(notified_tick(ledger, market_data_for, clock), Exception)
    clock.advance(HOUR)
    notified_tick(ledger, market_data_for, clock)
    recovered = receiver.messages[3:]
    assert [m["title"] for m in recovered] == ["papertrade: BTC/USDT recovered in bot"]
    assert recovered[0]["type"] == "success" and "after 6 failed ticks" in recovered[0]["message"]


def test_bad_input_is_not_an_error_event(ledger, market_data_for, clock, receiver):
    notified_portfolio(ledger, receiver.url())
    notifier = Notifier(ledger, AppriseSender(), 3.0)
    with pytest.raises(Exception, match="is quoted in"), notifier.watch(1, "ETH/BTC", clock()):
        run_tick(ledger, market_data_for, 1, "ETH/BTC", Mode.LIVE, clock())
    assert receiver.messages == [] and count_rows(ledger, t.notify_streaks) == 0


# -- daily ----------------------------------------------------------------------------------


def test_the_daily_summary_comes_once_a_day_on_the_first_tick(ledger, market_data_for, clock, receiver):
    day_start = clock() - clock() % DAY_MS
    notified_portfolio(ledger, receiver.url(), events="daily", created=day_start - 3 * DAY_MS)
    notified_tick(ledger, market_data_for, clock)
    (first,) = receiver.messages  # the first tick of this day: a summary of yesterday (no ticks yet)
    yesterday = _day(day_start - DAY_MS)
    assert first["title"] == f"papertrade daily: bot {yesterday}"
    assert "equity 10,000.00 USDT" in first["message"] and "PnL +0.00 USDT (+0.00%)" in first["message"]
    clock.advance(HOUR)
    notified_tick(ledger, market_data_for, clock)
    assert len(receiver.messages) == 1, "one summary per day"
    clock.now = day_start + DAY_MS + 30_000  # the next day's first tick, on the day's last candle
    notified_tick(ledger, market_data_for, clock)
    second = receiver.messages[-1]
    assert second["title"] == f"papertrade daily: bot {_day(day_start)}"
    trades = [r for r in list_trades(ledger, 1) if day_start <= r.candle_ts < day_start + DAY_MS]
    assert f"trades {len(trades)}," in second["message"]
    assert f"(cash {trades[-1].cash_after:.2f} USDT)" in second["message"]
    history = list_trades(ledger, 1)
    day_net = sum(n for r, n in zip(history, net_realized(history).by_trade, strict=True)
                  if n is not None and day_start <= r.candle_ts < day_start + DAY_MS)  # fmt: skip
    shown = numbers.money(day_net, "USDT")
    assert f"realized PnL {shown if day_net < 0 else '+' + shown} USDT after fees" in second["message"]


def _day(ms: int) -> str:
    from datetime import UTC, datetime

    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d")


# -- stale symbols: `notify check` ---------------------------------------------------------


def check(ledger, clock):
    """`papertrade notify check` as cron runs it."""
    return check_stale(ledger, AppriseSender(), clock(), 3.0)


def titles(receiver, since=0) -> list[str]:
    return [m["title"] for m in receiver.messages[since:]]


def test_a_stopped_bot_is_announced_once_per_stale_episode_and_once_when_it_ticks_again(
    ledger, market_data_for, clock, receiver
):
    notified_portfolio(ledger, receiver.url(), events="error")
    notified_tick(ledger, market_data_for, clock)
    assert check(ledger, clock).stale == [] and receiver.messages == []
    clock.advance(HOUR + 30 * MINUTE)  # one candle missed: not yet stale
    assert check(ledger, clock).stale == [] and receiver.messages == []
    clock.advance(HOUR)  # two candles closed since the last one processed
    (stale,) = check(ledger, clock).stale
    assert (stale.symbol, stale.missed) == ("BTC/USDT", 2)
    assert titles(receiver) == ["papertrade: BTC/USDT stale in bot"]
    assert receiver.messages[0]["type"] == "warning"
    assert "no 1h candle processed since" in receiver.messages[0]["message"]
    assert "(2 candles closed since)" in receiver.messages[0]["message"]
    for _ in range(3):  # cron keeps checking while the bot stays stopped: nothing more
        clock.advance(10 * MINUTE)
        assert len(check(ledger, clock).stale) == 1
    assert len(receiver.messages) == 1
    notified_tick(ledger, market_data_for, clock)  # cron runs the bot again
    checked = check(ledger, clock)
    assert checked.stale == [] and checked.resumed_events == 1
    assert titles(receiver, 1) == ["papertrade: BTC/USDT ticking again in bot"]
    assert receiver.messages[1]["type"] == "success"
    clock.advance(10 * MINUTE)
    assert check(ledger, clock).resumed_events == 0 and len(receiver.messages) == 2
    clock.advance(3 * HOUR)  # it stops again: a new episode, announced once
    check(ledger, clock)
    check(ledger, clock)
    assert titles(receiver, 2) == ["papertrade: BTC/USDT stale in bot"]
    assert count_rows(ledger, t.notify_events) == 3


def test_a_stale_symbol_of_an_archived_portfolio_or_a_url_without_errors_sends_nothing(
    ledger, market_data_for, clock, receiver
):
    from papertrade.services.portfolios import archive_portfolio

    notified_portfolio(ledger, receiver.url(), events="fill")
    notified_tick(ledger, market_data_for, clock)
    receiver.messages.clear()
    notified_portfolio(ledger, receiver.url(), name="archived", events="error")
    notified_tick(ledger, market_data_for, clock, portfolio_id=2)
    archive_portfolio(ledger, 2, True, now=clock())
    clock.advance(3 * HOUR)
    assert [s.portfolio_id for s in check(ledger, clock).stale] == [1]
    assert receiver.messages == []


def test_the_daily_summary_names_stale_symbols_and_check_writes_it_when_no_bot_ticks(
    ledger, market_data_for, clock, receiver
):
    day_start = clock() - clock() % DAY_MS
    notified_portfolio(ledger, receiver.url(), events="daily", created=day_start - 3 * DAY_MS)
    notified_tick(ledger, market_data_for, clock)  # today's summary, written by the tick
    assert len(receiver.messages) == 1
    clock.now = day_start + DAY_MS + 10 * MINUTE  # the bot stopped: no tick writes tomorrow's
    assert check(ledger, clock).summaries == 1
    summary = receiver.messages[-1]
    assert summary["title"] == f"papertrade daily: bot {_day(day_start)}"
    assert re.search(r"^stale: BTC/USDT: no 1h candle processed since .* closed since\)$", summary["message"], re.M)
    clock.advance(10 * MINUTE)
    assert check(ledger, clock).summaries == 0 and len(receiver.messages) == 2


# -- many bots ------------------------------------------------------------------------------


def test_a_run_delivers_all_its_events_in_one_message_per_url(ledger, market_data_for, clock, receiver):
    for name in ("one", "two", "three"):
        notified_portfolio(ledger, receiver.url(), name=name)
    notifier = Notifier(ledger, AppriseSender(), 3.0)
    bots = [Bot(pid, "BTC/USDT") for pid in (1, 2, 3)]
    now = clock()
    for outcome in run_bots(ledger, market_data_for, lambda _: market_data_for("binance"), bots, now, markets_ttl_ms=0):
        assert outcome.result.status is Status.EXECUTED
        notifier.observe(outcome.bot.portfolio_id, outcome.bot.symbol, outcome.error, now)
    assert receiver.messages == []
    notifier.deliver(now)
    (message,) = receiver.messages
    assert message["title"] == "papertrade: 3 events"
    assert receiver.event_ids() == [1, 2, 3]
    assert [line for line in message["message"].splitlines() if line.startswith("papertrade: BUY")] == [
        "papertrade: BUY BTC/USDT in one",
        "papertrade: BUY BTC/USDT in two",
        "papertrade: BUY BTC/USDT in three",
    ]
