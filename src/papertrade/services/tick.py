"""One tick of a bot: sync candles, restore the portfolio, ask the strategy, execute exactly once.

A tick decides on the latest closed candle only: the one that opened one timeframe before the
timeframe `now` falls in. Candles missed while cron was not running are stored but never acted
on. In LIVE mode everything the tick writes (candles, tick, trade, cash, position, journal)
commits in one transaction whose first act is to claim the tick key (portfolio, strategy,
symbol, candle): a retried or overlapping run finds the key claimed and changes nothing.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from papertrade.adapters.repositories import AlreadyClaimed, StoredPortfolio, TickKey, TickRecord
from papertrade.adapters.unit_of_work import Ledger, UnitOfWork
from papertrade.domain.bars import Bar
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Fill, FillResult, Portfolio
from papertrade.domain.portfolio import parse_symbol
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.domain.timeframes import Timeframe, timestamp
from papertrade.errors import InputError, NotFound, TemporaryError
from papertrade.strategies import registry
from papertrade.strategies.base import Strategy
from papertrade.strategies.runner import call_strategy, candles_frame


class Mode(StrEnum):
    DRY = "DRY"
    LIVE = "LIVE"

    @classmethod
    def parse(cls, text: str) -> "Mode":
        try:
            return cls(text.upper())
        except ValueError:
            raise InputError(f"mode must be DRY or LIVE, not {text!r}") from None


class Status(StrEnum):
    EXECUTED = "executed"
    NEUTRAL = "neutral"
    DUPLICATE = "duplicate"
    DRY_RUN = "dry-run"


class MarketData(Protocol):
    """Where a tick's candles come from: an exchange through ccxt, or a file for replays."""

    def market(self, symbol: str, cached: Mapping[str, Any] | None) -> tuple[Market, dict | None]:
        """The market, from `cached` when given; plus a fresh description to cache, or None."""
        ...

    def closed_bars(self, symbol: str, timeframe: Timeframe, since: int, now: int) -> list[Bar]: ...


@dataclass(frozen=True, slots=True)
class TickResult:
    """What a tick did, for the CLI to render. `fill` is None when nothing traded."""

    portfolio_id: int
    strategy: str
    symbol: str
    candle_ts: int
    signal: Signal
    status: Status
    reason: str
    close: Decimal
    cash: Decimal
    position: Decimal
    fill: Fill | None = None
    indicators: dict[str, float] = field(default_factory=dict)
    skipped: int = 0
    fetched: int = 0
    live_status: Status | None = None  # DRY only: what LIVE would have reported


@dataclass(frozen=True, slots=True)
class _Plan:
    """Everything gathered before the write lock is taken."""

    portfolio: StoredPortfolio
    strategy: Strategy
    market: Market
    market_description: dict | None  # freshly fetched, for LIVE to cache
    fresh: list[Bar]
    window: list[Bar]
    skipped: int

    @property
    def candle(self) -> Bar:
        return self.window[-1]

    def key(self) -> TickKey:
        config = self.portfolio.config
        return TickKey(self.portfolio.id, config.strategy, self.market.symbol, self.candle.ts)


#: How long a cached market description (amount step, minimum order) is trusted: one day.
MARKETS_TTL_MS = 86_400_000


def run_tick(
    ledger: Ledger | None,
    market_data_for: Callable[[str], MarketData],
    portfolio_id: int,
    symbol: str,
    mode: Mode,
    now: int,
    markets_ttl_ms: int = MARKETS_TTL_MS,
) -> TickResult:
    """Run one tick of `portfolio_id` on `symbol` at time `now` (ms since the epoch, UTC).

    `market_data_for(exchange_id)` gives the source of market data for the portfolio's
    exchange; market descriptions cached less than `markets_ttl_ms` ago are used without asking
    the exchange. DRY writes nothing at all; LIVE writes everything in one transaction.
    """
    parse_symbol(symbol)
    if ledger is None:
        raise NotFound(f"no portfolio with id {portfolio_id} (the ledger is empty)")
    plan = _prepare(ledger, market_data_for, portfolio_id, symbol, now, markets_ttl_ms)
    if mode is Mode.LIVE:
        return _execute(ledger, plan, now)
    return _dry_run(ledger, plan)


# -- sync and restore -----------------------------------------------------------------------


