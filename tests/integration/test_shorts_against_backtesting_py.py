"""Stop and reverse against an independent engine: `backtest --allow-short` of `sma-cross` and
backtesting.py 0.6.6 (`exclusive_orders=True`, `trade_on_close=True`, the same commission and the
same fraction of the equity per entry, fractional units of 1e-8 BTC) make the same round trips,
long and short, on a shared file: entry and exit candle, side, prices, size and profit. The one
difference is at the end: an order decided on the last candle fills in papertrade (at that
candle's close) but never in backtesting.py, which fills on the next bar's processing.

backtesting.py computes its own moving averages with pandas from the file's closes."""

from decimal import Decimal
from itertools import pairwise

import pytest

from papertrade.adapters.csv_candles import load_columns
from papertrade.domain.fills import FillModel
from papertrade.services.backtest import backtest
from papertrade.strategies import registry
from tests.support.paths import DATA

FILE = DATA / "binance_BTC-USDT_1h.csv"
FAST, SLOW, FEE, STAKE = 10, 30, 0.001, 0.5


def theirs() -> list[tuple]:
    import pandas as pd
    from backtesting import Strategy
    from backtesting.lib import FractionalBacktest

    frame = pd.read_csv(FILE)
    frame.index = pd.to_datetime(frame.pop("timestamp"), unit="ms", utc=True)
    frame.columns = ["Open", "High", "Low", "Close", "Volume"]
    fast, slow = (frame.Close.rolling(n).mean().to_numpy() for n in (FAST, SLOW))

    class StopAndReverse(Strategy):
        def init(self):
            self.fast, self.slow = self.I(lambda: fast), self.I(lambda: slow)

        def next(self):
            if len(self.data) < SLOW + 1:
                return
            before, now = self.fast[-2] - self.slow[-2], self.fast[-1] - self.slow[-1]
            if before <= 0 < now:
                self.buy(size=STAKE)
            elif before >= 0 > now:
                self.sell(size=STAKE)

    stats = FractionalBacktest(frame, StopAndReverse, cash=10_000, commission=FEE, trade_on_close=True,
                               exclusive_orders=True).run()  # fmt: skip
    trades = stats._trades
    return [
        (int(row.EntryTime.timestamp() * 1000), int(row.ExitTime.timestamp() * 1000),
         "long" if row.Size > 0 else "short", row.EntryPrice, row.ExitPrice, abs(row.Size), row.PnL)
        for row in trades.itertuples()
    ]  # fmt: skip


def ours() -> list[tuple]:
    strategy = registry.build("sma-cross", {"fast": FAST, "slow": SLOW})
    fills = FillModel(Decimal(str(FEE)), Decimal(0), Decimal(str(STAKE)))
    performance = backtest(load_columns(FILE), strategy, fills, Decimal(10_000), "BTC/USDT", allow_short=True)
    return [
        (t.entry_ts, t.exit_ts, t.side, t.entry_price, t.exit_price, t.size, t.pnl) for t in performance.round_trips()
    ]


def test_sma_cross_stop_and_reverse_makes_backtesting_py_s_round_trips():
    expected, made = theirs(), ours()
    assert len(made) >= 20 and {trip[2] for trip in made} == {"long", "short"}
    if len(made) == len(expected) + 1:  # a reversal on the last candle: backtesting.py has no bar to fill it on
        assert made[-1][1] == int(load_columns(FILE).ts[-1])
        made = made[:-1]
    assert len(made) == len(expected)
    for mine, their in zip(made, expected, strict=True):
        assert mine[:3] == their[:3]
        assert float(mine[3]) == pytest.approx(their[3], rel=1e-12) and float(mine[4]) == pytest.approx(
            their[4], rel=1e-12
        )
        assert float(mine[5]) == pytest.approx(their[5], abs=2e-8)  # whole satoshis, floored alike
        assert float(mine[6]) == pytest.approx(their[6], rel=1e-6, abs=1e-6)
    reversals = [(a, b) for a, b in pairwise(made) if a[1] == b[0]]
    assert len(reversals) == len(made) - 1, "every exit but the last is also the next entry"
