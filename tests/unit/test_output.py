"""How amounts are shown to people: their currency's places, rounded against the trader."""

from decimal import Decimal

import pytest

from papertrade.cli import output

D = Decimal


@pytest.mark.parametrize(
    ("value", "currency", "cost", "shown"),
    [
        (D("999999999999999.999"), "USDT", False, "999,999,999,999,999.99"),  # never rounded up past it
        (D("1234.5678"), "USDT", False, "1,234.56"),
        (D("-1.001"), "USDT", False, "-1.01"),  # a loss is never made to look smaller
        (D("1.001"), "USDT", True, "1.01"),  # nor a fee
        (D("0.00012345"), "BTC", True, "0.00012345"),  # BTC-quoted fees keep their satoshis
        (D("0.123456789"), "BTC", False, "0.12345678"),
        (D("0.0000001"), "USDT", False, "0.0000001"),  # too small for cents: shown exactly, not 0.00
        (D("-0.000"), "USDT", False, "0.00"),  # never -0.00
        (D("10000"), None, False, "10,000.00"),
    ],
)
def test_money_keeps_its_currency_s_places_and_rounds_against_the_trader(value, currency, cost, shown):
    assert output.money(value, currency, cost=cost) == shown


def test_a_shib_priced_average_cost_is_not_zero():
    assert output.price(D("0.000012345")) == "0.000012345"


def test_counts_are_plural_only_when_they_should_be():
    assert [output.plural(n, "bot") for n in (0, 1, 2)] == ["0 bots", "1 bot", "2 bots"]
    assert output.plural(3, "entry") == "3 entries" and output.plural(1, "entry") == "1 entry"


def test_tables_stay_aligned_with_wide_characters():
    text = output.table(["NAME", "CASH"], [["比特币机器人", "1.00"], ["bot", "10.00"]], right=(1,))
    rows = text.splitlines()
    assert len({output.width_of(row) for row in rows[2:]}) == 1  # both rows end in the same column
    assert output.width_of("比特币") == 6 and output.width_of("é") == 1


@pytest.mark.parametrize(
    ("outside", "shown"),
    [
        ("\x1b[2J\x1b[Hscreen cleared", "screen cleared"),
        ("title\x1b]0;owned\x07 set", "title set"),
        ("right\u202eto left\u202c", "right to left"),
        ("two\r\nlines\tand a bell\x07", "two lines and a bell"),
        ("zero\u200bwidth \x9b31m csi", "zero width csi"),
        ("x" * 500, "x" * 299 + "…"),
    ],
)
def test_text_from_outside_is_printed_without_control_characters_and_capped(outside, shown):
    from papertrade.domain.text import printable

    assert printable(outside) == shown
