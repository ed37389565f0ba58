"""Sixteen `papertrade open` and then sixteen `papertrade close` at once on one candle, each a
process of its own against the real exchange imitation: one of each executes, fifteen are
duplicates, a retry later on the same candle is a duplicate too, and the audit rebuilds the
ledger from its journal, on SQLite and PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor

from papertrade.bootstrap import market_data_factory, open_ledger
from papertrade.services.audit import verify
from papertrade.services.portfolios import create_portfolio, list_trades, parse_new_portfolio
from papertrade.services.tick import Manual, Mode, run_manual, run_tick
from papertrade.settings import Settings
from tests.support.databases import migrate


def test_sixteen_concurrent_opens_and_closes_each_trade_exactly_once(database_url, exchange, clock):
    if database_url.startswith("postgresql"):
        migrate(database_url)
    settings = Settings(database_url=database_url, ccxt_config=exchange.ccxt_config(timeout_ms=10_000),
                        exchange_backoff=0)  # fmt: skip
    setup = open_ledger(settings, create=True)
    request = parse_new_portfolio(name="bot", cash="10000", strategy="tests.support.strategies:Recorder",
                                  exits=("0.5", None, None))  # fmt: skip
    create_portfolio(setup, request, now=0)
    run_tick(setup, market_data_factory(settings), 1, "BTC/USDT", Mode.LIVE, clock())  # cron, holding
    now = clock()

    def forced(action):
        def one(_):
            ledger = open_ledger(settings)  # like a `papertrade open` process of its own
            try:
                return run_manual(ledger, market_data_factory(settings), 1, "BTC/USDT", Manual(action), now)
            finally:
                ledger.dispose()

        with ThreadPoolExecutor(max_workers=16) as pool:
            return sorted(str(r.status) for r in pool.map(one, range(16)))

    assert forced("open") == ["duplicate"] * 15 + ["executed"]
    assert forced("close") == ["duplicate"] * 15 + ["executed"]
    retried = run_manual(setup, market_data_factory(settings), 1, "BTC/USDT", Manual("open"), now + 60_000)
    assert str(retried.status) == "duplicate"
    trades = list_trades(setup, 1)
    assert [(t.kind, t.side) for t in trades] == [("manual", "BUY"), ("manual", "SELL")]
    assert trades[0].candle_ts == trades[1].candle_ts == retried.candle_ts
    report = verify(setup, 1)
    assert report.ok, report.problems
    setup.dispose()
