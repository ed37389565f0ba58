"""Funding through the real LIVE tick path (replay: candle store, ledger, tick key, journal), on
SQLite and PostgreSQL: the same trades, cash and funding payments as the backtest of the same
swap series, each funding time booked exactly once however often the ticks are run again."""

import json
import tempfile
from decimal import Decimal
from functools import partial
from pathlib import Path

import pytest

from papertrade.adapters import schema
from papertrade.adapters.csv_candles import CandleFile, load_columns
from papertrade.adapters.funding_file import load_funding
from papertrade.reports.statistics import statistics
from papertrade.services.audit import verify
from papertrade.services.backtest import backtest
from papertrade.services.portfolios import create_portfolio, get_portfolio, parse_new_portfolio
from papertrade.services.replay import replay
from papertrade.services.reports import from_ledger
from papertrade.strategies import registry
from tests.support.cli import run_inprocess
from tests.support.paths import DATA
from tests.support.synthetic_funding import FILE

SWAP = "BTC/USDT:USDT"
CANDLES = 250  # a small slice: 83 funding times, several of them with a position open


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


@pytest.fixture
def replayed(ledger):
    """A swap portfolio replayed over the slice with the synthetic funding file (one replay per
    database, shared by the checks below to keep the suite cheap)."""
    path, funding = swap_slice(), load_funding(FILE)
    portfolio_id = new_swap_portfolio(ledger)
    replay(ledger, CandleFile.load(path), portfolio_id, SWAP, funding=funding)
    return path, funding, portfolio_id


def test_a_replayed_swap_books_the_backtests_trades_and_funding_exactly_once(
    ledger, replayed, database_url, monkeypatch, capsys
):
    path, funding, portfolio_id = replayed
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
    assert book.cash == expected.cash and len(payments) > 10 and len(trades) > 2
    assert book.funding_paid == expected.funding_paid != 0
    assert {p.amount > 0 for p in payments} == {True, False}

    retried = CandleFile.load(path)
    again = replay(ledger, retried, portfolio_id, SWAP, start=retried.bars[-60].ts, funding=funding)
    assert again.statuses == {"duplicate": 60}  # the last 60 ticks run again: nothing booked twice
    assert booked(ledger, portfolio_id)[0] == payments
    assert get_portfolio(ledger, portfolio_id).book.cash == expected.cash
    report = verify(ledger, portfolio_id)
    assert report.ok, report.problems
    assert report.funding == len(payments)
    assert statistics(from_ledger(ledger, portfolio_id))["Funding [$]"] == expected.funding_paid
    shown_by_the_commands(portfolio_id, path, book, (payments, trades), database_url, monkeypatch, capsys)
    tampered_funding_is_found(ledger, portfolio_id, payments[0])


def shown_by_the_commands(portfolio_id, path, book, booked_here, database_url, monkeypatch, capsys) -> None:
    """trades, status and report show the funding; backtest reads a funding file, and refuses a
    swap's candle file without one."""
    payments, trades = booked_here
    monkeypatch.setenv("PAPERTRADE_DATABASE_URL", database_url)
    papertrade = partial(run_inprocess, capsys)
    listed = json.loads(papertrade("trades", str(portfolio_id), "--json").stdout)
    funded = [entry for entry in listed if entry["kind"] == "funding"]
    assert [(e["funding_ts"], Decimal(e["amount"])) for e in funded] == [(p.ts, p.amount) for p in payments]
    assert len(listed) == len(payments) + len(trades)
    assert [e["candle_ts"] for e in listed] == sorted(e["candle_ts"] for e in listed)
    assert "funding" in papertrade("trades", str(portfolio_id)).stdout
    status = json.loads(papertrade("status", str(portfolio_id), "--json").stdout)
    assert Decimal(status["funding_paid"]) == book.funding_paid
    assert "funding" in papertrade("status", str(portfolio_id)).stdout
    assert "Funding [$]" in papertrade("report", str(portfolio_id)).stdout

    args = ("backtest", "--strategy", "sma-cross", "--data", str(path), "--symbol", SWAP, "--allow-short",
            "--stake-fraction", "0.5")  # fmt: skip
    refused = papertrade(*args)
    assert refused.code == 2 and refused.error_lines == [
        f"papertrade: error: {SWAP} is a swap: give its funding rates with --funding FILE.csv"
    ]
    tested = json.loads(papertrade(*args, "--funding", str(FILE), "--json").stdout)
    assert Decimal(tested["stats"]["Funding [$]"]) == book.funding_paid


def tampered_funding_is_found(ledger, portfolio_id, first) -> None:
    """The journal is the evidence: a payment edited in the ledger is a problem audit verify names."""
    with ledger.unit_of_work(write=True) as uow:
        table = schema.funding_payments
        uow.connection.execute(
            table.update()
            .where(table.c.portfolio_id == portfolio_id, table.c.funding_ts == first.ts)
            .values(amount=first.amount - Decimal("0.01"))
        )
        uow.commit()
    problems = verify(ledger, portfolio_id).problems
    assert any(f"funding of {SWAP} at {first.ts} amount" in problem for problem in problems), problems
