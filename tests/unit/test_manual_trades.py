"""A trader's forced entry and exit (`papertrade open` / `close`) on fakes of the tick's ports: a
LIVE tick with a manual decision, at the latest closed candle's close, under its own tick key."""

from decimal import Decimal

import pytest

from papertrade.domain.orders import Size, parse_size
from papertrade.errors import InputError, TemporaryError
from papertrade.services.tick import Manual, Mode, Status, TickRunner, run_manual
from tests.unit.fakes import FakeMarketData, hourly_bars
from tests.unit.test_tick_service import CLOSES, make, now_after

HOLDS = "tests.support.strategies:Recorder"


@pytest.fixture
def bars():
    return hourly_bars(CLOSES)


@pytest.fixture
def source(bars):
    return FakeMarketData(bars)


def manual(ledger, source, now, action, size=None):
    return run_manual(ledger, lambda exchange: source, 1, "BTC/USDT", Manual(action, size), now)


def test_open_buys_at_the_latest_close_as_a_manual_trade_and_journals_it(bars, source):
    ledger = make(HOLDS)
    result = manual(ledger, source, now_after(bars, 6), "open")
    assert (result.status, result.candle_ts, result.fill.price) == (Status.EXECUTED, bars[6].ts, bars[6].close)
    (trade,) = ledger.state.trades
    assert (trade.kind, trade.side, trade.candle_ts) == ("manual", "BUY", bars[6].ts)
    fills = [e for _, e in ledger.state.journal if e.event == "fill"]
    assert len(fills) == 1 and '"kind":"manual"' in fills[0].body.replace(" ", "")
    (tick,) = [record for _, record in ledger.state.ticks]
    assert (tick.key.strategy, tick.key.candle_ts, tick.reason) == ("manual:open", bars[6].ts, "manual open")


def test_a_retried_open_or_close_on_the_same_candle_is_a_duplicate_that_changes_nothing(bars, source):
    ledger = make(HOLDS)
    manual(ledger, source, now_after(bars, 6), "open")
    before = ledger.state
    again = manual(ledger, source, now_after(bars, 6) + 60_000, "open")
    assert again.status is Status.DUPLICATE and ledger.state is before
    closed = manual(ledger, source, now_after(bars, 6) + 120_000, "close")  # another action: its own key
    assert closed.status is Status.EXECUTED and closed.fill.side == "SELL"
    after_close = ledger.state
    assert manual(ledger, source, now_after(bars, 6) + 180_000, "close").status is Status.DUPLICATE
    assert ledger.state is after_close
    assert [(t.kind, t.side) for t in ledger.state.trades] == [("manual", "BUY"), ("manual", "SELL")]


def test_a_manual_trade_never_takes_the_candle_from_the_strategy(bars, source):
    ledger = make("tests.support.strategies:Alternate")
    manual(ledger, source, now_after(bars, 6), "open")
    cron = TickRunner(ledger, lambda exchange: source).tick(1, "BTC/USDT", Mode.LIVE, now_after(bars, 6) + 60_000)
    assert cron.status is Status.EXECUTED and cron.fill.side == "SELL"  # the strategy still decides on it
    assert [(t.kind, t.side) for t in ledger.state.trades] == [("manual", "BUY"), ("signal", "SELL")]


def test_nothing_to_close_or_already_holding_is_bad_input_and_writes_nothing(bars, source):
    ledger = make(HOLDS)
    with pytest.raises(InputError, match="holds no BTC/USDT"):
        manual(ledger, source, now_after(bars, 6), "close")
    assert ledger.commits == 0 and ledger.state.ticks == []
    manual(ledger, source, now_after(bars, 6), "open")
    commits = ledger.commits
    with pytest.raises(InputError, match="already holds"):
        manual(ledger, source, now_after(bars, 7), "open")
    assert ledger.commits == commits


def test_open_takes_a_size(bars, source):
    ledger = make(HOLDS)
    result = manual(ledger, source, now_after(bars, 6), "open", Size.base("2"))
    assert result.fill.quantity == 2


def test_a_manual_trade_waits_while_resting_orders_have_candles_to_meet(bars, source):
    ledger = make(HOLDS, exits=("0.5", None, None))
    manual(ledger, source, now_after(bars, 5), "open")  # rests a stop-loss for the position
    with pytest.raises(TemporaryError, match="resting orders that have not met"):
        manual(ledger, source, now_after(bars, 7), "close")
    TickRunner(ledger, lambda exchange: source).tick(1, "BTC/USDT", Mode.LIVE, now_after(bars, 7))
    assert manual(ledger, source, now_after(bars, 7), "close").status is Status.EXECUTED
    assert ledger.state.portfolios[1].orders == ()  # the close cancelled the stop-loss


@pytest.mark.parametrize(
    ("text", "size"),
    [("25%", Size.cash("0.25")), ("500", Size.quote(500)), ("500 usdt", Size.quote(500)),
     ("0.01 BTC", Size.base("0.01")), ("0.01btc", Size.base("0.01"))],
)  # fmt: skip
def test_sizes_as_a_trader_types_them(text, size):
    assert parse_size(text, "BTC/USDT") == size


@pytest.mark.parametrize("text", ["lots", "0", "150%", "-5 USDT", "1 ETH"])
def test_sizes_that_make_no_sense_are_refused(text):
    with pytest.raises(InputError):
        parse_size(text, "BTC/USDT")


def test_a_size_keeps_its_exact_value():
    assert parse_size("0.1%", "BTC/USDT").value == Decimal("0.001")
