"""Ranges of open times: what a download still has to ask for, and what a page left empty."""

from decimal import Decimal

from papertrade.domain.bars import Bar
from papertrade.domain.coverage import empty_runs, slots, subtract

H = 3_600_000


def bar(hour: int) -> Bar:
    one = Decimal(1)
    return Bar(hour * H, one, one, one, one, one)


def test_subtracting_known_ranges_leaves_only_the_unknown_parts():
    wanted = [(0, 10 * H), (20 * H, 30 * H)]
    known = [(2 * H, 3 * H), (8 * H, 22 * H), (25 * H, 25 * H)]
    assert list(subtract(wanted, known, H)) == [(0, H), (4 * H, 7 * H), (23 * H, 24 * H), (26 * H, 30 * H)]


def test_subtracting_everything_or_nothing():
    assert list(subtract([(5 * H, 9 * H)], [(0, 20 * H)], H)) == []
    assert list(subtract([(5 * H, 9 * H)], [], H)) == [(5 * H, 9 * H)]
    assert list(subtract([(5 * H, 9 * H)], [(0, 4 * H), (10 * H, 12 * H)], H)) == [(5 * H, 9 * H)]


def test_a_page_reports_the_runs_it_left_empty_up_to_its_last_candle():
    page = [bar(3), bar(4), bar(8), bar(9)]
    assert list(empty_runs(page, 0, H)) == [(0, 2 * H), (5 * H, 7 * H)]
    assert list(empty_runs(page, 3 * H, H)) == [(5 * H, 7 * H)]
    assert list(empty_runs([], 0, H)) == []  # an empty page proves nothing by itself


def test_slots_counts_open_times():
    assert slots([(0, 2 * H), (5 * H, 5 * H)], H) == 4
