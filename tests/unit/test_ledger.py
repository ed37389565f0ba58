from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Book, Fill, Side
from papertrade.domain.money import exact, round_up_to_ledger
from papertrade.errors import LedgerError

D = Decimal


def fill(side, quantity, price, fee="0", symbol="BTC/USDT"):
    quantity, price = D(quantity), D(price)
    return Fill(symbol, Side(side), quantity, price, D(fee), quantity * price)


def books_balance(book: Book) -> bool:
    with exact():  # the check itself must not round
        return book.initial_cash + book.realized_pnl - book.fees_paid == book.cash + book.cost_basis


def test_buy_moves_cash_into_the_position_at_cost_and_books_the_fee_apart():
    book = Book(D(1000), D(1000))
    result = book.apply_fill(fill("BUY", "2", "100", fee="0.2"))
    position = book.positions["BTC/USDT"]
    assert book.cash == D("799.8")
    assert (position.quantity, position.cost_basis, position.avg_cost) == (D(2), D(200), D(100))
    assert position.fees_paid == D("0.2")
    assert result.cash_after == D("799.8") and result.position_after == D(2)


def test_average_cost_is_weighted_by_quantity_and_excludes_fees():
    book = Book(D(1000), D(1000))
    book.apply_fill(fill("BUY", "1", "100", fee="1"))
    book.apply_fill(fill("BUY", "3", "120", fee="1"))
    assert book.positions["BTC/USDT"].avg_cost == D(115)


def test_selling_realizes_pnl_against_the_average_cost():
    book = Book(D(1000), D(1000))
    book.apply_fill(fill("BUY", "2", "100"))
    result = book.apply_fill(fill("SELL", "1", "130", fee="0.13"))
    position = book.positions["BTC/USDT"]
    assert result.realized_pnl == D(30)
    assert position.quantity == D(1) and position.cost_basis == D(100)
    assert book.cash == D("929.87")
    assert books_balance(book)


def test_selling_everything_releases_the_whole_cost_basis():
    book = Book(D(1000), D(1000))
    book.apply_fill(fill("BUY", "3", "10"))
    book.apply_fill(fill("SELL", "1", "11"))
    book.apply_fill(fill("SELL", "2", "9"))
    position = book.positions["BTC/USDT"]
    assert position.quantity == 0 and position.cost_basis == 0
    assert position.realized_pnl == D(-1)


def test_unrealized_pnl_marks_the_open_quantity_to_a_price():
    book = Book(D(1000), D(1000))
    book.apply_fill(fill("BUY", "2", "100"))
    assert book.positions["BTC/USDT"].unrealized_pnl(D("112.5")) == D(25)


@pytest.mark.parametrize(
    "bad",
    [
        lambda: fill("BUY", "11", "100"),  # costs more than the cash
        lambda: fill("BUY", "10", "100", fee="0.01"),  # the fee tips it over
        lambda: fill("SELL", "1", "100"),  # nothing held
    ],
)
def test_refuses_fills_that_would_go_negative_and_changes_nothing(bad):
    book = Book(D(1000), D(1000))
    with pytest.raises(LedgerError):
        book.apply_fill(bad())
    assert book.cash == D(1000)
    assert all(p.quantity == 0 for p in book.positions.values())


def test_refuses_selling_more_than_is_held():
    book = Book(D(1000), D(1000))
    book.apply_fill(fill("BUY", "1", "100"))
    with pytest.raises(LedgerError, match="only 1 held"):
        book.apply_fill(fill("SELL", "1.5", "100"))
    assert book.positions["BTC/USDT"].quantity == D(1)


@pytest.mark.parametrize(
    "args",
    [
        ("0", "100", "0"),
        ("1", "-5", "0"),
        ("1", "100", "-1"),
        ("0.0000000000000000001", "100", "0"),
    ],
)
def test_a_fill_must_be_positive_and_on_the_ledger_grid(args):
    with pytest.raises(LedgerError):
        fill("BUY", *args)


# --- properties over random fill sequences -------------------------------------------------

amounts = st.decimals(min_value=D("0.00000001"), max_value=D(100_000), places=8, allow_nan=False)
prices = st.decimals(min_value=D("0.0001"), max_value=D(1_000_000), places=4, allow_nan=False)
fee_rates = st.sampled_from([D(0), D("0.001"), D("0.00075"), D("0.1")])
symbols = st.sampled_from(["BTC/USDT", "ETH/USDT", "SOL/USDT"])
orders = st.lists(
    st.tuples(st.sampled_from(["BUY", "SELL"]), symbols, amounts, prices, fee_rates, st.booleans()),
    max_size=60,
)
initial_cash = st.decimals(min_value=D("0.01"), max_value=D("1e15"), places=8, allow_nan=False)


def random_fill(book, side, symbol, quantity, price, fee_rate, sell_all):
    if side == "SELL":
        held = book.positions[symbol].quantity if symbol in book.positions else D(0)
        if held > 0:
            quantity = held if sell_all else min(quantity, held)
    notional = quantity * price
    fee = round_up_to_ledger(notional * fee_rate)
    return Fill(symbol, Side(side), quantity, price, fee, notional)


@settings(max_examples=300, deadline=None)
@given(cash=initial_cash, orders=orders)
def test_random_fill_sequences_never_go_negative_and_the_books_balance_exactly(cash, orders):
    book = Book(cash, cash)
    for order in orders:
        before = (book.cash, {s: (p.quantity, p.cost_basis) for s, p in book.positions.items()})
        try:
            book.apply_fill(random_fill(book, *order))
        except LedgerError:
            after = (book.cash, {s: (p.quantity, p.cost_basis) for s, p in book.positions.items()})
            assert after == before, "a refused fill changed the books"
        assert book.cash >= 0
        assert all(p.quantity >= 0 and p.cost_basis >= 0 for p in book.positions.values())
        assert books_balance(book)


@settings(max_examples=200, deadline=None)
@given(
    cash=initial_cash,
    closes=st.lists(prices, min_size=1, max_size=30),
    fee_rate=fee_rates,
    slippage=st.sampled_from([D(0), D(5), D("2.5"), D(100)]),
    stake=st.sampled_from([D(1), D("0.5"), D("0.333")]),
    step=st.sampled_from([D("0.00001"), D("0.001"), D(1), D("0.00000001")]),
)
def test_the_fill_model_keeps_the_books_balanced_through_buy_sell_cycles(cash, closes, fee_rate, slippage, stake, step):
    model = FillModel(fee_rate, slippage, stake)
    market = Market("BTC/USDT", "BTC", "USDT", step)
    book = Book(cash, cash)
    for i, close in enumerate(closes):
        position = book.position("BTC/USDT")
        planned = model.close(market, position, close) if i % 2 else model.buy(market, book.cash, close)
        if planned is not None:
            book.apply_fill(planned)
        assert book.cash >= 0
        assert books_balance(book)
