"""Two hosts, one PostgreSQL ledger: cron on both machines fires for every candle at once.

Two runner processes (fresh interpreters, each with its own database connection and its own
ccxt client, like two hosts) tick the same portfolio on the same candle at the same instant,
for 60 candles of real history. Every candle must be acted on exactly once: one runner reports
executed or neutral, the other duplicate, nothing else; and the ledger must equal that of a
single runner.
"""

import multiprocessing
import random
import time

import pytest

from papertrade.bootstrap import market_data_factory, open_ledger
from papertrade.services.audit import verify
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.tick import Mode, run_tick
from papertrade.settings import Settings
from tests.support.databases import migrate
from tests.support.fake_binance import FakeBinance, load_rows

pytestmark = pytest.mark.serial  # two hosts racing for every candle

HOUR = 3_600_000
CANDLES = [row[0] for row in load_rows("binance_BTC-USDT_1h.csv")[600:660]]


def runner(name, url, ccxt_config, barrier, results):
    """One host: tick every candle when the other host does, give or take a few milliseconds, as
    two machines' cron would: the race decides who wins a candle, not the order in which the
    barrier happens to wake the two processes."""
    settings = Settings(database_url=url, ccxt_config=ccxt_config, exchange_backoff=0)
    ledger, source = open_ledger(settings), market_data_factory(settings)
    jitter = random.Random(name)
    for candle_ts in CANDLES:
        barrier.wait(timeout=60)
        time.sleep(jitter.uniform(0, 0.004))
        try:
            result = run_tick(ledger, source, 1, "BTC/USDT", Mode.LIVE, candle_ts + HOUR + 2_000)
            results.put((name, candle_ts, str(result.status), result.candle_ts))
        except Exception as exc:  # reported, and the test fails on it
            results.put((name, candle_ts, f"error: {type(exc).__name__}: {exc}", None))
    ledger.dispose()


def new_portfolio(url):
    ledger = open_ledger(Settings(database_url=url), create=True)
    request = parse_new_portfolio(name="ha bot", cash="10000", strategy="sma-cross", params=["fast=2", "slow=5"])
    create_portfolio(ledger, request, now=0)
    return ledger


@pytest.fixture
def exchange():
    with FakeBinance() as server:  # real clock, no shift: every 2021 candle has long closed
        yield server


def test_two_hosts_act_on_every_candle_exactly_once(postgres_url, exchange, tmp_path):
    migrate(postgres_url)
    new_portfolio(postgres_url).dispose()
    context = multiprocessing.get_context("spawn")
    barrier, results = context.Barrier(2), context.Queue()
    config = exchange.ccxt_config()
    hosts = [
        context.Process(target=runner, args=(name, postgres_url, config, barrier, results))
        for name in ("host-a", "host-b")
    ]
    for host in hosts:
        host.start()
    outcomes = [results.get(timeout=120) for _ in range(2 * len(CANDLES))]
    for host in hosts:
        host.join(timeout=60)
        assert host.exitcode == 0

    errors = [o for o in outcomes if o[2].startswith("error")]
    assert errors == []
    for candle_ts in CANDLES:
        statuses = sorted(status for _, ts, status, _ in outcomes if ts == candle_ts)
        assert statuses in (["duplicate", "executed"], ["duplicate", "neutral"]), (candle_ts, statuses)
    assert all(decided == ts for _, ts, _, decided in outcomes)
    winners = {name for name, _, status, _ in outcomes if status != "duplicate"}
    assert winners == {"host-a", "host-b"}, "both hosts should win some candles"

    shared = open_ledger(Settings(database_url=postgres_url))
    assert verify(shared, 1).ok
    reference = new_portfolio(str(tmp_path / "single.db"))
    source = market_data_factory(Settings(ccxt_config=config))
    for candle_ts in CANDLES:
        run_tick(reference, source, 1, "BTC/USDT", Mode.LIVE, candle_ts + HOUR + 2_000)
    with shared.unit_of_work() as a, reference.unit_of_work() as b:
        assert [(r.key.candle_ts, r.signal, r.status) for r in a.ticks.list(1)] == [
            (r.key.candle_ts, r.signal, r.status) for r in b.ticks.list(1)
        ]
        trades_a, trades_b = a.trades.list(1), b.trades.list(1)
        assert len(trades_a) >= 5
        assert [(x.candle_ts, x.side, x.quantity, x.price, x.fee) for x in trades_a] == [
            (x.candle_ts, x.side, x.quantity, x.price, x.fee) for x in trades_b
        ]
        assert a.portfolios.get(1).book.cash == b.portfolios.get(1).book.cash
    shared.dispose()
    reference.dispose()
