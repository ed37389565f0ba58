"""Crash consistency: SIGKILL a process replaying LIVE ticks at random moments, again and again.

A worker process replays real hourly candles through the LIVE tick path on a perpetual swap,
with shorts allowed (sma-cross stops and reverses), the synthetic funding series stored and paid
or received by the open position every 8 hours, and a stop-loss, a take-profit and a trailing
stop resting between ticks. It is killed with
SIGKILL either after a random delay or at a random SQL statement of its own (through
SQLAlchemy's event hooks: reads, BEGIN IMMEDIATE, the inserts and updates inside the tick's
transaction, and the moment before COMMIT). After every kill the ledger must pass `audit verify`
and SQLite's integrity check; a new worker then resumes at the last processed candle, which it
must find already done. At the end, the ledger must equal that of an uninterrupted replay: the
same ticks, trades, cash, positions, and even the same journal hash chain.
"""

import os
import random
import signal
import time
from itertools import count

import pytest
import sqlalchemy as sa

from papertrade.adapters import schema as t
from papertrade.adapters.csv_candles import CandleFile
from papertrade.adapters.funding_file import load_funding
from papertrade.bootstrap import open_ledger
from papertrade.services.audit import verify
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.replay import replay
from papertrade.settings import Settings
from tests.support.databases import migrate
from tests.support.paths import DATA
from tests.support.synthetic_funding import FILE as FUNDING_FILE

pytestmark = pytest.mark.slow  # 110 SIGKILLs, an audit after each

FIRST, LAST = 300, 2300  # candles replayed (the file's earlier candles are the warm-up)
KILLS = 110
STRATEGY = ["fast=2", "slow=5"]
EXITS = ("0.01", "0.02", "0.015")  # stop-loss, take-profit, trailing stop: resting orders fill often
SWAP = "BTC/USDT:USDT"  # the spot candles as a swap's, with the synthetic funding series
FUNDING = load_funding(FUNDING_FILE)


@pytest.fixture(scope="module")
def candles():
    return CandleFile.load(DATA / "binance_BTC-USDT_1h.csv")


def new_ledger(url):
    migrate(url)
    ledger = open_ledger(Settings(database_url=url), create=True)
    request = parse_new_portfolio(name="crash", cash="10000", strategy="sma-cross", params=STRATEGY, exits=EXITS,
                                  allow_short=True)  # fmt: skip
    create_portfolio(ledger, request, now=0)
    return ledger


def worker(url, candles, kill_at, kill_log):
    """Runs in the forked child: resume the replay; if `kill_at` = (kind, skip), SIGKILL itself at
    the first statement of that kind after `skip` statements."""
    ledger = open_ledger(Settings(database_url=url))
    if kill_at is not None:
        kind, skip = kill_at
        statements, writing = count(1), {"now": False}

        def note_begin(connection):
            writing["now"] = bool(connection.get_execution_options().get("papertrade_write"))

        def maybe_die(_connection, *args):
            verb = (args[1] if len(args) > 1 and isinstance(args[1], str) else "COMMIT").split()[0].upper()
            where = "write-transaction" if writing["now"] else "read"
            wanted = kind == "any" or (verb == kind and where == "write-transaction")
            if next(statements) > skip and wanted:
                with open(kill_log, "a") as log:
                    log.write(f"{where}:{verb}\n")
                os.kill(os.getpid(), signal.SIGKILL)

        sa.event.listen(ledger.engine, "begin", note_begin)
        sa.event.listen(ledger.engine, "before_cursor_execute", maybe_die)
        sa.event.listen(ledger.engine, "commit", maybe_die)
    with ledger.unit_of_work() as uow:
        latest = uow.ticks.latest(1, "sma-cross", SWAP)
        last = latest.key.candle_ts if latest else None
    start = last if last is not None else candles.bars[FIRST].ts
    replay(ledger, candles, 1, SWAP, start=start, end=candles.bars[LAST].ts, funding=FUNDING)


def run_worker(url, candles, kill_at, kill_log) -> int:
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child never returns
        code = 0
        try:
            worker(url, candles, kill_at, kill_log)
        except BaseException:
            import traceback

            traceback.print_exc()
            code = 3
        os._exit(code)
    return pid


