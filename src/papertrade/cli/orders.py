"""`papertrade orders`: a portfolio's resting orders."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import state
from papertrade.cli.options import IdArgument

JsonOption = Annotated[
    bool, typer.Option("--json", help="Print a JSON list, one object per resting order (decimals as strings).")
]


def orders(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    json: JsonOption = False,
) -> None:
    """Show a portfolio's resting orders: entries waiting for their price and the exits that
    protect its positions. An order is active from the candle after the one it was placed on."""
    from papertrade.services.portfolios import get_portfolio
    from papertrade.views.documents import orders_document

    documents = orders_document(get_portfolio(state(ctx).ledger(), portfolio_id))
    if json:
        output.emit_json(documents)
        return
    if not documents:
        typer.echo(f"Portfolio {portfolio_id} has no resting orders")
        return
    rows = [_row(document) for document in documents]
    headers = ["SYMBOL", "KIND", "SIDE", "PRICE", "QUANTITY", "PLACED ON", "EXPIRES AFTER"]
    typer.echo(output.table(headers, rows, right=(3, 4)))


def _row(document: dict) -> list[str]:
    quantity = document["quantity"]
    if quantity is None:
        size = document["size"]
        quantity = "stake" if size is None else f"{output.amount(size['value'])} {size['unit']}"
    else:
        quantity = output.amount(quantity)
    expires = document["expires_ts"]
    return [
        document["symbol"],
        document["kind"],
        document["side"],
        output.price(document["price"]),
        quantity,
        output.timestamp(document["placed_ts"]),
        "until cancelled" if expires is None else output.timestamp(expires),
    ]
