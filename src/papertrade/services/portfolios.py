"""Creating portfolios and reading them back."""

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

from papertrade.domain.book import DEFAULT_MAX_SLIPPAGE
from papertrade.domain.money import to_plain
from papertrade.domain.orders import Exits
from papertrade.domain.portfolio import (
    DEFAULT_FEE_RATE,
    Portfolio,
    PortfolioConfig,
    check_currency,
    check_exchange,
    check_leverage_fill,
    check_name,
    parse_cash,
    parse_exits,
    parse_fee_rates,
    parse_fill_model,
    parse_fill_setting,
    parse_leverage,
    parse_margin_rules,
    parse_max_slippage,
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
    fee_rate: str | None = None,
    slippage_bps: str = "0",
    stake_fraction: str = "1",
    exits: tuple[str | None, str | None, str | None] = (None, None, None),
    allow_short: bool = False,
    margin: tuple[str, str] | tuple[str, str, str] = ("0.005", "0.005", "1"),
    fill: str = "close",
    max_slippage: str = "0.05",
    maker_taker: tuple[str | None, str | None] = (None, None),
) -> NewPortfolio:
    """Validate everything a user typed to create a portfolio, touching no database.
    `allow_short` lets its strategy go short (`Decision.short`); `margin` is its maintenance
    margin rate and liquidation fee rate, as typed; `fill` how its market orders fill in a tick
    ("close" or "book"), `max_slippage` how far from the close its book walks may go. Without
    `fee_rate` or `maker_taker` (its --maker-fee and --taker-fee), its fees are the exchange's
    maker and taker rates of each market it trades. `margin` may add the leverage of new
    entries (1 when left out)."""
    taker, maker, from_exchange = parse_fee_rates(fee_rate, *maker_taker)
    strategy_cls = registry.load_class(strategy)
    strategy_params = registry.parse_params(strategy_cls, registry.parse_param_pairs(params))
    config = PortfolioConfig(
        name=check_name(name),
        quote=check_currency(quote),
        strategy=strategy,
        strategy_params=strategy_params.model_dump(mode="json"),
        exchange=check_exchange(exchange),
        timeframe=Timeframe.parse(timeframe),
        fills=parse_fill_model(taker, slippage_bps, stake_fraction, maker),
        exits=parse_exits(*exits),
        allow_short=allow_short,
        margin=parse_margin_rules(*margin),
        fill=parse_fill_setting(fill),
        max_slippage=parse_max_slippage(max_slippage),
        fees_from_exchange=from_exchange,
    )
    check_leverage_fill(config.margin.leverage, config.fill)
    return NewPortfolio(config, parse_cash(cash))


def create_portfolio(
    ledger: Ledger, request: NewPortfolio, now: int, notify: Sequence = (), origin: Mapping[str, Any] | None = None
) -> Portfolio:
    """Store a new portfolio and journal its opening cash, in one transaction; with `notify`
    (validated `NewTarget`s), the URLs its notifications go to too; with `origin`, the study
    and trial its settings came from (journaled as `portfolio.from_study`)."""
    config = request.config
    with ledger.unit_of_work(write=True) as uow:
        existing = uow.portfolios.id_by_name(config.name)
        if existing is not None:
            raise InputError(f"a portfolio named {config.name!r} already exists (id {existing})")
        portfolio_id = uow.portfolios.add(config, request.cash, now)
        uow.journal.append(
            portfolio_id,
            "portfolio.created",
            _created_entry(config, request.cash),
            now,
        )
        if origin is not None:
            uow.journal.append(portfolio_id, "portfolio.from_study", dict(origin), now)
        for target in notify:
            uow.outbox.add_target(portfolio_id, target.url, target.redacted, target.events, now)
        stored = uow.portfolios.get(portfolio_id)
        uow.commit()
    return stored


def list_portfolios(ledger: Ledger | None, *, archived: bool = False) -> list[Portfolio]:
    """Every portfolio, in id order; archived ones too when `archived`."""
    if ledger is None:
        return []
    with ledger.unit_of_work() as uow:
        return uow.portfolios.list(archived=archived)


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


def list_funding(ledger: Ledger | None, portfolio_id: int, symbol: str | None = None):
    """Funding payments of a portfolio's swap positions, in the order booked (an unknown
    portfolio is NotFound)."""
    get_portfolio(ledger, portfolio_id)
    with ledger.unit_of_work() as uow:
        return uow.funding.payments(portfolio_id, symbol)


