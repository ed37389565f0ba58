"""Funding of perpetual swaps (`papertrade.domain.funding`): sign, timing, exactness."""

from decimal import Decimal

import pytest

from papertrade.domain.bars import Bar
from papertrade.domain.desk import Desk
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.funding import FundingRate, FundingSchedule, funding_amount, funding_window, is_swap
from papertrade.domain.ledger import Book, Fill, Side
from papertrade.domain.orders import Exits, Level
from papertrade.domain.signals import Decision
from papertrade.errors import InputError

D = Decimal
HOUR = 3_600_000
SWAP = "BTC/USDT:USDT"
MARKET = Market(SWAP, "BTC", "USDT", amount_step=D("0.0001"))


def bar(hour: int, close="100", low=None) -> Bar:
    c = D(close)
    return Bar(hour * HOUR, c, c, D(low) if low else c, c, D(1))


def desk_holding(quantity: str, rates, exits=Exits()) -> Desk:
    book = Book(D(10000), D(10000), allow_short=True)
    desk = Desk(book, MARKET, FillModel(D(0), D(0), D(1)), [], HOUR, exits, allow_short=True,
                funding=FundingSchedule.of(rates))  # fmt: skip
    q = D(quantity)
    side = Side.BUY if q > 0 else Side.SELL
    book.apply_fill(Fill(SWAP, side, abs(q), D(100), D(0), abs(q) * 100))
    return desk


def test_only_swap_symbols_are_funded():
    assert is_swap("BTC/USDT:USDT") and not is_swap("BTC/USDT")


def test_a_long_pays_a_positive_rate_and_a_short_receives_it_and_the_reverse_for_a_negative_rate():
    assert funding_amount(D(2), D(100), D("0.0001")) == D("-0.02")
    assert funding_amount(D(-2), D(100), D("0.0001")) == D("0.02")
    assert funding_amount(D(2), D(100), D("-0.0001")) == D("0.02")
    assert funding_amount(D(-2), D(100), D("-0.0001")) == D("-0.02")


def test_the_amount_is_exact_and_rounds_against_the_trader_at_the_ledgers_places():
    third = D("0.333333333333333333")
    assert funding_amount(D(1), D("1.000000000000000001"), D("0.0001")) == D("-0.000100000000000001")
    assert funding_amount(D(-1), third, D("0.0001")) == D("0.000033333333333333")  # a receipt rounds down
    assert funding_amount(D(1), third, D("0.0001")) == D("-0.000033333333333334")  # a payment rounds up


def test_the_window_of_a_candle_runs_from_the_previous_close_to_its_own_close():
    assert funding_window(7 * HOUR, 6 * HOUR, HOUR) == (7 * HOUR, 8 * HOUR)
    assert funding_window(7 * HOUR, 2 * HOUR, HOUR) == (3 * HOUR, 8 * HOUR)  # candles 3-6 missing
    assert funding_window(7 * HOUR, None, HOUR) == (7 * HOUR, 8 * HOUR)


def test_funding_at_eight_is_booked_on_the_candle_that_closes_at_eight_with_the_mark_it_carries():
    desk = desk_holding("2", [FundingRate(8 * HOUR, D("0.0001"), D("150"))])
    desk.on_candle(bar(6), 5 * HOUR)
    assert desk.funded == []
    desk.on_candle(bar(7), 6 * HOUR)
    (paid,) = desk.funded
    assert (paid.ts, paid.candle_ts, paid.mark_price, paid.amount) == (8 * HOUR, 7 * HOUR, D(150), D("-0.03"))
    assert desk.book.cash == D("9800") - D("0.03") and paid.cash_after == desk.book.cash
    assert desk.book.funding_paid == D("0.03")
    desk.on_candle(bar(8), 7 * HOUR)
    assert len(desk.funded) == 1  # once


def test_without_a_mark_in_the_history_the_candles_close_is_the_mark():
    desk = desk_holding("-1", [FundingRate(8 * HOUR, D("0.001"))])
    desk.on_candle(bar(7, close="120"), 6 * HOUR)
    assert desk.funded[0].mark_price == D(120) and desk.funded[0].amount == D("0.12")


