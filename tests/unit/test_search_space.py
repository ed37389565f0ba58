"""Ranges, choices and constraints typed on the command line: parsed exactly, never evaluated."""

from decimal import Decimal

import pytest

from papertrade.domain.search import Dimension, SearchSpace, params_key, parse_constraint, parse_dimension
from papertrade.errors import InputError


def test_an_integer_range_includes_both_ends():
    assert parse_dimension("fast", "5..9").values() == [5, 6, 7, 8, 9]


def test_a_stepped_range_gives_exact_decimals():
    values = parse_dimension("oversold", "20.0..21.5:0.5").values()
    assert values == [Decimal("20.0"), Decimal("20.5"), Decimal("21.0"), Decimal("21.5")]
    assert parse_dimension("stop_loss", "0.01..0.03:0.01").values() == [Decimal("0.01"), Decimal("0.02"),
                                                                        Decimal("0.03")]  # fmt: skip


def test_an_integer_range_with_a_step():
    assert parse_dimension("slow", "10..30:10").values() == [10, 20, 30]


def test_choices_and_single_values():
    assert parse_dimension("kind", "a,b,c").values() == ["a", "b", "c"]
    assert parse_dimension("stop_loss", "none,0.02").values() == ["none", Decimal("0.02")]
    assert parse_dimension("fast", "7").values() == [7]


def test_a_range_without_a_step_is_continuous_and_has_no_grid():
    dimension = parse_dimension("x", "0.5..1.5")
    assert not dimension.is_discrete
    with pytest.raises(InputError, match="without a step"):
        dimension.values()


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("30..5", "low end 30 is above its high end"),
        ("1.5..0.5:0.1", "above its high end"),
        ("5..30:0", "step must be above 0"),
        ("5..x", "not a number"),
        ("a,,b", "empty choice"),
        ("a,a", "given twice"),
        ("nan..5", "not a number"),
    ],
)
def test_bad_ranges_are_refused(text, message):
    with pytest.raises(InputError, match=message):
        parse_dimension("fast", text)


def test_a_proposed_float_snaps_to_the_step_exactly():
    dimension = parse_dimension("oversold", "20.0..35.0:0.1")
    assert dimension.snap(20.300000000000004) == Decimal("20.3")
    assert parse_dimension("fast", "5..30").snap(12) == 12


def test_a_constraint_compares_parameters_and_numbers():
    constraint = parse_constraint("fast < slow", ["fast", "slow"])
    assert constraint.holds({"fast": 5, "slow": 10})
    assert not constraint.holds({"fast": 10, "slow": 10})
    chained = parse_constraint("5 <= fast < slow", ["fast", "slow"])
    assert not chained.holds({"fast": 4, "slow": 10})
    assert parse_constraint("stop_loss <= 0.02", ["stop_loss"]).holds({"stop_loss": Decimal("0.02")})


@pytest.mark.parametrize(
    "text",
    ["fast", "__import__('os').system('true') < 1", "fast + 1 < slow", "fast <", "< slow", "fast < < slow",
     "fast slow", "1 < 2", "fast; slow", "fast < slow or True"],
)  # fmt: skip
def test_anything_but_a_comparison_is_refused(text):
    with pytest.raises(InputError, match="--constraint"):
        parse_constraint(text, ["fast", "slow"])


def test_a_constraint_on_an_unknown_parameter_is_refused():
    with pytest.raises(InputError, match="'slwo' is not a searched parameter"):
        parse_constraint("fast < slwo", ["fast", "slow"])


def test_the_grid_keeps_only_the_cells_the_constraints_allow():
    space = SearchSpace(
        (parse_dimension("fast", "5..15:5"), parse_dimension("slow", "10..20:5")),
        (parse_constraint("fast < slow", ["fast", "slow"]),),
    )
    assert [(c["fast"], c["slow"]) for c in space.grid()] == [(5, 10), (5, 15), (5, 20), (10, 15), (10, 20),
                                                              (15, 20)]  # fmt: skip


def test_random_draws_repeat_for_a_seed_and_meet_the_constraints():
    space = SearchSpace(
        (parse_dimension("fast", "1..50"), parse_dimension("x", "0.1..0.9")),
        (parse_constraint("fast < 25", ["fast", "x"]),),
    )
    first, again, other = (list(zip(range(20), space.draws(seed), strict=False)) for seed in (1, 1, 2))
    assert first == again != other
    assert all(cell["fast"] < 25 and 0.1 <= cell["x"] <= 0.9 for _, cell in first)


def test_candidates_are_the_same_whatever_their_numbers_look_like():
    assert params_key({"x": Decimal("20.50"), "n": 5}) == params_key({"n": 5, "x": "20.5"})
    assert params_key({"x": Decimal("20.0")}) == params_key({"x": "20"})
    assert params_key({"x": Decimal("20.5")}) != params_key({"x": Decimal("20.6")})


def test_a_dimension_is_a_value():
    assert parse_dimension("fast", "5..6") == Dimension("fast", 5, 6, 1)