def amount_steps(ledger: Ledger | None, portfolio_id: int, symbols) -> dict[str, Decimal]:
    """The amount step of each of `symbols` on the portfolio's exchange, from the market cache
    (a symbol whose market was never cached is left out): how quantities are aligned for people."""
    exchange = get_portfolio(ledger, portfolio_id).config.exchange
    with ledger.unit_of_work() as uow:
        cached = {symbol: uow.markets.get(exchange, symbol) for symbol in set(symbols)}
    return {symbol: entry[0].amount_step for symbol, entry in cached.items() if entry is not None}


# -- managing a portfolio ---------------------------------------------------------------------


def archived_ids(ledger: Ledger | None) -> set[int]:
    """The ids of the archived portfolios (which no longer trade)."""
    if ledger is None:
        return set()
    with ledger.unit_of_work() as uow:
        return {p.id for p in uow.portfolios.list(archived=True) if p.archived}


def rename_portfolio(ledger: Ledger | None, portfolio_id: int, name: str, now: int) -> Portfolio:
    """Give the portfolio a new, unused name; journaled as `portfolio.renamed`."""
    new_name = check_name(name)

    def rename(uow, stored: Portfolio):
        existing = uow.portfolios.id_by_name(new_name)
        if existing is not None:
            raise InputError(f"a portfolio named {new_name!r} already exists (id {existing})")
        payload = {"from": stored.config.name, "to": new_name}
        return replace(stored.config, name=new_name), stored.archived_ts, payload

    return _change(ledger, portfolio_id, now, "portfolio.renamed", rename)


def archive_portfolio(ledger: Ledger | None, portfolio_id: int, archived: bool, now: int) -> Portfolio:
    """Archive the portfolio (it stops trading and leaves the lists; its history stays), or
    bring it back; journaled as `portfolio.archived` / `portfolio.unarchived`."""

    def archive(uow, stored: Portfolio):
        if stored.archived == archived:
            state = "archived" if archived else "not archived"
            raise InputError(f"portfolio {portfolio_id} is already {state}")
        return stored.config, now if archived else None, {"name": stored.config.name}

    event = "portfolio.archived" if archived else "portfolio.unarchived"
    return _change(ledger, portfolio_id, now, event, archive)


def delete_portfolio(ledger: Ledger | None, portfolio_id: int, now: int) -> Portfolio:
    """Take the portfolio out of every command and free its name; journaled as
    `portfolio.deleted`. Its trades, ticks and journal stay in the database (the journal is
    append-only and refers to them). Returns the portfolio as it was."""
    with require_ledger(ledger, portfolio_id).unit_of_work(write=True) as uow:
        stored = uow.portfolios.get(portfolio_id, lock=True)
        uow.journal.append(portfolio_id, "portfolio.deleted", {"name": stored.config.name}, now)
        uow.portfolios.delete(portfolio_id, now)
        uow.commit()
    return stored


@dataclass(frozen=True, slots=True)
class SettingsChange:
    """What `portfolio set` may change: the fill model, the strategy's parameters and the exits
    attached to new entries (None and empty: unchanged; an exit given as "none": removed)."""

    fee_rate: str | None = None
    slippage_bps: str | None = None
    stake_fraction: str | None = None
    params: tuple[str, ...] = ()
    exits: tuple[str | None, str | None, str | None] = (None, None, None)
    fill: str | None = None
    max_slippage: str | None = None
    maker_fee: str | None = None
    taker_fee: str | None = None
    leverage: str | None = None  # of new entries: open positions keep theirs


def change_settings(ledger: Ledger | None, portfolio_id: int, change: SettingsChange, now: int) -> Portfolio:
    """Change settings that are safe to change between two ticks; journaled as
    `portfolio.settings_changed` with each changed value before and after, and the latest
    candle processed so far (`last_candle_ts`, None before the first tick): the new settings
    trade from the candle after it, which `report --vs-backtest` replays. The portfolio's
    version advances, so the next tick (even one deciding at this moment) uses them."""

    def apply(uow, stored: Portfolio):
        config = changed_config(stored.config, change)
        before, after = settings_of(stored.config), settings_of(config)
        changed = sorted(key for key in before.keys() | after.keys() if before.get(key) != after.get(key))
        if not changed:
            raise InputError(_unchanged(stored.id, change, before))
        latest = [tick.key.candle_ts for tick in uow.ticks.latest_per_symbol(portfolio_id)]
        payload = {"from": {k: before.get(k) for k in changed}, "to": {k: after.get(k) for k in changed},
                   "last_candle_ts": max(latest, default=None)}  # fmt: skip
        return config, stored.archived_ts, payload

    return _change(ledger, portfolio_id, now, "portfolio.settings_changed", apply)


