"""Sixteen cron runs at once on a candle whose tick must first fill a resting stop-loss crossed
during a gap: one run acts, fifteen are duplicates, the stop fills once on the candle that
crossed it, and the audit rebuilds the ledger, on SQLite and PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor
from decimal import ROUND_DOWN, Decimal

from papertrade.bootstrap import market_data_factory, open_ledger
from papertrade.services.audit import verify
from papertrade.services.portfolios import create_portfolio, get_portfolio, list_trades, parse_new_portfolio
from papertrade.services.tick import Mode, run_tick
from papertrade.settings import Settings
from tests.support.databases import migrate
from tests.support.fake_binance import load_rows
from tests.support.live import HOUR

ROWS = load_rows("binance_BTC-USDT_1h.csv")
FIRST, GAP = 1000, 24


def test_sixteen_concurrent_ticks_fill_a_resting_stop_exactly_once(database_url, exchange, clock):
    if database_url.startswith("postgresql"):
        migrate(database_url)
    settings = Settings(database_url=database_url, ccxt_config=exchange.ccxt_config(timeout_ms=10_000),
                        exchange_backoff=0)  # fmt: skip
    setup = open_ledger(settings, create=True)
    entry = Decimal(ROWS[FIRST][4])
    lowest = min(Decimal(ROWS[i][3]) for i in range(FIRST + 2, FIRST + GAP + 1))
    distance = ((entry - lowest) / entry * Decimal("0.9")).quantize(Decimal("0.0001"), ROUND_DOWN)
    request = parse_new_portfolio(name="bot", cash="10000", strategy="tests.support.strategies:AlwaysBuy",
                                  exits=(str(distance), None, "0.2"))  # fmt: skip
    create_portfolio(setup, request, now=0)
    run_tick(setup, market_data_factory(settings), 1, "BTC/USDT", Mode.LIVE, clock())
    clock.advance(GAP * HOUR)
    now = clock()

    def one_tick(_):
        ledger = open_ledger(settings)  # like a cron process of its own
        try:
            return run_tick(ledger, market_data_factory(settings), 1, "BTC/USDT", Mode.LIVE, now)
        finally:
            ledger.dispose()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one_tick, range(16)))
    assert sorted(str(r.status) for r in results) == ["duplicate"] * 15 + ["executed"]
    trades = list_trades(setup, 1)
    level = (entry * (1 - distance)).quantize(Decimal("1e-18"), ROUND_DOWN)
    crossed = next(i for i in range(FIRST + 1, FIRST + GAP + 1) if Decimal(ROWS[i][3]) <= level)
    assert [(t.kind, t.side, t.candle_ts) for t in trades] == [
        ("signal", "BUY", ROWS[FIRST][0]),
        ("stop-loss", "SELL", ROWS[crossed][0]),
        ("signal", "BUY", ROWS[FIRST + GAP][0]),
    ]
    assert trades[1].price == min(Decimal(ROWS[crossed][1]), level)
    assert len(get_portfolio(setup, 1).orders) == 2  # the new entry's stop-loss and trailing stop
    report = verify(setup, 1)
    assert report.ok, report.problems
    setup.dispose()
