"""backtesting.py's statistics over small performances whose answers are worked out by hand."""

import math
from decimal import Decimal

import pandas as pd
import pytest

from papertrade.reports.model import EquitySeries, FillRow, Performance
from papertrade.reports.statistics import STAT_NAMES, statistics

D = Decimal
DAY = 86_400_000
START = 1_609_459_200_000  # 2021-01-01 00:00 UTC, a Friday


def daily(equity, in_market, fills=(), closes=None):
    times = [START + i * DAY for i in range(len(equity))]
    performance = Performance("USDT", D(str(equity[0])))
    performance.times = times
    performance.equity = EquitySeries.of([D(str(e)) for e in equity])
    performance.in_market = list(in_market)
    performance.fills = list(fills)
    performance.prices = {"BTC/USDT": (times, [float(c) for c in (closes or equity)])}
    return performance


def fill(day, side, quantity, price, fee):
    q, p = D(quantity), D(price)
    return FillRow(START + day * DAY, "BTC/USDT", side, q, p, D(fee), q * p, D(0))


@pytest.fixture
def one_round_trip():
    # BUY 10 at 10 (fee 1) on day 1, SELL 10 at 12 (fee 1.2) on day 3
    return daily(
        [100, 99, 110, 117.8, 117.8],
        [False, True, True, True, False],
        [fill(1, "BUY", 10, 10, 1), fill(3, "SELL", 10, 12, "1.2")],
        closes=[10, 10, 11, 12, 12],
    )


def test_the_names_and_order_are_backtesting_py_s(one_round_trip):
    assert list(statistics(one_round_trip)) == list(STAT_NAMES)
    assert len(STAT_NAMES) == 34


def test_a_round_trip(one_round_trip):
    s = statistics(one_round_trip)
    assert s["Start"] == START  # ms since the epoch, like every time papertrade reports
    assert s["Duration"] == 4 * DAY
    assert s["Equity Final [$]"] == D("117.8") and s["Equity Peak [$]"] == D("117.8")
    assert s["Commissions [$]"] == D("2.2")
    assert s["Return [%]"] == pytest.approx(17.8)
    assert s["Exposure Time [%]"] == pytest.approx(60)
    assert s["Buy & Hold Return [%]"] == pytest.approx(20)
    assert s["Max. Drawdown [%]"] == pytest.approx(-1)
    assert s["Max. Drawdown Duration"] == 2 * DAY
    assert s["# Trades"] == 1 and s["Win Rate [%]"] == 100
    # (12 / 10 - 1) - 2.2 / (10 * 10) = 0.178
    for name in ("Best Trade [%]", "Worst Trade [%]", "Avg. Trade [%]"):
        assert s[name] == pytest.approx(17.8)
    assert s["Expectancy [%]"] == pytest.approx(17.8)
    assert s["Max. Trade Duration"] == 2 * DAY
    assert math.isnan(s["Profit Factor"]) and math.isnan(s["SQN"])  # no losses; one trade


def test_annualized_figures_use_365_days_when_weekends_trade(one_round_trip):
    s = statistics(one_round_trip)
    daily_returns = [99 / 100 - 1, 110 / 99 - 1, 117.8 / 110 - 1, 0.0]
    growth = math.prod(1 + r for r in daily_returns) ** (1 / 4)
    assert s["Return (Ann.) [%]"] == pytest.approx((growth**365 - 1) * 100)
    assert s["CAGR [%]"] == pytest.approx(((117.8 / 100) ** (365.25 / 4) - 1) * 100)
    assert s["Sharpe Ratio"] == pytest.approx(s["Return (Ann.) [%]"] / s["Volatility (Ann.) [%]"])
    assert s["Calmar Ratio"] == pytest.approx((growth**365 - 1) / 0.01)


def test_weekday_only_markets_annualize_over_252_days():
    equity = [100 + i for i in range(30)]
    times = [t for t in pd.bdate_range("2021-01-04", periods=30, tz="UTC")]
    performance = Performance("USD", D(100))
    performance.times = [int(t.timestamp() * 1000) for t in times]
    performance.equity = EquitySeries.of([D(str(e)) for e in equity])
    performance.in_market = [True] * 30
    performance.prices = {"IBM/USD": (performance.times, [float(e) for e in equity])}
    s = statistics(performance)
    returns = pd.Series(equity, dtype=float).pct_change().dropna()
    growth = math.prod(1 + returns) ** (1 / len(returns))
    assert s["Return (Ann.) [%]"] == pytest.approx((growth**252 - 1) * 100)


