"""`papertrade create-portfolio`: a new portfolio in the ledger."""

from typing import Annotated

import typer

from papertrade.cli import output
from papertrade.cli.context import now_ms, state
from papertrade.cli.options import (
    AllowShortOption,
    FillOption,
    LeverageOption,
    LiquidationFeeOption,
    MaintenanceMarginOption,
    MakerFeeOption,
    MaxSlippageOption,
    PortfolioFeeRateOption,
    SlippageOption,
    StakeFractionOption,
    StopLossOption,
    TakeProfitOption,
    TakerFeeOption,
    TrailingStopOption,
)
from papertrade.cli.portfolios import JsonOption, portfolio_json


def create_portfolio(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help='A unique name of at most 100 characters, e.g. "My RSI Bot".')],
    cash: Annotated[
        str, typer.Argument(help="Starting cash in the quote currency: above 0, at most 1e15, e.g. 10000.")
    ],
    strategy: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="Strategy name (see `papertrade strategies`), or package.module:Class (its package is also "
            "looked for in the working directory).",
        ),
    ] = "rsi",
    param: Annotated[
        list[str] | None,
        typer.Option("--param", metavar="KEY=VALUE", help="Strategy parameter (repeatable; see `strategies`)."),
    ] = None,
    exchange: Annotated[str, typer.Option(metavar="ID", help="ccxt exchange id to take market data from.")] = "binance",
    timeframe: Annotated[
        str, typer.Option(metavar="TF", help="Candle timeframe: 1m 3m 5m 15m 30m 1h 2h 4h 6h 8h 12h 1d.")
    ] = "1h",
    quote: Annotated[
        str, typer.Option(metavar="CURRENCY", help="Quote currency the cash is held in (2-20 capitals or digits).")
    ] = "USDT",
    fee_rate: PortfolioFeeRateOption = None,
    maker_fee: MakerFeeOption = None,
    taker_fee: TakerFeeOption = None,
    slippage_bps: SlippageOption = "0",
    stake_fraction: StakeFractionOption = "1",
    stop_loss: StopLossOption = None,
    take_profit: TakeProfitOption = None,
    trailing_stop: TrailingStopOption = None,
    allow_short: AllowShortOption = False,
    maintenance_margin: MaintenanceMarginOption = "0.005",
    liquidation_fee: LiquidationFeeOption = "0.005",
    leverage: LeverageOption = "1",
    fill: FillOption = "close",
    max_slippage: MaxSlippageOption = "0.05",
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
    from papertrade.bootstrap import check_exchange
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
        maker_taker=(maker_fee, taker_fee),
        slippage_bps=slippage_bps,
        stake_fraction=stake_fraction,
        exits=(stop_loss, take_profit, trailing_stop),
        allow_short=allow_short,
        margin=(maintenance_margin, liquidation_fee, leverage),
        fill=fill,
        max_slippage=max_slippage,
    )
    check_exchange(request.config.exchange)
    targets = _notify_targets(notify, events)
    stored = create_portfolio(state(ctx).ledger(create=True), request, now_ms(), notify=targets)
    if json:
        from papertrade.services.valuation import unvalued

        output.emit_json({**portfolio_json(unvalued(stored)), "notify": [_notify_json(target) for target in targets]})
        return
    typer.echo(
        f'Created portfolio {stored.id} "{stored.config.name}" with '
        f"{output.money(stored.book.cash, stored.config.quote)} {stored.config.quote}"
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
