"""`papertrade status`: one portfolio's cash, equity, settings, last ticks and open positions."""

import typer

from papertrade.cli import output
from papertrade.cli.context import state
from papertrade.cli.options import IdArgument
from papertrade.cli.portfolios import JsonOption


def status(
    ctx: typer.Context,
    portfolio_id: IdArgument,
    json: JsonOption = False,
) -> None:
    """Show a portfolio's cash, equity, settings and open positions (marked at the latest
    stored close)."""
    from papertrade.services.notifications import list_targets
    from papertrade.services.portfolios import last_ticks, study_origin
    from papertrade.services.valuation import value_portfolio

    ledger = state(ctx).ledger()
    valuation = value_portfolio(ledger, portfolio_id)
    ticks = last_ticks(ledger, portfolio_id)
    origin = study_origin(ledger, portfolio_id)
    channels = list_targets(ledger, portfolio_id)
    if json:
        from papertrade.views.documents import notifications_document, status_document

        output.emit_json({**status_document(valuation, ticks), "from_study": origin,
                          "notifications": notifications_document(channels)})  # fmt: skip
        return
    stored = valuation.portfolio
    archived = f", archived {output.timestamp(stored.archived_ts)}: it no longer trades" if stored.archived else ""
    typer.echo(f'Portfolio {stored.id} "{stored.config.name}"{archived}')
    markets = _traded_markets(ledger, stored) if stored.config.fees_from_exchange else ()
    for label, value in _summary(valuation, markets):
        typer.echo(f"  {label:<12}{value}")
    if origin is not None:
        typer.echo(f"  {'research':<12}{_origin_text(origin)}")
    for line in notifications_lines(channels):
        typer.echo(f"  {line}")
    for tick in ticks:
        typer.echo(
            f"  last tick   {tick.key.symbol} {output.timestamp(tick.key.candle_ts)} {tick.signal} [{tick.status}], "
            f"processed {output.timestamp(tick.processed_ts)}"
        )
    if not valuation.marks:
        typer.echo("  no open positions")
        return
    typer.echo(_positions_table(valuation))
    for order in (o for o in valuation.portfolio.orders if o.kind.is_exit):
        typer.echo(f"  {order.symbol} protected by a {order.kind} at {output.price(order.price)}")


def _traded_markets(ledger, stored):
    from papertrade.services.market_data import cached_markets

    return cached_markets(ledger, stored.config.exchange, stored.book.positions.keys())


def notifications_lines(states) -> list[str]:
    """How the portfolio's notification URLs are doing: how many, how many events are still
    undelivered, and each failing URL's last delivery error (numbered as `notify ID --list`)."""
    if not states:
        return []
    undelivered = sum(s.pending for s in states)
    head = f"{'notify':<12}{output.plural(len(states), 'URL')}, " + (
        f"{output.count(undelivered)} undelivered (notify flush sends them)" if undelivered else "all delivered"
    )
    failing = [f"{'':<12}{n}: {s.target.redacted}: last error: {s.last_error}"
               for n, s in enumerate(states, 1) if s.pending and s.last_error]  # fmt: skip
    return [head, *failing]


def _summary(valuation, markets=()) -> list[tuple[str, str]]:
    config, book = valuation.portfolio.config, valuation.portfolio.book
    quote = config.quote
    return [
        ("cash", f"{output.money(book.cash, quote)} {quote} (started with {output.money(book.initial_cash, quote)})"),
        ("equity", f"{output.money(valuation.equity, quote)} {quote}{_marked_text(valuation)}"),
        ("unrealized", f"{output.money(valuation.unrealized_pnl, quote)} {quote} before fees"),
        (
            "realized",
            f"{output.money(valuation.net.total, quote)} {quote} after fees "
            f"({output.money(book.realized_pnl, quote)} before), fees paid {_fees(book, quote)}",
        ),
        *_funding_line(book, quote),
        ("strategy", f"{config.strategy} {_params_text(config.strategy_params)}"),
        ("market data", f"{config.exchange} {config.timeframe}"),
        ("fills", _fills_text(config.fills)),
        ("fees", fees_text(config, markets)),
        ("market fills", _market_fills_text(config)),
        ("exits", _exits_text(config.exits)),
        ("shorts", "allowed (--allow-short)" if config.allow_short else "not allowed: long only"),
        (
            "margin",
            f"isolated, leverage {output.amount(config.margin.leverage)} for new entries, "
            f"maintenance {output.amount(config.margin.maintenance_rate)}, "
            f"liquidation fee {output.amount(config.margin.liquidation_fee_rate)}",
        ),
    ]


