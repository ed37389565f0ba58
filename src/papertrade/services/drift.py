"""Paper against backtest (`report --vs-backtest`): the portfolio's strategy backtested over the
candles it processed, with its starting cash and its settings as they were at each candle, beside
what paper actually did.

The backtest runs on the stored candles from the first candle the portfolio processed to the last
(the candles before warm the strategy up, as they did the first tick), on the market last cached
for the symbol, with the settings the journal says were in force: each `portfolio set` takes over
from the candle after the last one processed when it was made. It fills market orders at the
close, as `--fill close` does; so a `close` portfolio whose cron processed every candle agrees
with it fill for fill, and whatever parts them is what paper cost or missed.
"""

from dataclasses import dataclass, field
from decimal import Decimal

from papertrade.domain.coverage import Series
from papertrade.domain.drift import FillPair, SettingsEvent, first_divergence, paired_fills, settings_history, slippage
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.funding import NO_FUNDING, is_swap
from papertrade.errors import InputError, NotFound
from papertrade.reports.model import Performance
from papertrade.services.backtest import SettingsFrom, backtest, warmup_needed
from papertrade.services.market_data import cached_market, candle_columns, stored_funding
from papertrade.services.portfolios import config_with_settings, require_ledger, settings_of
from papertrade.services.ports import Ledger
from papertrade.services.reports import from_ledger
from papertrade.strategies import registry


@dataclass
class Side:
    """One side of the comparison: its performance and its cost of execution."""

    performance: Performance
    slippage: Decimal
    slippage_bps: Decimal | None


@dataclass
class Drift:
    """Paper and its backtest side by side (see the module docstring)."""

    portfolio_id: int
    name: str
    symbol: str
    paper: Side
    backtest: Side
    pairs: list[FillPair]
    divergence: object | None  # `papertrade.domain.drift.Divergence`
    missed: list[int] = field(default_factory=list)  # candles no tick processed, between the first and the last
    changes: list[SettingsEvent] = field(default_factory=list)  # settings changes within the candles compared

    @property
    def differing(self) -> list[FillPair]:
        return [pair for pair in self.pairs if not pair.same]


@dataclass(frozen=True)
class _History:
    """What the ledger says about a portfolio, read in one transaction."""

    portfolio: object
    ticks: list
    changes: list  # journal entries of `portfolio.settings_changed`, oldest first
    partial: set[int]  # candles of book fills journaled with a cancelled rest


def vs_backtest(ledger: Ledger | None, portfolio_id: int) -> Drift:
    """Backtest paper portfolio `portfolio_id` over the candles it processed and compare.

    A portfolio that has processed no candle is NotFound; one that trades several symbols is an
    InputError (a backtest trades one)."""
    history = _read(require_ledger(ledger, portfolio_id), portfolio_id)
    config, ticks = history.portfolio.config, history.ticks
    symbol = _one_symbol(ticks, portfolio_id)
    first_ts, last_ts = ticks[0].key.candle_ts, ticks[-1].key.candle_ts
    events, configs = _timeline(config, history.changes, ticks)
    initial = configs[0]
    strategy = registry.build(initial.strategy, initial.strategy_params)
    since = _warmup_start(strategy, first_ts, config.timeframe.ms)
    columns = candle_columns(ledger, Series(config.exchange, symbol, config.timeframe.name), since, last_ts)
    market = cached_market(ledger, config.exchange, symbol)
    changes = [SettingsFrom(event.from_ts, registry.build(c.strategy, c.strategy_params), _fills(c, market), c.exits,
                            c.margin) for event, c in zip(events, configs[1:], strict=True)]  # fmt: skip
    funding = stored_funding(ledger, config.exchange, symbol) if is_swap(symbol) else NO_FUNDING
    tested = backtest(columns, strategy, _fills(initial, market), history.portfolio.book.initial_cash, symbol,
                      config.quote, initial.exits, market, config.allow_short, initial.margin, start=first_ts,
                      changes=changes, funding=funding)  # fmt: skip
    paper = from_ledger(ledger, portfolio_id)
    ticked = {tick.key.candle_ts for tick in ticks}
    missed = [int(ts) for ts in columns.ts if first_ts < ts < last_ts and int(ts) not in ticked]
    closes = {int(ts): columns.exact(i) for i, ts in enumerate(columns.ts) if ts >= first_ts}
    pairs = paired_fills(paper.fills, tested.fills)

    def fill_setting_at(ts: int) -> str:
        return next((c.fill for e, c in zip(reversed(events), reversed(configs), strict=False) if e.from_ts <= ts),
                    configs[0].fill)  # fmt: skip

    divergence = first_divergence(pairs, missed, fill_setting_at, history.partial, events)
    return Drift(portfolio_id, config.name, symbol, Side(paper, *slippage(paper.fills, closes)),
                 Side(tested, *slippage(tested.fills, closes)), pairs, divergence, missed, events)  # fmt: skip