def _prepare(
    ledger: Ledger, market_data_for, portfolio_id: int, symbol: str, now: int, markets_ttl_ms: int
) -> _Plan:
    with ledger.unit_of_work() as uow:
        portfolio = uow.portfolios.get(portfolio_id)
        config = portfolio.config
        _check_quote(symbol, config.quote, portfolio_id)
        strategy = registry.build(config.strategy, config.strategy_params)
        timeframe = config.timeframe
        target = timeframe.last_closed(now)
        series = (config.exchange, symbol, timeframe.name)
        latest_stored = uow.candles.latest_ts(*series)
        history = uow.candles.window(*series, until=target, count=strategy.lookback)
        last_tick = uow.ticks.latest_candle_ts(portfolio_id, config.strategy, symbol)
        skipped = uow.candles.count_between(*series, last_tick, target) if last_tick is not None else 0
        cached = uow.markets.get(config.exchange, symbol)

    source = market_data_for(config.exchange)
    trusted = cached[0] if cached is not None and now - cached[1] < markets_ttl_ms else None
    market, description = source.market(symbol, trusted)
    fresh: list[Bar] = []
    if latest_stored is None or latest_stored < target:
        since = _since(latest_stored, target, strategy, timeframe)
        fresh = [bar for bar in source.closed_bars(symbol, timeframe, since, now) if bar.ts <= target]
    if last_tick is not None:
        skipped += sum(1 for bar in fresh if last_tick < bar.ts < target)
    window = [*history, *fresh]
    if strategy.lookback is not None:
        window = window[-strategy.lookback :]
    _check_fresh(window, target, timeframe, symbol)
    return _Plan(portfolio, strategy, market, description, fresh, window, skipped)


#: Extra candles fetched on a first sync, so that exchange gaps do not leave a strategy short.
BACKFILL_MARGIN = 0.1
#: The most candles a tick fetches to fill the gap since the last stored one (10 requests).
MAX_GAP_FILL = 10_000


def _since(latest_stored: int | None, target: int, strategy: Strategy, timeframe: Timeframe) -> int:
    """Where to start fetching: right after the last stored candle (filling the gap since), or
    far enough back to warm the strategy up when nothing usable is stored."""
    needed = max(strategy.warmup, strategy.lookback or 0)
    backfill_start = target - (needed + max(10, int(needed * BACKFILL_MARGIN)) - 1) * timeframe.ms
    if latest_stored is None:
        return backfill_start
    oldest_worth_filling = min(backfill_start, target - (MAX_GAP_FILL - 1) * timeframe.ms)
    return max(latest_stored + timeframe.ms, oldest_worth_filling)


def _check_quote(symbol: str, quote: str, portfolio_id: int) -> None:
    _, symbol_quote = parse_symbol(symbol)
    if symbol_quote != quote:
        raise InputError(f"{symbol} is quoted in {symbol_quote} but portfolio {portfolio_id} holds {quote}")


def _check_fresh(window: Sequence[Bar], target: int, timeframe: Timeframe, symbol: str) -> None:
    """The latest closed candle must be the one that just closed; anything older is stale."""
    if not window:
        raise TemporaryError(f"the exchange has no closed {timeframe} candles for {symbol} yet")
    if window[-1].ts < target:
        raise TemporaryError(
            f"stale data: the latest closed {timeframe} candle of {symbol} opened at "
            f"{timestamp(window[-1].ts)}, expected {timestamp(target)}"
        )


# -- decide and execute ---------------------------------------------------------------------


def _execute(ledger: Ledger, plan: _Plan, now: int) -> TickResult:
    config = plan.portfolio.config
    with ledger.unit_of_work(write=True) as uow:
        portfolio = uow.portfolios.get(plan.portfolio.id, lock=True)
        duplicate = _already_done(uow, plan, portfolio)
        if duplicate is not None:
            return duplicate
        uow.candles.upsert(config.exchange, plan.market.symbol, config.timeframe.name, plan.fresh)
        if plan.market_description is not None:
            uow.markets.put(config.exchange, plan.market.symbol, plan.market_description, now)
        decision, fill = evaluate(plan.strategy, plan.window, portfolio.book, plan.market, config.fills)
        booked = portfolio.book.apply_fill(fill) if fill else None
        try:
            tick_id = uow.ticks.add(_tick_record(plan, decision, booked, portfolio.book, now))
        except AlreadyClaimed:
            return _duplicate_result(plan, portfolio, "another run claimed this candle at the same moment")
        if booked is not None:
            _book_trade(uow, plan, portfolio, tick_id, booked, now)
        uow.commit()
    status = Status.EXECUTED if booked else Status.NEUTRAL
    return _result(plan, decision, portfolio.book, fill, status)


def _already_done(uow: UnitOfWork, plan: _Plan, portfolio: StoredPortfolio) -> TickResult | None:
    key = plan.key()
    existing = uow.ticks.get(key)
    if existing is not None:
        why = f"this candle was already processed ({existing.signal}, {existing.status})"
        return _duplicate_result(plan, portfolio, why, Signal(existing.signal))
    latest = uow.ticks.latest_candle_ts(key.portfolio_id, key.strategy, key.symbol)
    if latest is not None and latest > key.candle_ts:
        return _duplicate_result(
            plan, portfolio, f"a later candle ({timestamp(latest)}) was already processed"
        )
    return None


