"""Candle timeframes: the fixed-length ones whose candles open on a grid counted from the epoch."""

from dataclasses import dataclass
from datetime import UTC, datetime

from papertrade.errors import InputError

_UNIT_MS = {"m": 60_000, "h": 3_600_000, "d": 86_400_000}
#: The timeframes papertrade trades on (Binance's fixed-length intervals).
SUPPORTED = ("1m", "3m", "5m", "15m", "30m", "1h", "2h", "4h", "6h", "8h", "12h", "1d")


@dataclass(frozen=True, slots=True)
class Timeframe:
    """A candle length such as `1h`; candles open at multiples of `ms` since the epoch."""

    name: str
    ms: int

    @classmethod
    def parse(cls, text: str) -> "Timeframe":
        if text not in SUPPORTED:
            raise InputError(f"unsupported timeframe {text!r}: use one of {', '.join(SUPPORTED)}")
        return cls(text, int(text[:-1]) * _UNIT_MS[text[-1]])

    def floor(self, ts: int) -> int:
        """Open time of the candle that contains `ts`."""
        return ts - ts % self.ms

    def last_closed(self, now: int) -> int:
        """Open time of the most recent candle that has closed at `now`."""
        return self.floor(now) - self.ms

    def on_grid(self, ts: int) -> bool:
        return ts % self.ms == 0

    def __str__(self) -> str:
        return self.name


def timestamp(ms: int) -> str:
    """A candle time for people and logs: `2021-04-25 18:00Z` (UTC)."""
    return datetime.fromtimestamp(ms / 1000, UTC).strftime("%Y-%m-%d %H:%MZ")
