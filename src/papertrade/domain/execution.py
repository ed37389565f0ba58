"""From a strategy's decision to a fill: the one rule set shared by live ticks, replays and
backtests, so that all three make identical trades from identical decisions."""

from decimal import Decimal

from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Book, Fill
from papertrade.domain.signals import Decision, Signal


def warming_up(have: int, warmup: int) -> Decision:
    return Decision(Signal.HOLD, f"warming up: {have} of {warmup} closed candles")


def execute_decision(
    decision: Decision, book: Book, market: Market, fills: FillModel, close: Decimal
) -> tuple[Decision, Fill | None]:
    """The fill a decision leads to on a candle closing at `close`, or HOLD with the reason.

    A BUY while holding, a SELL while flat and an order below the market's minimum become HOLD.
    The book is not changed: the caller applies the fill.
    """
    position = book.position(market.symbol)
    if decision.signal is Signal.BUY:
        if position.is_open:
            return _held(decision, "already holding"), None
        fill = fills.buy(market, book.cash, close)
        return (decision, fill) if fill else (_held(decision, "insufficient cash"), None)
    if decision.signal is Signal.SELL:
        if not position.is_open:
            return _held(decision, "nothing to sell"), None
        fill = fills.sell(market, position, close)
        return (decision, fill) if fill else (_held(decision, "position below the market minimum"), None)
    return decision, None


def _held(decision: Decision, why: str) -> Decision:
    said = f"{decision.signal}: {decision.reason}" if decision.reason else str(decision.signal)
    return Decision(Signal.HOLD, f"{why} ({said})", decision.indicators)
