"""Funding through real ccxt against the local exchange imitation (its USDⓈ-M futures endpoints:
exchangeInfo, klines, fundingRate), on SQLite and PostgreSQL: `data download` of a swap stores
its funding rates, and a tick after cron was away books every funding time it missed, once."""

import json
from decimal import Decimal

import pytest

from papertrade.adapters.exchange import CcxtMarketData
from papertrade.domain.funding import funding_amount
from papertrade.services.portfolios import create_portfolio, get_portfolio, parse_new_portfolio
from papertrade.services.tick import Manual, Mode, run_manual, run_tick
from tests.support.cli import run_inprocess
from tests.support.fake_binance import FakeBinance, dataset_ms_of, load_rows
from tests.support.synthetic_funding import synthetic_funding

SWAP = "BTC/USDT:USDT"
HOUR = 3_600_000


def synthetic(first: int, last: int) -> list[tuple]:
    rows = synthetic_funding(load_rows("binance_BTC-USDT_1h.csv"))
    return [(ts, Decimal(rate), Decimal(mark) if mark else None) for ts, rate, mark in rows if first < ts <= last]


def stored(ledger) -> list[tuple]:
    with ledger.unit_of_work() as uow:
        return [(r.ts, r.rate, r.mark_price) for r in uow.funding.between("binance", SWAP, -1, 2**62)]


def test_the_adapter_pages_the_funding_history_and_loads_only_the_futures_market_list():
    with FakeBinance() as server:
        source = CcxtMarketData("binance", server.ccxt_config(), retries=0)
        source.market(SWAP)
        first, last = dataset_ms_of("2021-01-01T00:00"), dataset_ms_of("2021-02-10T00:00")
        whole = source.funding_rates(SWAP, first + 1, last)
        source.funding_page = 50
        paged = source.funding_rates(SWAP, first + 1, last)
        assert whole == paged and [(r.ts, r.rate, r.mark_price) for r in whole] == synthetic(first, last)
        assert server.count("/fapi/v1/fundingRate") == 1 + 3  # 120 rates: one page of 1000, three of 50
        assert server.count("/fapi/v1/exchangeInfo") == 1 and server.count("/api/v3/exchangeInfo") == 0


def test_data_download_of_a_swap_stores_its_candles_and_funding_rates(ledger, database_url, monkeypatch, capsys):
    with FakeBinance() as server:
        monkeypatch.setenv("PAPERTRADE_DATABASE_URL", database_url)
        monkeypatch.setenv("PAPERTRADE_CCXT_CONFIG", json.dumps(server.ccxt_config()))
        args = ("data", "download", "binance", SWAP, "1h", "--since", "2021-01-01T00:00", "--until", "2021-01-05T23:00")
        result = run_inprocess(capsys, *args)
        assert result.code == 0, result.stderr
        assert "binance BTC/USDT:USDT funding: 15 rates from 2021-01-01 08:00Z to 2021-01-06 00:00Z" in result.stdout
        first, last = dataset_ms_of("2021-01-01T00:00"), dataset_ms_of("2021-01-06T00:00")
        assert stored(ledger) == synthetic(first, last)
        again = run_inprocess(capsys, *args)
        assert again.code == 0 and "fetched 0" in again.stdout.splitlines()[-1]
        assert server.count("/fapi/v1/klines") >= 1 and server.count("/api/v3/klines") == 0
        tested = run_inprocess(capsys, "backtest", "--strategy", "sma-cross", "--exchange", "binance", "--symbol", SWAP,
                               "--timeframe", "1h", "--allow-short", "--stake-fraction", "0.5", "--json")  # fmt: skip
        assert tested.code == 0, tested.stderr
        assert "Funding [$]" in json.loads(tested.stdout)["stats"]


@pytest.fixture
def swap_portfolio(ledger):
    request = parse_new_portfolio(name="swap", cash="10000", strategy="sma-cross", stake_fraction="0.5",
                                  allow_short=True)  # fmt: skip
    return create_portfolio(ledger, request, now=0).id


@pytest.mark.parametrize("strategy_ticked", [True, False], ids=["strategy-ticked-first", "opened-by-hand-first"])
def test_a_tick_after_cron_was_away_books_every_missed_funding_time_once(
    ledger, market_data_for, clock, exchange, swap_portfolio, strategy_ticked
):
    """Also when the trader opened the position by hand before the strategy ever ticked on the
    swap: its funding runs from the candle it was opened on, not from the strategy's first tick."""
    if strategy_ticked:
        run_tick(ledger, market_data_for, swap_portfolio, SWAP, Mode.LIVE, clock())
    opened = run_manual(ledger, market_data_for, swap_portfolio, SWAP, Manual("open"), clock())
    quantity = opened.position
    assert quantity > 0
    opened_at = clock() - clock() % HOUR  # the close of the candle the long was bought at
    clock.advance(20 * HOUR)  # cron away for 19 candles, three funding times among them
    result = run_tick(ledger, market_data_for, swap_portfolio, SWAP, Mode.LIVE, clock())
    expected = synthetic(opened_at, clock() - clock() % HOUR)
    assert len(expected) in (2, 3)
    assert [(p.ts, p.rate, p.mark_price) for p in result.funding] == expected
    assert [p.amount for p in result.funding] == [funding_amount(quantity, m, r) for _, r, m in expected]
    with ledger.unit_of_work() as uow:
        assert [p.ts for p in uow.funding.payments(swap_portfolio)] == [ts for ts, _, _ in expected]
    assert stored(ledger)[-len(expected) :] == expected

    again = run_tick(ledger, market_data_for, swap_portfolio, SWAP, Mode.LIVE, clock())  # cron retried
    assert again.status == "duplicate" and again.funding == ()
    with ledger.unit_of_work() as uow:
        assert len(uow.funding.payments(swap_portfolio)) == len(expected)
    book = get_portfolio(ledger, swap_portfolio).book
    assert book.funding_paid == -sum(p.amount for p in result.funding)
