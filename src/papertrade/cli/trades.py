"""`papertrade trades`: a portfolio's executed trades."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state
from papertrade.cli.options import IdArgument
from papertrade.cli.trade import JsonOption


def trades(
    ctx: typer.Context,
    portfolio_id: IdArgument,
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
        from papertrade.views.documents import trade_documents

        output.emit_json(trade_documents(records))
        return
    if not records:
        typer.echo("No trades yet.")
        return
    from papertrade.domain.pnl import net_realized

    nets = net_realized(records).by_trade
    from papertrade.services.portfolios import amount_steps

    steps = amount_steps(state(ctx).ledger(), portfolio_id, {r.symbol for r in records})
    sizes = output.quantities_by_symbol([(r.symbol, r.quantity) for r in records], steps)
    rows = [
        [
            output.timestamp(r.candle_ts),
            r.symbol,
            r.side,
            r.kind,
            size,
            output.price(r.price),
            output.money(r.fee, r.symbol.partition("/")[2], cost=True),
            output.money(net, r.symbol.partition("/")[2]) if net is not None else "",
            output.money(r.cash_after, r.symbol.partition("/")[2]),
        ]
        for r, net, size in zip(records, nets, sizes, strict=True)
    ]
    headers = ["CANDLE", "SYMBOL", "SIDE", "KIND", "QUANTITY", "PRICE", "FEE", "NET REALIZED", "CASH AFTER"]
    typer.echo(output.table(headers, rows, right=(4, 5, 6, 7, 8)))
    typer.echo("NET REALIZED: what a SELL made after its own fee and the fees of buying what it sold.")
    typer.echo("KIND: what made the trade: signal (the strategy, at the close) or the resting order that filled.")
