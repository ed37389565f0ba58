"""`papertrade trades`: a portfolio's executed trades."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state
from papertrade.cli.trade import JsonOption


def trades(
    ctx: typer.Context,
    portfolio_id: Annotated[int, typer.Argument(metavar="ID", help="Portfolio id.")],
    symbol: Annotated[str | None, typer.Option(help="Only trades in this symbol.")] = None,
    json: JsonOption = False,
) -> None:
    """List a portfolio's executed trades, oldest first."""
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.services.portfolios import list_trades

    if symbol is not None:
        parse_symbol(symbol)
    records = list_trades(state(ctx).ledger(), portfolio_id, symbol)
    if json:
        output.emit_json([trade_json(r) for r in records])
        return
    if not records:
        typer.echo("No trades yet.")
        return
    rows = [
        [
            output.timestamp(r.candle_ts),
            r.symbol,
            r.side,
            r.kind,
            output.amount(r.quantity),
            output.price(r.price),
            output.money(r.fee, r.symbol.partition("/")[2], cost=True),
            output.money(r.realized_pnl, r.symbol.partition("/")[2]) if r.side == "SELL" else "",
            output.money(r.cash_after, r.symbol.partition("/")[2]),
        ]
        for r in records
    ]
    headers = ["CANDLE", "SYMBOL", "SIDE", "KIND", "QUANTITY", "PRICE", "FEE", "REALIZED", "CASH AFTER"]
    typer.echo(output.table(headers, rows, right=(4, 5, 6, 7, 8)))


def trade_json(record) -> dict:
    from papertrade.views.documents import trade_document

    return trade_document(record)
