from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrade.domain.book import BookError, BookLevel, OrderBook, check_book, close_position, size_entry, walk
from papertrade.domain.fills import Market
from papertrade.domain.ledger import Position, Side
from papertrade.errors import TemporaryError

D = Decimal
BTC = Market("BTC/USDT", "BTC", "USDT", amount_step=D("0.00001"), min_amount=D("0.00001"), min_cost=D(5))
NO_CAP = D("0.5")


def levels(*pairs) -> tuple[BookLevel, ...]:
    return tuple(BookLevel(D(price), D(amount)) for price, amount in pairs)


BOOK = OrderBook(
    "BTC/USDT",
    bids=levels(("99", "1"), ("98", "2"), ("90", "5")),
    asks=levels(("101", "1"), ("102", "2"), ("110", "5")),
)


def test_a_buy_within_the_best_level_fills_at_that_level():
    walked = walk(BOOK, Side.BUY, D("0.4"), D(100), NO_CAP)
    assert (walked.quantity, walked.price, walked.unfilled, walked.capped) == (D("0.4"), D(101), D(0), False)


def test_a_sell_walks_the_bids_and_a_buy_the_asks():
    assert walk(BOOK, Side.SELL, D("0.4"), D(100), NO_CAP).price == D(99)
    assert walk(BOOK, Side.BUY, D("0.4"), D(100), NO_CAP).price == D(101)


def test_a_buy_across_levels_pays_the_exact_volume_weighted_average():
    walked = walk(BOOK, Side.BUY, D("2.5"), D(100), NO_CAP)
    assert walked.cost == D(101) + D("1.5") * D(102)
    assert walked.price == D("254") / D("2.5")  # 101.6 exactly


def test_a_vwap_finer_than_the_ledger_rounds_against_the_trader():
    book = OrderBook("BTC/USDT", bids=levels(("3", "1"), ("2", "2")), asks=levels(("2", "1"), ("3", "2")))
    bought = walk(book, Side.BUY, D(3), D(2), NO_CAP)  # 8 / 3
    sold = walk(book, Side.SELL, D(3), D(3), NO_CAP)  # 7 / 3
    assert bought.price == D("2.666666666666666667")
    assert sold.price == D("2.333333333333333333")
    assert bought.cost == D(8) and sold.cost == D(7)


def test_the_walk_stops_at_the_slippage_cap_and_leaves_the_rest_unfilled():
    walked = walk(BOOK, Side.BUY, D(8), D(100), D("0.05"))  # 110 is beyond 105
    assert (walked.quantity, walked.unfilled, walked.capped) == (D(3), D(5), True)
    assert walked.cost == D(305) and walked.price == D("101.666666666666666667")


def test_a_short_entry_walks_the_bids_down_to_the_cap():
    walked = walk(BOOK, Side.SELL, D(8), D(100), D("0.05"))  # 90 is beyond 95
    assert (walked.quantity, walked.cost, walked.unfilled) == (D(3), D(99) + D(196), D(5))


def test_a_book_that_runs_out_leaves_the_rest_unfilled():
    walked = walk(BOOK, Side.BUY, D(10), D(100), NO_CAP)
    assert (walked.quantity, walked.unfilled, walked.capped) == (D(8), D(2), True)


def test_an_entry_is_sized_against_the_walked_price_not_the_close():
    fill, walked = size_entry(BOOK, Side.BUY, BTC, D(300), D("0.001"), D(100), NO_CAP)
    # 101 x 1 x 1.001 = 101.101; the rest 198.899 buys 198.899 / (102 x 1.001) = 1.948042... at 102
    assert fill.quantity == D("2.94804")
    assert fill.notional + fill.fee <= D(300)
    assert fill.price == walked.price
    assert not walked.capped
    one_step_more = walk(BOOK, Side.BUY, fill.quantity + BTC.amount_step, D(100), NO_CAP)
    assert one_step_more.cost * D("1.001") > D(300)