def _fills(config, market: Market | None) -> FillModel:
    """The fill model the tick charged under `config`: the market's own maker and taker rates when
    the portfolio's fees come from the exchange (the market cached when it last ticked)."""
    return config.fills if market is None else config.fills_for(market)


def _warmup_start(strategy, first_ts: int, step_ms: int) -> int | None:
    """Where to start reading stored candles: every one for a strategy that sees all, else
    twice its warm-up before the first candle processed (room for exchange gaps)."""
    if strategy.lookback is None:
        return None
    return first_ts - (2 * warmup_needed(strategy) + 10) * step_ms


def _read(ledger: Ledger, portfolio_id: int) -> _History:
    with ledger.unit_of_work() as uow:
        portfolio = uow.portfolios.get(portfolio_id)
        ticks = [tick for tick in uow.ticks.list(portfolio_id) if tick.key.strategy == portfolio.config.strategy]
        changes = uow.journal.entries(portfolio_id, "portfolio.settings_changed")
        fills = uow.journal.entries(portfolio_id, "fill")
    partial = {entry.payload["candle_ts"] for entry in fills if entry.payload.get("cancelled")}
    return _History(portfolio, ticks, changes, partial)


def _one_symbol(ticks: list, portfolio_id: int) -> str:
    if not ticks:
        raise NotFound(f"nothing to compare yet: portfolio {portfolio_id} has processed no candles")
    symbols = sorted({tick.key.symbol for tick in ticks})
    if len(symbols) > 1:
        raise InputError(
            f"--vs-backtest compares a portfolio trading one symbol; portfolio {portfolio_id} trades "
            f"{', '.join(symbols)}"
        )
    return symbols[0]


def _timeline(config, entries: list, ticks: list) -> tuple[list[SettingsEvent], list]:
    """The settings changes that took effect within the candles processed (each from the candle
    after the last one processed when it was made) and the config before the first of them and
    after each: changes made before the first candle count as the starting settings."""
    history = settings_history(settings_of(config), [(e.payload["from"], e.payload["to"]) for e in entries])
    first_ts, last_ts = ticks[0].key.candle_ts, ticks[-1].key.candle_ts
    start, events, kept = history[0], [], []
    for entry, after in zip(entries, history[1:], strict=True):
        from_ts = _takes_effect(entry, ticks)
        if from_ts <= first_ts:
            start = after
        elif from_ts <= last_ts:
            events.append(SettingsEvent(from_ts, entry.payload["from"], entry.payload["to"]))
            kept.append(after)
    return events, [config_with_settings(config, settings) for settings in (start, *kept)]


def _takes_effect(entry, ticks: list) -> int:
    """The first candle a settings change traded on: the one after the last candle processed
    when it was made (journaled since `last_candle_ts` exists); for older entries, the first
    candle processed after it was recorded."""
    if "last_candle_ts" in entry.payload:
        last = entry.payload["last_candle_ts"]
        return -1 if last is None else last + 1
    later = [tick.key.candle_ts for tick in ticks if tick.processed_ts >= entry.recorded_ts]
    return min(later, default=2**62)
