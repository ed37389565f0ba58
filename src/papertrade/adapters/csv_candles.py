"""Candles from a CSV file (`timestamp,open,high,low,close,volume`, integer ms open times, UTC).

Used by replays and backtests, and as a market data source whose clock the caller controls.
"""

import bisect
import csv
import re
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from itertools import pairwise
from pathlib import Path

from papertrade.domain.bars import Bar, validate_series
from papertrade.domain.fills import Market
from papertrade.domain.timeframes import SUPPORTED, Timeframe
from papertrade.errors import DataError, InputError

HEADER = ["timestamp", "open", "high", "low", "close", "volume"]


@dataclass(frozen=True)
class CandleFile:
    """The validated candles of one file, oldest first."""

    path: Path
    bars: tuple[Bar, ...]
    timeframe: Timeframe

    @classmethod
    def load(cls, path: Path | str, timeframe: Timeframe | None = None) -> "CandleFile":
        """Read and validate a candle file; `timeframe` defaults to its smallest candle spacing."""
        path = Path(path)
        bars = tuple(_read(path))
        if len(bars) < 2 and timeframe is None:
            raise InputError(f"{path} needs at least two candles to tell its timeframe")
        timeframe = timeframe or _infer_timeframe(path, bars)
        try:
            validate_series(bars, timeframe)
        except DataError as exc:
            raise InputError(f"{path}: {exc}") from None
        return cls(path, bars, timeframe)

    @property
    def times(self) -> list[int]:
        return [bar.ts for bar in self.bars]

    def between(self, start: int, end: int) -> tuple[Bar, ...]:
        """Candles whose open time is in [start, end]."""
        times = self.times
        return self.bars[bisect.bisect_left(times, start) : bisect.bisect_right(times, end)]


class CsvMarketData:
    """A market data source over a candle file, answering as an exchange would at a given `now`.

    The market has no minimum order and an amount step of 1e-8 (`Market.unrestricted`).
    """

    def __init__(self, candles: CandleFile, symbol: str) -> None:
        self.candles = candles
        self.symbol = symbol
        self._times = candles.times

    def market(self, symbol: str, cached=None) -> tuple[Market, None]:
        """An unrestricted market; a file's market is never worth caching."""
        if symbol != self.symbol:
            raise InputError(f"the data file holds {self.symbol}, not {symbol}")
        return Market.unrestricted(symbol), None

    def closed_bars(self, symbol: str, timeframe: Timeframe, since: int, now: int) -> list[Bar]:
        if timeframe != self.candles.timeframe:
            raise InputError(f"{self.candles.path} holds {self.candles.timeframe} candles, not {timeframe}")
        start = bisect.bisect_left(self._times, since)
        stop = bisect.bisect_right(self._times, now - timeframe.ms)
        return list(self.candles.bars[start:stop])


def symbol_from_filename(path: Path) -> str:
    """`BTC/USDT` from a name like `binance_BTC-USDT_1h.csv`; `ASSET/USD` when it does not say."""
    match = re.search(r"(?:^|_)([A-Z0-9]{1,20})-([A-Z0-9]{1,20})(?:_|$)", Path(path).stem)
    return f"{match.group(1)}/{match.group(2)}" if match else "ASSET/USD"


def _read(path: Path):
    try:
        handle = path.open(newline="")
    except OSError as exc:
        raise InputError(f"cannot read {path}: {exc.strerror}") from None
    with handle:
        reader = csv.reader(handle)
        header = next(reader, None)
        if header != HEADER:
            raise InputError(f"{path} must start with the header {','.join(HEADER)}")
        for number, row in enumerate(reader, start=2):
            yield _bar(path, number, row)


def _bar(path: Path, number: int, row: list[str]) -> Bar:
    if len(row) != 6:
        raise InputError(f"{path} line {number}: expected 6 fields, found {len(row)}")
    try:
        ts = int(row[0])
        values = [Decimal(field) for field in row[1:]]
    except (ValueError, InvalidOperation):
        raise InputError(f"{path} line {number}: not a number in {','.join(row)[:80]}") from None
    return Bar(ts, *values)


def _infer_timeframe(path: Path, bars: tuple[Bar, ...]) -> Timeframe:
    spacing = min(b.ts - a.ts for a, b in pairwise(bars))
    if spacing <= 0:
        raise InputError(f"{path}: timestamps must be strictly increasing")
    for name in SUPPORTED:
        candidate = Timeframe.parse(name)
        if candidate.ms == spacing:
            return candidate
    raise InputError(f"{path}: candles {spacing} ms apart are not a supported timeframe")
