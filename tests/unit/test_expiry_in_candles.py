"""An order's expiry counts candles that exist, not clock slots: a daily entry placed on a
Friday with `expires=1` meets Monday's candle, and an exchange outage does not use up an
order's life, in ticks, replays and backtests alike (one rule: `orders.expiry_over_gap`)."""

from decimal import Decimal

from papertrade.domain.bars import Bar
from papertrade.domain.desk import Desk
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Book, Side
from papertrade.domain.orders import OrderKind, RestingOrder, expiry_over_gap
from papertrade.domain.signals import Decision, Signal
from papertrade.services.tick import Mode, Status, TickRunner
from tests.support.paths import DATA
from tests.unit.fakes import FakeMarketData
from tests.unit.test_tick_service import make

D = Decimal
HOUR, DAY = 3_600_000, 86_400_000
FRIDAY = 1_609_459_200_000  # 2021-01-01 00:00Z, a Friday
MONDAY = FRIDAY + 3 * DAY
IBM = DATA / "quandl-wiki_IBM_1d.csv"
FRIDAY_LIMIT = "tests.support.strategies:FridayLimit"


def candle(ts: int, low, close=100) -> Bar:
    return Bar(ts, D(close), D(max(close, 110)), D(low), D(close), D(1))


def limit(placed_ts: int, expires_ts: int) -> RestingOrder:
    return RestingOrder("BTC/USDT", OrderKind.LIMIT, Side.BUY, D(95), placed_ts, expires_ts)


def test_a_gap_before_the_last_candle_of_an_order_moves_its_expiry_one_candle_per_missing_slot():
    friday_order = limit(FRIDAY, FRIDAY + DAY)
    assert expiry_over_gap(friday_order, FRIDAY, MONDAY, DAY).expires_ts == MONDAY  # Saturday, Sunday missing
    assert expiry_over_gap(friday_order, FRIDAY, FRIDAY + DAY, DAY) is friday_order  # no gap
    assert expiry_over_gap(limit(0, 2 * HOUR), HOUR, 4 * HOUR, HOUR).expires_ts == 4 * HOUR  # 2h, 3h missing
    expired_before_the_gap = limit(0, 2 * HOUR)
    assert expiry_over_gap(expired_before_the_gap, 3 * HOUR, 6 * HOUR, HOUR) is expired_before_the_gap
    assert expiry_over_gap(limit(0, None), 0, 9 * HOUR, HOUR).expires_ts is None  # good till cancelled


def desk(step: int) -> Desk:
    btc = Market("BTC/USDT", "BTC", "USDT", amount_step=D("0.0001"))
    return Desk(Book(D(1000), D(1000)), btc, FillModel(D(0), D(0), D(1)), [], step)


def test_a_friday_order_for_one_candle_fills_on_monday():
    d = desk(DAY)
    d.act(Decision.buy("friday", limit=95, expires=1), candle(FRIDAY, 99))
    d.on_candle(candle(MONDAY, 94), previous_ts=FRIDAY)
    assert [(f.kind, f.candle_ts) for f in d.filled] == [("limit", MONDAY)]


def test_an_outage_does_not_use_up_an_order_s_candles_but_the_candles_after_it_do():
    d = desk(HOUR)
    d.act(Decision.buy("dip", limit=95, expires=2), candle(0, 99))
    d.on_candle(candle(3 * HOUR, 99), previous_ts=0)  # 1h and 2h missing (an outage): its first candle
    assert d.orders[0].expires_ts == 4 * HOUR and d.events[-1].what == "moved"
    d.on_candle(candle(4 * HOUR, 99), previous_ts=3 * HOUR)  # its second and last
    d.on_candle(candle(5 * HOUR, 90), previous_ts=4 * HOUR)
    assert not d.filled and not d.orders and d.events[-1].what == "expired"


def test_a_tick_on_monday_fills_the_order_placed_by_friday_s_tick():
    bars = [candle(FRIDAY - DAY, 99), candle(FRIDAY, 99), candle(MONDAY, 94)]
    ledger = make(strategy=FRIDAY_LIMIT, timeframe="1d")
    runner = TickRunner(ledger, lambda exchange: FakeMarketData(bars))
    friday = runner.tick(1, "BTC/USDT", Mode.LIVE, FRIDAY + DAY + 5_000)
    assert friday.signal is Signal.BUY and [e.what for e in friday.order_events] == ["placed"]
    monday = runner.tick(1, "BTC/USDT", Mode.LIVE, MONDAY + DAY + 5_000)
    assert monday.status is Status.EXECUTED
    assert [(f.kind, f.candle_ts, f.booked.fill.price) for f in monday.order_fills] == [("limit", MONDAY, D(100))]


def test_the_backtest_skips_no_candle_where_a_gap_moves_an_expiry():
    """A backtest visits only candles where something can happen (`_could_change`): each candle
    after missing ones, within an order's life, must be one of them (here, on stock candles,
    with a limit no candle reaches: exactly those and the ones after its expiry)."""
    from papertrade.adapters.csv_candles import load_columns
    from papertrade.services.backtest import _could_change
    from tests.support.paths import DATA

    candles = load_columns(DATA / "quandl-wiki_IBM_1d.csv")
    ts = [int(t) for t in candles.ts[:400]]
    order = RestingOrder("IBM/USD", OrderKind.LIMIT, Side.BUY, D("0.01"), ts[0], ts[0] + 300 * DAY)
    flagged = _could_change(order, candles, 0, 400)
    exact = [False] + [expiry_over_gap(order, ts[i - 1], ts[i], DAY) is not order or order.has_expired_by(ts[i])
                       for i in range(1, 400)]  # fmt: skip
    assert list(flagged) == exact and 50 < sum(exact[:300]) < 150  # weekends and holidays within its life
