"""`papertrade trade`: one tick, as cron runs it; and how a tick is shown."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import now_ms, state
from papertrade.cli.options import IdArgument

JsonOption = Annotated[bool, typer.Option("--json", help="Print JSON (decimals as strings).")]


def trade(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    symbol: Annotated[str, typer.Argument(help="Market symbol, e.g. BTC/USDT.")],
    mode: Annotated[str, typer.Argument(help="DRY (decide, write nothing) or LIVE (paper-trade).")],
    json: JsonOption = False,
) -> None:
    """Run one tick: sync candles, ask the strategy, and in LIVE mode trade exactly once per candle.

    Exit codes: 0 executed, neutral, duplicate or dry-run; 2 bad input; 75 temporary trouble
    (network, exchange, rate limit, locked database); 1 anything else.
    """
    from papertrade.bootstrap import make_notifier, market_data_factory
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.services.tick import Mode, run_tick

    tick_mode = Mode.parse(mode)
    parse_symbol(symbol)
    cli = state(ctx)
    settings = cli.settings()
    ledger, source = cli.ledger(), market_data_factory(settings)
    ttl, now = int(settings.markets_ttl * 1000), now_ms()
    notifier = make_notifier(settings, ledger, live=tick_mode is Mode.LIVE)
    with notifier.watch(portfolio_id, symbol, now):
        result = run_tick(ledger, source, portfolio_id, symbol, tick_mode, now, markets_ttl_ms=ttl)
    if json:
        output.emit_json(tick_json(result, tick_mode))
    else:
        typer.echo(tick_line(result))
    notifier.deliver(now)


def force(ctx: typer.Context, portfolio_id: int, symbol: str, manual, json: bool) -> None:
    """Run a trader's `open` or `close` (`manual`) as a LIVE tick and print it as `trade` does."""
    from papertrade.bootstrap import make_notifier, market_data_factory
    from papertrade.services.tick import Mode, run_manual

    cli = state(ctx)
    settings = cli.settings()
    ledger, source = cli.ledger(), market_data_factory(settings)
    ttl, now = int(settings.markets_ttl * 1000), now_ms()
    notifier = make_notifier(settings, ledger, live=True)
    with notifier.watch(portfolio_id, symbol, now):
        result = run_manual(ledger, source, portfolio_id, symbol, manual, now, markets_ttl_ms=ttl)
    if json:
        output.emit_json(tick_json(result, Mode.LIVE))
    else:
        typer.echo(tick_line(result))
    notifier.deliver(now)


def tick_line(result) -> str:
    """One line a cron log reader understands."""
    parts = [output.timestamp(result.candle_ts), result.symbol]
    quote = result.symbol.partition("/")[2]
    parts += [f"{name}={value:.2f}" for name, value in result.indicators.items()]
    parts.append(str(result.signal))
    if result.fill is not None:
        fill = result.fill
        fee = output.money(fill.fee, quote, cost=True)
        parts.append(f"{output.amount(fill.quantity)} @ {output.price(fill.price)} fee {fee}")
    parts.append(f"cash {output.money(result.cash, quote)}")
    status = str(result.status)
    if result.live_status is not None:
        status = f"dry-run: LIVE would be {result.live_status}"
    parts.append(f"[{status}]")
    if result.skipped:
        parts.append(f"skipped {result.skipped} missed candle{'s' if result.skipped != 1 else ''}")
    if result.reason and result.fill is None:
        parts.append(f"- {result.reason}")
    parts += [_partial_text(filled, quote) for filled in result.partial]
    parts += [_order_fill_text(filled, quote) for filled in result.order_fills]
    parts += [f"; {event.what} {event.order.kind} {str(event.order.side).lower()} @ {output.price(event.order.price)}"
              for event in result.order_events if event.what in ("placed", "expired")]  # fmt: skip
    return " ".join(parts)


def _partial_text(filled, quote: str) -> str:
    """A market fill the book filled in part: "; partial SELL: 0.2 cancelled beyond 95.00 (the
    slippage cap)", or for an entry sized by a budget, the part of the budget left unspent."""
    fill, cancelled = filled.booked.fill, filled.cancelled
    if cancelled.quantity is not None:
        rest = f"{output.amount(cancelled.quantity)} {fill.symbol.partition('/')[0]}"
    else:
        rest = f"{output.money(cancelled.budget, quote)} {quote} of the budget"
    limit = output.price(cancelled.limit)
    return f"; partial {fill.side}: {rest} cancelled, no liquidity within the slippage cap ({limit})"


def _order_fill_text(filled, quote: str) -> str:
    """A resting order's fill: "; stop-loss SELL 0.1 @ 95.00 on 2021-03-01 05:00" (its candle)."""
    fill = filled.booked.fill
    return (
        f"; {filled.kind} {fill.side} {output.amount(fill.quantity)} @ {output.price(fill.price)} "
        f"fee {output.money(fill.fee, quote, cost=True)} on {output.timestamp(filled.candle_ts)}"
    )


def tick_json(result, mode) -> dict:
    fill = result.fill
    document = {
        "portfolio_id": result.portfolio_id,
        "strategy": result.strategy,
        "symbol": result.symbol,
        "candle_ts": result.candle_ts,
        "signal": str(result.signal),
        "status": str(result.status),
        "mode": str(mode),
        "price": fill.price if fill else None,
        "quantity": fill.quantity if fill else None,
        "fee": fill.fee if fill else None,
        "cash": result.cash,
        "position": result.position,
        "close": result.close,
        "reason": result.reason,
        "indicators": result.indicators,
        "skipped": result.skipped,
        "fetched": result.fetched,
        "order_fills": [_order_fill_json(filled) for filled in result.order_fills],
        "cancelled": _cancelled_json(result.partial),
        "order_events": [_order_event_json(event) for event in result.order_events],
    }
    if result.live_status is not None:
        document["live_status"] = str(result.live_status)
    return document


def _cancelled_json(partial) -> list[dict]:
    """What the book could not fill of the decision's market orders within the cap, one object
    per partial fill (a stop and reverse has two market orders); empty when they filled whole."""
    from papertrade.services.tick import cancelled_fields

    return [{"side": str(filled.booked.fill.side), **cancelled_fields(filled.cancelled)} for filled in partial]


def _order_fill_json(filled) -> dict:
    fill = filled.booked.fill
    return {
        "kind": filled.kind,
        "side": str(fill.side),
        "candle_ts": filled.candle_ts,
        "quantity": fill.quantity,
        "price": fill.price,
        "fee": fill.fee,
    }


def _order_event_json(event) -> dict:
    order = event.order
    return {"event": event.what, "kind": str(order.kind), "price": order.price, "candle_ts": event.candle_ts,
            "reason": event.reason}  # fmt: skip
