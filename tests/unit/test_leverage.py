"""Leverage: margin positions, sizing against equity x leverage, liquidation at leverage > 1 and
the floor of a loss beyond a position's margin (`domain/ledger.py`, `fills.py`, `margin.py`)."""

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrade.domain.desk import Desk
from papertrade.domain.fills import FillModel
from papertrade.domain.ledger import Book, Fill, Position, Side
from papertrade.domain.margin import MarginRules, liquidation_price
from papertrade.domain.money import exact, round_up_to_ledger
from papertrade.domain.pnl import equity, mark
from papertrade.domain.signals import Decision
from papertrade.errors import LedgerError
from tests.unit.builders import BTC, HOUR, bar, fill

D = Decimal


def desk(leverage="10", cash="1000", fee="0", stake="1") -> Desk:
    book = Book(D(cash), D(cash), allow_short=True)
    rules = MarginRules(D(leverage))
    return Desk(book, BTC, FillModel(D(fee), D(0), D(stake)), [], HOUR, allow_short=True, margin=rules)


# -- the cash model ------------------------------------------------------------------------------


def test_a_margin_position_pays_only_its_fee_on_entry_and_its_pnl_on_exit():
    book = Book(D(1000), D(1000))
    opened = book.apply_fill(fill("BUY", "50", "100", fee="5"), D(10))
    position = book.positions["BTC/USDT"]
    assert opened.cash_after == D(995) and position.is_margined and position.margin == D(500)
    assert book.free_cash == D(495) and opened.margined_basis == D(5000)
    marked = mark("BTC/USDT", position.quantity, position.cost_basis, D(104), None, position.is_margined)
    assert equity(book.cash, {"BTC/USDT": marked}) == D(995) + D(200)  # cash + unrealized
    closed = book.apply_fill(fill("SELL", "50", "104", fee="5.2"))
    assert closed.realized_pnl == D(200) and closed.cash_after == D(995) + D(200) - D("5.2")
    assert book.free_cash == book.cash and closed.margined_basis == 0


def test_an_entry_whose_margin_and_fee_exceed_the_free_cash_is_refused_and_changes_nothing():
    book = Book(D(1000), D(1000))
    book.apply_fill(fill("BUY", "50", "100"), D(10))  # 500 of margin in use
    with pytest.raises(LedgerError, match="more margin than is free"):
        book.apply_fill(fill("BUY", "50", "100", fee="0.01"), D(10))
    assert (book.cash, book.positions["BTC/USDT"].quantity) == (D(1000), D(50))


def test_a_position_keeps_the_leverage_it_was_opened_at():
    book = Book(D(1000), D(1000))
    book.apply_fill(fill("BUY", "10", "100"), D(5))
    book.apply_fill(fill("BUY", "10", "100"), D(20))  # a scale-in: still 5x
    assert book.positions["BTC/USDT"].leverage == D(5) and book.positions["BTC/USDT"].margin == D(400)
    book.apply_fill(fill("SELL", "20", "100"))
    book.apply_fill(fill("BUY", "1", "100"))
    assert not book.positions["BTC/USDT"].is_margined and book.cash == D(900)  # spot again: cost accounting


def test_a_fraction_of_cash_sizes_against_equity_times_leverage_fee_included():
    model = FillModel(D("0.001"), D(0), D(1))
    entry = model.buy(BTC, D(1000), D(100), leverage=D(10))
    # 1000 x 10 / (100 x (1 + 10 x 0.001)) = 99.0099 BTC, rounded down to the step
    assert entry.quantity == D("99.0099") and entry.notional == D("9900.99")
    assert FillModel.commitment(entry, D(10)) <= D(1000) < FillModel.commitment(entry, D(10)) + D("0.0001") * 101
    spot = model.buy(BTC, D(1000), D(100))
    assert spot.quantity == D("9.99") and spot == model.buy(BTC, D(1000), D(100), leverage=D(1))


