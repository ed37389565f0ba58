"""Reading a paper portfolio's performance from its ledger: the tick journal and the trades."""

from decimal import Decimal

from papertrade.domain.money import ZERO, exact
from papertrade.reports import model
from papertrade.reports.model import EquitySeries, FillRow, Performance, SymbolPnl, equity_floats, run_ends
from papertrade.services.portfolios import require_ledger
from papertrade.services.ports import Ledger


def from_ledger(ledger: Ledger | None, portfolio_id: int) -> Performance:
    """The performance of a paper portfolio, from its tick journal and trades.

    The equity is valued on every candle the market traded between the first and the last
    processed one, whether a tick ran on it or not: on a processed candle, the cash after it plus
    every position marked at its symbol's latest close; on a stored candle no tick processed
    (cron did not run; the next tick's catch-up stored it), the cash and positions carried from
    the ticks before it, marked at that candle's close. Several symbols on one candle share one
    point. Floats are computed for all candles at once; exact values only where one is asked for.
    """
    with require_ledger(ledger, portfolio_id).unit_of_work() as uow:
        stored = uow.portfolios.get(portfolio_id)
        columns = uow.ticks.equity_columns(portfolio_id)
        trades = uow.trades.list(portfolio_id)
        funding = uow.funding.payments(portfolio_id)
        unticked = unticked_candles(uow.candles, stored.config, columns[0], columns[1])
    columns = model.with_unticked_candles(columns, unticked)
    performance = Performance(stored.config.quote, stored.book.initial_cash, stored.book.cash, name=stored.config.name)
    performance.funding = funding
    performance.fills = [_fill_row(t) for t in trades]
    last_close = _mark_to_market(performance, *columns)
    performance.symbols = [
        _symbol_pnl(position, last_close.get(symbol)) for symbol, position in sorted(stored.book.positions.items())
    ]
    return performance


def unticked_candles(candles, config, symbols, times) -> dict[str, list]:
    """Each symbol's stored candles between the first and the last processed candle that no
    tick processed, from `candles`, a `CandleRepository`; `symbols` and `times` are the tick
    columns of a portfolio. A symbol whose stored candles in that range are as many as its
    processed ones (every candle ticked, exchange gaps or not) costs one count, no read."""
    import numpy as np

    if len(times) == 0:
        return {}
    symbols, times = np.asarray(symbols, dtype=object), np.asarray(times, dtype=np.int64)
    first, last, unticked = int(times[0]), int(times[-1]), {}
    series = (config.exchange, config.timeframe.name)
    for symbol in dict.fromkeys(symbols.tolist()):
        seen = set(times[symbols == symbol].tolist())
        if candles.count_between(series[0], symbol, series[1], first - 1, last + 1) <= len(seen):
            continue  # every stored candle in the range was processed
        bars = candles.after(series[0], symbol, series[1], first - 1, last)
        unticked[symbol] = [bar for bar in bars if bar.ts not in seen]
    return {symbol: bars for symbol, bars in unticked.items() if bars}


def _mark_to_market(performance: Performance, symbols, times, closes, cash_after, held_after, warming) -> dict:
    """Fill in times, equity, exposure and prices from the tick columns (amounts that give
    their floats to `numpy.asarray` and their exact values to `Decimal(...)`, see
    `tick_columns`); return each symbol's last close."""
    import numpy as np

    if len(times) == 0:
        return {}
    ts = np.asarray(times, dtype=np.int64)
    close_f, held_f = np.asarray(closes, dtype=float), np.asarray(held_after, dtype=float)
    latest, equity_f, holding = equity_floats(symbols, close_f, np.asarray(cash_after, dtype=float), held_f)
    for symbol, at in latest.items():
        mine = at == np.arange(len(ts))
        performance.prices[symbol] = (ts[mine].tolist(), close_f[mine].tolist())
    in_market = holding | np.r_[False, holding[:-1]]
    ends = run_ends(ts)
    starts = np.r_[0, ends[:-1] + 1]

    def exact_at(point: int) -> Decimal:
        row = int(ends[point])
        with exact():
            marked = (
                Decimal(held_after[int(at[row])]) * Decimal(closes[int(at[row])])
                for at in latest.values()
                if at[row] >= 0
            )
            return Decimal(cash_after[row]) + sum(marked, ZERO)

    performance.times = ts[ends].tolist()
    performance.equity = EquitySeries(equity_f[ends], exact_at)
    performance.in_market = np.logical_or.reduceat(in_market, starts).tolist()
    trading = np.flatnonzero(~np.asarray(warming, dtype=bool))
    performance.first_trading_ts = int(ts[trading[0]]) if len(trading) else None
    return {symbol: Decimal(closes[int(at[-1])]) for symbol, at in latest.items()}


def _symbol_pnl(position, last_price: Decimal | None) -> SymbolPnl:
    unrealized = position.unrealized_pnl(last_price) if last_price is not None and position.is_open else ZERO
    return SymbolPnl(
        position.symbol,
        position.quantity,
        position.avg_cost,
        last_price,
        position.realized_pnl,
        unrealized,
        position.fees_paid,
    )


def _fill_row(t) -> FillRow:
    return FillRow(t.candle_ts, t.symbol, t.side, t.quantity, t.price, t.fee, t.notional, t.realized_pnl, t.kind,
                   t.floored, t.reference_price)  # fmt: skip
