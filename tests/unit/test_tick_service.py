"""The tick service on fakes of its ports: restore → sync → analyze → execute, in memory."""

import inspect
from decimal import Decimal

import pytest

from papertrade.domain.signals import Signal
from papertrade.errors import StrategyError, TemporaryError
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.tick import Mode, Status, TickRunner
from tests.support.strategies import Raises
from tests.unit.fakes import FakeLedger, FakeMarketData, hourly_bars

HOUR = 3_600_000
CLOSES = [100, 101, 99, 98, 102, 103, 97, 96, 100, 104, 105, 99]


def now_after(bars, index: int) -> int:
    """A moment just after candle `index` closed."""
    return bars[index].ts + HOUR + 5_000


@pytest.fixture
def bars():
    return hourly_bars(CLOSES)


@pytest.fixture
def source(bars):
    return FakeMarketData(bars)


def make(strategy="tests.support.strategies:Alternate", cash="1000", **kwargs):
    ledger = FakeLedger()
    create_portfolio(ledger, parse_new_portfolio(name="bot", cash=cash, strategy=strategy, **kwargs), now=0)
    ledger.commits = ledger.write_transactions = 0  # count the tick's own
    return ledger


def tick(ledger, source, now, mode=Mode.LIVE, symbol="BTC/USDT"):
    return TickRunner(ledger, lambda exchange: source).tick(1, symbol, mode, now)


def test_a_live_tick_acts_on_the_latest_closed_candle_and_commits_once(bars, source):
    ledger = make()
    result = tick(ledger, source, now_after(bars, 5))
    assert (result.candle_ts, result.signal, result.status) == (bars[5].ts, Signal.BUY, Status.EXECUTED)
    assert ledger.commits == 1 and len(ledger.state.trades) == 1
    assert [e.event for _, e in ledger.state.journal] == ["portfolio.created", "fill"]
    assert ledger.state.outbox == [(1, "fill", bars[5].ts, result.fill)]  # notified iff committed
    assert ledger.state.portfolios[1].version == 1


def test_a_candle_claimed_twice_is_a_duplicate_that_changes_nothing(bars, source):
    ledger = make()
    tick(ledger, source, now_after(bars, 5))
    before = ledger.state
    again = tick(ledger, source, now_after(bars, 5) + 60_000)
    assert again.status is Status.DUPLICATE and again.signal is Signal.BUY
    assert ledger.state is before  # nothing committed


def test_an_older_candle_after_a_newer_one_is_a_duplicate(bars, source):
    ledger = make()
    tick(ledger, source, now_after(bars, 6))
    late = tick(ledger, source, now_after(bars, 5))
    assert late.status is Status.DUPLICATE and "later candle" in late.reason


def test_stale_data_is_temporary_trouble_and_writes_nothing(bars):
    ledger = make()
    with pytest.raises(TemporaryError, match="stale data"):
        tick(ledger, FakeMarketData(bars[:5]), now_after(bars, 7))
    assert ledger.commits == 0 and ledger.state.ticks == []


def test_missed_candles_are_stored_and_counted_but_never_traded(bars, source):
    ledger = make()
    tick(ledger, source, now_after(bars, 3))
    result = tick(ledger, source, now_after(bars, 7))
    assert result.skipped == 3 and result.candle_ts == bars[7].ts
    assert [t.candle_ts for t in ledger.state.trades] == [bars[3].ts, bars[7].ts]
    assert len(ledger.state.candles[("binance", "BTC/USDT", "1h")]) == 8


def test_a_buy_while_holding_becomes_hold_with_the_reason(bars, source):
    ledger = make(strategy="tests.support.strategies:AlwaysBuy")
    tick(ledger, source, now_after(bars, 3))
    result = tick(ledger, source, now_after(bars, 4))
    assert result.signal is Signal.HOLD and result.reason.startswith("already holding")
    assert len(ledger.state.trades) == 1


def test_a_strategy_error_writes_nothing_and_names_the_candle_and_the_strategy_s_line(bars, source):
    ledger = make(strategy="tests.support.strategies:Raises")
    with pytest.raises(StrategyError) as raised:
        tick(ledger, source, now_after(bars, 3))
    line = inspect.getsourcelines(Raises.decide)[1] + 1
    assert str(raised.value) == (
        f"strategy 'raises' failed on 2021-01-01 03:00Z at tests/support/strategies.py:{line}: "
        "ZeroDivisionError: the strategy divided by zero"
    )
    assert ledger.commits == 0 and ledger.write_transactions == 0


