"""The installed `papertrade` finds a `package.module:Class` strategy in the directory it runs
from, as the README says, and its cron line still carries PYTHONPATH (cron runs elsewhere)."""

import os
import shlex
import subprocess

from tests.support.databases import new_sqlite_ledger
from tests.support.paths import VENV_BIN

FLIP = """
from papertrade.domain.signals import Signal
from papertrade.strategies import Strategy


class Flip(Strategy):
    name = "flip"

    def decide(self, candles, position):
        return Signal.SELL if position.is_open else Signal.BUY
"""


def papertrade(cwd, *args: str) -> subprocess.CompletedProcess:
    env = {name: value for name, value in os.environ.items() if name != "PYTHONPATH"}
    return subprocess.run([str(VENV_BIN / "papertrade"), *args], capture_output=True, text=True, env=env, cwd=cwd,
                          timeout=120)  # fmt: skip


def test_the_installed_command_loads_a_strategy_package_from_the_working_directory(tmp_path):
    project = tmp_path / "project"
    (project / "mystrats").mkdir(parents=True)
    (project / "mystrats" / "__init__.py").write_text("")
    (project / "mystrats" / "flip.py").write_text(FLIP)
    new_sqlite_ledger(tmp_path / "ledger.db")
    db = ["--db", str(tmp_path / "ledger.db")]
    created = papertrade(project, *db, "create-portfolio", "mine", "1000", "--strategy", "mystrats.flip:Flip")
    assert created.returncode == 0, created.stderr
    cron = papertrade(project, *db, "cron", "1", "BTC/USDT", "--log", str(tmp_path / "bot.log"))
    assert cron.returncode == 0 and cron.stderr == ""
    assert f"PYTHONPATH={shlex.quote(str(project))} " in cron.stdout