def test_losing_and_winning_trades():
    fills = [
        fill(0, "BUY", 1, 100, 0), fill(1, "SELL", 1, 110, 0),  # +10 %
        fill(2, "BUY", 1, 100, 0), fill(3, "SELL", 1, 95, 0),  # -5 %
        fill(4, "BUY", 1, 100, 0), fill(5, "SELL", 1, 102, 0),  # +2 %
    ]  # fmt: skip
    s = statistics(daily([100, 110, 110, 105, 105, 107], [True] * 6, fills))
    assert s["# Trades"] == 3
    assert s["Win Rate [%]"] == pytest.approx(200 / 3)
    assert s["Best Trade [%]"] == pytest.approx(10) and s["Worst Trade [%]"] == pytest.approx(-5)
    assert s["Profit Factor"] == pytest.approx(0.12 / 0.05)
    assert s["Expectancy [%]"] == pytest.approx(7 / 3)
    assert s["Avg. Trade [%]"] == pytest.approx(((1.10 * 0.95 * 1.02) ** (1 / 3) - 1) * 100)
    pnl = pd.Series([10.0, -5.0, 2.0])
    assert s["SQN"] == pytest.approx(math.sqrt(3) * pnl.mean() / pnl.std())


def test_an_open_position_is_exposure_but_not_a_trade():
    s = statistics(daily([100, 100, 120], [False, True, True], [fill(1, "BUY", 1, 100, 0)]))
    assert s["# Trades"] == 0 and math.isnan(s["Win Rate [%]"])
    assert s["Exposure Time [%]"] == pytest.approx(200 / 3)
    assert s["Equity Final [$]"] == D(120)


def test_returns_and_drawdowns_count_from_the_initial_cash_not_the_first_candle():
    # Cash 1000 buys on the first candle and pays a fee of 1: the first point is already 999.
    performance = daily([999, 999, 1010], [True, True, True])
    performance.initial_cash = D(1000)
    s = statistics(performance)
    assert s["Return [%]"] == pytest.approx(1.0)
    assert s["Max. Drawdown [%]"] == pytest.approx(-0.1)
    assert s["CAGR [%]"] == pytest.approx(((1010 / 1000) ** (365.25 / 2) - 1) * 100)


def test_a_portfolio_that_only_lost_its_fee_peaks_at_its_initial_cash():
    performance = daily([999, 999], [True, True])
    performance.initial_cash = D(1000)
    s = statistics(performance)
    assert s["Return [%]"] == pytest.approx(-0.1) and s["Equity Peak [$]"] == D(1000)


def test_an_unticked_candle_carries_the_cash_and_its_own_symbols_position_at_its_close():
    from papertrade.domain.bars import Bar
    from papertrade.reports.model import with_unticked_candles

    hour = 3_600_000
    # BTC ticked at 0 and 3 h, ETH at 0 and 1 h; the store holds BTC's 1 h and 2 h candles.
    columns = (
        ["BTC/USDT", "ETH/USDT", "ETH/USDT", "BTC/USDT"], [0, 0, hour, 3 * hour],
        [D("100"), D("10"), D("11"), D("130")], [D("50"), D("40"), D("30"), D("30")],
        [D("0.5"), D("1"), D("2"), D("0.5")], [False] * 4,
    )  # fmt: skip
    bar = lambda ts, close: Bar(ts, close, close, close, close, D(1))  # noqa: E731
    symbols, times, closes, cash, held, warming = with_unticked_candles(
        columns, {"BTC/USDT": [bar(hour, D("110")), bar(2 * hour, D("120"))]}
    )
    assert list(times) == [0, 0, hour, hour, 2 * hour, 3 * hour]
    assert list(symbols) == ["BTC/USDT", "ETH/USDT", "ETH/USDT", "BTC/USDT", "BTC/USDT", "BTC/USDT"]
    assert [closes[i] for i in range(6)] == [D("100"), D("10"), D("11"), D("110"), D("120"), D("130")]
    assert [cash[i] for i in range(6)] == [D("50"), D("40"), D("30"), D("30"), D("30"), D("30")]
    assert [held[i] for i in range(6)] == [D("0.5"), D("1"), D("2"), D("0.5"), D("0.5"), D("0.5")]
    assert list(warming) == [False, False, False, True, True, False]


def test_the_cost_of_execution_splits_fees_by_liquidity_and_measures_slippage_against_each_reference():
    from papertrade.reports.statistics import cost_of_execution

    performance = Performance("USDT", Decimal(1000), Decimal(1000))
    performance.fills = [
        FillRow(0, "BTC/USDT", "BUY", Decimal(2), Decimal(101), Decimal("0.2"), Decimal(202), Decimal(0), "signal",
                reference=Decimal(100)),
        FillRow(1, "BTC/USDT", "SELL", Decimal(2), Decimal(110), Decimal("0.05"), Decimal(220), Decimal(18),
                "take-profit", reference=Decimal(110)),
        FillRow(2, "BTC/USDT", "BUY", Decimal(1), Decimal(90), Decimal("0.1"), Decimal(90), Decimal(0), "liquidation"),
    ]  # fmt: skip
    cost = cost_of_execution(performance)
    assert (cost["Maker Fees [$]"], cost["Taker Fees [$]"]) == (Decimal("0.05"), Decimal("0.3"))
    assert cost["Slippage [$]"] == Decimal(2) and cost["Avg. Slippage [bps]"] == 2 / 420 * 10_000
