"""Backtest: the live tick's strategy, warm-up and fill model, over a candle file, in memory.

Every candle of the file is decided on exactly as a replay (or a cron tick at that candle's
close) would: the strategy sees the same window of closed candles, its decision goes through
the same `execute_decision`, and the fill is booked by the same ledger code. Nothing is written
to a database, and a strategy with `decide_series` is evaluated for all candles at once.
"""

from decimal import Decimal

from papertrade.adapters.csv_candles import CandleFile
from papertrade.domain.execution import execute_decision, warming_up
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Portfolio
from papertrade.domain.money import exact
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.services.performance import FillRow, Performance, SymbolPnl
from papertrade.strategies.base import SignalSeries, Strategy
from papertrade.strategies.runner import call_strategy, candles_frame


def backtest(
    candles: CandleFile, strategy: Strategy, fills: FillModel, cash: Decimal, symbol: str, quote: str = "USD"
) -> Performance:
    """Run `strategy` over every candle of `candles`, starting with `cash`."""
    frame = candles_frame(candles.bars)
    series = strategy.decide_series(frame)
    market = Market.unrestricted(symbol)
    book = Portfolio(cash, cash)
    position = book.position(symbol)
    performance = Performance(quote, cash)
    lookback = strategy.lookback
    for i, bar in enumerate(candles.bars):
        have = i + 1 if lookback is None else min(i + 1, lookback)
        held_before = position.is_open
        if have < strategy.warmup:
            decision = warming_up(have, strategy.warmup)
        else:
            if performance.first_trading_ts is None:
                performance.first_trading_ts = bar.ts
            decision = _decide(strategy, series, frame, i, have, position)
        decision, fill = execute_decision(decision, book, market, fills, bar.close)
        if fill is not None:
            booked = book.apply_fill(fill)
            performance.fills.append(
                FillRow(
                    bar.ts,
                    symbol,
                    str(fill.side),
                    fill.quantity,
                    fill.price,
                    fill.fee,
                    fill.notional,
                    booked.realized_pnl,
                )
            )
        performance.times.append(bar.ts)
        performance.in_market.append(held_before or position.is_open)
        if position.is_open:
            with exact():
                performance.equity.append(book.cash + position.quantity * bar.close)
        else:
            performance.equity.append(book.cash)
    performance.cash = book.cash
    performance.closes[symbol] = [(bar.ts, bar.close) for bar in candles.bars]
    last = candles.bars[-1].close
    unrealized = position.unrealized_pnl(last) if position.is_open else Decimal(0)
    performance.symbols = [
        SymbolPnl(
            symbol,
            position.quantity,
            position.avg_cost,
            last,
            position.realized_pnl,
            unrealized,
            position.fees_paid,
        )
    ]
    return performance


def _decide(strategy: Strategy, series: SignalSeries | None, frame, i: int, have: int, position) -> Decision:
    if series is None:
        view = PositionView(position.symbol, position.quantity, position.avg_cost)
        return call_strategy(strategy, frame.iloc[i + 1 - have : i + 1], view)
    indicators = {name: float(values[i]) for name, values in series.indicators.items()}
    if not position.is_open and series.buy[i]:
        return Decision(Signal.BUY, "", indicators)
    if position.is_open and series.sell[i]:
        return Decision(Signal.SELL, "", indicators)
    return Decision(Signal.HOLD, "", indicators)
