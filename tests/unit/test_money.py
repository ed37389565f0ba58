from decimal import Decimal

import pytest

from papertrade.domain.money import (
    divide_down,
    divide_to_ledger,
    exact,
    parse_amount,
    round_up_to_ledger,
    to_plain,
)
from papertrade.errors import InputError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10000", "10000"),
        ("0.1", "0.1"),
        ("0.00000001", "0.00000001"),
        ("1234567890.12345678", "1234567890.12345678"),
        ("1e3", "1000"),
        (" 42 ", "42"),
        ("0.100000000000000000000000", "0.1"),
    ],
)
def test_parses_plain_and_scientific_amounts_exactly(text, expected):
    assert to_plain(parse_amount(text, "cash")) == expected


@pytest.mark.parametrize("text", ["1,000", "1_000", "", "  ", "abc", "NaN", "inf", "-Infinity", "1e400", "0x10"])
def test_refuses_what_is_not_a_plain_finite_number(text):
    with pytest.raises(InputError, match="cash"):
        parse_amount(text, "cash")


def test_refuses_more_places_than_the_ledger_keeps():
    with pytest.raises(InputError, match="more than 18 decimal places"):
        parse_amount("1e-30", "cash")


def test_plain_text_has_no_exponent_and_no_trailing_zeros():
    assert to_plain(Decimal("1E+4")) == "10000"
    assert to_plain(Decimal("0E-7")) == "0"
    assert to_plain(Decimal("-0")) == "0"
    assert to_plain(Decimal("12.3400")) == "12.34"
    assert to_plain(Decimal("1E-18")) == "0.000000000000000001"


def test_exact_context_raises_instead_of_rounding():
    with exact(), pytest.raises(ArithmeticError):
        Decimal(1) / Decimal(3)


def test_exact_context_keeps_digits_the_default_context_would_drop():
    big, tiny = Decimal("999999999999999.123456789012345678"), Decimal("0.000000000000000001")
    with exact():
        assert big + tiny == Decimal("999999999999999.123456789012345679")


def test_divide_down_rounds_to_the_step_towards_zero():
    assert divide_down(Decimal(10), Decimal(3), Decimal("0.001")) == Decimal("3.333")
    assert divide_down(Decimal("0.00004999"), Decimal(1), Decimal("0.00001")) == Decimal("0.00004")


def test_divide_to_ledger_and_round_up_use_eighteen_places():
    assert divide_to_ledger(Decimal(2), Decimal(3)) == Decimal("0.666666666666666667")
    assert round_up_to_ledger(Decimal("1.0000000000000000001")) == Decimal("1.000000000000000001")
    assert round_up_to_ledger(Decimal("1.5")) == Decimal("1.5")
