"""The trade tick over real ccxt, a local Binance imitation serving real candles, and a real ledger."""

from decimal import ROUND_DOWN, Decimal
from urllib.parse import parse_qs, urlparse

import numpy as np
import pytest
import sqlalchemy as sa
import talib

from papertrade.adapters import schema as t
from papertrade.errors import InputError, NotFound, StrategyError, TemporaryError
from papertrade.services.portfolios import create_portfolio, get_portfolio, list_trades, parse_new_portfolio
from papertrade.services.tick import Mode, Status, run_tick
from tests.support.fake_binance import load_rows
from tests.support.live import HOUR
from tests.support.strategies import Recorder

BTC_1H = load_rows("binance_BTC-USDT_1h.csv")
MINUTE = 60_000


def create(ledger, cash="10000", name="bot", **kwargs):
    return create_portfolio(ledger, parse_new_portfolio(name=name, cash=cash, **kwargs), now=0)


def tick(ledger, market_data_for, clock, portfolio_id=1, symbol="BTC/USDT", mode=Mode.LIVE):
    return run_tick(ledger, market_data_for, portfolio_id, symbol, mode, clock())


def ledger_digest(ledger) -> dict:
    """Every row of every table: equal digests mean nothing was written."""
    with ledger.unit_of_work() as uow:
        return {
            table.name: [tuple(row) for row in uow.connection.execute(sa.select(table).order_by(*table.primary_key))]
            for table in t.metadata.sorted_tables
        }


def klines_requests(exchange) -> list[dict]:
    return [
        {k: v[0] for k, v in parse_qs(urlparse(path).query).items()} for path in exchange.state.log if "/klines" in path
    ]


def stored_candle_times(ledger, symbol="BTC/USDT", timeframe="1h") -> list[int]:
    with ledger.unit_of_work() as uow:
        return [bar.ts for bar in uow.candles.window("binance", symbol, timeframe, until=2**62, count=None)]


# -- sync ------------------------------------------------------------------------------------


def test_the_first_tick_backfills_the_warmup_and_decides_on_the_latest_closed_candle(
    ledger, market_data_for, clock, exchange
):
    create(ledger)
    result = tick(ledger, market_data_for, clock)
    assert result.candle_ts == BTC_1H[1000][0]
    assert result.status in (Status.NEUTRAL, Status.EXECUTED)
    assert "rsi" in result.indicators
    stored = stored_candle_times(ledger)
    assert stored[-1] == BTC_1H[1000][0], "the forming candle must not be stored"
    assert len(stored) == result.fetched >= 250
    assert [r["limit"] for r in klines_requests(exchange)] == ["1000"]


def test_the_strategy_sees_its_lookback_of_closed_candles_only(ledger, market_data_for, clock):
    create(ledger, strategy="tests.support.strategies:Recorder", params=["window=7"])
    Recorder.seen.clear()
    tick(ledger, market_data_for, clock)
    (frame,) = Recorder.seen
    assert len(frame) == 7
    assert list(frame["ts"]) == [row[0] for row in BTC_1H[994:1001]]
    assert frame["close"].iloc[-1] == float(BTC_1H[1000][4])
    assert str(frame.index.tz) == "UTC"


def test_later_ticks_fetch_only_what_is_missing(ledger, market_data_for, clock, exchange):
    create(ledger)
    tick(ledger, market_data_for, clock)
    exchange.reset_counts()
    clock.advance(HOUR)
    result = tick(ledger, market_data_for, clock)
    (request,) = klines_requests(exchange)
    assert int(request["startTime"]) == BTC_1H[1001][0]
    assert result.fetched == 1 and result.candle_ts == BTC_1H[1001][0]


def test_a_second_strategy_on_a_symbol_fetches_its_own_warmup_and_decides_on_its_first_tick(
    ledger, market_data_for, clock, exchange
):
    create(ledger, name="trend", strategy="sma-cross")
    create(ledger, name="swing", strategy="rsi")
    tick(ledger, market_data_for, clock, portfolio_id=1)
    assert len(stored_candle_times(ledger)) < 250  # sma-cross needs 31: the store is short for rsi
    exchange.reset_counts()
    second = tick(ledger, market_data_for, clock, portfolio_id=2)
    assert "warming up" not in second.reason and "rsi" in second.indicators
    assert stored_candle_times(ledger)[-250:] == [row[0] for row in BTC_1H[751:1001]]
    assert len(klines_requests(exchange)) == 1 and second.skipped == 0


def test_a_long_absence_is_filled_in_pages_and_the_missed_candles_are_not_traded(ledger, market_data_for, exchange):
    rows = load_rows("binance_BTC-USDT_1m.csv")
    exchange.state.clock.now = rows[300][0] + MINUTE + 1_000
    create(ledger, timeframe="1m", strategy="tests.support.strategies:Alternate")
    first = tick(ledger, market_data_for, exchange.state.clock)
    exchange.reset_counts()
    exchange.state.clock.now = rows[2800][0] + MINUTE + 1_000
    later = tick(ledger, market_data_for, exchange.state.clock)
    starts = [int(r["startTime"]) for r in klines_requests(exchange)]
    assert starts == [rows[301][0], rows[1301][0], rows[2301][0]]
    assert later.fetched == 2500
    assert later.skipped == 2499
    assert later.candle_ts == rows[2800][0]
    assert [tr.candle_ts for tr in list_trades(ledger, 1)] == [first.candle_ts, later.candle_ts]
    assert stored_candle_times(ledger, timeframe="1m")[-2501:] == [row[0] for row in rows[300:2801]]


