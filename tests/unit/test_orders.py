"""The fill rules of resting orders (README, "Orders and fill rules"), one test per rule, and the
desk that applies them candle by candle for ticks, replays and backtests alike."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrade.domain.desk import Desk
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Book, Side
from papertrade.domain.orders import (
    Exits,
    Level,
    OrderKind,
    RestingOrder,
    Size,
    first_exit,
    price,
    ratchet,
    touch_price,
)
from papertrade.domain.signals import Decision, Signal
from papertrade.errors import InputError
from tests.unit.builders import BTC, HOUR, bar

D = Decimal


def order(kind: OrderKind, level, side=None, placed=0, **extra) -> RestingOrder:
    side = side or (Side.BUY if kind in (OrderKind.LIMIT, OrderKind.STOP) else Side.SELL)
    return RestingOrder("BTC/USDT", kind, side, D(str(level)), placed, **extra)


# -- rules 2 and 3: where a touched order fills ---------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "level", "candle", "expected"),
    [
        (OrderKind.LIMIT, 95, (100, 101, 94, 99), "95"),  # touched inside the candle: at the limit
        (OrderKind.LIMIT, 95, (92, 96, 90, 93), "92"),  # gapped through: at the better open
        (OrderKind.LIMIT, 95, (100, 101, 96, 99), None),  # never reached
        (OrderKind.STOP, 105, (100, 106, 99, 104), "105"),  # breakout inside the candle
        (OrderKind.STOP, 105, (108, 110, 107, 109), "108"),  # gapped over: at the worse open
        (OrderKind.STOP, 105, (100, 104, 99, 103), None),
        (OrderKind.STOP_LOSS, 95, (100, 101, 94, 96), "95"),
        (OrderKind.STOP_LOSS, 95, (90, 92, 88, 91), "90"),  # a gap through the stop fills at the open
        (OrderKind.TAKE_PROFIT, 105, (100, 106, 99, 104), "105"),
        (OrderKind.TAKE_PROFIT, 105, (107, 108, 106, 107), "107"),  # the open past the take-profit
        (OrderKind.TAKE_PROFIT, 105, (100, 104, 99, 103), None),
    ],
)
def test_a_touched_order_fills_at_its_price_or_at_an_open_past_it(kind, level, candle, expected):
    filled = touch_price(order(kind, level), bar(1, *candle))
    assert filled == (None if expected is None else D(expected))


def test_both_exits_touched_on_one_candle_the_stop_wins():
    exits = [order(OrderKind.TAKE_PROFIT, 105), order(OrderKind.STOP_LOSS, 95)]
    chosen, at = first_exit(exits, bar(1, 100, 106, 94, 100))
    assert chosen.kind is OrderKind.STOP_LOSS and at == D(95)


def test_an_open_past_the_take_profit_fills_it_at_the_open_even_when_the_stop_is_touched_too():
    exits = [order(OrderKind.STOP_LOSS, 95), order(OrderKind.TAKE_PROFIT, 105)]
    chosen, at = first_exit(exits, bar(1, 106, 107, 94, 100))
    assert chosen.kind is OrderKind.TAKE_PROFIT and at == D(106)


def test_of_two_stops_the_higher_fills_first():
    exits = [order(OrderKind.STOP_LOSS, 90), order(OrderKind.TRAILING_STOP, 97, trail=D("0.03"))]
    chosen, at = first_exit(exits, bar(1, 100, 100, 85, 88))
    assert chosen.kind is OrderKind.TRAILING_STOP and at == D(97)


def test_a_trailing_stop_ratchets_up_with_the_close_and_never_down():
    trailing = order(OrderKind.TRAILING_STOP, 95, trail=D("0.05"))
    up = ratchet(trailing, D(110))
    assert up.price == D("104.5")
    assert ratchet(up, D(100)) is up


# -- the desk: rule 1 (active from the next candle), sizing, OCO, slippage, expiry ------------------


def desk(cash="10000", fee="0", slippage="0", exits=Exits(), stake="1") -> Desk:
    return Desk(Book(D(cash), D(cash)), BTC, FillModel(D(fee), D(slippage), D(stake)), [], HOUR, exits)


def test_an_order_placed_on_a_candle_is_active_only_from_the_next():
    d = desk()
    d.act(Decision.buy("dip", limit=95), bar(1, 100, 101, 94, 99))  # this candle touched 95: too early
    assert d.orders and not d.filled
    d.on_candle(bar(2, 100, 101, 94, 99))
    assert [(f.kind, f.candle_ts, f.booked.fill.price) for f in d.filled] == [("limit", 2 * HOUR, D(95))]


def test_a_market_entry_gets_the_portfolio_exits_from_its_fill_price():
    d = desk(exits=Exits(Level(D("0.1")), Level(D("0.2")), None))
    d.act(Decision(Signal.BUY), bar(1, 100, 100, 100, 100))
    levels = {o.kind: o.price for o in d.orders}
    assert levels == {OrderKind.STOP_LOSS: D(90), OrderKind.TAKE_PROFIT: D(120)}


def test_filling_one_exit_cancels_the_others_and_flattens_the_position():
    d = desk(exits=Exits(Level(D("0.1")), Level(D("0.2")), D("0.05")))
    d.act(Decision(Signal.BUY), bar(1, 100, 100, 100, 100))
    d.on_candle(bar(2, 100, 121, 99, 119))  # take-profit at 120; the trailing stop (95) untouched
    assert d.filled[-1].kind == "take-profit" and d.filled[-1].booked.fill.price == D(120)
    assert not d.orders and not d.book.position("BTC/USDT").is_open
    assert sorted(e.order.kind for e in d.events if e.what == "cancelled") == ["stop-loss", "trailing-stop"]


def test_a_gap_through_the_stop_fills_at_the_open_with_slippage_against_the_trader():
    d = desk(slippage="10", exits=Exits(Level(D("0.1"))))
    d.act(Decision(Signal.BUY), bar(1, 100, 100, 100, 100))  # fills at 100.1 (10 bps)
    d.on_candle(bar(2, 80, 82, 79, 81))
    stop = d.filled[-1]
    assert stop.kind == "stop-loss" and stop.booked.fill.price == D("79.92")  # open 80, less 10 bps


def test_limit_fills_take_no_slippage():
    d = desk(slippage="10")
    d.act(Decision.buy(limit=95), bar(1, 100, 100, 100, 100))
    d.on_candle(bar(2, 96, 97, 94, 95))
    assert d.filled[-1].booked.fill.price == D(95)


def test_a_trailing_stop_follows_the_close_from_the_next_candle():
    d = desk(exits=Exits(trailing_stop=D("0.1")))
    d.act(Decision(Signal.BUY), bar(1, 100, 100, 100, 100))  # trailing at 90
    d.on_candle(bar(2, 100, 121, 99, 120))  # closes 120: trailing moves to 108 for the next candle
    assert len(d.filled) == 1 and d.orders[0].price == D(108)
    d.on_candle(bar(3, 115, 116, 107, 110))
    assert d.filled[-1].kind == "trailing-stop" and d.filled[-1].booked.fill.price == D(108)


def test_an_entry_expires_after_its_candles():
    d = desk()
    d.act(Decision.buy(limit=50, expires=2), bar(1, 100, 100, 100, 100))
    d.on_candle(bar(2, 100, 101, 99, 100))
    d.on_candle(bar(3, 100, 101, 99, 100))
    assert d.orders
    d.on_candle(bar(4, 40, 41, 39, 40))  # would fill, but the order lived for candles 2 and 3 only
    assert not d.orders and not d.filled and d.events[-1].what == "expired"


def test_sizes_in_quote_and_base_and_never_overspending():
    d = desk(fee="0.001")
    d.act(Decision.buy(size=Size.quote(1000)), bar(1, 100, 100, 100, 100))
    fill = d.filled[-1].booked.fill
    assert fill.quantity == D("9.99") and fill.notional + fill.fee <= D(1000)
    d2 = desk()
    d2.act(Decision.buy(size=Size.base("2.5")), bar(1, 100, 100, 100, 100))
    assert d2.filled[-1].booked.fill.quantity == D("2.5")
    d3 = desk(cash="100")
    held = d3.act(Decision.buy(size=Size.quote(1000)), bar(1, 100, 100, 100, 100))
    assert held.signal is Signal.HOLD and "insufficient cash" in held.reason


def test_a_partial_exit_sells_a_portion_rounded_down_and_keeps_the_exits():
    d = desk(exits=Exits(Level(D("0.1"))))
    d.act(Decision.buy(size=Size.base(3)), bar(1, 100, 100, 100, 100))
    d.act(Decision.sell(portion="0.33333"), bar(2, 100, 100, 100, 100))
    assert d.filled[-1].booked.fill.quantity == D("0.9999")
    assert [o.kind for o in d.orders] == [OrderKind.STOP_LOSS]


def test_a_buy_while_holding_holds_unless_it_scales_in_and_then_exits_follow_the_average():
    d = desk(exits=Exits(Level(D("0.1"))))
    d.act(Decision.buy(size=Size.base(1)), bar(1, 100, 100, 100, 100))
    assert d.act(Decision(Signal.BUY), bar(2, 120, 120, 120, 120)).signal is Signal.HOLD
    d.act(Decision.buy(size=Size.base(1), scale_in=True), bar(3, 120, 120, 120, 120))
    assert d.book.position("BTC/USDT").quantity == D(2)
    assert [o.price for o in d.orders] == [D(99)]  # 10 % under the average cost 110


def test_absolute_exit_prices_and_cancelling_resting_entries():
    d = desk()
    d.act(Decision.buy(stop=105, stop_loss=price(101)), bar(1, 100, 100, 100, 100))
    d.act(Decision.hold(cancel=True), bar(2, 100, 100, 100, 100))
    assert not d.orders and d.events[-1].what == "cancelled"
    d.act(Decision.buy(stop=105, stop_loss=price(101)), bar(3, 100, 100, 100, 100))
    d.on_candle(bar(4, 104, 106, 103, 105))  # breakout: fills at 105, the stop rests from candle 5
    assert d.filled[-1].kind == "stop" and [o.price for o in d.orders] == [D(101)]


def test_strategy_mistakes_in_orders_are_refused():
    with pytest.raises(InputError):
        Decision.buy(limit=95, stop=105)
    with pytest.raises(InputError):
        Decision.buy(stop_loss=2)  # a distance of 200 %
    with pytest.raises(InputError):
        Decision.sell(portion=0)
    with pytest.raises(InputError):
        Size.cash("1.5")


def test_the_backtest_vector_prefilter_agrees_with_the_exact_rule_on_real_candles():
    """The backtest skips candles its vector prefilter calls quiet: on real candles, every candle
    where the exact rule fills, expires or moves an order must be flagged."""
    from papertrade.adapters.csv_candles import load_columns
    from papertrade.services.backtest import _bar, _could_change
    from tests.support.paths import DATA

    candles = load_columns(DATA / "binance_ETH-USDT_1h.csv")
    close = D(candles.lines[100].split(",")[4])
    orders = [
        order(OrderKind.LIMIT, close * D("0.97"), placed=0, expires_ts=int(candles.ts[400])),
        order(OrderKind.STOP, close * D("1.03"), placed=0),
        order(OrderKind.STOP_LOSS, close * D("0.95"), placed=0),
        order(OrderKind.TAKE_PROFIT, close * D("1.05"), placed=0),
        order(OrderKind.TRAILING_STOP, close * D("0.96"), placed=0, trail=D("0.04")),
    ]
    for resting in orders:
        flagged = _could_change(resting, candles, 101, 1101)
        for i in range(101, 1101):
            b = _bar(candles, i)
            acts = touch_price(resting, b) is not None or resting.has_expired_by(b.ts)
            if resting.kind is OrderKind.TRAILING_STOP:
                acts = acts or ratchet(resting, b.close) is not resting
            assert flagged[i - 101] or not acts, (resting.kind, i)
        assert flagged.any() and not flagged.all(), resting.kind


@given(
    cash=st.decimals(min_value=D("0.01"), max_value=D("1e9"), places=8),
    price=st.decimals(min_value=D("0.00000001"), max_value=D("1e6"), places=8),
    fee=st.sampled_from([D(0), D("0.001"), D("0.0013"), D("0.1")]),
    step=st.sampled_from([D("0.00000001"), D("0.001"), D(1)]),
    wanted=st.decimals(min_value=D("0.00000001"), max_value=D("1e9"), places=8),
    unit=st.sampled_from(["quote", "base", "cash"]),
)
@settings(max_examples=300, deadline=None)
def test_a_sized_buy_never_spends_more_than_it_may_and_keeps_to_the_step(cash, price, fee, step, wanted, unit):
    market = Market("X/Y", "X", "Y", amount_step=step, min_cost=D("0.01"))
    size = Size(unit, min(wanted, D(1)) if unit == "cash" else wanted)
    fill = FillModel(fee, D(0), D(1)).buy(market, cash, price, size)
    if fill is None:
        return
    spent = fill.notional + fill.fee
    assert spent <= cash and fill.quantity % step == 0
    if unit == "quote":
        assert spent <= size.value
    if unit == "base":
        assert fill.quantity <= size.value
    if unit == "cash":
        assert spent <= cash * size.value
