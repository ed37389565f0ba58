"""Large ledgers for the dashboard's benchmarks: many portfolios, or one with a long history.

The history is real-shaped and consistent: the real 1m BTC/USDT candles chained to the length
wanted, decided on by the RSI strategy through the backtest engine (the live tick's rules), and
written as the ticks, trades, positions and candles a replay would have left.
"""

import json
from decimal import Decimal
from pathlib import Path

import sqlalchemy as sa

from papertrade.adapters import schema as t
from papertrade.adapters.csv_candles import load_columns
from papertrade.bootstrap import open_ledger
from papertrade.services.backtest import backtest
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.settings import Settings
from papertrade.strategies import registry
from tests.support.fake_binance import load_rows

MINUTE = 60_000
START = 1_600_000_000_000 - 1_600_000_000_000 % MINUTE


def chained_minutes(path: Path, count: int) -> Path:
    """A candle file of `count` one-minute candles: the real ones, each copy scaled to go on."""
    source = load_rows("binance_BTC-USDT_1m.csv")
    factor, written = 1.0, 0
    with path.open("w") as out:
        out.write("timestamp,open,high,low,close,volume\n")
        while written < count:
            for _, *values in source[: count - written]:
                prices = [f"{float(v) * factor:.2f}" for v in values[:4]]
                out.write(f"{START + written * MINUTE},{','.join(prices)},{values[4]}\n")
                written += 1
            factor = float(prices[3]) / float(source[0][1])
    return path


def long_history(url: str, work: Path, count: int, name: str = "long history") -> int:
    """A portfolio that has processed `count` one-minute candles of BTC/USDT with RSI."""
    candles = load_columns(chained_minutes(work / f"minutes-{count}.csv", count))
    ledger = open_ledger(Settings(database_url=url), create=True)
    stored = create_portfolio(ledger, parse_new_portfolio(name=name, cash="10000", timeframe="1m"), now=START)
    strategy = registry.build("rsi", {})
    performance = backtest(candles, strategy, stored.config.fills, Decimal(10000), "BTC/USDT", "USDT")
    rsi = strategy.decide_series(candles.frame()).indicators["rsi"]
    with ledger.engine.begin() as connection:
        _write_history(connection, stored.id, candles, performance, rsi)
    ledger.dispose()
    return stored.id


def _write_history(connection, portfolio_id: int, candles, performance, rsi) -> None:
    fills = {f.candle_ts: f for f in performance.fills}
    cash, held, tick_rows, trade_rows = Decimal(10000), Decimal(0), [], []
    for i, ts in enumerate(candles.ts.tolist()):
        fill = fills.get(ts)
        if fill is not None:
            cash += fill.notional - fill.fee if fill.side == "SELL" else -(fill.notional + fill.fee)
            held += fill.quantity if fill.side == "BUY" else -fill.quantity
        tick_rows.append(_tick(portfolio_id, i, ts, candles, fill, rsi[i], cash, held))
        if fill is not None:
            trade_rows.append((i, fill, cash))
    connection.execute(sa.insert(t.ticks), tick_rows)
    _write_trades(connection, portfolio_id, trade_rows)
    _write_candles(connection, candles)
    _write_book(connection, portfolio_id, performance, cash)


def _tick(portfolio_id, i, ts, candles, fill, rsi, cash, held) -> dict:
    signal = fill.side if fill is not None else "HOLD"
    reason = "warming up" if rsi != rsi else (f"RSI {rsi:.2f}" if fill is not None else "")
    return {
        "id": i + 1,
        "portfolio_id": portfolio_id,
        "strategy": "rsi",
        "symbol": "BTC/USDT",
        "candle_ts": ts,
        "signal": signal,
        "status": "executed" if fill is not None else "neutral",
        "reason": reason,
        "indicators": json.dumps({} if rsi != rsi else {"rsi": float(rsi)}),
        "close": candles.exact(i),
        "cash_after": cash,
        "position_after": held,
        "skipped": 0,
        "processed_ts": ts + MINUTE + 1_000,
    }


def _write_trades(connection, portfolio_id: int, rows) -> None:
    if not rows:
        return
    connection.execute(
        sa.insert(t.trades),
        [
            {
                "portfolio_id": portfolio_id,
                "tick_id": i + 1,
                "symbol": f.symbol,
                "side": f.side,
                "candle_ts": f.candle_ts,
                "quantity": f.quantity,
                "price": f.price,
                "notional": f.notional,
                "fee": f.fee,
                "realized_pnl": f.realized_pnl,
                "cash_after": cash,
                "executed_ts": f.candle_ts + MINUTE + 1_000,
            }
            for i, f, cash in rows
        ],
    )


def _write_candles(connection, candles) -> None:
    rows = [
        {"exchange": "binance", "symbol": "BTC/USDT", "timeframe": "1m", "ts": int(ts),
         **{name: Decimal(value) for name, value in zip(("open", "high", "low", "close", "volume"),
                                                          line.split(",")[1:], strict=True)}}
        for ts, line in zip(candles.ts.tolist(), candles.lines, strict=True)
    ]  # fmt: skip
    connection.execute(sa.insert(t.candles), rows)


def _write_book(connection, portfolio_id: int, performance, cash: Decimal) -> None:
    connection.execute(sa.update(t.portfolios).where(t.portfolios.c.id == portfolio_id).values(cash=cash))
    (position,) = performance.symbols
    connection.execute(
        sa.insert(t.positions).values(
            portfolio_id=portfolio_id,
            symbol=position.symbol,
            quantity=position.quantity,
            avg_cost=position.avg_cost,
            cost_basis=position.quantity * position.avg_cost,
            realized_pnl=position.realized_pnl,
            fees_paid=position.fees_paid,
            updated_ts=START,
        )
    )


def many_portfolios(url: str, count: int, ticks_each: int = 3) -> None:
    """`count` portfolios, each with a few processed candles of its own symbol."""
    ledger = open_ledger(Settings(database_url=url), create=True)
    for n in range(count):
        create_portfolio(ledger, parse_new_portfolio(name=f"bot {n:04d}", cash="1000", timeframe="1m"), now=START)
    rows = [
        {
            "portfolio_id": n + 1,
            "strategy": "rsi",
            "symbol": f"B{n % 100:03d}/USDT",
            "candle_ts": START + k * MINUTE,
            "signal": "HOLD",
            "status": "neutral",
            "reason": "warming up: 1 of 250 candles",
            "indicators": "{}",
            "close": Decimal("100.5"),
            "cash_after": Decimal(1000),
            "position_after": Decimal(0),
            "skipped": 0,
            "processed_ts": START + (k + 1) * MINUTE,
        }
        for n in range(count)
        for k in range(ticks_each)
    ]
    with ledger.engine.begin() as connection:
        connection.execute(sa.insert(t.ticks), rows)
    ledger.dispose()