def test_funding_times_missed_while_no_candle_was_processed_are_all_booked_on_the_next_one():
    rates = [FundingRate(h * HOUR, D("0.0001") * (h // 8), D(100)) for h in (0, 8, 16, 24)]
    desk = desk_holding("1", rates)
    desk.on_candle(bar(25), 1 * HOUR)  # candles 2..24 never came
    assert [p.ts for p in desk.funded] == [8 * HOUR, 16 * HOUR, 24 * HOUR]
    assert [p.amount for p in desk.funded] == [D("-0.01"), D("-0.02"), D("-0.03")]


def test_a_position_closed_by_a_stop_on_the_funding_candle_pays_nothing_and_one_opened_at_its_close_neither():
    stopped = desk_holding("1", [FundingRate(8 * HOUR, D("0.01"), D(100))], Exits(stop_loss=Level(D("0.05"))))
    stopped._protect(None, D(100), 6 * HOUR)
    stopped.on_candle(bar(7, close="100", low="90"), 6 * HOUR)
    assert stopped.filled and not stopped.book.position(SWAP).is_open and stopped.funded == []
    opened = Desk(Book(D(1000), D(1000)), MARKET, FillModel(D(0), D(0), D(1)), [], HOUR,
                  funding=FundingSchedule.of([FundingRate(8 * HOUR, D("0.01"))]))  # fmt: skip
    opened.on_candle(bar(7), 6 * HOUR)
    opened.act(Decision.buy(), bar(7))
    opened.on_candle(bar(8), 7 * HOUR)
    assert opened.book.position(SWAP).is_open and opened.funded == []


def test_a_payment_beyond_the_cash_leaves_it_at_zero_and_records_the_floor():
    book = Book(D(1), D(1))
    book.position(SWAP).quantity = D(1)
    cash, floored = book.apply_funding(SWAP, D("-3"))
    assert (cash, floored, book.funding_paid) == (D(0), D(2), D(3))


def test_the_schedule_finds_the_candle_of_each_funding_time_and_keeps_one_rate_per_time():
    schedule = FundingSchedule.of(
        [FundingRate(16 * HOUR, D(1)), FundingRate(8 * HOUR, D(2)), FundingRate(8 * HOUR, D(3))]
    )
    assert schedule.times == (8 * HOUR, 16 * HOUR) and schedule.rates[0].rate == D(3)
    times = [h * HOUR for h in (0, 1, 5, 10, 15)]  # 8 falls in a gap: booked on the 10:00 candle
    assert schedule.candles(times, HOUR) == [3, 4]


def test_a_swap_backtest_books_funding_the_same_on_its_fast_path_as_deciding_on_every_candle():
    """The signal-series path skips candles where nothing happens: it must still visit every
    funding candle while a position is open."""
    from papertrade.adapters.csv_candles import load_columns
    from papertrade.adapters.funding_file import load_funding
    from papertrade.services.backtest import backtest
    from papertrade.strategies import registry
    from tests.support.paths import DATA
    from tests.support.synthetic_funding import FILE

    candles = load_columns(DATA / "binance_BTC-USDT_1h.csv")
    candles = candles.between(None, int(candles.ts[1500]))
    funding, fills = load_funding(FILE), FillModel(D("0.001"), D(0), D("0.5"))  # cash left to pay funding from
    fast, slow = registry.build("sma-cross", {}), registry.build("sma-cross", {})
    slow.series_reverses = False
    made = [backtest(candles, s, fills, D(10000), SWAP, "USDT", allow_short=True, funding=funding)
            for s in (fast, slow)]  # fmt: skip
    assert [(p.ts, p.amount) for p in made[0].funding] == [(p.ts, p.amount) for p in made[1].funding]
    assert made[0].cash == made[1].cash and len(made[0].funding) > 100
    assert {p.amount > 0 for p in made[0].funding} == {True, False}  # paid and received
    assert all(p.floored == 0 for p in made[0].funding)
    plain = backtest(candles, registry.build("sma-cross", {}), fills, D(10000), SWAP, "USDT", allow_short=True)
    assert [f.candle_ts for f in plain.fills] == [f.candle_ts for f in made[0].fills]
    assert plain.funding_paid == 0 and made[0].cash != plain.cash


@pytest.mark.parametrize(
    ("text", "says"),
    [
        ("ts,rate\n", "must start with the header timestamp,rate,mark_price"),
        ("timestamp,rate,mark_price\n8,0.1\n", "line 2: expected 3 columns"),
        ("timestamp,rate,mark_price\n8,lots,\n", "line 2: rate and mark price must be decimal numbers"),
        ("timestamp,rate,mark_price\n8,1.5,\n", "line 2: rate must be a fraction between -1 and 1"),
        ("timestamp,rate,mark_price\n8,0.1,-3\n", "line 2: mark price must be above 0"),
        ("timestamp,rate,mark_price\n8.5,0.1,\n", "line 2: timestamp must be whole milliseconds"),
        ("timestamp,rate,mark_price\n16,0.1,\n8,0.1,\n", "line 3: times must increase"),
    ],
)
def test_a_bad_funding_file_is_refused_naming_its_first_bad_line(tmp_path, text, says):
    from papertrade.adapters.funding_file import load_funding

    path = tmp_path / "funding.csv"
    path.write_text(text)
    with pytest.raises(InputError, match=says):
        load_funding(path)


def test_a_funding_file_reads_exactly_with_and_without_a_mark(tmp_path):
    from papertrade.adapters.funding_file import load_funding

    path = tmp_path / "funding.csv"
    path.write_text("timestamp,rate,mark_price\n28800000,-0.000123456789,34287.54\n57600000,0.0001,\n")
    schedule = load_funding(path)
    assert schedule.rates == (FundingRate(28_800_000, D("-0.000123456789"), D("34287.54")),
                              FundingRate(57_600_000, D("0.0001")))  # fmt: skip
