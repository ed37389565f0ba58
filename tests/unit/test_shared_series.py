"""Bots that share a series: each sees the window a cron tick of its own would give it.

A batch run and a replay keep one `TickRunner` for many ticks and reuse the candles it has
read; what one bot's strategy looked at must never decide what another's sees.
"""

import math

import pytest

from papertrade.services.batch import Bot, run_bots
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.tick import Mode, TickRunner, run_tick
from tests.unit.fakes import FakeLedger, FakeMarketData, hourly_bars

HOUR = 3_600_000
#: Two waves, so that both the RSI and the moving averages cross their levels now and then.
BARS = hourly_bars([f"{100 + 10 * math.sin(i / 9) + 4 * math.sin(i / 2.3):.2f}" for i in range(320)])
SERIES = ("binance", "BTC/USDT", "1h")


def two_bots(stored: int) -> FakeLedger:
    """Portfolio 1 trades sma-cross, portfolio 2 rsi, on one series of which `stored` candles
    are in the store already."""
    ledger = FakeLedger()
    for name, strategy in (("trend", "sma-cross"), ("swing", "rsi")):
        create_portfolio(ledger, parse_new_portfolio(name=name, cash="1000", strategy=strategy), now=0)
    with ledger.unit_of_work(write=True) as uow:
        uow.candles.upsert(*SERIES, BARS[:stored])
        uow.commit()
    return ledger


def decided(result) -> tuple:
    return (result.candle_ts, result.signal, result.reason, result.indicators, result.status, result.fill)


def cron_ticks(stored: int, index: int) -> dict[int, tuple]:
    """What two cron `trade` commands decide at the close of candle `index`, one process each."""
    ledger, source = two_bots(stored), FakeMarketData(BARS)
    now = BARS[index].ts + HOUR + 1
    return {pid: decided(run_tick(ledger, lambda _e: source, pid, "BTC/USDT", Mode.LIVE, now)) for pid in (1, 2)}


@pytest.mark.parametrize("order", [(1, 2), (2, 1)])
def test_a_batch_of_two_strategies_on_one_series_decides_as_two_cron_ticks_in_either_order(order):
    ledger, source = two_bots(300), FakeMarketData(BARS)
    bots = [Bot(pid, "BTC/USDT") for pid in order]
    outcomes = run_bots(ledger, lambda _e: source, lambda _e: source, bots, BARS[300].ts + HOUR + 1,
                        markets_ttl_ms=86_400_000)  # fmt: skip
    batch = {o.bot.portfolio_id: decided(o.result) for o in outcomes}
    expected = cron_ticks(300, 300)
    assert batch == expected
    assert not any("warming up" in reason for _, _, reason, *_ in expected.values())


@pytest.mark.parametrize("order", [(1, 2), (2, 1)])
def test_one_runner_ticking_two_strategies_candle_after_candle_decides_as_cron_does(order):
    kept, cron, source = two_bots(295), two_bots(295), FakeMarketData(BARS)
    runner = TickRunner(kept, lambda _exchange: source)  # as a replay or a long batch keeps it
    for index in range(295, 300):
        now = BARS[index].ts + HOUR + 1
        ticked = {pid: decided(runner.tick(pid, "BTC/USDT", Mode.LIVE, now)) for pid in order}
        expected = {pid: decided(run_tick(cron, lambda _e: source, pid, "BTC/USDT", Mode.LIVE, now)) for pid in order}
        assert ticked == expected