def _book_trade(
    uow: UnitOfWork, plan: _Plan, portfolio: StoredPortfolio, tick_id: int, booked: FillResult, now: int
) -> None:
    fill, candle_ts = booked.fill, plan.candle.ts
    uow.trades.add(portfolio.id, tick_id, candle_ts, fill, booked.realized_pnl, booked.cash_after, now)
    uow.portfolios.save_book(portfolio.id, portfolio.book, [fill.symbol], now)
    uow.journal.append(
        portfolio.id,
        "fill",
        {
            "candle_ts": candle_ts,
            "symbol": fill.symbol,
            "side": str(fill.side),
            "quantity": fill.quantity,
            "price": fill.price,
            "notional": fill.notional,
            "fee": fill.fee,
            "realized_pnl": booked.realized_pnl,
            "cash_after": booked.cash_after,
            "position_after": booked.position_after,
        },
        now,
        tick_id=tick_id,
    )


def _dry_run(ledger: Ledger, plan: _Plan) -> TickResult:
    with ledger.unit_of_work() as uow:
        claimed = _already_done(uow, plan, plan.portfolio) is not None
    book = plan.portfolio.book
    decision, fill = evaluate(plan.strategy, plan.window, book, plan.market, plan.portfolio.config.fills)
    if fill is not None:
        book.apply_fill(fill)  # a private copy, loaded for this run and never saved
    would_be = Status.DUPLICATE if claimed else Status.EXECUTED if fill else Status.NEUTRAL
    return replace(_result(plan, decision, book, fill, Status.DRY_RUN), live_status=would_be)


def evaluate(
    strategy: Strategy, window: Sequence[Bar], book: Portfolio, market: Market, fills: FillModel
) -> tuple[Decision, Fill | None]:
    """The decision on the last candle of `window` and the fill it leads to, if any.

    Shared by the live tick, replay and backtest: the strategy is asked only once it has its
    warm-up; BUY while holding, SELL while flat and orders below the market's minimum become
    HOLD with the reason.
    """
    position = book.position(market.symbol)
    if len(window) < strategy.warmup:
        return Decision(Signal.HOLD, f"warming up: {len(window)} of {strategy.warmup} closed candles"), None
    view = PositionView(market.symbol, position.quantity, position.avg_cost)
    decision = call_strategy(strategy, candles_frame(window), view)
    close = window[-1].close
    if decision.signal is Signal.BUY:
        if position.is_open:
            return _held(decision, "already holding"), None
        fill = fills.buy(market, book.cash, close)
        return (decision, fill) if fill else (_held(decision, "insufficient cash"), None)
    if decision.signal is Signal.SELL:
        if not position.is_open:
            return _held(decision, "nothing to sell"), None
        fill = fills.sell(market, position, close)
        return (decision, fill) if fill else (_held(decision, "position below the market minimum"), None)
    return decision, None


def _held(decision: Decision, why: str) -> Decision:
    said = f"{decision.signal}: {decision.reason}" if decision.reason else str(decision.signal)
    return Decision(Signal.HOLD, f"{why} ({said})", decision.indicators)


# -- results --------------------------------------------------------------------------------


def _tick_record(
    plan: _Plan, decision: Decision, booked: FillResult | None, book: Portfolio, now: int
) -> TickRecord:
    return TickRecord(
        key=plan.key(),
        signal=str(decision.signal),
        status=str(Status.EXECUTED if booked else Status.NEUTRAL),
        reason=decision.reason,
        indicators=dict(decision.indicators),
        close=plan.candle.close,
        cash_after=book.cash,
        position_after=book.position(plan.market.symbol).quantity,
        skipped=plan.skipped,
        processed_ts=now,
    )


def _result(
    plan: _Plan, decision: Decision, book: Portfolio, fill: Fill | None, status: Status
) -> TickResult:
    return TickResult(
        portfolio_id=plan.portfolio.id,
        strategy=plan.portfolio.config.strategy,
        symbol=plan.market.symbol,
        candle_ts=plan.candle.ts,
        signal=decision.signal,
        status=status,
        reason=decision.reason,
        close=plan.candle.close,
        cash=book.cash,
        position=book.position(plan.market.symbol).quantity,
        fill=fill,
        indicators=dict(decision.indicators),
        skipped=plan.skipped,
        fetched=len(plan.fresh),
    )


def _duplicate_result(
    plan: _Plan, portfolio: StoredPortfolio, why: str, signal: Signal = Signal.HOLD
) -> TickResult:
    book = portfolio.book
    return TickResult(
        portfolio_id=portfolio.id,
        strategy=portfolio.config.strategy,
        symbol=plan.market.symbol,
        candle_ts=plan.candle.ts,
        signal=signal,
        status=Status.DUPLICATE,
        reason=why,
        close=plan.candle.close,
        cash=book.cash,
        position=book.position(plan.market.symbol).quantity,
        skipped=plan.skipped,
    )
