"""Realized PnL net of fees and positions marked to market: the arithmetic every output shares."""

from dataclasses import dataclass
from decimal import Decimal

from papertrade.domain.pnl import equity, mark, net_realized

D = Decimal


@dataclass
class Trade:
    symbol: str
    side: str
    quantity: Decimal
    fee: Decimal
    realized_pnl: Decimal


def test_a_round_trip_that_gained_before_fees_can_lose_after_them():
    trades = [Trade("BTC/USDT", "BUY", D(1), D("5.00"), D(0)), Trade("BTC/USDT", "SELL", D(1), D("4.99"), D("1.14"))]
    net = net_realized(trades)
    assert net.by_trade == [None, D("-8.85")]
    assert net.by_symbol == {"BTC/USDT": D("-8.85")} and net.total == D("-8.85")
    assert net.open_fees == {"BTC/USDT": D(0)}


def test_a_partial_sale_takes_its_share_of_the_entry_fees_and_the_rest_stays_open():
    trades = [
        Trade("ETH/USDT", "BUY", D(4), D("2"), D(0)),
        Trade("ETH/USDT", "SELL", D(1), D("1"), D("10")),
        Trade("ETH/USDT", "SELL", D(3), D("1"), D("-3")),
    ]
    net = net_realized(trades)
    assert net.by_trade == [None, D("8.5"), D("-5.5")]
    assert net.total == D(3)  # 10 - 3 realized, minus all 4 of fees


def test_symbols_are_netted_apart_and_an_open_position_keeps_its_entry_fee():
    trades = [
        Trade("BTC/USDT", "BUY", D(1), D(1), D(0)),
        Trade("ETH/USDT", "BUY", D(2), D(3), D(0)),
        Trade("BTC/USDT", "SELL", D(1), D(1), D(5)),
    ]
    net = net_realized(trades)
    assert net.by_symbol == {"BTC/USDT": D(3)}
    assert net.open_fees["ETH/USDT"] == D(3)


def test_equity_is_cash_plus_every_position_at_its_mark():
    marks = {
        "BTC/USDT": mark("BTC/USDT", D("0.5"), D(10000), D(30000), 1),
        "ETH/USDT": mark("ETH/USDT", D(2), D(10), D(4), 1),
    }
    assert marks["BTC/USDT"].market_value == D(15000) and marks["BTC/USDT"].unrealized_pnl == D(5000)
    assert marks["ETH/USDT"].unrealized_pnl == D(-2)
    assert equity(D("0.38"), marks) == D("15008.38")


@dataclass
class Dated(Trade):
    notional: Decimal = Decimal(0)
    candle_ts: int = 0


def test_a_closing_trade_knows_its_round_trip_entry_value_and_opening_candle():
    from papertrade.domain.pnl import last_closing

    trades = [
        Dated("BTC/USDT", "BUY", D(1), D(1), D(0), D(100), 1),  # the position opens here
        Dated("ETH/USDT", "BUY", D(1), D(1), D(0), D(50), 2),  # another symbol: not part of it
        Dated("BTC/USDT", "BUY", D(1), D(1), D(0), D(110), 3),
        Dated("BTC/USDT", "SELL", D(1), D(1), D(15), D(120), 4),
    ]
    assert last_closing(trades[:3]) is None  # an entry closes nothing
    closing = last_closing(trades)
    assert (closing.entry_value, closing.entry_ts) == (D(105), 1)
    assert closing.net == D(15) - 1 - 1  # its own fee and half the entry fees
    assert closing.profit_pct == D("12.380952380952380952")  # 1300 / 105 to the ledger's places
    short = [
        Dated("BTC/USDT", "SELL", D(2), D(0), D(0), D(200), 7),
        Dated("BTC/USDT", "BUY", D(2), D(0), D(-20), D(220), 9),
    ]
    assert (last_closing(short).entry_value, last_closing(short).net, last_closing(short).entry_ts) == (
        D(200),
        D(-20),
        7,
    )