def test_a_desk_enters_at_its_leverage_and_never_puts_up_more_than_the_free_cash():
    d = desk(leverage="10", fee="0.001")
    d.act(Decision.buy(), bar(1, 100, 100, 100, 100))
    position = d.book.position("BTC/USDT")
    assert position.leverage == D(10) and position.quantity == D("99.0099")
    with exact():
        assert position.margin + d.filled[0].booked.fill.fee <= D(1000)
    assert d.book.free_cash >= 0
    d.act(Decision.buy(scale_in=True), bar(2, 100, 100, 100, 100))
    assert position.quantity == D("99.0099")  # nothing left to put up: a HOLD


# -- liquidation at leverage > 1 -----------------------------------------------------------------


def test_a_long_at_leverage_10_is_liquidated_about_a_tenth_under_its_entry():
    long = Position("BTC/USDT", D(10), D(1000), leverage=D(10))
    assert liquidation_price(long) == D("90.452261306532663317")  # 100 x 0.9 / 0.995, rounded up
    short = Position("BTC/USDT", D(-10), D(-1000), leverage=D(10))
    assert liquidation_price(short) == D("109.452736318407960199")  # 100 x 1.1 / 1.005, rounded down


def test_touching_the_liquidation_price_closes_a_leveraged_long_there_with_the_fee_and_no_floor():
    d = desk(leverage="10")
    d.act(Decision.buy(), bar(1, 100, 100, 100, 100))  # 100 BTC, margin 1000
    d.on_candle(bar(2, 99, 99, 90, 95))
    booked = d.filled[-1].booked
    assert d.filled[-1].kind == "liquidation" and booked.fill.price == D("90.452261306532663317")
    assert booked.fill.fee == round_up_to_ledger(booked.fill.notional * D("0.005"))
    assert booked.floored == 0 and 0 <= booked.cash_after < D("0.01")


def test_a_gap_through_the_liquidation_price_fills_at_the_open_and_floors_the_loss_at_the_margin():
    d = desk(leverage="10")
    d.act(Decision.short(), bar(1, 100, 100, 100, 100))  # 100 BTC short, margin 1000
    d.on_candle(bar(2, 120, 125, 118, 121))
    booked = d.filled[-1].booked
    assert booked.fill.price == D(120) and booked.realized_pnl == D(-2000) and booked.fill.fee == D(60)
    assert booked.cash_after == 0 and booked.floored == D(1060)  # lost 2060, had put up 1000


# -- the books balance over any sequence, at any leverage ---------------------------------------


amounts = st.decimals(min_value=D("0.0001"), max_value=D(100), places=4, allow_nan=False)
prices = st.decimals(min_value=D("0.01"), max_value=D(10_000), places=2, allow_nan=False)


@settings(max_examples=100, deadline=None)
@given(
    cash=st.decimals(min_value=D(1), max_value=D("1e7"), places=2, allow_nan=False),
    steps=st.lists(st.tuples(st.sampled_from(["BUY", "SELL"]), amounts, prices, st.booleans()), max_size=30),
    leverages=st.lists(st.sampled_from([D(1), D(2), D("12.5"), D(125)]), min_size=1, max_size=4),
    fee_rate=st.sampled_from([D(0), D("0.001"), D("0.1")]),
)
def test_over_any_fills_at_any_leverage_the_books_balance_with_the_floors_and_cash_stays_above_zero(
    cash, steps, leverages, fee_rate
):
    """initial cash + realized PnL - fees + floored == cash + the cost basis of leverage-1
    positions; cash >= 0 and the margin in use never exceeds the cash."""
    book, floored = Book(cash, cash, allow_short=True), D(0)
    for n, (side, quantity, at, whole) in enumerate(steps):
        held = book.position("BTC/USDT").quantity
        opposite = (held > 0 and side == "SELL") or (held < 0 and side == "BUY")
        if opposite:
            quantity = abs(held) if whole else min(quantity, abs(held))
        with exact():
            notional = quantity * at
        step = Fill("BTC/USDT", Side(side), quantity, at, round_up_to_ledger(notional * fee_rate), notional)
        try:
            result = book.apply_fill(step, leverages[n % len(leverages)])
        except LedgerError:
            continue
        with exact():
            floored += result.floored
            spot_basis = sum((p.cost_basis for p in book.positions.values() if not p.is_margined), D(0))
            assert book.initial_cash + book.realized_pnl - book.fees_paid + floored == book.cash + spot_basis
        assert book.cash >= 0 and book.free_cash >= 0
