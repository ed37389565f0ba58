"""Replay: drive the real LIVE tick path candle by candle over a file, with a simulated clock.

Each candle of the file becomes one tick at the moment that candle closes, through the same
candle store, ledger, tick key and journal as a cron run. Replaying a range again is safe:
every candle already processed is a duplicate.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

from papertrade.adapters.csv_candles import CandleFile, CsvMarketData
from papertrade.services.ports import Ledger
from papertrade.services.tick import Mode, TickResult, TickRunner


@dataclass
class ReplaySummary:
    ticks: int = 0
    statuses: dict[str, int] = field(default_factory=dict)
    last: TickResult | None = None


def replay(
    ledger: Ledger,
    candles: CandleFile,
    portfolio_id: int,
    symbol: str,
    *,
    start: int | None = None,
    end: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> ReplaySummary:
    """Tick `portfolio_id` on every candle of `candles` opening in [start, end] (ms, inclusive).

    `progress(n)` is called after each tick with the number done so far.
    """
    source = CsvMarketData(candles, symbol)
    runner = TickRunner(ledger, lambda _exchange: source)
    summary = ReplaySummary()
    bars = candles.between(start if start is not None else candles.bars[0].ts, end if end is not None else 2**62)
    for bar in bars:
        result = runner.tick(portfolio_id, symbol, Mode.LIVE, bar.ts + candles.timeframe.ms)
        summary.ticks += 1
        summary.statuses[str(result.status)] = summary.statuses.get(str(result.status), 0) + 1
        summary.last = result
        if progress is not None:
            progress(summary.ticks)
    return summary
