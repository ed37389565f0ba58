"""Commands that need no exchange and no DataFrame never import ccxt or pandas: a cron job's
`status` or `--help` should not pay a second of imports it does not use. (How fast start-up is
gets measured by `make bench`, not here.)"""

import json
import subprocess
import sys

import pytest

from tests.support.paths import DATA

PROBE = """
import json, sys
from papertrade.cli.app import main
try:
    main(sys.argv[1:])
except SystemExit as exit:
    code = exit.code
heavy = sorted(name for name in ("ccxt", "pandas", "numpy", "matplotlib", "alembic") if name in sys.modules)
print(json.dumps({"code": code, "heavy": heavy}), file=sys.stderr)
"""

LIGHT_COMMANDS = [
    ["--help"],
    ["trade", "--help"],
    ["create-portfolio", "bot 2", "500", "--strategy", "sma-cross", "--param", "fast=5"],
    ["portfolios"],
    ["portfolios", "--json"],
    ["status", "1"],
    ["status", "1", "--json"],
    ["trades", "1"],
    ["strategies"],
    ["cron", "1", "BTC/USDT"],
    ["db", "current"],
    ["audit", "verify", "1"],
]


@pytest.fixture(scope="module")
def ledger(tmp_path_factory):
    db = tmp_path_factory.mktemp("startup") / "ledger.db"
    probe(str(db), ["create-portfolio", "bot", "100"])
    return str(db)


def probe(db: str, args: list[str]) -> dict:
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, "--db", db, *args], capture_output=True, text=True, timeout=60
    )
    return json.loads(completed.stderr.strip().splitlines()[-1])


@pytest.mark.parametrize("args", LIGHT_COMMANDS, ids=lambda a: " ".join(a))
def test_commands_without_an_exchange_import_neither_ccxt_nor_pandas(ledger, args):
    outcome = probe(ledger, args)
    assert outcome["code"] in (0, None)
    assert outcome["heavy"] == [], f"{' '.join(args)} imported {outcome['heavy']}"


def test_the_probe_would_notice_a_heavy_import(ledger):
    daily = str(DATA / "binance_BTC-USDT_1d.csv")
    outcome = probe(ledger, ["backtest", "--strategy", "rsi", "--data", daily])
    assert outcome["code"] in (0, None) and "pandas" in outcome["heavy"]


def test_a_backtest_needs_no_database_layer(ledger):
    daily = str(DATA / "binance_BTC-USDT_1d.csv")
    probe_script = PROBE.replace('"alembic")', '"alembic", "sqlalchemy")')
    completed = subprocess.run(
        [sys.executable, "-c", probe_script, "backtest", "--strategy", "rsi", "--data", daily],
        capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    outcome = json.loads(completed.stderr.strip().splitlines()[-1])
    assert outcome["code"] in (0, None) and "sqlalchemy" not in outcome["heavy"]
