"""The JSON documents papertrade prints with `--json` and serves from its web API.

One function builds each document; the command line and the dashboard both call it, so the
two can never disagree. Decimals stay `Decimal` here and become exact strings in `dumps`;
times are integer milliseconds since the epoch (UTC).
"""

import json
import math
from decimal import Decimal
from typing import Any

FILL_FIELDS = ("candle_ts", "symbol", "side", "kind", "quantity", "price", "fee", "notional", "realized_pnl",
               "floored")  # fmt: skip
SYMBOL_FIELDS = ("symbol", "quantity", "avg_cost", "last_price", "realized_pnl", "unrealized_pnl", "fees_paid")
TRADE_FIELDS = (
    "id", "candle_ts", "symbol", "side", "kind", "quantity", "price", "notional", "fee", "realized_pnl",
    "cash_after", "executed_ts", "floored", "reference_price",
)  # fmt: skip
ROUND_TRIP_FIELDS = (
    "symbol", "side", "entry_ts", "exit_ts", "size", "entry_price", "exit_price", "commissions", "pnl", "exit_kind",
)  # fmt: skip
TICK_FIELDS = ("signal", "status", "reason", "indicators", "close", "cash_after", "position_after", "processed_ts")


def dumps(document: Any) -> str:
    """A document as JSON text: decimals as plain strings, non-ASCII kept."""
    return json.dumps(document, default=_encode, ensure_ascii=False)


def _encode(value: Any) -> Any:
    if isinstance(value, Decimal):
        from papertrade.domain.money import to_plain

        return to_plain(value)
    raise TypeError(f"cannot render {type(value).__name__} as JSON")


def fields(record: Any, names: tuple[str, ...]) -> dict[str, Any]:
    return {name: getattr(record, name) for name in names}


def portfolio_document(valuation) -> dict:
    """A portfolio's settings, cash, equity and open positions, from its valuation
    (`services.valuation`): `portfolios --json`, `create-portfolio --json`, `status --json`.

    `realized_pnl` is before fees, as the ledger books it; `net_realized_pnl` is after the fees
    of the trades that realized it. Positions are marked at the latest stored close."""
    stored = valuation.portfolio
    config, book = stored.config, stored.book
    return {
        "id": stored.id,
        "name": config.name,
        "quote": config.quote,
        "cash": book.cash,
        "initial_cash": book.initial_cash,
        "market_value": valuation.market_value,
        "unrealized_pnl": valuation.unrealized_pnl,
        "equity": valuation.equity,
        "marked_ts": valuation.marked_ts,
        "realized_pnl": book.realized_pnl,
        "net_realized_pnl": valuation.net.total,
        "fees_paid": book.fees_paid,
        "funding_paid": book.funding_paid,
        "strategy": config.strategy,
        "params": dict(config.strategy_params),
        "exchange": config.exchange,
        "timeframe": config.timeframe.name,
        "allow_short": config.allow_short,
        "maintenance_margin": config.margin.maintenance_rate,
        "liquidation_fee": config.margin.liquidation_fee_rate,
        "leverage": config.margin.leverage,
        "fee_rate": config.fills.fee_rate,
        "slippage_bps": config.fills.slippage_bps,
        "stake_fraction": config.fills.stake_fraction,
        "fill": config.fill,
        "max_slippage": config.max_slippage,
        "maker_fee": config.fills.maker,
        "fees": "exchange" if config.fees_from_exchange else "set",
        "exits": config.exits.as_dict(),
        "created_ts": stored.created_ts,
        "archived_ts": stored.archived_ts,
        "positions": [_position(p, valuation) for p in book.positions.values() if p.is_open],
    }