def _marked_text(valuation) -> str:
    if not valuation.marks:
        return ""
    quote = valuation.portfolio.config.quote
    margined = any(m.margined for m in valuation.marks.values())
    what = "market value and unrealized PnL of margin positions" if margined else "market value"
    value = f" = cash + {output.money(valuation.in_equity, quote)} {what}"
    unmarked = [m.symbol for m in valuation.marks.values() if m.candle_ts is None]
    if valuation.marked_ts is not None:
        value += f", marked at the close of the {output.timestamp(valuation.marked_ts)} candle"
    if unmarked:
        value += f" ({', '.join(unmarked)} at average cost: no stored candle)"
    return value


def _positions_table(valuation) -> str:
    from papertrade.domain.margin import margin_in_use

    quote = valuation.portfolio.config.quote
    positions = valuation.portfolio.book.positions
    rows = [
        [
            m.symbol,
            positions[m.symbol].side,
            output.amount(positions[m.symbol].leverage),
            output.amount(m.quantity),
            output.price(positions[m.symbol].avg_cost),
            output.money(positions[m.symbol].cost_basis, quote),
            output.price(m.price),
            output.timestamp(m.candle_ts),
            output.money(m.market_value, quote),
            output.money(m.unrealized_pnl, quote),
            output.money(margin_in_use(positions[m.symbol]), quote),
            _liquidation_text(positions[m.symbol], valuation.portfolio.config.margin),
        ]
        for m in valuation.marks.values()
    ]
    headers = ["SYMBOL", "SIDE", "LEVERAGE", "QUANTITY", "AVG COST", "COST BASIS", "MARK", "MARKED AT", "MARKET VALUE",
               "UNREALIZED", "MARGIN", "LIQUIDATION"]  # fmt: skip
    return output.table(headers, rows, right=(2, 3, 4, 5, 6, 8, 9, 10, 11))


def _liquidation_text(position, rules) -> str:
    from papertrade.domain.margin import liquidation_price

    level = liquidation_price(position, rules)
    return "none" if level is None else output.price(level)


def _market_fills_text(config) -> str:
    if config.fill != "book":
        return "at the close"
    cap = f"{output.amount(config.max_slippage * 100)} %"
    return f"from the order book (--fill book), at most {cap} from the close (--max-slippage)"


def fees_text(config, markets=None) -> str:
    """The fee rates in force: those the portfolio set, or each market's own (`markets`: the
    markets known for the symbols it trades)."""
    fills = config.fills
    if not config.fees_from_exchange:
        if fills.maker == fills.fee_rate:
            return f"{output.amount(fills.fee_rate)} maker and taker (--fee-rate)"
        return f"maker {output.amount(fills.maker)}, taker {output.amount(fills.fee_rate)} (--maker-fee, --taker-fee)"
    known = [
        f"{market.symbol} maker {output.amount(market.maker_fee)}, taker {output.amount(market.taker_fee)}"
        for market in (markets or ()) if market.maker_fee is not None
    ]  # fmt: skip
    fallback = f"{output.amount(fills.fee_rate)} where the market's are not known"
    return "the exchange's, per market: " + "; ".join([*known, fallback])


def _fills_text(fills) -> str:
    return f"slippage {output.amount(fills.slippage_bps)} bps, stake fraction {output.amount(fills.stake_fraction)}"


def _exits_text(exits) -> str:
    """The portfolio's exits as a trader says them: "stop-loss 3%, take-profit 6%"."""
    written = exits.as_dict()
    if not written:
        return "none (entries are unprotected unless the strategy sets exits)"
    return ", ".join(f"{name.replace('_', '-')} {_fraction(value)}" for name, value in written.items())


def _fraction(text: str) -> str:
    from decimal import Decimal

    return text[1:] if text.startswith("@") else f"{output.amount(Decimal(text) * 100)}%"


def _params_text(params) -> str:
    return " ".join(f"{key}={value}" for key, value in sorted(params.items()))


def _funding_line(book, quote: str) -> list[tuple[str, str]]:
    """The funding its swap positions paid, when it holds or held a swap (`domain.funding`)."""
    if not any(":" in symbol for symbol in book.positions):
        return []
    paid = book.funding_paid
    said = "paid" if paid >= 0 else "received"
    return [("funding", f"{output.money(abs(paid), quote)} {quote} {said} by swap positions, net")]


def _fees(book, quote: str) -> str:
    return output.money(book.fees_paid, quote, cost=True)


def _origin_text(origin) -> str:
    """Where the settings came from: `optimize`/`walk-forward --create-portfolio`."""
    values = ", ".join(f"{name} {value:,.4g}" for name, value in origin.get("objectives", {}).items())
    return f"trial {origin['trial']} of study {origin['study']} ({values}) in {origin['storage']}"
