"""A slow plug-in strategy holds no lock: it runs before the tick's write transaction opens."""

import json
import os
import subprocess
import time

import pytest

from tests.support.cli import run_command
from tests.support.live import HOUR, wait_clear_of_boundary
from tests.support.paths import VENV_BIN

pytestmark = pytest.mark.serial  # a strategy outlasting the busy timeout, ticks racing for one lock

BUSY_TIMEOUT_S = 1


def test_a_strategy_slower_than_the_busy_timeout_blocks_no_other_portfolio(cli_env, tmp_path):
    env = {**cli_env, "PAPERTRADE_DB_BUSY_TIMEOUT": str(BUSY_TIMEOUT_S)}
    marker, release = tmp_path / "deciding", tmp_path / "release"
    slow = ["--strategy", "tests.support.strategies:Sleepy", "--param", f"marker={marker}"]
    slow += ["--param", f"release={release}"]
    assert run_command("create-portfolio", "slow", "1000", *slow, env=env).code == 0
    assert run_command("create-portfolio", "quick", "1000", env=env).code == 0
    wait_clear_of_boundary(HOUR, margin_s=60)
    sleeper = subprocess.Popen(
        [str(VENV_BIN / "papertrade"), "trade", "1", "BTC/USDT", "LIVE", "--json"],
        env={**os.environ, **env}, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    while not marker.exists():
        assert sleeper.poll() is None, sleeper.communicate()
        time.sleep(0.05)
    deciding_since = time.monotonic()
    quick = run_command("trade", "2", "BTC/USDT", "LIVE", "--json", env=env)  # while the slow one decides
    time.sleep(max(0.0, BUSY_TIMEOUT_S + 0.5 - (time.monotonic() - deciding_since)))
    assert sleeper.poll() is None, "the slow strategy must still be deciding"
    release.touch()
    out, err = sleeper.communicate(timeout=120)
    assert quick.code == 0, quick.stderr
    assert sleeper.returncode == 0, err
    assert json.loads(out)["status"] == "executed"
    assert json.loads(quick.stdout)["status"] in ("executed", "neutral")


def test_sixteen_concurrent_slow_ticks_of_one_candle_act_exactly_once(database_url, exchange, clock):
    """Sixteen ticks of one candle at once, each with its own ledger connection and exchange
    client, each strategy deciding for longer than the busy timeout: one acts, fifteen are
    duplicates, and the ledger holds one trade."""
    from concurrent.futures import ThreadPoolExecutor

    from papertrade.bootstrap import market_data_factory, open_ledger
    from papertrade.services.portfolios import create_portfolio, list_trades, parse_new_portfolio
    from papertrade.services.tick import Mode, run_tick
    from papertrade.settings import Settings
    from tests.support.databases import migrate

    if database_url.startswith("postgresql"):
        migrate(database_url)
    settings = Settings(database_url=database_url, db_busy_timeout=BUSY_TIMEOUT_S,
                        ccxt_config=exchange.ccxt_config(timeout_ms=10_000), exchange_backoff=0)  # fmt: skip
    setup = open_ledger(settings, create=True)
    slow = parse_new_portfolio(name="slow", cash="1000", strategy="tests.support.strategies:Sleepy",
                               params=[f"seconds={BUSY_TIMEOUT_S + 0.5}"])  # fmt: skip
    create_portfolio(setup, slow, now=0)
    now = clock()

    def one_tick(_):
        ledger = open_ledger(settings)  # like a cron process of its own
        try:
            return run_tick(ledger, market_data_factory(settings), 1, "BTC/USDT", Mode.LIVE, now).status
        finally:
            ledger.dispose()

    with ThreadPoolExecutor(max_workers=16) as pool:
        statuses = sorted(str(status) for status in pool.map(one_tick, range(16)))
    assert statuses == ["duplicate"] * 15 + ["executed"]
    assert len(list_trades(setup, 1)) == 1
    setup.dispose()
