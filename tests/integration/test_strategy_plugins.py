"""User strategies arrive through the `papertrade.strategies` entry-point group."""

import json

import pytest

from papertrade.errors import InputError
from papertrade.strategies import registry
from tests.support.cli import run_inprocess
from tests.support.strategies import Alternate


@pytest.fixture
def installed_plugin(tmp_path, monkeypatch):
    """A distribution's metadata on sys.path, as `pip install my-strategies` would leave it."""
    dist = tmp_path / "my_strategies-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: my-strategies\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text(
        "[papertrade.strategies]\n"
        "flip-flop = tests.support.strategies:Alternate\n"
        "rsi = tests.support.strategies:AlwaysBuy\n"
        "broken = tests.support.no_such_module:Thing\n"
    )
    monkeypatch.syspath_prepend(str(tmp_path))


def test_an_entry_point_strategy_is_found_by_name(installed_plugin):
    assert registry.load_class("flip-flop") is Alternate


def test_built_in_names_win_over_entry_points(installed_plugin):
    assert registry.load_class("rsi").__name__ == "RsiStrategy"


def test_a_broken_entry_point_is_a_clear_error(installed_plugin):
    with pytest.raises(InputError, match="cannot load strategy 'broken'"):
        registry.load_class("broken")


def test_a_portfolio_can_use_an_entry_point_strategy(installed_plugin, capsys, tmp_path):
    db = str(tmp_path / "ledger.db")
    created = run_inprocess(capsys, "--db", db, "create-portfolio", "b", "100", "--strategy", "flip-flop", "--json")
    assert json.loads(created.stdout)["strategy"] == "flip-flop"


def test_the_strategies_command_lists_built_ins_with_defaults(capsys):
    listed = json.loads(run_inprocess(capsys, "strategies", "--json").stdout)
    by_name = {s["name"]: s for s in listed}
    assert by_name["rsi"]["warmup"] == 250
    assert {k: v["default"] for k, v in by_name["rsi"]["parameters"].items()} == {
        "period": 14,
        "oversold": 30,
        "overbought": 70,
    }
    assert {k: v["default"] for k, v in by_name["sma-cross"]["parameters"].items()} == {
        "fast": 10,
        "slow": 30,
    }


def test_the_strategies_command_says_which_form_of_candles_each_takes(installed_plugin, capsys):
    by_name = {s["name"]: s for s in json.loads(run_inprocess(capsys, "strategies", "--json").stdout)}
    assert {name: (s["candles"], s["decide_series"]) for name, s in by_name.items()} == {
        "rsi": ("arrays", True),
        "sma-cross": ("arrays", True),
        "flip-flop": ("frame", False),
    }


def test_a_broken_plugin_does_not_hide_the_others(installed_plugin, capsys):
    result = run_inprocess(capsys, "strategies", "--json")
    assert result.code == 0
    assert {s["name"] for s in json.loads(result.stdout)} == {"rsi", "sma-cross", "flip-flop"}
    assert "'broken' is installed but broken" in result.stderr
