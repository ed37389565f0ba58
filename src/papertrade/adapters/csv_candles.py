"""Candles from a CSV file (`timestamp,open,high,low,close,volume`, integer ms open times, UTC).

Used by replays and backtests, and as a market data source whose clock the caller controls.
"""

import bisect
import csv
import re
from dataclasses import dataclass, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import TYPE_CHECKING

from papertrade.domain.bars import Bar, validate_series
from papertrade.domain.fills import Market
from papertrade.domain.timeframes import SUPPORTED, Timeframe
from papertrade.errors import DataError, InputError

if TYPE_CHECKING:
    import numpy as np

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
        timeframe = timeframe or _infer_timeframe(path, [bar.ts for bar in bars])
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

    #: A file's market says nothing about what the exchange allows: never cache it.
    caches_markets = False

    def __init__(self, candles: CandleFile, symbol: str) -> None:
        self.candles = candles
        self.symbol = symbol
        self._times = candles.times

    def market(self, symbol: str, cached: Market | None = None) -> Market:
        """An unrestricted market, whatever is cached."""
        if symbol != self.symbol:
            raise InputError(f"the data file holds {self.symbol}, not {symbol}")
        return Market.unrestricted(symbol)

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


def _infer_timeframe(path: Path, times) -> Timeframe:
    """The timeframe whose length is the smallest spacing between consecutive open times."""
    import numpy as np

    spacing = int(np.diff(np.asarray(times, dtype=np.int64)).min())
    if spacing <= 0:
        raise InputError(f"{path}: timestamps must be strictly increasing")
    for name in SUPPORTED:
        candidate = Timeframe.parse(name)
        if candidate.ms == spacing:
            return candidate
    raise InputError(f"{path}: candles {spacing} ms apart are not a supported timeframe")


@dataclass(frozen=True)
class CandleColumns:
    """A candle file as columns, for backtests over hundreds of thousands of candles: integer
    open times and float prices to compute with, and each row's exact text for the few values
    that become money (`exact`)."""

    path: Path
    timeframe: Timeframe
    ts: "np.ndarray"
    floats: dict[str, "np.ndarray"]
    lines: list[str]

    def __len__(self) -> int:
        return len(self.ts)

    def between(self, first: int | None, last: int | None) -> "CandleColumns":
        """These columns cut to the candles opening in [first, last] (None: unbounded)."""
        import numpy as np

        if first is None and last is None:
            return self
        low = 0 if first is None else int(np.searchsorted(self.ts, first, "left"))
        high = len(self) if last is None else int(np.searchsorted(self.ts, last, "right"))
        floats = {name: values[low:high] for name, values in self.floats.items()}
        return replace(self, ts=self.ts[low:high], floats=floats, lines=self.lines[low:high])

    def exact(self, index: int, column: str = "close") -> Decimal:
        return Decimal(self.lines[index].split(",")[HEADER.index(column)])

    def frame(self):
        """The DataFrame strategies receive (see `papertrade.strategies.runner.CandleWindow`)."""
        import pandas as pd

        index = pd.DatetimeIndex(self.ts.astype("datetime64[ms]").astype("datetime64[ns]"), tz="UTC", name="time")
        return pd.DataFrame({"ts": self.ts, **self.floats}, index=index)


def load_columns(path: Path | str, timeframe: Timeframe | None = None) -> CandleColumns:
    """Read and validate a candle file into columns (the same rules as `CandleFile.load`)."""
    import numpy as np
    import pandas as pd

    path = Path(path)
    try:
        text = path.read_text()
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read {path}: {getattr(exc, 'strerror', None) or exc}") from None
    lines = text.splitlines()
    if not lines or lines[0].split(",") != HEADER:
        raise InputError(f"{path} must start with the header {','.join(HEADER)}")
    lines = [line for line in lines[1:] if line]
    try:
        # pandas 3's C parser rounds correctly, as Python's float() does: a backtest's floats
        # equal a tick's float(Decimal) bit for bit (tests/unit/test_candle_files.py checks it).
        table = pd.read_csv(path, dtype={"timestamp": np.int64, **dict.fromkeys(HEADER[1:], np.float64)}, engine="c")
    except (ValueError, pd.errors.ParserError) as exc:
        raise InputError(f"{path}: {str(exc).splitlines()[0]}") from None
    ts = table["timestamp"].to_numpy()
    floats = {name: table[name].to_numpy() for name in HEADER[1:]}
    if len(ts) != len(lines):
        raise InputError(f"{path}: some lines could not be read as candles")
    if len(ts) < 2 and timeframe is None:
        raise InputError(f"{path} needs at least two candles to tell its timeframe")
    timeframe = timeframe or _infer_timeframe(path, ts)
    _validate_columns(path, ts, floats, timeframe)
    return CandleColumns(path, timeframe, ts, floats, lines)


def _validate_columns(path: Path, ts, floats, timeframe: Timeframe) -> None:
    """The checks of `validate_series`, over whole columns at once."""
    import numpy as np

    o, h, low, c, v = (floats[name] for name in HEADER[1:])
    checks = [
        (~(np.isfinite(o) & np.isfinite(h) & np.isfinite(low) & np.isfinite(c)) | (o <= 0) | (h <= 0) | (low <= 0)
         | (c <= 0), "has a price that is not a positive number"),
        (~np.isfinite(v) | (v < 0), "has a negative or non-finite volume"),
        ((h < np.maximum(o, c)) | (low > np.minimum(o, c)), "has high/low outside its open and close"),
        (ts % timeframe.ms != 0, f"does not open on the {timeframe} grid"),
        (np.r_[False, np.diff(ts) <= 0], "is out of order or repeats the one before"),
    ]  # fmt: skip
    for bad, problem in checks:
        if bad.any():
            row = int(np.flatnonzero(bad)[0])
            raise InputError(f"{path} line {row + 2}: candle {int(ts[row])} {problem}")