def _unchanged(portfolio_id: int, change: SettingsChange, current: dict) -> str:
    """Why a change changes nothing: each value given is already the portfolio's."""
    fills = (("fee_rate", change.fee_rate), ("slippage_bps", change.slippage_bps),
             ("stake_fraction", change.stake_fraction), ("fill", change.fill),
             ("max_slippage", change.max_slippage), ("maker_fee", change.maker_fee),
             ("taker_fee", change.taker_fee), ("leverage", change.leverage))  # fmt: skip
    given = [(f"--{key.replace('_', '-')} ", key) for key, value in fills if value is not None]
    for pair in change.params:
        name = pair.partition("=")[0].strip()
        given.append((f"--param {name}=", f"params.{name}"))
    given += [(f"--{name.replace('_', '-')} ", f"exits.{name}")
              for name, text in zip(_EXIT_NAMES, change.exits, strict=True) if text is not None]  # fmt: skip
    if not given:
        return (
            "nothing to change: give --fee-rate, --maker-fee, --taker-fee, --slippage-bps, --stake-fraction, "
            "--fill, --max-slippage, --leverage, --param or an exit"
        )
    values = ", ".join(f"{option}{current.get(key, 'none')}" for option, key in given)
    return f"nothing to change: portfolio {portfolio_id} already has {values}"


def changed_config(config: PortfolioConfig, change: SettingsChange) -> PortfolioConfig:
    """`config` with `change` applied, validated as `create-portfolio` validates its options."""
    fills = config.fills

    def given(value: str | None, current: Decimal) -> str:
        return to_plain(current) if value is None else value

    taker, maker, from_exchange = _changed_fees(config, change)
    new_fills = parse_fill_model(
        taker, given(change.slippage_bps, fills.slippage_bps), given(change.stake_fraction, fills.stake_fraction), maker
    )
    params = dict(config.strategy_params)
    if change.params:
        strategy_cls = registry.load_class(config.strategy)
        merged = {**params, **registry.parse_param_pairs(change.params)}
        params = registry.parse_params(strategy_cls, merged).model_dump(mode="json")
    fill = config.fill if change.fill is None else parse_fill_setting(change.fill)
    cap = config.max_slippage if change.max_slippage is None else parse_max_slippage(change.max_slippage)
    margin = config.margin
    if change.leverage is not None:
        margin = replace(margin, leverage=parse_leverage(change.leverage))
    check_leverage_fill(margin.leverage, fill)
    return replace(config, fills=new_fills, strategy_params=params, exits=_changed_exits(config.exits, change.exits),
                   fill=fill, max_slippage=cap, fees_from_exchange=from_exchange, margin=margin)  # fmt: skip


def _changed_fees(config: PortfolioConfig, change: SettingsChange) -> tuple[str, str | None, bool]:
    """The taker and maker rates (text) and whether they come from the exchange after `change`:
    `--fee-rate exchange` goes back to the exchange's rates, `--fee-rate R` sets both, and
    `--maker-fee`/`--taker-fee` change one of the rates a portfolio set (both, to leave the
    exchange's)."""
    fills = config.fills
    if change.fee_rate is not None and change.fee_rate.strip().lower() == "exchange":
        if change.maker_fee is not None or change.taker_fee is not None:
            raise InputError("give either --fee-rate exchange or --maker-fee/--taker-fee, not both")
        return DEFAULT_FEE_RATE, None, True
    if change.fee_rate is not None or (config.fees_from_exchange and (change.maker_fee or change.taker_fee)):
        return parse_fee_rates(change.fee_rate, change.maker_fee, change.taker_fee)
    maker = change.maker_fee if change.maker_fee is not None else to_plain(fills.maker)
    taker = change.taker_fee if change.taker_fee is not None else to_plain(fills.fee_rate)
    return taker, (None if maker == taker else maker), config.fees_from_exchange