def assert_consistent(url):
    ledger = open_ledger(Settings(database_url=url))
    try:
        report = verify(ledger, 1)
        assert report.ok, report.problems
        if ledger.dialect == "sqlite":
            with ledger.engine.connect() as connection:
                assert connection.exec_driver_sql("PRAGMA integrity_check").scalar() == "ok"
    finally:
        ledger.dispose()


def contents(url) -> dict:
    """What must be identical between a crashed-and-resumed replay and an uninterrupted one."""
    ledger = open_ledger(Settings(database_url=url))
    tick, journal = t.ticks.c, t.journal.c
    trade_columns = [column for column in t.trades.c if column.name not in ("id", "tick_id")]
    funding_columns = [column for column in t.funding_payments.c if column.name not in ("id", "tick_id")]
    queries = {
        "ticks": sa.select(
            tick.candle_ts, tick.signal, tick.status, tick.cash_after, tick.position_after, tick.skipped
        ).order_by(tick.candle_ts),
        "trades": sa.select(*trade_columns).order_by(t.trades.c.candle_ts),
        "funding": sa.select(*funding_columns).order_by(t.funding_payments.c.funding_ts),
        "rates": sa.select(sa.func.count()).select_from(t.funding_rates),
        "journal": sa.select(journal.event, journal.payload, journal.hash).order_by(journal.id),
        "positions": sa.select(t.positions),
        "orders": sa.select(t.orders).order_by(*t.orders.primary_key),
        "cash": sa.select(t.portfolios.c.cash),
        "candles": sa.select(sa.func.count()).select_from(t.candles),
    }
    with ledger.unit_of_work() as uow:
        result = {name: [tuple(row) for row in uow.connection.execute(q)] for name, q in queries.items()}
    ledger.dispose()
    return result


def test_sigkill_at_random_moments_never_loses_or_doubles_a_candle(candles, database_url, tmp_path):
    new_ledger(database_url).dispose()
    kill_log = tmp_path / "kills.log"
    rng = random.Random(20261124)
    for _ in range(KILLS):
        plan = rng.choice(["timer", "timer", "any", "any", "INSERT", "UPDATE", "SELECT", "COMMIT"])
        kill_at = None if plan == "timer" else (plan, rng.randint(0, 60))
        pid = run_worker(database_url, candles, kill_at, kill_log)
        if kill_at is None:
            time.sleep(rng.uniform(0.01, 0.12))
            os.kill(pid, signal.SIGKILL)
        _, status = os.waitpid(pid, 0)
        assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL, "the worker ended on its own"
        assert_consistent(database_url)
    _, status = os.waitpid(run_worker(database_url, candles, None, kill_log), 0)  # the rest, unharmed
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0

    statements = kill_log.read_text().split()
    inside = [s.split(":")[1] for s in statements if s.startswith("write-transaction:")]
    assert len(inside) >= 30, "kills must land inside write transactions"
    assert {"INSERT", "UPDATE", "SELECT", "COMMIT"} <= set(inside)

    reference = str(tmp_path / "uninterrupted.db")
    ledger = new_ledger(reference)
    replay(ledger, candles, 1, SWAP, start=candles.bars[FIRST].ts, end=candles.bars[LAST].ts, funding=FUNDING)
    ledger.dispose()
    crashed, clean = contents(database_url), contents(f"sqlite:///{reference}")
    assert len(clean["ticks"]) == LAST - FIRST + 1 and len(clean["trades"]) >= 20
    kind = [column.name for column in t.trades.c if column.name not in ("id", "tick_id")].index("kind")
    assert {"stop-loss", "take-profit", "trailing-stop"} <= {trade[kind] for trade in clean["trades"]}
    signals = [trade[kind + 1] for trade in clean["trades"] if trade[kind] == "signal"]  # their candles
    assert len(signals) > len(set(signals)), "sma-cross must stop and reverse: two fills on one candle"
    quantity = [c.name for c in t.funding_payments.c if c.name not in ("id", "tick_id")].index("quantity")
    held = {payment[quantity] > 0 for payment in clean["funding"]}
    assert held == {True, False} and len(clean["funding"]) >= 20, "longs and shorts must be funded"
    print(f"{len(statements)} of {KILLS} kills at statements, {len(inside)} inside write transactions")
    assert crashed == clean
