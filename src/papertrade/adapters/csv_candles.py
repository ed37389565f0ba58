"""Candle files as replays and backtests use them: exact bars (`CandleFile`), float columns
(`CandleColumns`), and a market data source whose clock the caller controls (`CsvMarketData`).

Files are read by `papertrade.adapters.candle_reader`; both forms are checked by the same table
of rules (`papertrade.domain.bars.RULES`), so a bad file gets the same message from either.
"""

import bisect
import re
from dataclasses import dataclass, field, replace
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from papertrade.adapters.candle_reader import HEADER, parse_bars, parse_columns, read_rows
from papertrade.domain.bars import Bar, CandleError, first_violation, validate_series
from papertrade.domain.fills import Market
from papertrade.domain.timeframes import SUPPORTED, Timeframe
from papertrade.errors import InputError

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True)
class CandleFile:
    """The validated candles of one file, oldest first."""

    path: Path
    bars: tuple[Bar, ...]
    timeframe: Timeframe

    @classmethod
    def load(cls, path: Path | str, timeframe: Timeframe | None = None) -> "CandleFile":
        """Read and validate a candle file; `timeframe` defaults to its smallest candle spacing."""
        rows = read_rows(path)
        bars = parse_bars(rows)
        timeframe = timeframe or infer_timeframe(rows.path, [bar.ts for bar in bars])
        try:
            validate_series(bars, timeframe)
        except CandleError as exc:
            raise InputError(f"{rows.where(exc.index)}: {exc}") from None
        return cls(rows.path, tuple(bars), timeframe)

    @property
    def times(self) -> list[int]:
        return [bar.ts for bar in self.bars]

    def between(self, start: int, end: int) -> tuple[Bar, ...]:
        """Candles whose open time is in [start, end]."""
        times = self.times
        return self.bars[bisect.bisect_left(times, start) : bisect.bisect_right(times, end)]


class CsvMarketData:
    """A market data source over a candle file, answering as an exchange would at a given `now`.

    The market is `market` (a replay's `--amount-step` and `--min-notional`), by default one with
    no minimum order and an amount step of 1e-8 (`Market.unrestricted`), whatever is cached.
    """

    #: A file's market says nothing about what the exchange allows: never cache it.
    caches_markets = False

    def __init__(self, candles: CandleFile, symbol: str, market: Market | None = None, funding=None) -> None:
        self.candles = candles
        self.symbol = symbol
        self._market = market or Market.unrestricted(symbol)
        self._times = candles.times
        self._funding = funding  # a replay's `--funding` rates (a FundingSchedule), or None

    def funding_rates(self, symbol: str, since: int, until: int) -> list:
        """The `--funding` file's rates from `since` to `until` (inclusive); none without one."""
        if self._funding is None:
            return []
        return list(self._funding.due(since - 1, until))

    def market(self, symbol: str, cached: Market | None = None) -> Market:
        """The market it was given, whatever is cached."""
        if symbol != self.symbol:
            raise InputError(f"the data file holds {self.symbol}, not {symbol}")
        return self._market

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
    _frame: list = field(default_factory=list, init=False, repr=False, compare=False)  # frame(), once built
    _bars: dict = field(default_factory=dict, init=False, repr=False, compare=False)  # bar(i), once made

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

    def bar(self, index: int) -> Bar:
        """Candle `index` with its exact prices, as a tick would have it; made once (the
        backtests of an optimisation fill on the same candles thousands of times)."""
        bar = self._bars.get(index)
        if bar is None:
            _, open_, high, low, close, volume = self.lines[index].split(",")
            bar = Bar(int(self.ts[index]), Decimal(open_), Decimal(high), Decimal(low), Decimal(close), Decimal(volume))
            self._bars[index] = bar
        return bar

    def exact(self, index: int, column: str = "close") -> Decimal:
        return Decimal(self.lines[index].split(",")[HEADER.index(column)])

    def frame(self):
        """The DataFrame strategies receive (see `papertrade.strategies.runner.CandleWindow`):
        built once (an optimisation backtests the same candles thousands of times), each caller
        given a shallow copy of it, which pandas' copy-on-write keeps from changing the others'."""
        if not self._frame:
            import pandas as pd

            index = pd.DatetimeIndex(self.ts.astype("datetime64[ms]").astype("datetime64[ns]"), tz="UTC", name="time")
            self._frame.append(pd.DataFrame({"ts": self.ts, **self.floats}, index=index))
        return self._frame[0].copy(deep=False)


def load_columns(path: Path | str, timeframe: Timeframe | None = None) -> CandleColumns:
    """Read and validate a candle file into columns: the rows `CandleFile.load` accepts, checked
    by the same rules, refused with the same message."""
    import numpy as np

    rows = read_rows(path)
    ts, floats = parse_columns(rows)
    timeframe = timeframe or infer_timeframe(rows.path, ts)
    previous_ts = np.concatenate((ts[:1] - 1, ts[:-1]))
    problem = first_violation({"ts": ts, "previous_ts": previous_ts, **floats}, timeframe)
    if problem is not None:
        raise InputError(f"{rows.where(problem.index)}: {problem}")
    return CandleColumns(rows.path, timeframe, ts, floats, rows.rows)


def infer_timeframe(path: Path, times) -> Timeframe:
    """The timeframe whose length is the smallest spacing between consecutive open times
    (candles out of order are left to the rules, which name them)."""
    import numpy as np

    gaps = np.diff(np.asarray(times, dtype=np.int64))
    positive = gaps[gaps > 0]
    if not len(positive):
        raise InputError(f"{path} needs at least two candles at different times to tell its timeframe")
    spacing = int(positive.min())
    for name in SUPPORTED:
        if Timeframe.parse(name).ms == spacing:
            return Timeframe.parse(name)
    line = int(np.flatnonzero(gaps == spacing)[0]) + 3
    raise InputError(
        f"{path} line {line}: candle {int(times[line - 2])} opens {spacing:,} ms after the one before, "
        f"not a supported timeframe ({' '.join(SUPPORTED)})"
    )
