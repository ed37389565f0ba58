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
