"""Backtest: the live tick's strategy, warm-up and fill model, over a candle file, in memory.

Every candle of the file is decided on exactly as a replay (or a cron tick at that candle's
close) would: the strategy sees the same window of closed candles, its decision goes through
the same `execute_decision`, and the fill is booked by the same ledger code. Nothing is written
to a database.

A strategy with `decide_series` is evaluated for all candles at once, and then only the candles
where its answer can change something are visited: a BUY signal while flat, a SELL signal while
holding. Every other candle is a HOLD, which `execute_decision` turns into no fill, so skipping
them changes nothing but the time taken.
"""

from bisect import bisect_right
from decimal import Decimal

from papertrade.adapters.csv_candles import CandleColumns
from papertrade.domain.execution import execute_decision, warming_up
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Book, FillResult
from papertrade.domain.money import exact
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.reports.model import EquitySeries, FillRow, Performance, SymbolPnl
from papertrade.strategies.base import SignalSeries, Strategy
from papertrade.strategies.runner import CandleArrays, call_strategy


def backtest(
    candles: CandleColumns, strategy: Strategy, fills: FillModel, cash: Decimal, symbol: str, quote: str = "USD"
) -> Performance:
    """Run `strategy` over every candle of `candles`, starting with `cash`."""
    frame = candles.frame()
    series = strategy.decide_series(frame)
    market = Market.unrestricted(symbol)
    book = Book(cash, cash)
    book.position(symbol)
    first = _first_decision(strategy, len(candles))
    if series is None:
        events = _step_by_step(candles, frame, strategy, book, market, fills, first)
    else:
        events = _by_signals(candles, series, book, market, fills, first)
    return _performance(candles, events, book, cash, symbol, quote, first)


def _first_decision(strategy: Strategy, count: int) -> int:
    """Index of the first candle with the strategy's warm-up behind it (`count` if none)."""
    first = strategy.warmup - 1
    if strategy.lookback is not None and strategy.lookback < strategy.warmup:
        return count  # its window never holds its warm-up: it only ever warms up
    return min(max(first, 0), count)


def _by_signals(candles, series: SignalSeries, book, market, fills, first: int) -> list[tuple[int, FillResult]]:
    import numpy as np

    eligible = np.arange(len(candles)) >= first
    wanted = {Signal.BUY: np.flatnonzero(series.buy & eligible), Signal.SELL: np.flatnonzero(series.sell & eligible)}
    position, events, start = book.positions[market.symbol], [], first
    while True:
        signal = Signal.SELL if position.is_open else Signal.BUY
        at = int(np.searchsorted(wanted[signal], start))
        if at == len(wanted[signal]):
            return events
        i = int(wanted[signal][at])
        indicators = {name: float(values[i]) for name, values in series.indicators.items()}
        _, fill = execute_decision(Decision(signal, "", indicators), book, market, fills, candles.exact(i))
        if fill is not None:
            events.append((i, book.apply_fill(fill)))
        start = i + 1


def _step_by_step(candles, frame, strategy, book, market, fills, first) -> list[tuple[int, FillResult]]:
    """For strategies without `decide_series`: `decide` on every candle's window, as a tick would."""
    position, events = book.positions[market.symbol], []
    for i in range(len(candles)):
        have = i + 1 if strategy.lookback is None else min(i + 1, strategy.lookback)
        if i < first:
            decision = warming_up(have, strategy.warmup)
        else:
            view = PositionView(market.symbol, position.quantity, position.avg_cost)
            decision = call_strategy(strategy, _window(candles, frame, strategy, i + 1 - have, i + 1), view)
        _, fill = execute_decision(decision, book, market, fills, candles.exact(i))
        if fill is not None:
            events.append((i, book.apply_fill(fill)))
    return events


def _window(candles, frame, strategy: Strategy, start: int, stop: int):
    """Rows start..stop-1 as `strategy.decide` takes them (see `Strategy.candles_as`)."""
    if strategy.candles_as == "arrays":
        columns = (candles.floats[name][start:stop] for name in ("open", "high", "low", "close", "volume"))
        return CandleArrays(candles.ts[start:stop], *columns)
    return frame.iloc[start:stop]


def _performance(candles, events, book, cash, symbol, quote, first) -> Performance:
    import numpy as np

    count, closes = len(candles), candles.floats["close"]
    starts = [0] + [i for i, _ in events]
    cash_after = [cash] + [booked.cash_after for _, booked in events]
    held_after = [Decimal(0)] + [booked.position_after for _, booked in events]
    lengths = np.diff(np.r_[starts, count])
    cash_f = np.repeat(np.array([float(c) for c in cash_after]), lengths)
    held_f = np.repeat(np.array([float(q) for q in held_after]), lengths)

    def exact_at(i: int) -> Decimal:
        segment = bisect_right(starts, i) - 1
        with exact():
            return cash_after[segment] + held_after[segment] * candles.exact(i)

    position = book.positions[symbol]
    last = candles.exact(count - 1)
    performance = Performance(quote, cash, book.cash)
    performance.times = candles.ts
    performance.equity = EquitySeries(cash_f + held_f * closes, exact_at)
    performance.in_market = (held_f > 0) | np.r_[False, held_f[:-1] > 0]
    performance.fills = [
        FillRow(int(candles.ts[i]), symbol, str(b.fill.side), b.fill.quantity, b.fill.price, b.fill.fee,
                b.fill.notional, b.realized_pnl)
        for i, b in events
    ]  # fmt: skip
    performance.prices = {symbol: (candles.ts, closes)}
    performance.first_trading_ts = int(candles.ts[first]) if first < count else None
    unrealized = position.unrealized_pnl(last) if position.is_open else Decimal(0)
    performance.symbols = [
        SymbolPnl(symbol, position.quantity, position.avg_cost, last, position.realized_pnl, unrealized,
                  position.fees_paid)
    ]  # fmt: skip
    return performance
