"""`papertrade trade` as cron runs it: the installed command, real ccxt, the local exchange."""

import json
import re
import shlex
import subprocess
from decimal import Decimal

import pytest

from tests.support.cli import run_command, run_inprocess
from tests.support.databases import ledger_state
from tests.support.live import DAY, HOUR, wait_clear_of_boundary
from tests.support.paths import REPO, VENV_BIN

pytestmark = pytest.mark.slow  # dozens of papertrade processes

LINE = re.compile(r"^\d{4}-\d\d-\d\d \d\d:\d\dZ BTC/USDT rsi=\d+\.\d\d (BUY|SELL|HOLD) .*cash [\d,.]+ \[(\w+)\]")


def papertrade(env, *args):
    """The installed command as cron runs it: a process of its own."""
    return run_command(*args, env=env)


@pytest.fixture
def here(cli_env, monkeypatch, capsys):
    """papertrade through its entry point in this process, in the commands' environment: for the
    steps that set a test up or read its outcome, where a process of their own would prove
    nothing more (test_portfolio_commands.py runs `create-portfolio` and `status` as processes)."""
    for name, value in cli_env.items():
        monkeypatch.setenv(name, value)
    return lambda *args: run_inprocess(capsys, *args)


def create(here, *options):
    result = here("create-portfolio", "My RSI Bot", "10000", *options)
    assert result.code == 0, result.stderr


def test_a_live_tick_prints_one_line_updates_status_and_a_retry_is_a_duplicate(cli_env, here):
    create(here, "--timeframe", "1d")
    wait_clear_of_boundary(DAY)
    first = papertrade(cli_env, "trade", "1", "BTC/USDT", "LIVE")
    assert first.code == 0, first.stderr
    assert LINE.match(first.stdout), first.stdout
    assert len(first.stdout.splitlines()) == 1 and first.stderr == ""
    status_before = json.loads(here("status", "1", "--json").stdout)
    (last,) = status_before["last_ticks"]
    assert last["symbol"] == "BTC/USDT" and last["candle_ts"] % DAY == 0
    assert last["signal"] == LINE.match(first.stdout).group(1) and last["status"] == LINE.match(first.stdout).group(2)
    assert "last tick   BTC/USDT" in here("status", "1").stdout

    again = papertrade(cli_env, "trade", "1", "BTC/USDT", "live", "--json")
    assert again.code == 0
    document = json.loads(again.stdout)
    assert document["status"] == "duplicate"
    assert json.loads(here("status", "1", "--json").stdout) == status_before


def test_the_json_tick_names_every_field_with_decimals_as_strings(cli_env, here):
    create(here, "--timeframe", "1d", "--strategy", "tests.support.strategies:AlwaysBuy")
    wait_clear_of_boundary(DAY)
    result = papertrade(cli_env, "trade", "1", "BTC/USDT", "LIVE", "--json")
    document = json.loads(result.stdout)
    assert document["status"] == "executed" and document["signal"] == "BUY"
    assert isinstance(document["candle_ts"], int) and document["candle_ts"] % DAY == 0
    for key in ("price", "quantity", "fee", "cash"):
        assert isinstance(document[key], str)
        Decimal(document[key])
    (trade,) = json.loads(here("trades", "1", "--json").stdout)
    assert {k: trade[k] for k in ("candle_ts", "side", "quantity", "price", "fee")} == {
        "candle_ts": document["candle_ts"],
        "side": "BUY",
        "quantity": document["quantity"],
        "price": document["price"],
        "fee": document["fee"],
    }
    status = json.loads(here("status", "1", "--json").stdout)
    assert status["cash"] == document["cash"]
    assert status["positions"][0]["quantity"] == document["quantity"]


def test_a_dry_run_writes_nothing(cli_env, here, tmp_path):
    create(here, "--timeframe", "1d", "--strategy", "tests.support.strategies:AlwaysBuy")
    db = cli_env["PAPERTRADE_DATABASE_URL"]
    before = ledger_state(db)
    result = papertrade(cli_env, "trade", "1", "BTC/USDT", "dry", "--json")
    assert result.code == 0
    assert json.loads(result.stdout)["status"] == "dry-run"
    assert json.loads(result.stdout)["live_status"] == "executed"
    assert ledger_state(db) == before, db


def test_sixteen_concurrent_runs_on_one_candle_act_exactly_once(cli_env, here):
    create(here, "--timeframe", "1d", "--strategy", "tests.support.strategies:AlwaysBuy")
    wait_clear_of_boundary(DAY, margin_s=60)
    command = [str(VENV_BIN / "papertrade"), "trade", "1", "BTC/USDT", "LIVE", "--json"]
    env = {**_os_environ(), **cli_env}
    processes = [
        subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(16)
    ]
    outputs = [(p.wait(timeout=120), *p.communicate()) for p in processes]
    assert [code for code, _, _ in outputs] == [0] * 16, [err for _, _, err in outputs]
    statuses = sorted(json.loads(out)["status"] for _, out, _ in outputs)
    assert statuses == ["duplicate"] * 15 + ["executed"]
    assert len(json.loads(here("trades", "1", "--json").stdout)) == 1


