"""`papertrade open`: force an entry, as a trader does by hand."""

from typing import Annotated

import typer

from papertrade.cli.options import IdArgument
from papertrade.cli.trade import JsonOption, force


def open_position(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    symbol: Annotated[str, typer.Argument(help="Market symbol, e.g. BTC/USDT.")],
    size: Annotated[
        str | None,
        typer.Option(
            metavar="SIZE",
            help="25% (of the cash), 500 or '500 USDT' (quote, fee included) or '0.01 BTC' (base); "
            "default: the portfolio's stake fraction.",
        ),
    ] = None,
    json: JsonOption = False,
) -> None:
    """Buy SYMBOL now, at the close of the latest closed candle, whatever the strategy says: a
    trade of kind `manual`, journaled, under the tick key `manual:open` of that candle, so a
    retry on the same candle is a duplicate. The portfolio's exits protect it.

    Exit codes: 0 executed or duplicate; 2 bad input or nothing to do (already holding); 75
    temporary trouble (network, exchange, locked database, resting orders not yet met by the
    strategy's tick of that candle); 1 anything else.
    """
    from papertrade.domain.orders import parse_size
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.services.tick import Manual

    parse_symbol(symbol)
    chosen = parse_size(size, symbol) if size is not None else None
    force(ctx, portfolio_id, symbol, Manual("open", chosen), json)
