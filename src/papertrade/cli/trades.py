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
    """List a portfolio's executed trades, and its swap positions' funding payments, oldest first."""
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.services.portfolios import list_funding, list_trades

    if symbol is not None:
        parse_symbol(symbol)
    records = list_trades(state(ctx).ledger(), portfolio_id, symbol)
    payments = list_funding(state(ctx).ledger(), portfolio_id, symbol)
    if json:
        from papertrade.views.documents import trade_documents

        output.emit_json(trade_documents(records, payments))
        return
    if not records:
        typer.echo("No trades yet.")
        return
    rows, headers = _rows(ctx, portfolio_id, records, payments)
    typer.echo(output.table(headers, rows, right=(4, 5, 6, 7, 8, 9)))
    typer.echo("NET REALIZED: what a SELL made after its own fee and the fees of buying what it sold.")
    typer.echo("SLIPPAGE: the PRICE against the close decided on (a resting order: its level), + when it cost.")
    typer.echo("KIND: what made the trade: signal (the strategy, at the close) or the resting order that filled.")
    if payments:
        typer.echo("funding: a swap position's funding at the mark PRICE; NET REALIZED is what it received (- paid).")


def _rows(ctx, portfolio_id: int, records, payments) -> tuple[list, list[str]]:
    """The table of trades and funding payments, in the order booked, and its headers."""
    from papertrade.domain.pnl import net_realized

    nets = net_realized(records).by_trade
    from papertrade.services.portfolios import amount_steps

    steps = amount_steps(state(ctx).ledger(), portfolio_id, {r.symbol for r in records})
    sizes = output.quantities_by_symbol([(r.symbol, r.quantity) for r in records], steps)
    rows = {
        id(r): [
            output.timestamp(r.candle_ts),
            r.symbol,
            r.side,
            r.kind,
            size,
            output.price(r.price),
            _slippage_text(r),
            output.money(r.fee, _quote(r.symbol), cost=True),
            output.money(net, _quote(r.symbol)) if net is not None else "",
            output.money(r.cash_after, _quote(r.symbol)),
        ]
        for r, net, size in zip(records, nets, sizes, strict=True)
    }
    from papertrade.views.documents import ledger_order

    rows = [rows[id(e)] if id(e) in rows else _funding_row(e) for e in ledger_order(records, payments)]
    headers = ["CANDLE", "SYMBOL", "SIDE", "KIND", "QUANTITY", "PRICE", "SLIPPAGE [bps]", "FEE", "NET REALIZED",
               "CASH AFTER"]  # fmt: skip
    return rows, headers


def _slippage_text(record) -> str:
    """The fill's distance from its reference price against the trader, in basis points to two
    places ("-" without a reference: a liquidation, or a trade booked before it was kept)."""
    from decimal import ROUND_HALF_EVEN, Decimal

    from papertrade.domain.fills import slippage_bps

    bps = slippage_bps(record.side, record.price, record.reference_price)
    return "-" if bps is None else f"{bps.quantize(Decimal('0.01'), ROUND_HALF_EVEN):.2f}"


def _quote(symbol: str) -> str:
    return symbol.partition("/")[2].partition(":")[0]


def _funding_row(payment) -> list[str]:
    quote = _quote(payment.symbol)
    return [output.timestamp(payment.candle_ts), payment.symbol, "", "funding", output.amount(payment.quantity),
            output.price(payment.mark_price), "", "", output.money(payment.amount, quote),
            output.money(payment.cash_after, quote)]  # fmt: skip
