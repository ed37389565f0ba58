"""`papertrade ticks`: why a bot did what it did, candle by candle."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state
from papertrade.cli.options import IdArgument


def ticks(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    symbol: Annotated[str | None, typer.Option(metavar="SYMBOL", help="Only this symbol, e.g. BTC/USDT.")] = None,
    last: Annotated[
        int,
        typer.Option("--last", metavar="N", min=0, max=2**31 - 1, help="The N latest processed candles; 0 shows all."),
    ] = 20,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON list, oldest first.")] = False,
) -> None:
    """Each processed candle's decision: signal, status, reason and indicators, oldest first.

    In JSON each entry has candle_ts, symbol, signal, status, reason, indicators, close,
    cash_after, position_after and processed_ts.
    """
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.services.portfolios import recent_ticks

    if symbol is not None:
        parse_symbol(symbol)
    records = recent_ticks(state(ctx).ledger(), portfolio_id, symbol, last or None)
    if json:
        from papertrade.views.documents import tick_document

        output.emit_json([tick_document(r) for r in records])
        return
    if not records:
        typer.echo("No processed candles yet.")
        return
    rows = [
        [
            output.timestamp(r.key.candle_ts),
            r.key.symbol,
            str(r.signal),
            str(r.status),
            " ".join(f"{name}={value:.2f}" for name, value in r.indicators.items()),
            r.reason,
        ]
        for r in records
    ]
    typer.echo(output.table(["CANDLE", "SYMBOL", "SIGNAL", "STATUS", "INDICATORS", "REASON"], rows))
