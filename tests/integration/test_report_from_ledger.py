"""A paper portfolio's report read from its tick journal, on SQLite and PostgreSQL: several
symbols and strategies ticking on one candle, a candle processed late, amounts with many digits."""

from decimal import Decimal as D

import pytest

from papertrade.domain.ticks import TickKey, TickRecord
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.reports import from_ledger

MINUTE = 60_000
#: (strategy, symbol, candle, close, cash after, position after, reason), in the order processed:
#: on candles 1 and 3 the symbols tick in the opposite order of their (strategy, symbol), and
#: candle 2 is processed last, holding what the BTC buy of candle 3 left.
PROCESSED = [
    ("rsi", "ETH/USDT", 1, "10.5", "900.25", "9.5", "RSI 25.00"),  # bought 9.5 ETH
    ("rsi", "BTC/USDT", 1, "100.123456789", "900.25", "0", "warming up: 1 of 2 candles"),
    ("sma-cross", "ETH/USDT", 3, "11", "790.25", "19.5", "cross up"),  # bought 10 ETH
    ("rsi", "BTC/USDT", 3, "101", "689.249999999999999899", "1.000000000000000001", "RSI 20.00"),
    ("rsi", "BTC/USDT", 2, "99", "689.249999999999999899", "1.000000000000000001", ""),
]


def processed(ledger) -> int:
    portfolio_id = create_portfolio(ledger, parse_new_portfolio(name="two", cash="1000", timeframe="1m"), now=0).id
    with ledger.unit_of_work(write=True) as uow:
        for strategy, symbol, candle, close, cash, held, reason in PROCESSED:
            key = TickKey(portfolio_id, strategy, symbol, candle * MINUTE)
            uow.ticks.claim(TickRecord(key, "HOLD", "neutral", reason, {}, D(close), D(cash), D(held), 0, 1))
        uow.commit()
    return portfolio_id


def test_equity_is_the_last_processed_cash_plus_each_symbols_latest_position_at_its_latest_close(ledger):
    performance = from_ledger(ledger, processed(ledger))
    assert performance.times == [MINUTE, 2 * MINUTE, 3 * MINUTE]
    # candle 1: the BTC tick's cash (processed last) and 9.5 ETH at 10.5; candle 2: its cash,
    # 1.000000000000000001 BTC at 99 and the 9.5 ETH still at 10.5; candle 3: the BTC tick's
    # cash, that BTC at 101 and 19.5 ETH at 11
    assert list(performance.equity) == [D("1000"), D("887.999999999999999998"), D("1004.75")]
    assert performance.equity.floats().tolist() == pytest.approx([1000, 888, 1004.75], rel=1e-15)
    assert performance.first_trading_ts == MINUTE
    assert performance.in_market == [True, True, True]


def test_each_symbols_closes_are_the_ones_its_ticks_saw_in_candle_order(ledger):
    performance = from_ledger(ledger, processed(ledger))
    assert performance.prices == {
        "BTC/USDT": ([MINUTE, 2 * MINUTE, 3 * MINUTE], [100.123456789, 99.0, 101.0]),
        "ETH/USDT": ([MINUTE, 3 * MINUTE], [10.5, 11.0]),
    }
