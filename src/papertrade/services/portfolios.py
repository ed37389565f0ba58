"""Creating portfolios and reading them back."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import Decimal

from papertrade.domain.portfolio import (
    Portfolio,
    PortfolioConfig,
    check_currency,
    check_exchange,
    check_name,
    parse_cash,
    parse_exits,
    parse_fill_model,
)
from papertrade.domain.timeframes import Timeframe
from papertrade.errors import InputError, NotFound
from papertrade.services.ports import Ledger
from papertrade.strategies import registry


@dataclass(frozen=True, slots=True)
class NewPortfolio:
    """A validated request to create a portfolio."""

    config: PortfolioConfig
    cash: Decimal


def parse_new_portfolio(
    *,
    name: str,
    cash: str,
    strategy: str = "rsi",
    params: Iterable[str] = (),
    exchange: str = "binance",
    timeframe: str = "1h",
    quote: str = "USDT",
    fee_rate: str = "0.001",
    slippage_bps: str = "0",
    stake_fraction: str = "1",
    exits: tuple[str | None, str | None, str | None] = (None, None, None),
) -> NewPortfolio:
    """Validate everything a user typed to create a portfolio, touching no database."""
    strategy_cls = registry.load_class(strategy)
    strategy_params = registry.parse_params(strategy_cls, registry.parse_param_pairs(params))
    config = PortfolioConfig(
        name=check_name(name),
        quote=check_currency(quote),
        strategy=strategy,
        strategy_params=strategy_params.model_dump(mode="json"),
        exchange=check_exchange(exchange),
        timeframe=Timeframe.parse(timeframe),
        fills=parse_fill_model(fee_rate, slippage_bps, stake_fraction),
        exits=parse_exits(*exits),
    )
    return NewPortfolio(config, parse_cash(cash))


def create_portfolio(ledger: Ledger, request: NewPortfolio, now: int, notify: Sequence = ()) -> Portfolio:
    """Store a new portfolio and journal its opening cash, in one transaction; with `notify`
    (validated `NewTarget`s), the URLs its notifications go to too."""
    config = request.config
    with ledger.unit_of_work(write=True) as uow:
        existing = uow.portfolios.id_by_name(config.name)
        if existing is not None:
            raise InputError(f"a portfolio named {config.name!r} already exists (id {existing})")
        portfolio_id = uow.portfolios.add(config, request.cash, now)
        uow.journal.append(
            portfolio_id,
            "portfolio.created",
            {"name": config.name, "quote": config.quote, "initial_cash": request.cash},
            now,
        )
        for target in notify:
            uow.outbox.add_target(portfolio_id, target.url, target.redacted, target.events, now)
        stored = uow.portfolios.get(portfolio_id)
        uow.commit()
    return stored


def list_portfolios(ledger: Ledger | None) -> list[Portfolio]:
    if ledger is None:
        return []
    with ledger.unit_of_work() as uow:
        return uow.portfolios.list()


def require_ledger(ledger: Ledger | None, portfolio_id: int) -> Ledger:
    """The ledger, or NotFound for the portfolio asked about when there is no ledger yet."""
    if ledger is None:
        raise NotFound(f"no portfolio with id {portfolio_id} (the ledger is empty)")
    return ledger


def get_portfolio(ledger: Ledger | None, portfolio_id: int) -> Portfolio:
    with require_ledger(ledger, portfolio_id).unit_of_work() as uow:
        return uow.portfolios.get(portfolio_id)


def last_ticks(ledger: Ledger | None, portfolio_id: int):
    """Each symbol's latest processed candle: what a cron operator checks first."""
    with require_ledger(ledger, portfolio_id).unit_of_work() as uow:
        return uow.ticks.latest_per_symbol(portfolio_id)


def recent_ticks(ledger: Ledger | None, portfolio_id: int, symbol: str | None = None, last: int | None = None):
    """The latest processed candles of a portfolio with their decisions, oldest first (an
    unknown portfolio is NotFound)."""
    get_portfolio(ledger, portfolio_id)
    with ledger.unit_of_work() as uow:
        return uow.ticks.recent(portfolio_id, symbol, last)


def list_trades(ledger: Ledger | None, portfolio_id: int, symbol: str | None = None):
    """Executed trades of a portfolio, oldest first (an unknown portfolio is NotFound)."""
    get_portfolio(ledger, portfolio_id)
    with ledger.unit_of_work() as uow:
        return uow.trades.list(portfolio_id, symbol)