def test_the_strategy_runs_before_the_write_transaction_opens(bars, source):
    ledger = make()
    seen = []
    runner = TickRunner(ledger, lambda exchange: source)
    original = runner.analyze

    def analyze(restored, synced):
        seen.append(ledger.write_transactions)
        return original(restored, synced)

    runner.analyze = analyze
    runner.tick(1, "BTC/USDT", Mode.LIVE, now_after(bars, 3))
    assert seen == [0] and ledger.write_transactions == 1


def test_a_decision_made_on_a_portfolio_changed_meanwhile_is_made_again(bars, source):
    ledger = make(strategy="tests.support.strategies:AlwaysBuy", stake_fraction="0.5")
    spent = Decimal(400)

    def another_tick_spends_cash(fake):
        stored = fake.state.portfolios[1]
        stored.book.cash -= spent
        fake.state.portfolios[1] = type(stored)(stored.id, stored.config, stored.book, stored.created_ts,
                                                stored.version + 1)  # fmt: skip

    ledger.before_write = another_tick_spends_cash
    result = tick(ledger, source, now_after(bars, 3))
    assert ledger.write_transactions == 2  # the first attempt saw a newer version and decided again
    assert result.status is Status.EXECUTED
    fill = result.fill
    assert fill.notional + fill.fee <= (Decimal(1000) - spent) * Decimal("0.5")  # sized on the cash left


def test_a_portfolio_that_keeps_changing_is_temporary_trouble(bars, source):
    ledger = make()

    def bump(fake):
        stored = fake.state.portfolios[1]
        fake.state.portfolios[1] = type(stored)(stored.id, stored.config, stored.book, stored.created_ts,
                                                stored.version + 1)  # fmt: skip
        fake.before_write = bump

    ledger.before_write = bump
    with pytest.raises(TemporaryError, match="kept changing"):
        tick(ledger, source, now_after(bars, 3))
    assert ledger.state.ticks == []


def test_dry_runs_decide_like_live_and_write_nothing(bars, source):
    ledger = make()
    dry = tick(ledger, source, now_after(bars, 3), mode=Mode.DRY)
    assert dry.status is Status.DRY_RUN and dry.live_status is Status.EXECUTED and dry.fill is not None
    assert ledger.state.ticks == [] and ledger.state.markets == {}
    live = tick(ledger, source, now_after(bars, 3))
    assert (live.fill, live.cash) == (dry.fill, dry.cash)


def test_a_steady_state_tick_asks_the_source_once(bars, source):
    ledger = make()
    runner = TickRunner(ledger, lambda exchange: source)
    runner.tick(1, "BTC/USDT", Mode.LIVE, now_after(bars, 3))
    requests = (source.market_requests, source.candle_requests)
    runner = TickRunner(ledger, lambda exchange: source)  # a new process: reads the cache
    runner.tick(1, "BTC/USDT", Mode.LIVE, now_after(bars, 4))
    assert requests == (1, 1) and (source.market_requests, source.candle_requests) == (1, 2)


def test_restore_takes_one_view_of_the_stored_candles_though_another_run_stores_one_meanwhile(
    bars, source, monkeypatch
):
    """On PostgreSQL each statement of a read transaction sees what others committed before it:
    a candle stored by another run between two reads must not leave the tick without it."""
    from tests.unit.fakes import FakeCandles

    ledger = make()
    tick(ledger, source, now_after(bars, 5))
    plain_window = FakeCandles.window

    def window_then_another_run_stores_the_next_candle(self, *args, **kwargs):
        seen = plain_window(self, *args, **kwargs)
        self.upsert("binance", "BTC/USDT", "1h", [bars[6]])  # committed: the next statement sees it
        return seen

    monkeypatch.setattr(FakeCandles, "window", window_then_another_run_stores_the_next_candle)
    result = tick(ledger, source, now_after(bars, 6))
    assert result.candle_ts == bars[6].ts and result.status in (Status.EXECUTED, Status.NEUTRAL)
