"""Tick/backtest parity with resting orders: hourly cron ticks through real ccxt against the local
Binance imitation (serving the real hourly candles) trade exactly as a backtest of the same
candles: the same candle, side, kind, quantity, price and fee for every trade, the same cash."""

import contextlib
from decimal import Decimal

import pytest

from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.portfolio import parse_exits, parse_fill_model
from papertrade.errors import TemporaryError
from papertrade.services.backtest import backtest
from papertrade.services.portfolios import create_portfolio, get_portfolio, list_trades, parse_new_portfolio
from papertrade.services.tick import Mode, run_tick
from papertrade.strategies import registry
from tests.support.fake_binance import load_rows
from tests.support.live import HOUR

ROWS = load_rows("binance_BTC-USDT_1h.csv")
TICKS = 400
EXITS = ("0.015", "0.03", "0.025")  # stop-loss, take-profit, trailing stop
FEE, SLIPPAGE = "0.001", "5"


@pytest.mark.parametrize("strategy", ["rsi", "sma-cross"])
def test_cron_ticks_against_the_exchange_trade_as_the_backtest_does(ledger, market_data_for, clock, strategy, tmp_path):
    first = registry.build(strategy, {}).warmup - 1  # the first candle with the warm-up behind it
    clock.now = ROWS[first][0] + HOUR + 30_000
    request = parse_new_portfolio(name="bot", cash="10000", strategy=strategy, fee_rate=FEE, slippage_bps=SLIPPAGE,
                                  exits=EXITS)  # fmt: skip
    create_portfolio(ledger, request, now=0)
    for _ in range(TICKS):
        with contextlib.suppress(TemporaryError):  # the exchange's real outage of 2020-12-21: cron exits 75
            last = run_tick(ledger, market_data_for, 1, "BTC/USDT", Mode.LIVE, clock()).candle_ts
        clock.advance(HOUR)
    ticked = [(x.candle_ts, x.side, x.kind, x.quantity, x.price, x.fee) for x in list_trades(ledger, 1)]

    with ledger.unit_of_work() as uow:
        market, _ = uow.markets.get("binance", "BTC/USDT")  # the exchange's amount step and minimums
    path = tmp_path / "binance_BTC-USDT_1h.csv"
    header = ("timestamp", "open", "high", "low", "close", "volume")
    lines = [",".join(map(str, row)) for row in (header, *(row for row in ROWS if row[0] <= last))]
    path.write_text("\n".join(lines) + "\n")
    performance = backtest(load_columns(path), registry.build(strategy, {}), parse_fill_model(FEE, SLIPPAGE, "1"),
                           Decimal(10000), "BTC/USDT", "USDT", parse_exits(*EXITS), market)  # fmt: skip
    expected = [(f.candle_ts, f.side, f.kind, f.quantity, f.price, f.fee) for f in performance.fills]
    kinds = {trade[2] for trade in ticked}
    assert len(ticked) >= 4 and "signal" in kinds and kinds & {"stop-loss", "trailing-stop"}, (len(ticked), kinds)
    assert ticked == expected
    assert get_portfolio(ledger, 1).book.cash == performance.cash
