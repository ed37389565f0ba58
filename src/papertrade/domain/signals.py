"""What a strategy answers, and the read-only view of a position it decides with."""

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum


class Signal(StrEnum):
    BUY = "BUY"
    SELL = "SELL"
    HOLD = "HOLD"


@dataclass(frozen=True, slots=True)
class Decision:
    """A strategy's answer: the signal, why, and the indicator values it looked at."""

    signal: Signal
    reason: str = ""
    indicators: Mapping[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class PositionView:
    """The strategy's read-only view of its position in the symbol it trades."""

    symbol: str
    quantity: Decimal
    avg_cost: Decimal

    @property
    def is_open(self) -> bool:
        return self.quantity > 0
