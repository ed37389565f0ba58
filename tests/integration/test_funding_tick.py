"""Funding through the real LIVE tick path (replay: candle store, ledger, tick key, journal), on
SQLite and PostgreSQL: the same trades, cash and funding payments as the backtest of the same
swap series, each funding time booked exactly once however often the ticks are run again."""

import tempfile
from decimal import Decimal
from pathlib import Path

from papertrade.adapters.csv_candles import CandleFile, load_columns
from papertrade.adapters.funding_file import load_funding
from papertrade.services.audit import verify
from papertrade.services.backtest import backtest
from papertrade.services.portfolios import create_portfolio, get_portfolio, parse_new_portfolio
from papertrade.services.replay import replay
from papertrade.strategies import registry
from tests.support.paths import DATA
from tests.support.synthetic_funding import FILE

SWAP = "BTC/USDT:USDT"
CANDLES = 400  # a small slice: 133 funding times, 46 of them with a position open


def swap_slice() -> Path:
    lines = (DATA / "binance_BTC-USDT_1h.csv").read_text().splitlines(keepends=True)[: CANDLES + 1]
    copy = Path(tempfile.mkdtemp(prefix="funding-")) / "binance_BTC-USDT_1h.csv"
    copy.write_text("".join(lines))
    return copy


def new_swap_portfolio(ledger, name="swap"):
    request = parse_new_portfolio(name=name, cash="10000", strategy="sma-cross", stake_fraction="0.5",
                                  fee_rate="0.001", allow_short=True)  # fmt: skip
    return create_portfolio(ledger, request, now=0).id


def booked(ledger, portfolio_id):
    with ledger.unit_of_work() as uow:
        return uow.funding.payments(portfolio_id), uow.trades.list(portfolio_id)


def test_a_replayed_swap_books_the_backtests_trades_and_funding_exactly_once(ledger):
    path, funding = swap_slice(), load_funding(FILE)
    portfolio_id = new_swap_portfolio(ledger)
    replay(ledger, CandleFile.load(path), portfolio_id, SWAP, funding=funding)
    payments, trades = booked(ledger, portfolio_id)

    fills = get_portfolio(ledger, portfolio_id).config.fills
    expected = backtest(load_columns(path), registry.build("sma-cross", {}), fills, Decimal(10000), SWAP, "USDT",
                        allow_short=True, funding=funding)  # fmt: skip
    assert [(t.candle_ts, str(t.side), t.quantity, t.price, t.fee) for t in trades] == [
        (f.candle_ts, f.side, f.quantity, f.price, f.fee) for f in expected.fills
    ]
    assert [(p.ts, p.candle_ts, p.quantity, p.mark_price, p.amount) for p in payments] == [
        (p.ts, p.candle_ts, p.quantity, p.mark_price, p.amount) for p in expected.funding
    ]
    book = get_portfolio(ledger, portfolio_id).book
    assert book.cash == expected.cash and len(payments) > 30
    assert book.funding_paid == expected.funding_paid != 0
    assert {p.amount > 0 for p in payments} == {True, False}

    again = replay(ledger, CandleFile.load(path), portfolio_id, SWAP, funding=funding)  # every tick retried
    assert again.statuses == {"duplicate": CANDLES}
    assert booked(ledger, portfolio_id)[0] == payments
    assert get_portfolio(ledger, portfolio_id).book.cash == expected.cash
    report = verify(ledger, portfolio_id)
    assert report.ok, report.problems