def test_an_entry_capped_by_slippage_spends_less_and_says_so():
    fill, walked = size_entry(BOOK, Side.BUY, BTC, D(10_000), D(0), D(100), D("0.05"))
    assert fill.quantity == D(3) and walked.capped
    short, _ = size_entry(BOOK, Side.SELL, BTC, D(10_000), D(0), D(100), D("0.05"))
    assert (short.side, short.quantity, short.notional) == (Side.SELL, D(3), D(295))


def test_an_entry_below_the_minimum_order_is_not_made():
    assert size_entry(BOOK, Side.BUY, BTC, D("4.99"), D(0), D(100), NO_CAP)[0] is None


@pytest.mark.parametrize(
    ("book", "why"),
    [
        (OrderBook("BTC/USDT", bids=(), asks=levels(("101", "1"))), "empty"),
        (OrderBook("BTC/USDT", bids=levels(("99", "1")), asks=()), "empty"),
        (OrderBook("BTC/USDT", bids=levels(("101", "1")), asks=levels(("101", "1"))), "crossed"),
        (OrderBook("BTC/USDT", bids=BOOK.bids, asks=BOOK.asks, ts_ms=1_000), "stale"),
    ],
)
def test_an_unsound_book_is_temporary_trouble(book, why):
    with pytest.raises(BookError, match=why) as refused:
        check_book(book, now_ms=10_000)
    assert isinstance(refused.value, TemporaryError)


def test_a_fresh_book_or_one_without_its_own_time_is_walked():
    check_book(OrderBook("BTC/USDT", bids=BOOK.bids, asks=BOOK.asks, ts_ms=6_000), now_ms=10_000)
    check_book(BOOK, now_ms=10_000)


_prices = st.decimals(min_value=D("0.0001"), max_value=D(100_000), places=4)
_amounts = st.decimals(min_value=D("0.00001"), max_value=D(50), places=5)


@settings(max_examples=200, deadline=None)
@given(
    asks=st.lists(st.tuples(_prices, _amounts), min_size=1, max_size=6),
    budget=st.decimals(min_value=D(1), max_value=D(1_000_000), places=8),
    fee_rate=st.sampled_from([D(0), D("0.001"), D("0.00075"), D("0.0123")]),
    side=st.sampled_from([Side.BUY, Side.SELL]),
)
def test_an_entry_never_spends_more_than_its_budget_fee_included(asks, budget, fee_rate, side):
    ordered = sorted(asks, reverse=side is Side.SELL)
    book_levels = tuple(BookLevel(price, amount) for price, amount in ordered)
    book = OrderBook("X/USDT", bids=book_levels, asks=book_levels)
    market = Market("X/USDT", "X", "USDT", amount_step=D("0.00001"))
    fill, walked = size_entry(book, side, market, budget, fee_rate, ordered[0][0], D(1))
    if fill is None:
        return
    assert fill.notional + fill.fee <= budget
    assert fill.quantity % market.amount_step == 0
    assert fill.quantity == walked.quantity
    if not walked.capped:  # one more step would not have fitted
        more = walk(book, side, fill.quantity + market.amount_step, ordered[0][0], D(1))
        assert more.cost * (1 + fee_rate) > budget - D("0.000001") or more.unfilled > 0


def test_closing_a_long_sells_into_the_bids():
    long = Position("BTC/USDT", D("1.5"), D(150))
    fill, walked = close_position(BOOK, BTC, long, D("0.001"), D(100), NO_CAP)
    assert (fill.side, fill.quantity, fill.notional) == (Side.SELL, D("1.5"), D(99) + D(49))
    assert fill.fee == D("0.148") and walked.unfilled == 0


def test_covering_a_short_buys_from_the_asks_and_leaves_what_the_cap_refuses_open():
    short = Position("BTC/USDT", D(-4), D(-400))
    fill, walked = close_position(BOOK, BTC, short, D(0), D(100), D("0.05"))
    assert (fill.side, fill.quantity, fill.notional) == (Side.BUY, D(3), D(101) + D(204))
    assert (walked.unfilled, walked.capped) == (D(1), True)


