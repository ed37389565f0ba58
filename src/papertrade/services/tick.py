"""One tick of a bot: sync candles, restore the portfolio, ask the strategy, execute exactly once.

A tick decides on the latest closed candle only: the one that opened one timeframe before the
timeframe `now` falls in. Candles missed while cron was not running are stored but never acted
on. In LIVE mode everything the tick writes (candles, tick, trade, cash, position, journal)
commits in one transaction, which takes the write lock, checks that nobody has claimed the tick
key (portfolio, strategy, symbol, candle) and claims it with the tick's row, under a unique
constraint: a retried or overlapping run finds the key claimed and changes nothing.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any, Protocol

from papertrade.adapters.repositories import AlreadyClaimed, StoredPortfolio, TickKey, TickRecord
from papertrade.adapters.unit_of_work import Ledger, UnitOfWork
from papertrade.domain.bars import Bar
from papertrade.domain.execution import execute_decision, warming_up
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.ledger import Fill, FillResult, Portfolio
from papertrade.domain.portfolio import parse_symbol
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.domain.timeframes import Timeframe, timestamp
from papertrade.errors import InputError, TemporaryError
from papertrade.services.portfolios import require_ledger
from papertrade.strategies import registry
from papertrade.strategies.base import Strategy
from papertrade.strategies.runner import CandleWindow, call_strategy


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
    window: CandleWindow

    @property
    def candle(self) -> Bar:
        return self.window.bars[-1]

    def key(self) -> TickKey:
        config = self.portfolio.config
        return TickKey(self.portfolio.id, config.strategy, self.market.symbol, self.candle.ts)


#: How long a cached market description (amount step, minimum order) is trusted: one day.
MARKETS_TTL_MS = 86_400_000


class TickRunner:
    """Runs ticks against one ledger. A cron tick uses one for a single tick; a replay or a batch
    run keeps one for all its ticks, so that what does not change between ticks is not redone:
    strategy objects, and the candles already read (closed candles never change), so each tick
    reads only the candles newer than those it holds.
    """

    def __init__(
        self,
        ledger: Ledger | None,
        market_data_for: Callable[[str], MarketData],
        *,
        markets_ttl_ms: int = MARKETS_TTL_MS,
    ) -> None:
        self.ledger = ledger
        self.market_data_for = market_data_for
        self.markets_ttl_ms = markets_ttl_ms
        self._strategies: dict[tuple[str, str], Strategy] = {}
        self._windows: dict[tuple[str, str, str], CandleWindow] = {}
        self._markets: dict[tuple[str, str], tuple[dict, int] | None] = {}

    def tick(self, portfolio_id: int, symbol: str, mode: Mode, now: int) -> TickResult:
        """Run one tick of `portfolio_id` on `symbol` at time `now` (ms since the epoch, UTC).

        DRY writes nothing at all; LIVE writes everything in one transaction.
        """
        parse_symbol(symbol)
        require_ledger(self.ledger, portfolio_id)
        plan = self._prepare(portfolio_id, symbol, now)
        if mode is Mode.LIVE:
            return _execute(self.ledger, plan, now)
        return _dry_run(self.ledger, plan)

    def _prepare(self, portfolio_id: int, symbol: str, now: int) -> _Plan:
        with self.ledger.unit_of_work() as uow:
            portfolio = uow.portfolios.get(portfolio_id, with_positions=False)
            config = portfolio.config
            _check_quote(symbol, config.quote, portfolio_id)
            strategy = self._strategy(config.strategy, config.strategy_params)
            timeframe = config.timeframe
            target = timeframe.last_closed(now)
            series = (config.exchange, symbol, timeframe.name)
            latest_stored = uow.candles.latest_ts(*series)
            history = self._history(uow, series, target, strategy.lookback)
            trusted = self._trusted_market(uow, config.exchange, symbol, now)

        source = self.market_data_for(config.exchange)
        market, description = source.market(symbol, trusted)
        if description is not None:
            self._markets[(config.exchange, symbol)] = (description, now)
        fresh: list[Bar] = []
        if latest_stored is None or latest_stored < target:
            since = _since(latest_stored, target, strategy, timeframe)
            fresh = [bar for bar in source.closed_bars(symbol, timeframe, since, now) if bar.ts <= target]
        window = history.extended(fresh, strategy.lookback)
        _check_fresh(window.bars, target, timeframe, symbol)
        return _Plan(portfolio, strategy, market, description, fresh, window)

    def _strategy(self, name: str, params: Mapping[str, Any]) -> Strategy:
        key = (name, repr(sorted(params.items())))
        if key not in self._strategies:
            self._strategies[key] = registry.build(name, params)
        return self._strategies[key]

    def _history(self, uow: UnitOfWork, series: tuple[str, str, str], until: int, count: int | None) -> CandleWindow:
        """The stored candles a strategy sees, reading only what this runner has not read before."""
        known = self._windows.get(series)
        if known is not None and known.bars and known.bars[-1].ts <= until:
            window = known.extended(uow.candles.after(*series, after=known.bars[-1].ts, until=until), count)
        else:
            window = CandleWindow(uow.candles.window(*series, until=until, count=count))
        self._windows[series] = window
        return window

    def _trusted_market(self, uow: UnitOfWork, exchange: str, symbol: str, now: int) -> dict | None:
        """A cached market description younger than the TTL. The cache is read once per runner
        (an absent entry too); what the runner fetches itself it remembers."""
        key = (exchange, symbol)
        if key not in self._markets:
            self._markets[key] = uow.markets.get(exchange, symbol)
        remembered = self._markets[key]
        if remembered is None or now - remembered[1] >= self.markets_ttl_ms:
            return None
        return remembered[0]


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
    return TickRunner(ledger, market_data_for, markets_ttl_ms=markets_ttl_ms).tick(portfolio_id, symbol, mode, now)


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
        claim = _claim_state(uow, plan)
        if claim.duplicate is not None:
            return _duplicate_result(plan, portfolio, claim.duplicate, claim.signal)
        uow.candles.upsert(config.exchange, plan.market.symbol, config.timeframe.name, plan.fresh)
        if plan.market_description is not None:
            uow.markets.put(config.exchange, plan.market.symbol, plan.market_description, now)
        decision, fill = evaluate(plan.strategy, plan.window, portfolio.book, plan.market, config.fills)
        booked = portfolio.book.apply_fill(fill) if fill else None
        try:
            tick_id = uow.ticks.add(_tick_record(plan, decision, booked, portfolio.book, claim.skipped, now))
        except AlreadyClaimed:
            return _duplicate_result(plan, portfolio, "another run claimed this candle at the same moment")
        if booked is not None:
            _book_trade(uow, plan, portfolio, tick_id, booked, now)
        uow.commit()
    status = Status.EXECUTED if booked else Status.NEUTRAL
    return _result(plan, decision, portfolio.book, fill, status, claim.skipped)


@dataclass(frozen=True, slots=True)
class _Claim:
    """Whether a candle may still be acted on: `duplicate` says why not."""

    duplicate: str | None = None
    signal: Signal = Signal.HOLD  # what the run that got there first decided
    skipped: int = 0  # candles stored since the last one acted on


def _claim_state(uow: UnitOfWork, plan: _Plan) -> _Claim:
    key = plan.key()
    latest = uow.ticks.latest(key.portfolio_id, key.strategy, key.symbol)
    if latest is None:
        return _Claim()
    if latest.key.candle_ts == key.candle_ts:
        why = f"this candle was already processed ({latest.signal}, {latest.status})"
        return _Claim(why, Signal(latest.signal))
    if latest.key.candle_ts > key.candle_ts:
        return _Claim(f"a later candle ({timestamp(latest.key.candle_ts)}) was already processed")
    if key.candle_ts - latest.key.candle_ts == plan.portfolio.config.timeframe.ms:
        return _Claim()  # the previous candle: nothing can lie in between
    config = plan.portfolio.config
    stored = uow.candles.count_between(
        config.exchange, key.symbol, config.timeframe.name, latest.key.candle_ts, key.candle_ts
    )
    fresh = sum(1 for bar in plan.fresh if latest.key.candle_ts < bar.ts < key.candle_ts)
    return _Claim(skipped=stored + fresh)


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
    uow.outbox.record_fill(portfolio.id, portfolio.config.name, portfolio.config.quote, candle_ts, booked, now)


def _dry_run(ledger: Ledger, plan: _Plan) -> TickResult:
    with ledger.unit_of_work() as uow:
        book = uow.portfolios.get(plan.portfolio.id).book  # a private copy, never saved
        claim = _claim_state(uow, plan)
    decision, fill = evaluate(plan.strategy, plan.window, book, plan.market, plan.portfolio.config.fills)
    if fill is not None:
        book.apply_fill(fill)
    would_be = Status.DUPLICATE if claim.duplicate else Status.EXECUTED if fill else Status.NEUTRAL
    return replace(_result(plan, decision, book, fill, Status.DRY_RUN, claim.skipped), live_status=would_be)


def evaluate(
    strategy: Strategy, window: CandleWindow, book: Portfolio, market: Market, fills: FillModel
) -> tuple[Decision, Fill | None]:
    """The decision on the last candle of `window` and the fill it leads to, if any.

    The strategy is asked only once it has its warm-up; the rest is `execute_decision`, shared
    with backtests.
    """
    if len(window) < strategy.warmup:
        return warming_up(len(window), strategy.warmup), None
    position = book.position(market.symbol)
    view = PositionView(market.symbol, position.quantity, position.avg_cost)
    decision = call_strategy(strategy, window.frame(), view)
    return execute_decision(decision, book, market, fills, window.bars[-1].close)


# -- results --------------------------------------------------------------------------------


def _tick_record(
    plan: _Plan, decision: Decision, booked: FillResult | None, book: Portfolio, skipped: int, now: int
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
        skipped=skipped,
        processed_ts=now,
    )


def _result(
    plan: _Plan, decision: Decision, book: Portfolio, fill: Fill | None, status: Status, skipped: int
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
        skipped=skipped,
        fetched=len(plan.fresh),
    )


def _duplicate_result(plan: _Plan, portfolio: StoredPortfolio, why: str, signal: Signal = Signal.HOLD) -> TickResult:
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
    )
