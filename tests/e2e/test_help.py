"""Every command's --help: names what to type, explains every argument and option, states limits."""

import re

import pytest
import typer

from papertrade.cli.app import app
from tests.support.cli import run_inprocess


def _commands(command, path=()):
    yield path, command
    for name, sub in sorted(getattr(command, "commands", {}).items()):
        yield from _commands(sub, (*path, name))


COMMANDS = list(_commands(typer.main.get_command(app)))
#: Typer's Python types (`<str>`, `<list[str]>`, `<int range>`) and its `{name}` for arguments.
PLACEHOLDER = re.compile(r"<[a-z][\w\[\], |]*>|\{[a-z_]+\}")


@pytest.mark.parametrize(("path", "command"), COMMANDS, ids=[" ".join(p) or "papertrade" for p, _ in COMMANDS])
def test_every_help_names_what_to_type_and_explains_every_parameter(capsys, path, command):
    result = run_inprocess(capsys, *path, "--help")
    assert result.code == 0, result.stderr
    assert not PLACEHOLDER.search(result.stdout), result.stdout
    undocumented = [p.name for p in command.params if not getattr(p, "help", None)]
    assert undocumented == [], f"papertrade {' '.join(path)}: no help for {undocumented}"
    assert command.help, f"papertrade {' '.join(path)} has no help text"


def _help(capsys, *path) -> str:
    return " ".join(run_inprocess(capsys, *path, "--help").stdout.split())


def test_the_limits_of_what_a_user_types_are_in_the_help(capsys):
    created = _help(capsys, "create-portfolio")
    for limit in ("at most 100 characters", "at most 1e15", "0 to 0.1", "0 to 1000", "above 0, at most 1"):
        assert limit in created, limit
    assert "Usage: papertrade create-portfolio [OPTIONS] NAME CASH" in created
    assert "--param KEY=VALUE" in created
    backtest = _help(capsys, "backtest")
    for limit in ("at most 1e15", "0 to 0.1", "0 to 1000", "above 0, at most 1"):
        assert limit in backtest, limit
    changed = _help(capsys, "portfolio", "set")
    for limit in ("0 to 0.1", "0 to 1000", "above 0, at most 1"):
        assert limit in changed, limit


def test_strategies_lists_each_parameters_limits(capsys):
    listed = run_inprocess(capsys, "strategies").stdout
    assert "period=14 (2 to 100)" in listed and "oversold=30 (above 0, below 100)" in listed
    assert "slow=30 (2 to 1000)" in listed
