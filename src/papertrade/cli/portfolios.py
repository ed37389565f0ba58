"""`create-portfolio`, `portfolios`, `status`."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import now_ms, state

JsonOption = Annotated[bool, typer.Option("--json", help="Print one JSON object (decimals as strings).")]


def create_portfolio(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help='A unique name, e.g. "My RSI Bot".')],
    cash: Annotated[str, typer.Argument(help="Starting cash in the quote currency, e.g. 10000.")],
    strategy: Annotated[
        str,
        typer.Option(help="Strategy name (see `papertrade strategies`) or package.module:Class."),
    ] = "rsi",
    param: Annotated[
        list[str] | None, typer.Option("--param", help="Strategy parameter KEY=VALUE (repeatable).")
    ] = None,
    exchange: Annotated[str, typer.Option(help="ccxt exchange id to take market data from.")] = "binance",
    timeframe: Annotated[str, typer.Option(help="Candle timeframe, e.g. 1m, 5m, 1h, 1d.")] = "1h",
    quote: Annotated[str, typer.Option(help="Quote currency the cash is held in.")] = "USDT",
    fee_rate: Annotated[str, typer.Option(help="Fee per trade as a fraction of its value, 0 to 0.1.")] = "0.001",
    slippage_bps: Annotated[str, typer.Option(help="Price moved against each fill, in basis points.")] = "0",
    stake_fraction: Annotated[str, typer.Option(help="Fraction of cash each BUY spends, fee included (0, 1].")] = "1",
    notify: Annotated[
        list[str] | None,
        typer.Option("--notify", metavar="URL", help="Send notifications to this Apprise URL (repeatable)."),
    ] = None,
    events: Annotated[
        str | None, typer.Option(metavar="EVENTS", help="What --notify URLs get: fill,error,daily (default all).")
    ] = None,
    json: JsonOption = False,
) -> None:
    """Create a portfolio in the ledger (the SQLite ledger is created on first use)."""
    from papertrade.services.portfolios import create_portfolio, parse_new_portfolio

    request = parse_new_portfolio(
        name=name,
        cash=cash,
        strategy=strategy,
        params=param or (),
        exchange=exchange,
        timeframe=timeframe,
        quote=quote,
        fee_rate=fee_rate,
        slippage_bps=slippage_bps,
        stake_fraction=stake_fraction,
    )
    targets = _notify_targets(notify, events)
    stored = create_portfolio(state(ctx).ledger(create=True), request, now_ms(), notify=targets)
    if json:
        output.emit_json({**_summary(stored), "notify": [_notify_json(target) for target in targets]})
        return
    typer.echo(
        f'Created portfolio {stored.id} "{stored.config.name}" with '
        f"{output.money(stored.book.cash)} {stored.config.quote}"
    )
    for target in targets:
        typer.echo(f"  notifies {target.redacted} of {', '.join(_notify_json(target)['events'])}")


def _notify_targets(urls: list[str] | None, events: str | None) -> list:
    """Validated `--notify` URLs (redacted for display), before anything is written."""
    if not urls:
        if events is not None:
            from papertrade.errors import InputError

            raise InputError("--events goes with --notify")
        return []
    from papertrade.adapters.apprise_sender import check_url
    from papertrade.services.notifications import parse_targets

    return parse_targets(urls, events, check_url)


def _notify_json(target) -> dict:
    from papertrade.domain.notifications import events_text

    return {"url": target.redacted, "events": events_text(target.events).split(",")}


def list_portfolios(ctx: typer.Context, json: JsonOption = False) -> None:
    """List the portfolios in the ledger."""
    from papertrade.services.portfolios import list_portfolios

    stored = list_portfolios(state(ctx).ledger())
    if json:
        output.emit_json([_summary(p) for p in stored])
        return
    if not stored:
        typer.echo("No portfolios yet: create one with `papertrade create-portfolio NAME CASH`.")
        return
    rows = [
        [
            str(p.id),
            p.config.name,
            p.config.strategy,
            f"{p.config.exchange} {p.config.timeframe}",
            f"{output.money(p.book.cash)} {p.config.quote}",
            str(sum(1 for pos in p.book.positions.values() if pos.is_open)),
        ]
        for p in stored
    ]
    typer.echo(
        output.table(
            ["ID", "NAME", "STRATEGY", "MARKET DATA", "CASH", "OPEN POSITIONS"],
            rows,
            right=(0, 4, 5),
        )
    )


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
        ("cash", f"{output.money(book.cash)} {quote} (started with {output.money(book.initial_cash)})"),
        ("strategy", f"{config.strategy} {_params_text(config.strategy_params)}"),
        ("market data", f"{config.exchange} {config.timeframe}"),
        ("fills", _fills_text(config.fills)),
        ("realized", f"{output.money(book.realized_pnl)} {quote}, fees paid {output.money(book.fees_paid)}"),
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
        [p.symbol, output.amount(p.quantity), output.money(p.avg_cost), output.money(p.cost_basis)]
        for p in open_positions
    ]
    typer.echo(output.table(["SYMBOL", "QUANTITY", "AVG COST", "COST BASIS"], rows, right=(1, 2, 3)))


def _fills_text(fills) -> str:
    return (
        f"fee rate {output.amount(fills.fee_rate)}, slippage {output.amount(fills.slippage_bps)} bps, "
        f"stake fraction {output.amount(fills.stake_fraction)}"
    )


def _params_text(params) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(params.items()))


def _summary(stored) -> dict:
    from papertrade.views.documents import portfolio_document

    return portfolio_document(stored)
