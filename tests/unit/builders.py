"""Small domain values the unit tests build again and again: an hourly bar, a fill, the BTC/USDT
market they trade."""

from decimal import Decimal

from papertrade.domain.bars import Bar
from papertrade.domain.fills import Market
from papertrade.domain.ledger import Fill, Side

HOUR = 3_600_000
BTC = Market("BTC/USDT", "BTC", "USDT", amount_step=Decimal("0.0001"))


def bar(i: int, o, h, low, c) -> Bar:
    """The `i`-th hourly candle (volume 1); prices as anything `str` makes a decimal of."""
    return Bar(i * HOUR, Decimal(str(o)), Decimal(str(h)), Decimal(str(low)), Decimal(str(c)), Decimal(1))


def fill(side: str, quantity, at, fee="0") -> Fill:
    """A BTC/USDT fill of `quantity` at `at`, its notional their exact product."""
    return Fill("BTC/USDT", Side(side), Decimal(quantity), Decimal(at), Decimal(fee), Decimal(quantity) * Decimal(at))