def test_closing_part_of_a_position_walks_for_that_part_only():
    fill, _ = close_position(BOOK, BTC, Position("BTC/USDT", D(2), D(200)), D(0), D(100), NO_CAP, D("0.5"))
    assert (fill.quantity, fill.price) == (D("0.5"), D(99))


def test_a_flat_position_closes_nothing():
    assert close_position(BOOK, BTC, Position("BTC/USDT"), D(0), D(100), NO_CAP)[0] is None


# -- partial fills on the desk: the rest is cancelled and said ---------------------------------

THIN = OrderBook("BTC/USDT", bids=levels(("99", "1"), ("90", "5")), asks=levels(("101", "1"), ("110", "5")))


def book_desk(position: Position | None = None, cash: str = "1000"):
    from papertrade.domain.bars import Bar
    from papertrade.domain.book import BookFills
    from papertrade.domain.desk import Desk
    from papertrade.domain.fills import FillModel
    from papertrade.domain.ledger import Book

    model = FillModel(D(0), D(0), D(1))
    book = Book(D(cash), D(cash), {} if position is None else {"BTC/USDT": position})
    desk = Desk(book, BTC, model, [], 3_600_000, market_fills=BookFills(model, THIN))
    return desk, Bar(0, D(100), D(100), D(100), D(100), D(1))


def test_an_exit_the_cap_cuts_short_is_booked_in_part_and_the_rest_cancelled():
    from papertrade.domain.signals import Decision

    desk, bar = book_desk(Position("BTC/USDT", D(3), D(300)))
    desk.act(Decision.sell("out"), bar)
    (filled,) = desk.filled
    assert filled.booked.fill.quantity == 1 and desk.book.position("BTC/USDT").quantity == 2
    assert (filled.cancelled.quantity, filled.cancelled.budget, filled.cancelled.limit) == (D(2), None, D(95))


def test_an_entry_the_cap_cuts_short_leaves_the_rest_of_its_budget_unspent():
    from papertrade.domain.signals import Decision

    desk, bar = book_desk()
    desk.act(Decision.buy("in"), bar)
    (filled,) = desk.filled
    assert (filled.booked.fill.quantity, filled.booked.fill.notional) == (D(1), D(101))
    assert (filled.cancelled.quantity, filled.cancelled.budget, filled.cancelled.limit) == (None, D(899), D(105))


def test_an_order_nothing_of_which_lies_within_the_cap_holds_and_says_why():
    from papertrade.domain.signals import Decision, Signal

    desk, bar = book_desk()
    desk.market_fills.book = OrderBook("BTC/USDT", bids=levels(("80", "1")), asks=levels(("120", "1")))
    done = desk.act(Decision.buy("in"), bar)
    assert done.signal is Signal.HOLD and "nothing to fill within the slippage cap (limit 105)" in done.reason
    assert not desk.filled


def test_an_order_the_book_fills_whole_cancels_nothing():
    from papertrade.domain.signals import Decision

    desk, bar = book_desk(Position("BTC/USDT", D("0.5"), D(50)))
    desk.act(Decision.sell("out"), bar)
    assert desk.filled[0].cancelled is None


def test_a_fill_s_reference_is_the_close_for_a_market_order_and_the_level_for_a_resting_one():
    from papertrade.domain.fills import slippage_bps
    from papertrade.domain.signals import Decision

    desk, bar = book_desk()
    desk.act(Decision.buy("in"), bar)
    (filled,) = desk.filled
    assert filled.reference == bar.close and slippage_bps("BUY", filled.booked.fill.price, bar.close) == D(100)
    assert slippage_bps("SELL", D(99), D(100)) == D(100) and slippage_bps("SELL", D(101), D(100)) == D(-100)
