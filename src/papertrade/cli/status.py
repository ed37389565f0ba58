"""`papertrade status`: one portfolio's cash, settings, last ticks and open positions."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state
from papertrade.cli.portfolios import JsonOption


def status(
    ctx: typer.Context,
    portfolio_id: Annotated[int, typer.Argument(metavar="ID", help="Portfolio id.")],
    json: JsonOption = False,
) -> None:
    """Show a portfolio's cash, settings and open positions."""
    from papertrade.services.portfolios import get_portfolio, last_ticks

    ledger = state(ctx).ledger()
    stored = get_portfolio(ledger, portfolio_id)
    ticks = last_ticks(ledger, portfolio_id)
    if json:
        from papertrade.views.documents import status_document

        output.emit_json(status_document(stored, ticks))
        return
    config, book = stored.config, stored.book
    quote = config.quote
    lines = [
        ("cash", f"{output.money(book.cash, quote)} {quote} (started with {output.money(book.initial_cash, quote)})"),
        ("strategy", f"{config.strategy} {_params_text(config.strategy_params)}"),
        ("market data", f"{config.exchange} {config.timeframe}"),
        ("fills", _fills_text(config.fills)),
        ("exits", _exits_text(config.exits)),
        ("realized", f"{output.money(book.realized_pnl, quote)} {quote}, fees paid {_fees(book, quote)}"),
    ]
    typer.echo(f'Portfolio {stored.id} "{config.name}"')
    for label, value in lines:
        typer.echo(f"  {label:<12}{value}")
    for tick in ticks:
        typer.echo(
            f"  last tick   {tick.key.symbol} {output.timestamp(tick.key.candle_ts)} {tick.signal} [{tick.status}], "
            f"processed {output.timestamp(tick.processed_ts)}"
        )
    open_positions = [p for p in book.positions.values() if p.is_open]
    if not open_positions:
        typer.echo("  no open positions")
        return
    rows = [
        [p.symbol, output.amount(p.quantity), output.price(p.avg_cost), output.money(p.cost_basis, quote)]
        for p in open_positions
    ]
    typer.echo(output.table(["SYMBOL", "QUANTITY", "AVG COST", "COST BASIS"], rows, right=(1, 2, 3)))
    for order in (o for o in stored.orders if o.kind.is_exit):
        typer.echo(f"  {order.symbol} protected by a {order.kind} at {output.price(order.price)}")


def _fills_text(fills) -> str:
    return (
        f"fee rate {output.amount(fills.fee_rate)}, slippage {output.amount(fills.slippage_bps)} bps, "
        f"stake fraction {output.amount(fills.stake_fraction)}"
    )


def _exits_text(exits) -> str:
    """The portfolio's exits as a trader says them: "stop-loss 3%, take-profit 6%"."""
    written = exits.as_dict()
    if not written:
        return "none (entries are unprotected unless the strategy sets exits)"
    return ", ".join(f"{name.replace('_', '-')} {_fraction(value)}" for name, value in written.items())


def _fraction(text: str) -> str:
    from decimal import Decimal

    return text[1:] if text.startswith("@") else f"{output.amount(Decimal(text) * 100)}%"


def _params_text(params) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(params.items()))


def _fees(book, quote: str) -> str:
    return output.money(book.fees_paid, quote, cost=True)