def test_two_symbols_ticking_at_once_never_overspend(cli_env, here):
    create(here, "--strategy", "tests.support.strategies:AlwaysBuy", "--stake-fraction", "0.6")
    wait_clear_of_boundary(HOUR, margin_s=60)
    env = {**_os_environ(), **cli_env}
    runs = [
        subprocess.Popen(
            [str(VENV_BIN / "papertrade"), "trade", "1", symbol, "LIVE", "--json"],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for symbol in ["BTC/USDT", "ETH/USDT"] * 4
    ]
    results = [json.loads(p.communicate(timeout=120)[0]) for p in runs]
    assert sorted(r["status"] for r in results) == ["duplicate"] * 6 + ["executed"] * 2
    first, second = json.loads(here("trades", "1", "--json").stdout)
    spent = [Decimal(t["notional"]) + Decimal(t["fee"]) for t in (first, second)]
    assert spent[1] <= Decimal("0.6") * (Decimal(10000) - spent[0]), "the second buy saw stale cash"
    status = json.loads(here("status", "1", "--json").stdout)
    assert Decimal(status["cash"]) == Decimal(10000) - sum(spent)
    assert Decimal(status["cash"]) >= 0


@pytest.mark.parametrize(
    ("args", "code", "message"),
    [
        (["trade", "1", "BTC/USDT", "PAPER"], 2, "mode must be DRY or LIVE"),
        (["trade", "1", "BTC", "LIVE"], 2, "malformed symbol"),
        (["trade", "1", "DOGE/USDT", "LIVE"], 2, "does not list"),
        (["trade", "9", "BTC/USDT", "LIVE"], 2, "no portfolio with id 9"),
        (["trade", "1", "BTC/USDT"], 2, "Missing argument"),
    ],
)
def test_bad_trade_input_exits_2_with_one_line(cli_env, here, args, code, message):
    create(here)
    result = papertrade(cli_env, *args)
    assert result.code == code
    assert len(result.error_lines) == 1 and message in result.stderr


def test_a_strategy_error_exits_1(cli_env, here):
    create(here, "--strategy", "tests.support.strategies:Raises")
    result = papertrade(cli_env, "trade", "1", "BTC/USDT", "LIVE")
    assert result.code == 1 and "divided by zero" in result.stderr and len(result.error_lines) == 1


def test_an_unreachable_exchange_exits_75(cli_env, here):
    create(here)
    env = {
        **cli_env,
        "PAPERTRADE_CCXT_CONFIG": json.dumps({"urls": {"api": {"public": "http://127.0.0.1:9/api/v3"}}}),
    }
    result = papertrade(env, "trade", "1", "BTC/USDT", "LIVE")
    assert result.code == 75 and len(result.error_lines) == 1 and "cannot reach binance" in result.stderr


def test_the_cron_line_runs_as_cron_would_run_it(cli_env, here, tmp_path):
    create(here, "--timeframe", "1d")
    log = tmp_path / "logs" / "bot.log"
    line = papertrade(cli_env, "cron", "1", "BTC/USDT", "--log", str(log)).stdout.strip()
    fields = line.split(" ", 5)
    assert fields[:5] == ["1", "0", "*", "*", "*"]
    command = fields[5]
    assert str(VENV_BIN / "papertrade") in command and "trade 1 BTC/USDT LIVE" in command
    assert f">> {shlex.quote(str(log))} 2>&1" in command
    wait_clear_of_boundary(DAY)
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # cron's bare environment
    subprocess.run(["/bin/sh", "-c", command.replace("\\%", "%")], env=environment, check=True, timeout=120)
    assert LINE.match(log.read_text()), log.read_text()


def test_the_cron_line_of_a_module_strategy_says_where_to_import_it_from(cli_env, here, tmp_path):
    create(here, "--timeframe", "1d", "--strategy", "tests.support.strategies:AlwaysBuy")
    log = tmp_path / "bot.log"
    line = papertrade(cli_env, "cron", "1", "BTC/USDT", "--log", str(log)).stdout.strip()
    assert f"PYTHONPATH={shlex.quote(str(REPO))} " in line
    wait_clear_of_boundary(DAY)
    environment = {"PATH": "/usr/bin:/bin", "HOME": str(tmp_path)}  # cron's bare environment, elsewhere
    command = line.split(" ", 5)[5].replace("\\%", "%")
    subprocess.run(["/bin/sh", "-c", command], env=environment, check=True, timeout=120, cwd=tmp_path)
    assert re.match(r"^\S+ \S+ BTC/USDT BUY .*\[executed\]", log.read_text()), log.read_text()


def _os_environ():
    import os

    return dict(os.environ)
