"""Sixteen cron runs at once on a candle whose tick must first liquidate a short on a perpetual
swap on a candle missed while cron was not running (no order rests: the position's liquidation
price alone makes the tick look at the missed candles), and book the funding of every funding
time the short lived through meanwhile (fetched from the local exchange's funding history): one
run acts, fifteen are duplicates, the liquidation and each funding payment are booked once, and
the audit rebuilds the ledger, on SQLite and PostgreSQL."""

from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal

from papertrade.bootstrap import market_data_factory, open_ledger
from papertrade.domain.funding import funding_amount
from papertrade.domain.margin import MarginRules, liquidation_price
from papertrade.services.audit import verify
from papertrade.services.portfolios import create_portfolio, get_portfolio, list_trades, parse_new_portfolio
from papertrade.services.tick import Mode, run_tick
from papertrade.settings import Settings
from tests.support.databases import migrate
from tests.support.fake_binance import load_rows
from tests.support.live import HOUR
from tests.support.synthetic_funding import synthetic_funding

ROWS = load_rows("binance_BTC-USDT_1h.csv")
FIRST, GAP, RATE = 1525, 170, "0.45"  # within GAP the price rises past 2 / 1.45 of the entry
SWAP = "BTC/USDT:USDT"  # the spot candles as a swap's, with the synthetic funding series


def test_sixteen_concurrent_ticks_liquidate_a_short_exactly_once_on_the_missed_candle(database_url, exchange, clock):
    if database_url.startswith("postgresql"):
        migrate(database_url)
    settings = Settings(database_url=database_url, ccxt_config=exchange.ccxt_config(timeout_ms=10_000),
                        exchange_backoff=0)  # fmt: skip
    setup = open_ledger(settings, create=True)
    request = parse_new_portfolio(name="bear", cash="10000", strategy="tests.support.strategies:AlwaysShort",
                                  allow_short=True, margin=(RATE, "0.005"))  # fmt: skip
    create_portfolio(setup, request, now=0)
    clock.advance((FIRST - 1000) * HOUR)
    run_tick(setup, market_data_factory(settings), 1, SWAP, Mode.LIVE, clock())
    short = get_portfolio(setup, 1).book.positions[SWAP]
    level = liquidation_price(short, MarginRules(maintenance_rate=Decimal(RATE)))
    clock.advance(GAP * HOUR)
    now = clock()

    def one_tick(_):
        ledger = open_ledger(settings)  # like a cron process of its own
        try:
            return run_tick(ledger, market_data_factory(settings), 1, SWAP, Mode.LIVE, now)
        finally:
            ledger.dispose()

    with ThreadPoolExecutor(max_workers=16) as pool:
        results = list(pool.map(one_tick, range(16)))
    assert sorted(str(r.status) for r in results) == ["duplicate"] * 15 + ["executed"]
    crossed = next(i for i in range(FIRST + 1, FIRST + GAP + 1) if Decimal(ROWS[i][2]) >= level)
    trades = list_trades(setup, 1)
    assert [(t.kind, t.side, t.candle_ts) for t in trades] == [
        ("signal", "SELL", ROWS[FIRST][0]),
        ("liquidation", "BUY", ROWS[crossed][0]),
        ("signal", "SELL", ROWS[FIRST + GAP][0]),
    ]
    assert trades[1].price == max(Decimal(ROWS[crossed][1]), level)
    with setup.unit_of_work() as uow:
        payments = [(p.ts, p.quantity, p.amount) for p in uow.funding.payments(1)]
    lived = [row for row in synthetic_funding(ROWS) if ROWS[FIRST][0] + HOUR < row[0] <= ROWS[crossed][0]]
    assert len(lived) >= 3 and payments == [
        (ts, short.quantity, funding_amount(short.quantity, Decimal(mark), Decimal(rate))) for ts, rate, mark in lived
    ]
    report = verify(setup, 1)
    assert report.ok, report.problems
    setup.dispose()
