"""What the ledger remembers of each tick and trade, and the key that makes a tick happen once."""

from dataclasses import dataclass
from decimal import Decimal


@dataclass(frozen=True, slots=True)
class TickKey:
    """The idempotency key: a candle is acted on once per (portfolio, strategy, symbol)."""

    portfolio_id: int
    strategy: str
    symbol: str
    candle_ts: int


class TickAlreadyClaimed(Exception):
    """Another run claimed the same tick key first (the ledger's unique constraint said no)."""


@dataclass(frozen=True, slots=True)
class TickRecord:
    key: TickKey
    signal: str
    status: str
    reason: str
    indicators: dict[str, float]
    close: Decimal
    cash_after: Decimal
    position_after: Decimal
    skipped: int
    processed_ts: int
    margin_basis_after: Decimal = Decimal(0)  # the book's `margined_basis` after the tick


@dataclass(frozen=True, slots=True)
class TradeRecord:
    id: int
    portfolio_id: int
    tick_id: int
    symbol: str
    side: str
    candle_ts: int
    quantity: Decimal
    price: Decimal
    notional: Decimal
    fee: Decimal
    realized_pnl: Decimal
    cash_after: Decimal
    executed_ts: int
    kind: str = "signal"  # what made the fill: "signal" or a resting order's kind
    floored: Decimal = Decimal(0)  # the loss the cash could not pay (see `domain.ledger`)
    reference_price: Decimal | None = None  # the close decided on, or the resting order's level


#: A symbol is stale when this many candles closed after its last processed one.
STALE_AFTER = 2


def candles_missed(last_candle_ts: int, timeframe, now: int) -> int:
    """How many candles of `timeframe` closed at `now` after the last processed one (never
    below 0): 0 while the bot keeps up, `STALE_AFTER` or more once it has stopped."""
    return max((timeframe.last_closed(now) - last_candle_ts) // timeframe.ms, 0)