def _position(p, valuation) -> dict:
    from papertrade.domain.margin import liquidation_price, margin_in_use

    marked, orders = valuation.marks[p.symbol], valuation.portfolio.orders
    return {
        "symbol": p.symbol,
        "side": p.side,
        "leverage": p.leverage,
        "quantity": p.quantity,
        "avg_cost": p.avg_cost,
        "cost_basis": p.cost_basis,
        "mark_price": marked.price,
        "marked_ts": marked.candle_ts,
        "market_value": marked.market_value,
        "unrealized_pnl": marked.unrealized_pnl,
        "realized_pnl": p.realized_pnl,
        "net_realized_pnl": valuation.net.by_symbol.get(p.symbol, Decimal(0)),
        "fees_paid": p.fees_paid,
        "funding_paid": p.funding_paid,
        "margin": margin_in_use(p),
        "liquidation_price": liquidation_price(p, valuation.portfolio.config.margin),
        "exits": [order_document(o, p.quantity) for o in orders if o.symbol == p.symbol and o.kind.is_exit],
    }


def orders_document(stored) -> list[dict]:
    """A portfolio's resting orders (`orders ID --json`), by symbol and the candle placed on."""
    held = {symbol: position.quantity for symbol, position in stored.book.positions.items()}
    return [order_document(order, held.get(order.symbol)) for order in stored.orders]


def order_document(order, held=None) -> dict:
    """One resting order (`orders --json`): `placed_ts` is the candle it was decided on (it is
    active from the next), `expires_ts` the last candle it may fill on (null: until cancelled),
    as far as the candles seen tell: a candle missing before it moves it one candle later. An
    exit sells the whole position (`held`); an entry's quantity is known only for a base size
    (the others are sized from the cash when they fill)."""
    if order.kind.is_exit:
        quantity = held
    else:
        quantity = order.size.value if order.size is not None and order.size.unit == "base" else None
    return {
        "symbol": order.symbol,
        "kind": str(order.kind),
        "side": str(order.side),
        "price": order.price,
        "quantity": quantity,
        "size": None if order.size is None else {"unit": order.size.unit, "value": order.size.value},
        "trail": order.trail,
        "placed_ts": order.placed_ts,
        "expires_ts": order.expires_ts,
    }


def last_tick_document(tick) -> dict:
    return {
        "symbol": tick.key.symbol,
        "candle_ts": tick.key.candle_ts,
        "signal": tick.signal,
        "status": tick.status,
        "processed_ts": tick.processed_ts,
    }


def status_document(valuation, ticks) -> dict:
    """`status --json`: the portfolio valued now, and each symbol's latest processed candle."""
    return {**portfolio_document(valuation), "last_ticks": [last_tick_document(tick) for tick in ticks]}


def notifications_document(states) -> dict:
    """`status --json`'s notifications: events undelivered in all, and per URL (numbered as
    `notify ID --list` numbers them) its redacted form, counts and last delivery error."""
    return {
        "undelivered": sum(s.pending for s in states),
        "urls": [
            {"n": n, "url": s.target.redacted, "pending": s.pending, "delivered": s.delivered,
             "last_error": s.last_error}
            for n, s in enumerate(states, 1)
        ],
    }  # fmt: skip


def trade_documents(records, payments=()) -> list[dict]:
    """A portfolio's executed trades in order (`trades --json`), each with the side of the
    position it opened or closed (`position`: long or short) and each exit with its realized PnL
    before fees (`realized_pnl`) and after them (`net_realized_pnl`; null for an entry); and the
    funding payments of its swap positions among them, in the order booked (`funding_document`).
    `reference_price` is the close decided on or the resting order's level, `slippage_bps` the
    fill's distance from it against the trader (null without a reference)."""
    from papertrade.domain.fills import slippage_bps
    from papertrade.domain.pnl import net_realized, position_sides

    nets = net_realized(records).by_trade
    sides = position_sides(records)
    documents = {
        id(r): {
            **fields(r, TRADE_FIELDS),
            "position": side,
            "net_realized_pnl": net,
            "slippage_bps": slippage_bps(r.side, r.price, r.reference_price),
        }
        for r, side, net in zip(records, sides, nets, strict=True)
    }
    return [documents[id(e)] if id(e) in documents else funding_document(e) for e in ledger_order(records, payments)]