def _changed_exits(exits: Exits, given: tuple[str | None, str | None, str | None]) -> Exits:
    """`exits` with each given one replaced ("none" removes it), validated as at creation."""
    current = exits.as_dict()
    for name, text in zip(_EXIT_NAMES, given, strict=True):
        if text is not None and text.strip().lower() == "none":
            current.pop(name, None)
        elif text is not None:
            current.update(parse_exits(*(text if key == name else None for key in _EXIT_NAMES)).as_dict())
    return Exits.from_dict(current)


_EXIT_NAMES = ("stop_loss", "take_profit", "trailing_stop")


def settings_of(config: PortfolioConfig) -> dict:
    """The settings `portfolio set` may change, as text keyed as its journal entries name them
    ("fee_rate", "fill", "params.NAME", "exits.NAME", ...)."""
    fills = config.fills
    values = {"fee_rate": fills.fee_rate, "slippage_bps": fills.slippage_bps, "stake_fraction": fills.stake_fraction,
              "leverage": config.margin.leverage}  # fmt: skip
    params = {f"params.{key}": value for key, value in config.strategy_params.items()}
    exits = {f"exits.{key}": value for key, value in config.exits.as_dict().items()}
    values["max_slippage"] = config.max_slippage
    values["maker_fee"] = fills.maker
    fees = "exchange" if config.fees_from_exchange else "set"
    return {**{key: to_plain(value) for key, value in values.items()}, "fill": config.fill, "fees": fees, **params,
            **exits}  # fmt: skip


def config_with_settings(config: PortfolioConfig, settings: dict) -> PortfolioConfig:
    """`config` with the settings `settings_of` gives (an earlier version of them, say)."""
    maker = settings.get("maker_fee")
    fills = parse_fill_model(str(settings["fee_rate"]), str(settings["slippage_bps"]), str(settings["stake_fraction"]),
                             None if maker is None else str(maker))  # fmt: skip
    params = {key.removeprefix("params."): value for key, value in settings.items() if key.startswith("params.")}
    exits = {key.removeprefix("exits."): value for key, value in settings.items() if key.startswith("exits.")}
    cap = parse_max_slippage(str(settings["max_slippage"])) if "max_slippage" in settings else config.max_slippage
    margin = replace(config.margin, leverage=Decimal(str(settings.get("leverage", config.margin.leverage))))
    return replace(config, fills=fills, strategy_params=params, exits=Exits.from_dict(exits),
                   fill=str(settings.get("fill", "close")), max_slippage=cap,
                   fees_from_exchange=settings.get("fees") == "exchange", margin=margin)  # fmt: skip


def _change(ledger: Ledger | None, portfolio_id: int, now: int, event: str, change) -> Portfolio:
    """Apply `change(uow, stored) -> (config, archived_ts, journal payload)` to the portfolio
    under the write lock, journal it as `event`, and return the portfolio as it is now."""
    with require_ledger(ledger, portfolio_id).unit_of_work(write=True) as uow:
        stored = uow.portfolios.get(portfolio_id, lock=True, with_positions=False)
        config, archived_ts, payload = change(uow, stored)
        uow.portfolios.update(portfolio_id, config, archived_ts)
        uow.journal.append(portfolio_id, event, payload, now)
        changed = uow.portfolios.get(portfolio_id)
        uow.commit()
    return changed


def _created_entry(config: PortfolioConfig, cash: Decimal) -> dict:
    """The journal's record of a new portfolio: what `audit verify` rebuilds its book from."""
    entry = {"name": config.name, "quote": config.quote, "initial_cash": cash}
    if config.allow_short:
        entry["allow_short"] = True
    if config.fill != "close":
        entry["fill"] = config.fill
    if config.max_slippage != DEFAULT_MAX_SLIPPAGE:
        entry["max_slippage"] = config.max_slippage
    if config.fees_from_exchange:
        entry["fees"] = "exchange"
    return entry


def study_origin(ledger: Ledger | None, portfolio_id: int) -> Mapping[str, Any] | None:
    """The study and trial a portfolio's settings came from (`optimize --create-portfolio`), if any."""
    with require_ledger(ledger, portfolio_id).unit_of_work() as uow:
        found = uow.journal.entries(portfolio_id, "portfolio.from_study")
    return found[0].payload if found else None
