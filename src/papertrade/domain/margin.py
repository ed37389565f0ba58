"""Margin and liquidation: the one rule, shared by ticks, replays and backtests, that closes a
position whose losses have eaten its margin.

Each position is margined on its own (isolated margin), at the leverage L it was opened at (the
portfolio's `--leverage` when it opened, 1 to MAX_LEVERAGE; see `ledger` for the cash model):
- margin in use = |quantity| x average entry price / L (the ledger's `Position.margin`);
- maintenance margin at a price P = |quantity| x P x MAINTENANCE_RATE;
- the position is liquidated when its margin plus its unrealized PnL at P falls to the
  maintenance margin. Solved for P, the liquidation price is
  - long:  entry x (1 - 1/L) / (1 - MAINTENANCE_RATE) (0 at L = 1: never liquidated),
  - short: entry x (1 + 1/L) / (1 + MAINTENANCE_RATE) (at L = 1 a little under twice the entry),
  rounded against the trader (a long's up, a short's down) to the ledger's places.
- On a candle, a long is liquidated when its low reaches the liquidation price, a short when
  its high does, before any other exit is looked at. It closes at the liquidation price, or at
  the open when the candle opened past it; no slippage; the fill pays the liquidation fee
  (LIQUIDATION_FEE_RATE x its notional) instead of the trading fee.
"""

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_UP, Decimal

from papertrade.domain.bars import Bar
from papertrade.domain.ledger import Fill, Position, Side
from papertrade.domain.money import divide_to_ledger, exact, round_to_ledger, round_up_to_ledger

#: Maintenance margin as a fraction of the position's notional at the mark (Binance's lowest
#: BTCUSDT tier is a fraction of a percent; its brackets are a private endpoint, so this is a
#: documented default).
MAINTENANCE_RATE = Decimal("0.005")
#: What a liquidation costs, as a fraction of its notional, paid instead of the trading fee.
LIQUIDATION_FEE_RATE = Decimal("0.005")
#: The highest leverage a portfolio may use (Binance's highest on BTCUSDT perpetuals).
MAX_LEVERAGE = Decimal(125)


@dataclass(frozen=True, slots=True)
class MarginRules:
    """A portfolio's margin settings."""

    leverage: Decimal = Decimal(1)  # for new entries: a position keeps the one it opened at
    maintenance_rate: Decimal = MAINTENANCE_RATE
    liquidation_fee_rate: Decimal = LIQUIDATION_FEE_RATE


SPOT = MarginRules()


def margin_in_use(position: Position, rules: MarginRules = SPOT) -> Decimal:
    """|quantity| x average entry price / the position's leverage: what it has put up."""
    return position.margin


def liquidation_price(position: Position, rules: MarginRules = SPOT) -> Decimal | None:
    """The price at which the position is liquidated (None: flat, or never, as a long at
    leverage 1)."""
    if not position.is_open:
        return None
    entry, lever, rate = position.avg_cost, position.leverage, rules.maintenance_rate
    if position.is_long and lever <= 1:
        return None
    with exact():  # entry x (L -/+ 1) / (L x (1 -/+ rate)), exact until the one division
        numerator = entry * (lever - 1) if position.is_long else entry * (lever + 1)
        denominator = lever * (1 - rate) if position.is_long else lever * (1 + rate)
    level = divide_to_ledger(numerator, denominator, ROUND_UP if position.is_long else ROUND_DOWN)
    return level if level > 0 else None


def liquidation_fill(position: Position, bar: Bar, rules: MarginRules = SPOT) -> Fill | None:
    """The fill that liquidates `position` on `bar`, or None when the candle does not reach its
    liquidation price (see the module docstring)."""
    level = liquidation_price(position, rules)
    if level is None:
        return None
    if position.is_long and bar.low <= level:
        return _closing(position, min(bar.open, level), rules)
    if position.is_short and bar.high >= level:
        return _closing(position, max(bar.open, level), rules)
    return None


def _closing(position: Position, price: Decimal, rules: MarginRules) -> Fill:
    side = Side.SELL if position.is_long else Side.BUY
    quantity = position.quantity.copy_abs()
    with exact():
        raw = quantity * price
    notional = round_to_ledger(raw, ROUND_DOWN if side is Side.SELL else ROUND_UP)
    with exact():
        fee = round_up_to_ledger(notional * rules.liquidation_fee_rate)
    return Fill(position.symbol, side, quantity, price, fee, notional)