# -- exactly once ----------------------------------------------------------------------------


def test_a_retried_tick_is_a_duplicate_and_changes_nothing(ledger, market_data_for, clock):
    create(ledger, strategy="tests.support.strategies:AlwaysBuy")
    first = tick(ledger, market_data_for, clock)
    assert first.status is Status.EXECUTED
    before = ledger_digest(ledger)
    for _ in range(3):
        again = tick(ledger, market_data_for, clock)
        assert again.status is Status.DUPLICATE and again.fill is None
        assert again.candle_ts == first.candle_ts and again.signal == "BUY"
    clock.advance(30 * MINUTE)  # later, but the same candle is still the latest closed one
    assert tick(ledger, market_data_for, clock).status is Status.DUPLICATE
    assert ledger_digest(ledger) == before


def test_an_older_candle_after_a_newer_one_is_not_traded(ledger, market_data_for, clock):
    create(ledger, strategy="tests.support.strategies:Alternate")
    tick(ledger, market_data_for, clock)
    clock.advance(2 * HOUR)
    tick(ledger, market_data_for, clock)
    before = ledger_digest(ledger)
    clock.advance(-HOUR)  # a slow run for the candle in between, finishing after the newer one
    late = tick(ledger, market_data_for, clock)
    assert late.status is Status.DUPLICATE and "later candle" in late.reason
    assert ledger_digest(ledger) == before


def test_dry_runs_decide_like_live_and_write_nothing(ledger, market_data_for, clock, tmp_path):
    create(ledger, strategy="tests.support.strategies:AlwaysBuy", fee_rate="0.00075")
    before = ledger_digest(ledger)
    dry = tick(ledger, market_data_for, clock, mode=Mode.DRY)
    assert dry.status is Status.DRY_RUN and dry.live_status is Status.EXECUTED
    assert ledger_digest(ledger) == before
    live = tick(ledger, market_data_for, clock)
    assert (live.fill, live.cash) == (dry.fill, dry.cash)
    assert tick(ledger, market_data_for, clock, mode=Mode.DRY).live_status is Status.DUPLICATE


# -- decisions, cash and positions -------------------------------------------------------------


def test_walking_real_history_matches_an_independent_calculation(ledger, market_data_for, clock):
    """300 hourly ticks of RSI(14) on BTC/USDT, checked against TA-Lib and hand-written fill maths."""
    create(ledger)
    closes = np.array([float(row[4]) for row in BTC_1H])
    cash, held, trades = Decimal(10000), Decimal(0), []
    for i in range(800, 1100):
        clock.now = BTC_1H[i][0] + HOUR + 5_000
        result = tick(ledger, market_data_for, clock)
        rsi = talib.RSI(closes[i - 249 : i + 1], 14)[-1]
        close = Decimal(BTC_1H[i][4])
        expected = "HOLD"
        if held == 0 and rsi < 30:
            quantity = (cash / (close * Decimal("1.001"))).quantize(Decimal("0.00001"), ROUND_DOWN)
            cost = quantity * close
            cash, held, expected = cash - cost - cost * Decimal("0.001"), quantity, "BUY"
        elif held > 0 and rsi > 70:
            proceeds = held * close
            cash, held, expected = cash + proceeds - proceeds * Decimal("0.001"), Decimal(0), "SELL"
        assert (result.signal, result.indicators["rsi"]) == (expected, rsi), f"candle {i}"
        assert (result.cash, result.position) == (cash, held), f"candle {i}"
        if expected != "HOLD":
            trades.append((BTC_1H[i][0], expected))
    assert len(trades) >= 4, "the window should hold a few round trips"
    assert [(tr.candle_ts, tr.side) for tr in list_trades(ledger, 1)] == trades
    stored = get_portfolio(ledger, 1)
    assert stored.book.cash == cash
    assert stored.book.positions["BTC/USDT"].quantity == held


def test_sma_cross_trades_on_the_crossings(ledger, market_data_for, clock):
    create(ledger, strategy="sma-cross", params=["fast=3", "slow=8"])
    closes = [float(row[4]) for row in BTC_1H]
    holding, signals = False, []
    for i in range(1000, 1060):
        clock.now = BTC_1H[i][0] + HOUR + 5_000
        result = tick(ledger, market_data_for, clock)
        fast_now, slow_now = np.mean(closes[i - 2 : i + 1]), np.mean(closes[i - 7 : i + 1])
        fast_prev, slow_prev = np.mean(closes[i - 3 : i]), np.mean(closes[i - 8 : i])
        expected = "HOLD"
        if not holding and fast_prev <= slow_prev and fast_now > slow_now:
            holding, expected = True, "BUY"
        elif holding and fast_prev >= slow_prev and fast_now < slow_now:
            holding, expected = False, "SELL"
        assert result.signal == expected, f"candle {i}"
        signals.append(expected)
    assert signals.count("BUY") >= 2 and signals.count("SELL") >= 2


