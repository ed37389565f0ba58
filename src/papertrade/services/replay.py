"""Replay: drive the real LIVE tick path candle by candle over a file, with a simulated clock.

Each candle of the file becomes one tick at the moment that candle closes, through the same
candle store, ledger, tick key and journal as a cron run. Replaying a range again is safe:
every candle already processed is a duplicate.
"""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from papertrade.adapters.csv_candles import CandleFile, CsvMarketData
from papertrade.domain.bars import Bar
from papertrade.domain.fills import Market
from papertrade.domain.funding import FundingSchedule
from papertrade.domain.timeframes import timestamp
from papertrade.errors import InputError
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
    market: Market | None = None,
    funding: FundingSchedule | None = None,
) -> ReplaySummary:
    """Tick `portfolio_id` on every candle of `candles` opening in [start, end] (ms, inclusive),
    on `market` (its amount step and minimums; default: steps of 1e-8, no minimum order).

    A swap's funding rates come from `funding` (a `--funding` file) as an exchange's history
    would, and are stored as a tick stores them; without it, from the store.

    `progress(n)` is called after each tick with the number done so far.
    """
    source = CsvMarketData(candles, symbol, market, funding)
    runner = TickRunner(ledger, lambda _exchange: source)
    summary = ReplaySummary()
    bars = candles.between(start if start is not None else candles.bars[0].ts, end if end is not None else 2**62)
    check_time_order(ledger, portfolio_id, symbol, bars)
    for bar in bars:
        result = runner.tick(portfolio_id, symbol, Mode.LIVE, bar.ts + candles.timeframe.ms)
        summary.ticks += 1
        summary.statuses[str(result.status)] = summary.statuses.get(str(result.status), 0) + 1
        summary.last = result
        if progress is not None:
            progress(summary.ticks)
    return summary


def check_time_order(ledger: Ledger, portfolio_id: int, symbol: str, bars: Sequence[Bar]) -> None:
    """Refuse (InputError) a replay that would book trades before candles the portfolio has
    already processed on another symbol: its cash would come from the future, and its ledger,
    equity curve and report would be out of time order.

    Candles of `symbol` itself that are already processed are harmless (they are duplicates).
    """
    with ledger.unit_of_work() as uow:
        latest = uow.ticks.latest_per_symbol(portfolio_id)
    own = max((t.key.candle_ts for t in latest if t.key.symbol == symbol), default=None)
    new = [bar for bar in bars if own is None or bar.ts > own]
    others = [t for t in latest if t.key.symbol != symbol]
    if not new or not others:
        return
    ahead = max(others, key=lambda t: t.key.candle_ts)
    if ahead.key.candle_ts > new[0].ts:
        raise InputError(
            f"portfolio {portfolio_id} has already processed {ahead.key.symbol} up to "
            f"{timestamp(ahead.key.candle_ts)}; replaying {symbol} from {timestamp(new[0].ts)} would book trades "
            f"out of time order: replay {symbol} with --from after {timestamp(ahead.key.candle_ts)}, "
            "or into a new portfolio"
        )
