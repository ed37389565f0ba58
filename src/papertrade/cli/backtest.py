"""`papertrade backtest`: a strategy over a candle file or stored candles, in memory."""

from typing import Annotated

import typer

from papertrade.cli.context import long_running, state
from papertrade.cli.options import (
    AllowShortOption,
    AmountStepOption,
    DataOption,
    ExchangeOption,
    FeeRateOption,
    FromOption,
    FundingOption,
    LeverageOption,
    LiquidationFeeOption,
    MaintenanceMarginOption,
    MinNotionalOption,
    SlippageOption,
    StakeFractionOption,
    StopLossOption,
    TakeProfitOption,
    TimeframeOption,
    ToOption,
    TrailingStopOption,
)
from papertrade.cli.report import JsonOption, PlotOption, check_plot, show


def backtest(
    ctx: typer.Context,
    strategy: Annotated[
        str,
        typer.Option(
            metavar="NAME",
            help="Strategy name, or package.module:Class (its package is also looked for in the working directory).",
        ),
    ],
    data: DataOption = None,
    funding: FundingOption = None,
    param: Annotated[
        list[str] | None, typer.Option("--param", metavar="KEY=VALUE", help="Strategy parameter (repeatable).")
    ] = None,
    cash: Annotated[str, typer.Option(metavar="AMOUNT", help="Starting cash: above 0, at most 1e15.")] = "10000",
    fee_rate: FeeRateOption = "0.001",
    slippage_bps: SlippageOption = "0",
    stake_fraction: StakeFractionOption = "1",
    stop_loss: StopLossOption = None,
    take_profit: TakeProfitOption = None,
    trailing_stop: TrailingStopOption = None,
    allow_short: AllowShortOption = False,
    maintenance_margin: MaintenanceMarginOption = "0.005",
    liquidation_fee: LiquidationFeeOption = "0.005",
    leverage: LeverageOption = "1",
    amount_step: AmountStepOption = None,
    min_notional: MinNotionalOption = None,
    symbol: Annotated[
        str | None, typer.Option(metavar="SYMBOL", help="Symbol the file holds (default: from its name).")
    ] = None,
    exchange: ExchangeOption = None,
    timeframe: TimeframeOption = None,
    start: FromOption = None,
    end: ToOption = None,
    json: JsonOption = False,
    plot: PlotOption = None,
) -> None:
    """Backtest a strategy over a candle file, or stored candles, in memory, with the live tick's
    rules and fill model."""
    from functools import partial

    from papertrade.cli.data import backtest_history, funding_for, stored_market
    from papertrade.domain.portfolio import (
        market_limits,
        parse_cash,
        parse_exits,
        parse_fill_model,
        parse_margin_rules,
        parse_symbol,
    )
    from papertrade.services.backtest import backtest as run_backtest
    from papertrade.strategies import registry
    from papertrade.views.chart_data import for_backtest

    check_plot(ctx, plot)
    chosen = registry.build(strategy, registry.parse_param_pairs(param or ()))
    fills = parse_fill_model(fee_rate, slippage_bps, stake_fraction)
    exits = parse_exits(stop_loss, take_profit, trailing_stop)
    margin = parse_margin_rules(maintenance_margin, liquidation_fee, leverage)
    starting_cash = parse_cash(cash)
    candles, name, first = backtest_history(ctx, data, exchange, symbol, timeframe, start, end)
    _, quote = parse_symbol(name)
    market = market_limits(name, amount_step, min_notional, None if data else stored_market(ctx, exchange, name))
    long_running()
    rates = funding_for(ctx, name, funding, None if data else exchange)
    performance = run_backtest(candles, chosen, fills, starting_cash, name, quote, exits, market,
                               allow_short=allow_short, margin=margin, start=first, funding=rates)  # fmt: skip
    title = f"Backtest of {strategy} on {name} {candles.timeframe}"
    chart_of = partial(for_backtest, performance, title, candles, chosen, first)
    show(performance, title, json, plot, chart_of, state(ctx).ledger_file() if plot else None)