#: Where a funding payment goes among its candle's trades: after the resting orders' fills (made
#: during the candle) and before the fills of a decision at its close (`domain.funding`).
_AT_THE_CLOSE = ("signal", "manual")


def ledger_order(records, payments) -> list:
    """Trades and funding payments in the order the ledger booked them (see `_AT_THE_CLOSE`)."""

    def key(entry) -> tuple[int, int]:
        if hasattr(entry, "side"):
            return entry.candle_ts, 2 if entry.kind in _AT_THE_CLOSE else 0
        return entry.candle_ts, 1

    return sorted([*records, *payments], key=key)


def funding_document(payment) -> dict:
    """A funding payment as `trades --json` lists it (kind "funding"): `amount` received
    (negative: paid), by the signed `quantity` held, at the mark `price` and `rate`."""
    return {
        "kind": "funding", "candle_ts": payment.candle_ts, "funding_ts": payment.ts, "symbol": payment.symbol,
        "position": "long" if payment.quantity > 0 else "short", "quantity": payment.quantity,
        "price": payment.mark_price, "rate": payment.rate, "amount": payment.amount, "floored": payment.floored,
        "cash_after": payment.cash_after,
    }  # fmt: skip


def tick_document(tick) -> dict:
    """One processed candle of the tick journal: what was decided on it and why."""
    return {"symbol": tick.key.symbol, "candle_ts": tick.key.candle_ts, **fields(tick, TICK_FIELDS)}


def report_document(performance) -> dict:
    """`report --json` and `backtest --json`: statistics (of every round trip, and of the long
    and the short ones apart under `sides`), fills, round trips, PnL per symbol and the equity
    curve."""
    from papertrade.domain.pnl import net_realized, position_sides
    from papertrade.reports.statistics import SIDE_STAT_KINDS, STAT_KINDS, side_statistics, statistics

    stats = statistics(performance)
    net = net_realized(performance.fills)
    sides = {
        side: {name: stat_value(value, SIDE_STAT_KINDS[name]) for name, value in values.items()}
        for side, values in side_statistics(performance).items()
    }
    return {
        "stats": {name: stat_value(value, STAT_KINDS[name]) for name, value in stats.items()},
        "sides": sides,
        "trades": [
            {**fields(f, FILL_FIELDS), "position": side, "net_realized_pnl": n}
            for f, side, n in zip(performance.fills, position_sides(performance.fills), net.by_trade, strict=True)
        ],
        "exits_by_kind": performance.exits_by_kind(),
        "symbols": [
            {**fields(s, SYMBOL_FIELDS), "net_realized_pnl": net.by_symbol.get(s.symbol, Decimal(0))}
            for s in performance.symbols
        ],
        "round_trips": [round_trip_document(trip) for trip in performance.round_trips()],
        "equity_curve": equity_curve(performance),
        **({} if performance.refused is None else {"refused_entries": refused_document(performance.refused)}),
        **({} if performance.warmup is None else {"warmup": warmup_document(performance)}),
    }


def warmup_document(performance) -> dict:
    """`backtest --from --json`: the candles before `--from` that warmed the strategy up."""
    warmup = performance.warmup
    return {
        "start_ts": warmup.start_ts,
        "candles": warmup.candles,
        "needed": warmup.needed,
        "enough": warmup.enough,
        "first_decision_ts": performance.first_trading_ts,
    }


def round_trip_document(trip) -> dict:
    """One round trip: the entry (its first fill's candle, its average price), the SELL that
    closed it or part of it, `pnl` after both fees, `profit_pct` as backtesting.py's ReturnPct
    (in percent), `duration_ms` from entry to exit candle, and the kind of order that exited."""
    return {
        **fields(trip, ROUND_TRIP_FIELDS),
        "profit_pct": trip.return_pct * 100,
        "duration_ms": trip.exit_ts - trip.entry_ts,
    }