def test_a_buy_below_the_market_minimum_becomes_hold_insufficient_cash(ledger, market_data_for, clock):
    create(ledger, cash="4", strategy="tests.support.strategies:AlwaysBuy")  # min notional is 5
    result = tick(ledger, market_data_for, clock)
    assert (result.signal, result.status) == ("HOLD", Status.NEUTRAL)
    assert result.reason.startswith("insufficient cash")
    assert list_trades(ledger, 1) == []


def test_buy_quantities_round_down_to_the_market_step(ledger, market_data_for, clock):
    create(ledger, strategy="tests.support.strategies:AlwaysBuy", stake_fraction="0.5", slippage_bps="10")
    result = tick(ledger, market_data_for, clock)
    close = Decimal(BTC_1H[1000][4])
    assert result.fill.price == close * Decimal("1.001")
    assert result.fill.quantity == (Decimal(5000) / (result.fill.price * Decimal("1.001"))).quantize(
        Decimal("0.00001"), ROUND_DOWN
    )


# -- refusals ---------------------------------------------------------------------------------


def test_a_strategy_that_raises_ends_the_tick_and_writes_nothing(ledger, market_data_for, clock):
    create(ledger, strategy="tests.support.strategies:Raises")
    before = ledger_digest(ledger)
    with pytest.raises(StrategyError, match="ZeroDivisionError: the strategy divided by zero"):
        tick(ledger, market_data_for, clock)
    assert ledger_digest(ledger) == before


def test_a_strategy_answering_nonsense_is_a_strategy_error(ledger, market_data_for, clock):
    create(ledger, strategy="tests.support.strategies:AnswersNonsense")
    with pytest.raises(StrategyError, match="answered 42"):
        tick(ledger, market_data_for, clock)


@pytest.mark.parametrize(
    ("symbol", "error", "message"),
    [
        ("XRP/USDT", NotFound, "does not list"),
        ("BTC/EUR", InputError, "quoted in EUR"),
        ("LUNA/USDT", InputError, "not trading"),
        ("btc/usdt", InputError, "malformed symbol"),
    ],
)
def test_symbols_the_exchange_cannot_trade_are_refused(ledger, market_data_for, clock, symbol, error, message):
    create(ledger)
    before = ledger_digest(ledger)
    with pytest.raises(error, match=message):
        tick(ledger, market_data_for, clock, symbol=symbol)
    assert ledger_digest(ledger) == before


def test_an_unknown_portfolio_is_not_found(ledger, market_data_for, clock):
    with pytest.raises(NotFound, match="no portfolio with id 7"):
        tick(ledger, market_data_for, clock, portfolio_id=7)


def test_when_the_latest_candle_is_missing_the_data_is_stale(ledger, market_data_for, clock, exchange):
    create(ledger)
    exchange.inject("stale", payload=3)
    before = ledger_digest(ledger)
    with pytest.raises(TemporaryError, match="stale data"):
        tick(ledger, market_data_for, clock)
    assert ledger_digest(ledger) == before


# -- market metadata cache ------------------------------------------------------------------


def test_a_steady_state_tick_makes_exactly_one_request(ledger, market_data_for, clock, exchange):
    create(ledger)
    tick(ledger, market_data_for, clock)
    exchange.reset_counts()
    clock.advance(HOUR)
    tick(ledger, market_data_for, clock)
    assert exchange.state.log == [exchange.state.log[0]] and "/klines" in exchange.state.log[0]


def test_the_cached_market_outlives_an_exchange_info_outage(ledger, market_data_for, clock, exchange):
    create(ledger)
    tick(ledger, market_data_for, clock)
    exchange.inject("http-503-html", path="/exchangeInfo")
    clock.advance(HOUR)
    assert tick(ledger, market_data_for, clock).status in (Status.NEUTRAL, Status.EXECUTED)
    assert exchange.count("/exchangeInfo") == 1


def test_an_expired_market_description_is_fetched_again(ledger, market_data_for, clock, exchange):
    create(ledger)
    tick(ledger, market_data_for, clock)
    exchange.reset_counts()
    clock.advance(25 * HOUR)
    run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock(), markets_ttl_ms=24 * HOUR)
    assert exchange.count("/exchangeInfo") == 1
    with ledger.unit_of_work() as uow:
        assert uow.markets.get("binance", "BTC/USDT")[1] == clock()


def test_dry_runs_do_not_fill_the_market_cache(ledger, market_data_for, clock):
    create(ledger)
    tick(ledger, market_data_for, clock, mode=Mode.DRY)
    with ledger.unit_of_work() as uow:
        assert uow.markets.get("binance", "BTC/USDT") is None
