"""`papertrade replay`: the real LIVE tick path over a candle file or stored candles."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import long_running, state
from papertrade.cli.options import (
    AmountStepOption,
    DataOption,
    FromOption,
    FundingOption,
    MinNotionalOption,
    ToOption,
    parse_portfolio_id,
    parse_range,
    progress,
)


def replay(
    ctx: typer.Context,
    portfolio_id: Annotated[
        int, typer.Argument(metavar="ID", help="Portfolio id (one made for the replay).", parser=parse_portfolio_id)
    ],
    symbol: Annotated[str, typer.Argument(help="Symbol the file holds, e.g. BTC/USDT.")],
    data: DataOption = None,
    funding: FundingOption = None,
    start: FromOption = None,
    end: ToOption = None,
    exchange: Annotated[
        str | None,
        typer.Option(help="Without --data: replay stored candles of this exchange (default: the portfolio's)."),
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="Without --data: must be the portfolio's (its default).")
    ] = None,
    amount_step: AmountStepOption = None,
    min_notional: MinNotionalOption = None,
    json: Annotated[bool, typer.Option("--json", help="Print a JSON summary.")] = False,
) -> None:
    """Drive the real LIVE tick path candle by candle over a file, or stored candles, with a
    simulated clock.

    Each candle becomes one tick at the moment it closes: candle store, ledger, tick key and
    journal exactly as in a cron run. Re-running a range is safe (already processed candles
    are duplicates).
    """
    from papertrade.cli.data import replay_candles
    from papertrade.domain.portfolio import parse_symbol
    from papertrade.errors import InputError
    from papertrade.services.portfolios import get_portfolio
    from papertrade.services.replay import replay as run_replay

    parse_symbol(symbol)
    first, last = parse_range(start, end)
    ledger = state(ctx).ledger(durable=False)  # a replay can always be run again
    portfolio = get_portfolio(ledger, portfolio_id)
    candles = replay_candles(ledger, portfolio.config, symbol, data, exchange, timeframe)
    if candles.timeframe != portfolio.config.timeframe:
        raise InputError(
            f"{candles.path.name} holds {candles.timeframe} candles but portfolio {portfolio_id} trades "
            f"{portfolio.config.timeframe}"
        )
    count = _candles_in_range(candles, first, last, start, end)
    market = _market(ledger, symbol, None if data else exchange or portfolio.config.exchange, amount_step, min_notional)
    rates = _funding(symbol, funding)
    long_running()
    with progress(count, json) as advance:
        summary = run_replay(ledger, candles, portfolio_id, symbol, start=first, end=last, progress=advance,
                             market=market, funding=rates)  # fmt: skip
    final = get_portfolio(ledger, portfolio_id).book
    if json:
        output.emit_json(
            {
                "portfolio_id": portfolio_id,
                "symbol": symbol,
                "candles": summary.ticks,
                "statuses": summary.statuses,
                "cash": final.cash,
            }
        )
        return
    counts = ", ".join(f"{output.count(n)} {status}" for status, n in sorted(summary.statuses.items()))
    typer.echo(
        f"Replayed {output.plural(summary.ticks, 'candle')} of {symbol} into portfolio {portfolio_id}: {counts}; "
        f"cash {output.money(final.cash, portfolio.config.quote)} {portfolio.config.quote}"
    )


def _funding(symbol: str, funding):
    """A swap's `--funding` rates (None: the store's, as a tick reads them)."""
    from papertrade.adapters.funding_file import load_funding
    from papertrade.domain.funding import is_swap
    from papertrade.errors import InputError

    if funding is None:
        return None
    if not is_swap(symbol):
        raise InputError(f"--funding is for swaps (like BTC/USDT:USDT); {symbol} is not one")
    return load_funding(funding)


def _market(ledger, symbol: str, exchange: str | None, amount_step: str | None, min_notional: str | None):
    """The market the replay trades on: the options, else the one cached for `exchange` (the
    stored candles'; None for a file), else an unrestricted one."""
    from papertrade.domain.portfolio import market_limits
    from papertrade.services.market_data import cached_market

    cached = None if exchange is None else cached_market(ledger, exchange, symbol)
    return market_limits(symbol, amount_step, min_notional, cached)


def _candles_in_range(candles, first: int | None, last: int | None, start: str | None, end: str | None) -> int:
    """How many candles `--from`/`--to` select; `InputError` when none: nothing to replay."""
    from papertrade.errors import InputError

    bars = candles.between(first if first is not None else 0, last if last is not None else 2**62)
    if not bars:
        raise InputError(
            f"{candles.path.name} has no candles from {start or 'its start'} to {end or 'its end'} "
            f"(it holds {output.timestamp(candles.bars[0].ts)} to {output.timestamp(candles.bars[-1].ts)})"
        )
    return len(bars)
