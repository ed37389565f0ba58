"""Shorts (README, "Shorts"): the ledger's signed arithmetic, the mirrored fill rules, the
explicit short decisions and stop-and-reverse on the desk, and the books balancing exactly over
any sequence of long and short fills."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrade.domain.bars import Bar
from papertrade.domain.desk import Desk
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.funding import funding_amount
from papertrade.domain.ledger import Book, Fill, Side
from papertrade.domain.margin import MarginRules, liquidation_fill
from papertrade.domain.money import exact, round_up_to_ledger
from papertrade.domain.orders import Exits, Level, OrderKind, RestingOrder, first_exit, ratchet, touch_price
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.errors import LedgerError
from tests.unit.builders import BTC, HOUR, bar, fill

D = Decimal


def short_order(kind: OrderKind, level, side=None, **extra) -> RestingOrder:
    side = side or (Side.SELL if kind in (OrderKind.LIMIT, OrderKind.STOP) else Side.BUY)
    return RestingOrder("BTC/USDT", kind, side, D(str(level)), 0, **extra)


def desk(cash="10000", fee="0", slippage="0", exits=Exits(), allow_short=True) -> Desk:
    book = Book(D(cash), D(cash), allow_short=allow_short)
    return Desk(book, BTC, FillModel(D(fee), D(slippage), D(1)), [], HOUR, exits, allow_short=allow_short)


# -- the ledger ----------------------------------------------------------------------------------


def test_a_short_takes_in_the_proceeds_and_covering_lower_realizes_the_difference():
    book = Book(D(1000), D(1000), allow_short=True)
    opened = book.apply_fill(fill("SELL", "2", "100", fee="0.2"))
    position = book.positions["BTC/USDT"]
    assert (opened.cash_after, position.quantity, position.cost_basis, position.avg_cost) == (
        D("1199.8"), D(-2), D(-200), D(100))  # fmt: skip
    assert position.side == "short" and position.unrealized_pnl(D(90)) == D(20)
    covered = book.apply_fill(fill("BUY", "0.5", "90", fee="0.045"))
    assert covered.realized_pnl == D(5) and covered.position_after == D("-1.5")
    assert position.cost_basis == D(-150) and book.cash == D("1199.8") - D(45) - D("0.045")
    book.apply_fill(fill("BUY", "1.5", "110"))
    assert position.realized_pnl == D(5) - D(15) and not position.is_open and position.side == "flat"


def test_covering_more_than_the_short_is_refused_and_changes_nothing():
    book = Book(D(1000), D(1000), allow_short=True)
    book.apply_fill(fill("SELL", "1", "100"))
    with pytest.raises(LedgerError, match="only 1 short"):
        book.apply_fill(fill("BUY", "1.5", "100"))
    assert book.positions["BTC/USDT"].quantity == D(-1) and book.cash == D(1100)


def test_a_book_that_does_not_allow_shorts_never_sells_what_it_does_not_hold():
    book = Book(D(1000), D(1000))
    with pytest.raises(LedgerError, match="only 0 held"):
        book.apply_fill(fill("SELL", "1", "100"))
    assert book.cash == D(1000) and not book.positions


def test_a_cover_the_cash_cannot_pay_leaves_the_cash_at_zero_and_records_the_floor():
    book = Book(D(100), D(100), allow_short=True)
    book.apply_fill(fill("SELL", "1", "100"))  # cash 200
    covered = book.apply_fill(fill("BUY", "1", "250", fee="1"))  # costs 251
    assert covered.cash_after == D(0) and covered.floored == D(51) and covered.realized_pnl == D(-150)
    assert books_balance(book, covered.floored)


# -- the mirrored fill rules ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "level", "candle", "expected"),
    [
        (OrderKind.LIMIT, 105, (100, 106, 99, 104), "105"),  # a short's limit entry: a sell above
        (OrderKind.LIMIT, 105, (108, 110, 107, 109), "108"),  # gapped over it: at the better open
        (OrderKind.LIMIT, 105, (100, 104, 99, 103), None),
        (OrderKind.STOP, 95, (100, 101, 94, 96), "95"),  # a short's stop entry: a sell stop below
        (OrderKind.STOP, 95, (90, 92, 88, 91), "90"),  # gapped under it: at the worse open
        (OrderKind.STOP, 95, (100, 101, 96, 99), None),
        (OrderKind.STOP_LOSS, 105, (100, 106, 99, 104), "105"),  # a buy stop above
        (OrderKind.STOP_LOSS, 105, (110, 112, 108, 111), "110"),  # a gap through it: the worse open
        (OrderKind.TAKE_PROFIT, 95, (100, 101, 94, 96), "95"),  # a buy limit below
        (OrderKind.TAKE_PROFIT, 95, (92, 96, 90, 93), "92"),  # the open past it: the better open
        (OrderKind.TAKE_PROFIT, 95, (100, 101, 96, 99), None),
    ],
)
def test_a_shorts_orders_fill_by_the_mirrored_rules(kind, level, candle, expected):
    filled = touch_price(short_order(kind, level), bar(1, *candle))
    assert filled == (None if expected is None else D(expected))


def test_a_shorts_exits_sit_above_and_below_its_entry_rounded_against_the_trader():
    exits = Exits(Level(D("0.03")), Level(D("0.06")), D("0.05"))
    made = {o.kind: (o.side, o.price) for o in exits.orders("BTC/USDT", D("100.01"), 0, short=True)}
    assert made == {
        OrderKind.STOP_LOSS: (Side.BUY, D("103.0103")),
        OrderKind.TAKE_PROFIT: (Side.BUY, D("94.0094")),
        OrderKind.TRAILING_STOP: (Side.BUY, D("105.0105")),
    }


def test_both_exits_of_a_short_touched_on_one_candle_the_stop_wins_unless_the_open_passed_one():
    exits = [short_order(OrderKind.TAKE_PROFIT, 95), short_order(OrderKind.STOP_LOSS, 105)]
    chosen, at = first_exit(exits, bar(1, 100, 106, 94, 100))
    assert chosen.kind is OrderKind.STOP_LOSS and at == D(105)
    chosen, at = first_exit(exits, bar(1, 94, 106, 93, 100))  # opened under the take-profit
    assert chosen.kind is OrderKind.TAKE_PROFIT and at == D(94)


def test_of_two_stops_of_a_short_the_lower_fills_first():
    exits = [short_order(OrderKind.STOP_LOSS, 110), short_order(OrderKind.TRAILING_STOP, 103, trail=D("0.03"))]
    chosen, at = first_exit(exits, bar(1, 100, 115, 99, 112))
    assert chosen.kind is OrderKind.TRAILING_STOP and at == D(103)


def test_a_shorts_trailing_stop_ratchets_down_with_the_close_and_never_up():
    trailing = short_order(OrderKind.TRAILING_STOP, 105, trail=D("0.05"))
    down = ratchet(trailing, D(90))
    assert down.price == D("94.5")
    assert ratchet(down, D(95)) is down


# -- the desk ------------------------------------------------------------------------------------


def test_a_short_at_market_sells_at_the_close_less_slippage_and_gets_mirrored_exits():
    d = desk(fee="0.001", slippage="10", exits=Exits(Level(D("0.1")), Level(D("0.2"))))
    d.act(Decision.short("overbought"), bar(1, 100, 100, 100, 100))
    booked = d.filled[0].booked
    assert booked.fill.side is Side.SELL and booked.fill.price == D("99.9") and booked.position_after < 0
    with exact():
        assert booked.fill.notional + booked.fill.fee <= D(10000)  # sized like a buy of the cash
    assert {o.kind: o.price for o in d.orders} == {OrderKind.STOP_LOSS: D("109.89"), OrderKind.TAKE_PROFIT: D("79.92")}
    assert all(o.side is Side.BUY for o in d.orders)


def test_a_plain_sell_never_opens_a_short_and_a_short_needs_the_portfolio_to_allow_it():
    d = desk()
    held = d.act(Decision(Signal.SELL), bar(1, 100, 100, 100, 100))
    assert held.signal is Signal.HOLD and "nothing to sell" in held.reason and not d.filled
    refused = desk(allow_short=False).act(Decision.short(), bar(1, 100, 100, 100, 100))
    assert refused.signal is Signal.HOLD and "--allow-short" in refused.reason


def test_cover_buys_back_the_short_or_a_portion_and_a_sell_leaves_it_alone():
    d = desk()
    d.act(Decision.short(), bar(1, 100, 100, 100, 100))  # 100 BTC short
    assert d.act(Decision.sell(), bar(2, 90, 90, 90, 90)).signal is Signal.HOLD
    d.act(Decision.cover(portion="0.25"), bar(3, 90, 90, 90, 90))
    assert d.book.position("BTC/USDT").quantity == D(-75) and d.filled[-1].booked.realized_pnl == D(250)
    d.act(Decision.cover(), bar(4, 80, 80, 80, 80))
    assert not d.book.position("BTC/USDT").is_open and d.book.cash == D(10000) + D(250) + D(1500)
    assert d.act(Decision.cover(), bar(5, 80, 80, 80, 80)).signal is Signal.HOLD


def test_an_entry_against_the_position_closes_it_first_then_reverses_at_the_same_price():
    d = desk(fee="0.001", slippage="10")
    d.act(Decision.buy(), bar(1, 100, 100, 100, 100))
    d.act(Decision.short("cross down"), bar(2, 90, 90, 90, 90))
    closing, opening = d.filled[1], d.filled[2]
    assert (closing.booked.fill.side, opening.booked.fill.side) == (Side.SELL, Side.SELL)
    assert closing.booked.position_after == 0 and opening.booked.position_after < 0
    assert closing.booked.fill.price == opening.booked.fill.price == D("89.91")
    assert closing.candle_ts == opening.candle_ts == 2 * HOUR
    d.act(Decision.buy("cross up"), bar(3, 80, 80, 80, 80))
    assert [f.booked.fill.side for f in d.filled[3:]] == [Side.BUY, Side.BUY]
    assert d.filled[3].booked.position_after == 0 and d.book.position("BTC/USDT").is_long


def test_a_short_stop_entry_rests_below_the_market_and_its_trailing_stop_follows_from_the_next_candle():
    d = desk()
    d.act(Decision.short(stop=95, trailing_stop="0.1"), bar(1, 100, 100, 100, 100))
    assert [(o.kind, o.side) for o in d.orders] == [(OrderKind.STOP, Side.SELL)]
    d.on_candle(bar(2, 99, 99, 94, 95))  # entry at 95, trailing stop at 104.5
    assert d.book.position("BTC/USDT").is_short and d.orders[0].price == D("104.5")
    d.on_candle(bar(3, 95, 96, 79, 80))  # closes 80: the stop moves to 88 for the next candle
    assert len(d.filled) == 1 and d.orders[0].price == D(88)
    d.on_candle(bar(4, 85, 89, 84, 86))
    assert d.filled[-1].kind == "trailing-stop" and d.filled[-1].booked.fill.price == D(88)
    assert d.filled[-1].booked.fill.side is Side.BUY and not d.book.position("BTC/USDT").is_open


def test_the_position_view_says_the_side():
    assert PositionView("BTC/USDT", D(-1), D(100)).side == "short"
    assert PositionView("BTC/USDT", D(-1), D(100)).is_open and PositionView("BTC/USDT", D(-1), D(100)).is_short
    assert PositionView("BTC/USDT", D(1), D(100)).side == "long"
    assert PositionView("BTC/USDT", D(0), D(0)).side == "flat"


# -- the books balance over any sequence ---------------------------------------------------------


def books_balance(book: Book, floored=D(0)) -> bool:
    with exact():
        net_realized = book.realized_pnl - book.fees_paid
        return book.initial_cash + net_realized - book.funding_paid + floored == book.cash + book.cost_basis


amounts = st.decimals(min_value=D("0.00000001"), max_value=D(1000), places=8, allow_nan=False)
prices = st.decimals(min_value=D("0.01"), max_value=D(100_000), places=2, allow_nan=False)
steps = st.lists(
    st.tuples(st.sampled_from(["BUY", "SELL", "SHORT", "COVER", "FUND", "LIQUIDATE"]), amounts, prices, st.booleans()),
    max_size=40,
)
funding_rates = st.decimals(min_value=D("-0.01"), max_value=D("0.01"), places=6, allow_nan=False)


def step_fill(book: Book, action: str, quantity: Decimal, at: Decimal, whole: bool, fee_rate: Decimal):
    held = book.position("BTC/USDT").quantity
    if action in ("SELL", "COVER") and held != 0:
        quantity = abs(held) if whole else min(quantity, abs(held))
    side = "BUY" if action in ("BUY", "COVER") else "SELL"
    with exact():
        notional = quantity * at
    return Fill("BTC/USDT", Side(side), quantity, at, round_up_to_ledger(notional * fee_rate), notional)


@settings(max_examples=300, deadline=None)
@given(
    cash=st.decimals(min_value=D(1), max_value=D("1e9"), places=2, allow_nan=False),
    steps=steps,
    fee_rate=st.sampled_from([D(0), D("0.001"), D("0.1")]),
    rate=funding_rates,
)
def test_over_any_long_and_short_fills_the_books_balance_exactly_and_the_cash_never_goes_negative(
    cash, steps, fee_rate, rate
):
    """initial cash + net realized PnL (after fees) - funding paid + floored == cash + signed cost
    basis, after every fill, liquidation and funding payment (FUND: the funding rule at a mark
    price; LIQUIDATE: the liquidation rule on a candle that reaches the price, when it does)."""
    book, floored = Book(cash, cash, allow_short=True), D(0)
    for action, quantity, at, whole in steps:
        if action == "LIQUIDATE":
            held = book.position("BTC/USDT")
            liquidation = liquidation_fill(held, Bar(0, at, at * 3, at, at, D(1)), MarginRules())
            if liquidation is not None:
                with exact():
                    floored += book.apply_fill(liquidation).floored
                assert not book.position("BTC/USDT").is_open
            assert book.cash >= 0 and books_balance(book, floored)
            continue
        if action == "FUND":
            held = book.position("BTC/USDT").quantity
            _, unpaid = book.apply_funding("BTC/USDT", funding_amount(held, at, rate if whole else -rate))
            with exact():
                floored += unpaid
            assert book.cash >= 0 and books_balance(book, floored)
            continue
        before = (book.cash, book.position("BTC/USDT").quantity, book.cost_basis)
        try:
            result = book.apply_fill(step_fill(book, action, quantity, at, whole, fee_rate))
        except LedgerError:
            assert (book.cash, book.position("BTC/USDT").quantity, book.cost_basis) == before
            continue
        with exact():
            floored += result.floored
        assert book.cash >= 0
        assert books_balance(book, floored)


# -- the built-ins stop and reverse --------------------------------------------------------------


def test_the_built_ins_reverse_only_in_a_portfolio_that_allows_shorts():
    from papertrade.strategies.rsi import RsiStrategy
    from papertrade.strategies.sma_cross import SmaCrossStrategy

    long_, short, flat = (PositionView("BTC/USDT", D(q), D(100), allow_short=True) for q in (1, -1, 0))
    rsi, sma = RsiStrategy(), SmaCrossStrategy()
    assert rsi._decide(80.0, long_).short_side and rsi._decide(80.0, long_).signal is Signal.SELL
    assert rsi._decide(80.0, flat).short_side and rsi._decide(80.0, short).signal is Signal.HOLD
    assert rsi._decide(20.0, short).signal is Signal.BUY and not rsi._decide(20.0, short).short_side
    assert sma._decide(False, True, long_, {}).short_side and sma._decide(True, False, short, {}).signal is Signal.BUY
    spot = PositionView("BTC/USDT", D(1), D(100))
    assert rsi._decide(80.0, spot) == Decision(Signal.SELL, "RSI 80.00 above 70", {"rsi": 80.0})
    assert not rsi._decide(80.0, PositionView("BTC/USDT", D(0), D(0))).short_side


@pytest.mark.parametrize("name", ["rsi", "sma-cross"])
def test_a_backtest_with_shorts_takes_the_same_trades_from_the_signal_series_as_from_decide(name):
    """The backtest's fast path (the signal series, visiting only the candles that can act)
    against `decide` on every candle, with shorts and protective exits."""
    from papertrade.adapters.csv_candles import load_columns
    from papertrade.services.backtest import backtest
    from papertrade.strategies import registry
    from tests.support.paths import DATA

    candles = load_columns(DATA / "binance_ETH-USDT_1h.csv")
    fills, exits = FillModel(D("0.001"), D(5), D(1)), Exits(Level(D("0.03")), Level(D("0.06")), D("0.025"))
    fast = registry.build(name, {})
    slow = registry.build(name, {})
    slow.series_reverses = False  # no fast path with shorts: decide on every candle
    made = [backtest(candles, s, fills, D(10000), "ETH/USDT", exits=exits, allow_short=True) for s in (fast, slow)]
    trades = [[(f.candle_ts, f.side, f.kind, f.quantity, f.price) for f in p.fills] for p in made]
    assert trades[0] == trades[1] and made[0].cash == made[1].cash
    assert {trip.side for trip in made[0].round_trips()} == {"long", "short"}


# -- liquidation ---------------------------------------------------------------------------------


def test_a_short_is_liquidated_a_little_under_twice_its_entry_and_a_long_never_at_leverage_1():
    from papertrade.domain.ledger import Position
    from papertrade.domain.margin import liquidation_price, margin_in_use

    short = Position("BTC/USDT", D(-2), D(-200))
    assert liquidation_price(short) == D("199.004975124378109452")  # 100 x 2 / 1.005, rounded down
    assert margin_in_use(short) == D(200)
    assert liquidation_price(Position("BTC/USDT", D(2), D(200))) is None
    assert liquidation_price(Position("BTC/USDT")) is None


def test_liquidation_comes_before_every_other_exit_and_pays_the_liquidation_fee():
    d = desk(fee="0.001", exits=Exits(Level(D("0.95")), Level(D("0.5"))))  # stop-loss at 195, under it
    d.act(Decision.short(), bar(1, 100, 100, 100, 100))
    d.on_candle(bar(2, 150, 210, 40, 160))  # touches the take-profit (50), the stop and the liquidation
    liquidated = d.filled[-1]
    level = D("199.004975124378109452")
    assert liquidated.kind == "liquidation" and liquidated.booked.fill.price == level
    assert liquidated.booked.fill.fee == round_up_to_ledger(liquidated.booked.fill.notional * D("0.005"))
    assert not d.orders and not d.book.position("BTC/USDT").is_open
    assert {e.reason for e in d.events if e.what == "cancelled"} == {"the position was liquidated"}


def test_a_candle_that_opens_past_the_liquidation_price_liquidates_at_the_open_and_floors_the_cash():
    d = desk()
    d.act(Decision.short(), bar(1, 100, 100, 100, 100))  # 100 BTC short, cash 20,000
    d.on_candle(bar(2, 250, 260, 240, 255))
    booked = d.filled[-1].booked
    assert booked.fill.price == D(250) and booked.fill.fee == D(125)  # 0.5 % of 25,000
    assert booked.cash_after == 0 and booked.floored == D(5125) and booked.realized_pnl == D(-15000)


def test_a_candle_under_the_liquidation_price_leaves_the_short_alone():
    d = desk()
    d.act(Decision.short(), bar(1, 100, 100, 100, 100))
    d.on_candle(bar(2, 150, D("199.004975124378109451"), 140, 190))
    assert len(d.filled) == 1 and d.book.position("BTC/USDT").is_short


def test_round_trips_and_position_sides_tell_longs_from_shorts():
    from papertrade.domain.pnl import position_sides
    from papertrade.reports.model import FillRow, Performance

    def row(ts, side, quantity, at, fee="0"):
        q, p = D(quantity), D(at)
        return FillRow(ts, "BTC/USDT", side, q, p, D(fee), q * p, D(0), "signal")

    performance = Performance("USDT", D(1000))
    performance.fills = [row(1, "BUY", 1, 100), row(2, "SELL", 1, 110), row(2, "SELL", 2, 110, fee="0.22"),
                         row(3, "BUY", 2, 100, fee="0.2")]  # fmt: skip
    trips = performance.round_trips()
    assert [(t.side, t.entry_price, t.exit_price, t.pnl) for t in trips] == [
        ("long", D(100), D(110), D(10)), ("short", D(110), D(100), D(20) - D("0.42"))]  # fmt: skip
    assert trips[1].return_pct == pytest.approx(1 - 100 / 110 - 0.42 / 220)
    assert position_sides(performance.fills) == ["long", "long", "short", "short"]
    assert performance.exits_by_kind() == {"signal": 2}


def test_closing_a_position_of_more_digits_than_the_default_context_closes_it_exactly():
    held = D("1302599930232770206735400.86950")  # 30 digits: abs() in the default context rounds it
    for quantity in (held, held.copy_negate()):
        position = Book(D(1), D(1), allow_short=True).position("BTC/USDT")
        position.quantity, position.cost_basis = quantity, quantity.scaleb(-4)
        fill = FillModel(D(0), D(0), D(1)).close(Market("BTC/USDT", "BTC", "USDT", D("0.00001")), position, D(1))
        assert fill.quantity == held


def test_a_refused_reversal_closes_nothing():
    from papertrade.domain.orders import price

    d = desk()
    d.act(Decision.buy(), bar(1, 100, 100, 100, 100))
    held = d.act(Decision.short(stop_loss=price(90)), bar(2, 100, 100, 100, 100))  # a short's stop below it
    assert held.signal is Signal.HOLD and "stop-loss" in held.reason
    assert len(d.filled) == 1 and d.book.position("BTC/USDT").is_long and len(d.refused) == 1
