"""`papertrade close`: force an exit, as a trader does by hand."""

from typing import Annotated

import typer

from papertrade.cli.options import IdArgument
from papertrade.cli.trade import JsonOption, force


def close_position(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    symbol: Annotated[str, typer.Argument(help="Market symbol, e.g. BTC/USDT.")],
    json: JsonOption = False,
) -> None:
    """Close the whole SYMBOL position now (sell a long, cover a short), at the close of the
    latest closed candle, whatever the strategy says: a trade of kind `manual`, journaled, under
    the tick key `manual:close` of that candle, so a retry on the same candle is a duplicate.
    Its protective exits are cancelled.

    Exit codes: 0 executed or duplicate; 2 bad input or nothing to close; 75 temporary trouble
    (network, exchange, locked database, resting orders not yet met by the strategy's tick of
    that candle); 1 anything else.
    """
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.services.tick import Manual

    parse_symbol(symbol)
    force(ctx, portfolio_id, symbol, Manual("close"), json)