def equity_curve(performance) -> dict:
    """The series every statistic uses, as columns: `candle_ts`, the exact `equity` (text), and
    `drawdown_pct`, below the running peak in percent (0 or negative; the starting cash is the
    first peak, so the lowest value is the report's Max. Drawdown [%])."""
    import numpy as np

    floats = performance.equity.floats()
    peaks = np.maximum.accumulate(np.r_[float(performance.initial_cash), floats])[1:]
    return {
        "candle_ts": np.asarray(performance.times, dtype=np.int64).tolist(),
        "equity": performance.equity.texts(),
        "drawdown_pct": ((floats / peaks - 1) * 100).tolist(),
    }


def refused_document(refused: list[tuple[int, str]]) -> dict:
    """A backtest's refused entries: how many, and the first (its candle and the rule it broke)."""
    first = None if not refused else {"candle_ts": refused[0][0], "reason": refused[0][1]}
    return {"count": len(refused), "first": first}


def stat_value(value, kind: str):
    """A statistic in JSON: money as a decimal string, NaN and infinity as null, times as ISO
    text, durations as pandas writes them ("2 days 05:00:00")."""
    if value is None or kind in ("money", "cost", "count"):
        return value
    if kind == "time":
        from datetime import UTC, datetime

        return datetime.fromtimestamp(value / 1000, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if kind == "duration":
        return duration_text(value)
    return None if math.isnan(value) or math.isinf(value) else value


def duration_text(ms: int) -> str:
    """A duration of whole seconds as pandas writes a Timedelta: "2 days 05:00:00"."""
    from papertrade.domain.numbers import duration

    return duration(ms)


def drift_document(drift) -> dict:
    """`report --vs-backtest --json`: paper and its backtest side by side (return, trades, fees,
    slippage, max drawdown, equity curve), the trades that differ, the candles no tick
    processed, the settings changes replayed, and the first `divergence` (null when they agree)."""
    divergence = drift.divergence
    return {
        "portfolio_id": drift.portfolio_id,
        "name": drift.name,
        "symbol": drift.symbol,
        "quote": drift.paper.performance.quote,
        "paper": _drift_side(drift.paper),
        "backtest": _drift_side(drift.backtest),
        "differing_trades": [_fill_pair(pair) for pair in drift.differing],
        "missed_candles": list(drift.missed),
        "settings_changes": [
            {"from_ts": change.from_ts, "from": dict(change.before), "to": dict(change.after)}
            for change in drift.changes
        ],
        "divergence": None
        if divergence is None
        else {
            "candle_ts": divergence.candle_ts,
            "reason": divergence.reason,
            "detail": divergence.detail,
            **({} if divergence.pair is None else _fill_pair(divergence.pair)),
        },
    }


def _drift_side(side) -> dict:
    from papertrade.reports.statistics import STAT_KINDS, statistics

    performance = side.performance
    stats = statistics(performance)
    return {
        "return_pct": stat_value(stats["Return [%]"], STAT_KINDS["Return [%]"]),
        "equity_final": stats["Equity Final [$]"],
        "trades": stats["# Trades"],
        "fills": len(performance.fills),
        "fees": performance.fees,
        "slippage": side.slippage,
        "avg_slippage_bps": side.slippage_bps,
        "max_drawdown_pct": stat_value(stats["Max. Drawdown [%]"], STAT_KINDS["Max. Drawdown [%]"]),
        "equity_curve": equity_curve(performance),
    }


def _fill_pair(pair) -> dict:
    def one(fill):
        return None if fill is None else fields(fill, FILL_FIELDS)

    return {"candle_ts": pair.candle_ts, "paper": one(pair.paper), "backtest": one(pair.backtest)}
