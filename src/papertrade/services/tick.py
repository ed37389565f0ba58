"""One tick of a bot: restore → sync → analyze → execute.

1. **Restore** the portfolio (settings, cash, positions and their version) and the stored
   candles its strategy will see, in one read-only transaction.
2. **Sync**: ask the market data source for the market and for the closed candles newer than
   those stored, validated by the source. Nothing is written yet.
3. **Analyze**: the resting orders are filled, expired and moved on every closed candle since
   the last one processed, oldest first (`domain/desk.py`); then the strategy decides on the
   latest closed candle, with no transaction open, so a slow plug-in holds no lock that other
   bots wait on.
4. **Execute**: LIVE takes the write lock, checks and claims the tick key (portfolio, strategy,
   symbol, candle), checks that the portfolio is still the version the decision was made on,
   then stores the candles, carries out the decision and writes the tick, the trades (resting
   orders' fills first), the orders and the journal entries, all in one transaction. If
   another tick changed the portfolio meanwhile, nothing is applied and the tick starts over
   from restore. DRY reports what LIVE would do and writes nothing.

A tick decides on the latest closed candle only: the one that opened one timeframe before the
timeframe `now` falls in. Candles missed while cron was not running are stored and still count
for resting orders (a stop crossed while cron was down fills on the candle that crossed it),
but the strategy never decides on them.
"""

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from decimal import Decimal
from enum import StrEnum
from typing import Any

from papertrade.domain.bars import Bar
from papertrade.domain.book import BookFills, check_book
from papertrade.domain.desk import Desk, DeskFill, OrderEvent, warming_up
from papertrade.domain.fills import Market
from papertrade.domain.funding import (
    NO_FUNDING,
    FundingPayment,
    FundingRate,
    FundingSchedule,
    is_swap,
    missing_times,
    scheduled_times,
)
from papertrade.domain.ledger import Book, Fill
from papertrade.domain.margin import MarginRules, liquidation_price
from papertrade.domain.money import to_plain
from papertrade.domain.orders import MANUAL, RestingOrder, Size
from papertrade.domain.pnl import Closing, last_closing
from papertrade.domain.portfolio import Portfolio, parse_symbol
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.domain.ticks import TickAlreadyClaimed, TickKey, TickRecord
from papertrade.domain.timeframes import Timeframe, timestamp
from papertrade.errors import InputError, TemporaryError
from papertrade.services.portfolios import require_ledger
from papertrade.services.ports import Ledger, MarketData, UnitOfWork
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
    order_fills: tuple[DeskFill, ...] = ()  # resting orders filled on this and missed candles
    order_events: tuple[OrderEvent, ...] = ()  # orders placed, cancelled, expired, moved
    funding: tuple[FundingPayment, ...] = ()  # funding booked on this and missed candles
    partial: tuple[DeskFill, ...] = ()  # the decision's market fills the book filled only in part


@dataclass(frozen=True, slots=True)
class Manual:
    """A trader's forced entry (`open`, sized by `size`, default the portfolio's stake) or exit
    (`close`: the whole position, long or short), acted on at the latest closed candle's close
    under its own tick key, `manual:open` or `manual:close`, so that each is done at most once
    per candle however often it is retried, and never takes a candle from the strategy."""

    action: str  # "open" or "close"
    size: Size | None = None

    @property
    def key_strategy(self) -> str:
        return f"{MANUAL}:{self.action}"

    def decision(self, position, symbol: str) -> Decision:
        """What to do about `position`: a HOLD saying why when there is nothing to do."""
        reason = f"manual {self.action}"
        if self.action == "open":
            if position.is_open:
                return Decision.hold(f"the portfolio already holds {to_plain(position.quantity)} {symbol}")
            return Decision.buy(reason, size=self.size)
        if position.is_short:
            return Decision.cover(reason)
        return Decision.sell(reason) if position.is_long else Decision.hold(f"the portfolio holds no {symbol}")


@dataclass(frozen=True, slots=True)
class Restored:
    """What the ledger holds for this tick, read before anything is fetched or decided."""

    portfolio: Portfolio
    strategy: Strategy
    symbol: str
    candle_ts: int  # open time of the candle to decide on
    history: CandleWindow  # stored candles up to that one
    latest_stored_ts: int | None
    cached_market: Market | None  # a cached market younger than the TTL
    orders: tuple[RestingOrder, ...] = ()  # the symbol's resting orders
    processed_ts: int | None = None  # the last candle processed (read only when `watched`)
    unprocessed: tuple[Bar, ...] = ()  # stored candles after it, up to `candle_ts`
    manual: Manual | None = None  # a trader's forced entry or exit instead of the strategy's decision
    funding: FundingSchedule = NO_FUNDING  # a funded position's stored rates since the last candle processed
    latest_funding_ts: int | None = None  # the latest stored funding time of a funded position's swap

    @property
    def timeframe(self) -> Timeframe:
        return self.portfolio.config.timeframe

    @property
    def funded(self) -> bool:
        """Whether the position is open on a swap, so funding may fall due on every candle."""
        return funded(self.portfolio.book, self.symbol)

    @property
    def watched(self) -> bool:
        """Whether every candle since the last processed one matters: an order rests, the
        position could be liquidated on one, or it is funded."""
        return (
            bool(self.orders) or at_risk(self.portfolio.book, self.symbol, self.portfolio.config.margin) or self.funded
        )

    @property
    def funding_window(self) -> tuple[int, int]:
        """The funding times this tick books: (after, until] (`domain.funding.funding_window`
        from the first candle it processes to the one it decides on)."""
        step = self.timeframe.ms
        after = self.processed_ts + step if self.processed_ts is not None else self.candle_ts
        return after, self.candle_ts + step

    def key(self) -> TickKey:
        strategy = self.manual.key_strategy if self.manual else self.portfolio.config.strategy
        return TickKey(self.portfolio.id, strategy, self.symbol, self.candle_ts)


@dataclass(frozen=True, slots=True)
class Analysis:
    """What analyze concluded: the desk after the resting orders met the candles since the last
    tick, and the strategy's decision on the latest one."""

    desk: Desk
    decision: Decision


@dataclass(frozen=True, slots=True)
class Synced:
    """The market and candles as the source has them now; `fresh` are the ones not stored yet."""

    market: Market
    market_to_cache: bool
    fresh: list[Bar]
    window: CandleWindow  # what the strategy sees, ending with the candle decided on
    fresh_funding: tuple[FundingRate, ...] = ()  # funding rates fetched, not stored yet
    funding: FundingSchedule = NO_FUNDING  # every rate the tick books from, stored and fetched

    @property
    def candle(self) -> Bar:
        return self.window.bars[-1]


_FOREVER = 2**62
#: How long a cached market (amount step, minimum order) is trusted: one day.
MARKETS_TTL_MS = 86_400_000
#: How often a tick decides again when other ticks keep changing its portfolio meanwhile.
DECISION_ATTEMPTS = 5


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
        #: (exchange, symbol, timeframe, lookback) → the candles read for strategies with that lookback
        self._windows: dict[tuple[str, str, str, int | None], CandleWindow] = {}
        self._portfolios: dict[int, Portfolio] = {}
        self._markets: dict[tuple[str, str], tuple[Market, int] | None] = {}
        self._processed: dict[tuple[int, str, str], int] = {}  # (portfolio, strategy, symbol) → last candle

    def tick(self, portfolio_id: int, symbol: str, mode: Mode, now: int, manual: Manual | None = None) -> TickResult:
        """Run one tick of `portfolio_id` on `symbol` at time `now` (ms since the epoch, UTC).

        DRY writes nothing at all; LIVE writes everything in one transaction. With `manual`, the
        trader's entry or exit is acted on instead of asking the strategy (LIVE only).
        """
        parse_symbol(symbol)
        require_ledger(self.ledger, portfolio_id)
        for _ in range(DECISION_ATTEMPTS):
            restored = replace(self.restore(portfolio_id, symbol, now), manual=manual)
            synced = self.sync(restored, now)
            analysis = self.analyze(restored, synced)
            result = self.execute(restored, synced, analysis, mode, now)
            if result is not None:
                self._remember_stored(restored, synced, result)
                return result
            self._processed.pop(_series_key(restored), None)
        raise TemporaryError(f"portfolio {portfolio_id} kept changing while {symbol} was deciding; try again")

    # -- 1. restore -------------------------------------------------------------------------

    def restore(self, portfolio_id: int, symbol: str, now: int) -> Restored:
        """The portfolio and the stored candles its strategy will see, in one read transaction."""
        with self.ledger.unit_of_work() as uow:
            portfolio = self._portfolio(uow, portfolio_id)
            if portfolio.archived:
                raise InputError(
                    f"portfolio {portfolio_id} is archived and does not trade "
                    f"(`papertrade portfolio unarchive {portfolio_id}` to trade it again)"
                )
            config = portfolio.config
            _check_quote(symbol, config.quote, portfolio_id)
            strategy = self._strategy(config.strategy, config.strategy_params)
            candle_ts = config.timeframe.last_closed(now)
            series = (config.exchange, symbol, config.timeframe.name)
            history, latest_stored_ts = self._history(uow, series, candle_ts, strategy.lookback)
            cached_market = self._trusted_market(uow, config.exchange, symbol, now)
            orders = tuple(portfolio.orders_of(symbol))
            watched = orders or at_risk(portfolio.book, symbol, config.margin) or funded(portfolio.book, symbol)
            processed_ts, unprocessed = self._unprocessed(uow, portfolio, symbol, candle_ts) if watched else (None, ())
            rates, latest_funding_ts = _stored_funding(uow, portfolio, symbol, candle_ts, processed_ts)
        return Restored(portfolio, strategy, symbol, candle_ts, history, latest_stored_ts, cached_market, orders,
                        processed_ts, unprocessed, funding=rates, latest_funding_ts=latest_funding_ts)  # fmt: skip

    def _portfolio(self, uow: UnitOfWork, portfolio_id: int) -> Portfolio:
        """The portfolio, read again only when its version says it changed since this runner read it."""
        known = self._portfolios.get(portfolio_id)
        if known is None or uow.portfolios.version(portfolio_id) != known.version:
            known = self._portfolios[portfolio_id] = uow.portfolios.get(portfolio_id)
        return known

    def _remember_stored(self, restored: Restored, synced: Synced, result: TickResult) -> None:
        """After a LIVE tick stored the synced candles, its window is what the ledger holds, and
        its candle is the last one processed."""
        if result.status in (Status.EXECUTED, Status.NEUTRAL):
            config = restored.portfolio.config
            series = (config.exchange, restored.symbol, config.timeframe.name)
            if _stored_older(restored, synced):
                self._forget_windows(series)  # the other lookbacks' windows lack those candles
            self._windows[(*series, restored.strategy.lookback)] = synced.window
            self._processed[_series_key(restored)] = result.candle_ts

    def _forget_windows(self, series: tuple[str, str, str]) -> None:
        for key in [key for key in self._windows if key[:3] == series]:
            del self._windows[key]

    def _unprocessed(self, uow: UnitOfWork, portfolio: Portfolio, symbol: str, candle_ts: int) -> tuple:
        """The last candle processed on `symbol` and the stored candles since. When this runner
        processed the previous candle itself (a replay, a batch run), nothing needs reading;
        execute checks under the lock that no other run has processed one since."""
        known = self._processed.get((portfolio.id, portfolio.config.strategy, symbol))
        if known is not None and known + portfolio.config.timeframe.ms == candle_ts:
            return known, ()
        return _unprocessed(uow, portfolio, symbol, candle_ts)

    def _strategy(self, name: str, params: Mapping[str, Any]) -> Strategy:
        key = (name, repr(sorted(params.items())))
        if key not in self._strategies:
            self._strategies[key] = registry.build(name, params)
        return self._strategies[key]

    def _history(
        self, uow: UnitOfWork, series: tuple[str, str, str], until: int, count: int | None
    ) -> tuple[CandleWindow, int | None]:
        """The stored candles a strategy with lookback `count` sees up to `until`, reading only
        what this runner has not read before; and the open time of the latest stored candle.

        Each lookback has a window of its own: a window trimmed for one strategy never stands in
        for the longer history another one on the same series needs. A window shorter than its
        lookback is read again, since the store may hold older candles by now."""
        known = self._windows.get((*series, count))
        if known is not None and known.bars and known.bars[-1].ts <= until and _full(known, count):
            newer = uow.candles.after(*series, after=known.bars[-1].ts, until=_FOREVER)
            within = [bar for bar in newer if bar.ts <= until]
            window = known.extended(within, count)
            # Candles newer than `until` are another run's (a live bot's, when this is a replay).
            latest_stored_ts = within[-1].ts if within else known.bars[-1].ts
        else:
            window = CandleWindow(uow.candles.window(*series, until=until, count=count))
            # The window's last candle is the latest stored: asking again would be a second
            # statement, which on PostgreSQL (read committed) may see a candle another run
            # stored in between, and the tick would skip fetching what its window lacks.
            if window.bars or count == 0:
                latest_stored_ts = window.bars[-1].ts if window.bars else uow.candles.latest_ts(*series, until=until)
            else:
                latest_stored_ts = None  # nothing stored up to `until`
        self._windows[(*series, count)] = window
        return window, latest_stored_ts

    def _trusted_market(self, uow: UnitOfWork, exchange: str, symbol: str, now: int) -> Market | None:
        """A cached market younger than the TTL. The cache is read once per runner (an absent
        entry too); what the runner fetches itself it remembers."""
        key = (exchange, symbol)
        if key not in self._markets:
            self._markets[key] = uow.markets.get(exchange, symbol)
        remembered = self._markets[key]
        if remembered is None or now - remembered[1] >= self.markets_ttl_ms:
            return None
        return remembered[0]

    # -- 2. sync ----------------------------------------------------------------------------

    def sync(self, restored: Restored, now: int) -> Synced:
        """The market, and the closed candles the source has beyond those stored (validated by
        the source), up to the candle to decide on. Nothing is written."""
        config = restored.portfolio.config
        source = self.market_data_for(config.exchange)
        market = source.market(restored.symbol, restored.cached_market)
        to_cache = restored.cached_market is None and source.caches_markets
        if to_cache:
            self._markets[(config.exchange, restored.symbol)] = (market, now)
        fresh = _missing_candles(source, restored, now)
        window = _window(restored, fresh)
        _check_fresh(window.bars, restored.candle_ts, restored.timeframe, restored.symbol)
        fresh_funding, funding = _sync_funding(source, restored)
        return Synced(market, to_cache, fresh, window, fresh_funding, funding)

    # -- 3. analyze -------------------------------------------------------------------------

    def analyze(self, restored: Restored, synced: Synced) -> Analysis:
        """First the resting orders meet every closed candle since the last one processed; then
        the strategy decides on the latest closed candle, with no transaction open.

        The strategy is asked only once it has its warm-up.
        """
        desk, previous_ts = _desk(restored, synced), restored.processed_ts
        if restored.manual is not None:  # the resting orders meet candles in the strategy's ticks only
            return Analysis(desk, restored.manual.decision(desk.book.position(restored.symbol), restored.symbol))
        for bar in _candles_since(restored, synced):
            desk.on_candle(bar, previous_ts)
            previous_ts = bar.ts
        strategy, window = restored.strategy, synced.window
        if len(window) < strategy.warmup:
            return Analysis(desk, warming_up(len(window), strategy.warmup))
        position = desk.book.position(restored.symbol)
        view = PositionView(restored.symbol, position.quantity, position.avg_cost, tuple(desk.orders),
                            desk.allow_short)  # fmt: skip
        return Analysis(desk, call_strategy(strategy, window.strategy_input(strategy), view, restored.candle_ts))

    # -- 4. execute -------------------------------------------------------------------------

    def execute(
        self, restored: Restored, synced: Synced, analysis: Analysis, mode: Mode, now: int
    ) -> TickResult | None:
        """LIVE: act on the analysis exactly once, or None when the portfolio changed since it
        was restored (the caller decides again). DRY: what LIVE would do, writing nothing."""
        if restored.manual is not None:
            return _execute_manual(self.ledger, restored, synced, analysis, now)
        self._walk_the_book(restored, analysis, now)
        if mode is Mode.LIVE:
            return _execute_live(self.ledger, restored, synced, analysis, now)
        return _execute_dry(self.ledger, restored, synced, analysis)

    def _walk_the_book(self, restored: Restored, analysis: Analysis, now: int) -> None:
        """On a `--fill book` portfolio, a decision that makes a market order has it walk the
        order book, fetched now (after deciding, before any transaction opens): an empty, crossed
        or stale book is `BookError` (temporary trouble) with nothing written. A source without
        order books (a candle file) fills at the close."""
        config = restored.portfolio.config
        if config.fill != "book" or not _makes_market_order(analysis.decision):
            return
        fetch = getattr(self.market_data_for(config.exchange), "fetch_order_book", None)
        if fetch is None:
            return
        book = fetch(restored.symbol)
        check_book(book, now)
        analysis.desk.market_fills = BookFills(analysis.desk.fills, book, config.max_slippage)


def _makes_market_order(decision: Decision) -> bool:
    """Whether acting on `decision` may fill at market: a BUY or SELL that is not a resting entry."""
    entry = decision.entry
    return decision.signal is not Signal.HOLD and (entry is None or entry.kind is None)


def run_manual(
    ledger: Ledger | None,
    market_data_for: Callable[[str], MarketData],
    portfolio_id: int,
    symbol: str,
    manual: Manual,
    now: int,
    markets_ttl_ms: int = MARKETS_TTL_MS,
) -> TickResult:
    """A trader's forced entry or exit (`manual`) on `symbol` at the close of the latest closed
    candle at `now`, through the same tick as cron's (sync, the tick key, one transaction, the
    journal): executed once, a duplicate when retried on the same candle."""
    runner = TickRunner(ledger, market_data_for, markets_ttl_ms=markets_ttl_ms)
    return runner.tick(portfolio_id, symbol, Mode.LIVE, now, manual)


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
    exchange; markets cached less than `markets_ttl_ms` ago are used without asking the
    exchange. DRY writes nothing at all; LIVE writes everything in one transaction.
    """
    return TickRunner(ledger, market_data_for, markets_ttl_ms=markets_ttl_ms).tick(portfolio_id, symbol, mode, now)


#: Extra candles fetched on a first sync, so that exchange gaps do not leave a strategy short.
BACKFILL_MARGIN = 0.1
#: The most candles a tick fetches to fill the gap since the last stored one (10 requests).
MAX_GAP_FILL = 10_000


def fetch_start(latest_stored_ts: int | None, candle_ts: int, needed: int, timeframe: Timeframe) -> int:
    """Where to start fetching: right after the last stored candle (filling the gap since), or
    far enough back to give a strategy `needed` candles when nothing usable is stored."""
    backfill_start = candle_ts - (needed + max(10, int(needed * BACKFILL_MARGIN)) - 1) * timeframe.ms
    if latest_stored_ts is None:
        return backfill_start
    oldest_worth_filling = min(backfill_start, candle_ts - (MAX_GAP_FILL - 1) * timeframe.ms)
    return max(latest_stored_ts + timeframe.ms, oldest_worth_filling)


def _missing_candles(source: MarketData, restored: Restored, now: int) -> list[Bar]:
    """The closed candles up to the one decided on that the store lacks: those after the
    latest stored one and, when the store holds less than the strategy's warm-up (another
    strategy's ticks filled it), the older ones that warm-up needs, within the catch-up limit."""
    strategy, timeframe, latest = restored.strategy, restored.timeframe, restored.latest_stored_ts
    needed = max(strategy.warmup, strategy.lookback or 0)
    # The window holds every stored candle unless it is full: shorter, the store lacks some.
    short = latest is not None and len(restored.history) < (strategy.lookback or strategy.warmup)
    if not short and latest is not None and latest >= restored.candle_ts:
        return []
    since = fetch_start(latest, restored.candle_ts, needed, timeframe)
    if short:
        warmup_start = fetch_start(None, restored.candle_ts, needed, timeframe)
        since = min(since, max(warmup_start, restored.candle_ts - (MAX_GAP_FILL - 1) * timeframe.ms))
    stored = {bar.ts for bar in restored.history.bars} if short else ()
    bars = source.closed_bars(restored.symbol, timeframe, since, now)
    return [bar for bar in bars if bar.ts <= restored.candle_ts and bar.ts not in stored]


def _window(restored: Restored, fresh: list[Bar]) -> CandleWindow:
    """What the strategy sees: the stored window and the fetched candles, oldest first."""
    history, lookback = restored.history, restored.strategy.lookback
    if not fresh or not history.bars or fresh[0].ts > history.bars[-1].ts:
        return history.extended(fresh, lookback)
    merged = sorted((*history.bars, *fresh), key=lambda bar: bar.ts)
    return CandleWindow(merged if lookback is None else merged[-lookback:])


def _stored_older(restored: Restored, synced: Synced) -> bool:
    """Whether the tick fetched candles older than the latest stored (a warm-up or a gap)."""
    latest = restored.latest_stored_ts
    return latest is not None and bool(synced.fresh) and synced.fresh[0].ts < latest


def _full(window: CandleWindow, count: int | None) -> bool:
    """Whether a window holds its whole lookback (a window of everything stored always does)."""
    return count is None or len(window) >= count


def _series_key(restored: Restored) -> tuple[int, str, str]:
    key = restored.key()
    return (key.portfolio_id, key.strategy, key.symbol)


def at_risk(book: Book, symbol: str, rules: MarginRules) -> bool:
    """Whether `book`'s position in `symbol` has a liquidation price (`domain.margin`)."""
    position = book.positions.get(symbol)
    return position is not None and liquidation_price(position, rules) is not None


def funded(book: Book, symbol: str) -> bool:
    """Whether `book` holds an open position in the swap `symbol` (`domain.funding`)."""
    position = book.positions.get(symbol)
    return is_swap(symbol) and position is not None and position.is_open


def _stored_funding(uow: UnitOfWork, portfolio: Portfolio, symbol: str, candle_ts: int, processed_ts: int | None):
    """A funded position's stored funding rates from the last candle processed to the close of
    `candle_ts`, and the latest stored funding time; nothing read for anything else."""
    if not funded(portfolio.book, symbol):
        return NO_FUNDING, None
    exchange, step = portfolio.config.exchange, portfolio.config.timeframe.ms
    after = processed_ts if processed_ts is not None else candle_ts
    rates = uow.funding.between(exchange, symbol, after, candle_ts + step)
    return FundingSchedule.of(rates), uow.funding.latest_ts(exchange, symbol)


def _sync_funding(source: MarketData, restored: Restored) -> tuple[tuple[FundingRate, ...], FundingSchedule]:
    """For a funded position: the funding rates the source has beyond those stored, fetched
    only once a funding time of the 8-hour schedule has passed that the store lacks; and every
    rate the tick books from. A scheduled time in the tick's window with no rate, even after
    asking, is temporary trouble (the exchange has not published it yet): nothing is written."""
    if not restored.funded:
        return (), NO_FUNDING
    after, until = restored.funding_window
    latest, fresh = restored.latest_funding_ts, ()
    scheduled = scheduled_times(after if latest is None else max(after, latest), until)
    fetch = getattr(source, "funding_rates", None)
    if fetch is not None and len(scheduled):
        since = after + 1 if latest is None else max(after, latest) + 1
        fresh = tuple(fetch(restored.symbol, since, until))
    schedule = FundingSchedule.of((*restored.funding.rates, *fresh))
    missing = missing_times(schedule, after, until)
    if missing:
        raise TemporaryError(
            f"no funding rate of {restored.symbol} for {timestamp(missing[0])} yet: the position's funding "
            "cannot be booked; retry later (or `papertrade data download` the swap)"
        )
    return fresh, schedule


def _desk(restored: Restored, synced: Synced) -> Desk:
    """A desk for the symbol over a private copy of the book (applied only if LIVE commits)."""
    config = restored.portfolio.config
    book = restored.portfolio.book.copy()
    fills = config.fills_for(synced.market)  # the market's own maker and taker rates, if the portfolio takes them
    return Desk(book, synced.market, fills, list(restored.orders), restored.timeframe.ms, config.exits,
                allow_short=config.allow_short, margin=config.margin, funding=synced.funding)  # fmt: skip


def _candles_since(restored: Restored, synced: Synced) -> list[Bar]:
    """The closed candles since the last one processed, oldest first, up to the one decided on:
    those the resting orders meet (none when no order rests)."""
    if not restored.watched:
        return []
    after = restored.processed_ts if restored.processed_ts is not None else restored.candle_ts - 1
    known = {bar.ts: bar for bar in (*restored.unprocessed, *synced.window.bars, *synced.fresh)}
    return [known[ts] for ts in sorted(known) if after < ts <= restored.candle_ts]


def _unprocessed(uow: UnitOfWork, portfolio: Portfolio, symbol: str, candle_ts: int) -> tuple[int | None, tuple]:
    """The last candle the portfolio processed on `symbol`, and the stored candles since.

    A position a trader opened by hand (`papertrade open`) after the strategy's last tick, or
    before it ever ticked, was opened at the close of that manual tick's candle: it is
    processed from there, so the candles since meet its exits and book its funding."""
    config = portfolio.config
    keys = (config.strategy, Manual("open").key_strategy)
    ticks = (uow.ticks.latest(portfolio.id, strategy, symbol) for strategy in keys)
    latest = max((tick for tick in ticks if tick is not None), key=lambda tick: tick.key.candle_ts, default=None)
    if latest is None or latest.key.candle_ts >= candle_ts:
        return (latest.key.candle_ts if latest else None), ()
    after = latest.key.candle_ts
    return after, tuple(uow.candles.after(config.exchange, symbol, config.timeframe.name, after=after, until=candle_ts))


def _check_quote(symbol: str, quote: str, portfolio_id: int) -> None:
    _, symbol_quote = parse_symbol(symbol)
    if symbol_quote != quote:
        raise InputError(f"{symbol} is quoted in {symbol_quote} but portfolio {portfolio_id} holds {quote}")


def _check_fresh(window: Sequence[Bar], candle_ts: int, timeframe: Timeframe, symbol: str) -> None:
    """The latest closed candle must be the one that just closed; anything older is stale."""
    if not window:
        raise TemporaryError(f"the exchange has no closed {timeframe} candles for {symbol} yet")
    if window[-1].ts < candle_ts:
        raise TemporaryError(
            f"stale data: the latest closed {timeframe} candle of {symbol} opened at "
            f"{timestamp(window[-1].ts)}, expected {timestamp(candle_ts)}"
        )


# -- execute, in detail ----------------------------------------------------------------------


def _execute_live(
    ledger: Ledger, restored: Restored, synced: Synced, analysis: Analysis, now: int
) -> TickResult | None:
    portfolio, desk = restored.portfolio, analysis.desk
    with ledger.unit_of_work(write=True) as uow:
        version = uow.portfolios.version(portfolio.id, lock=True)
        claim = _claim_state(uow, restored, synced)
        if claim.duplicate is not None:
            book = portfolio.book if version == portfolio.version else uow.portfolios.get(portfolio.id).book
            return _duplicate_result(restored, synced, book, claim.duplicate, claim.signal)
        if version != portfolio.version or (restored.watched and _processed_since(claim, restored)):
            return None  # decided on a portfolio another tick has changed since: decide again
        _store_market_data(uow, restored, synced, now)
        decision = desk.act(analysis.decision, synced.candle)
        try:
            tick_id = uow.ticks.claim(_tick_record(restored, synced, desk, decision, claim.skipped, now))
        except TickAlreadyClaimed:
            return _duplicate_result(restored, synced, portfolio.book, "another run claimed this candle just now")
        _write_desk(uow, portfolio, desk, tick_id, now)
        uow.commit()
    return _result(restored, synced, desk, decision, _status(desk), claim.skipped)


def _execute_manual(
    ledger: Ledger, restored: Restored, synced: Synced, analysis: Analysis, now: int
) -> TickResult | None:
    """A trader's entry or exit, at most once per candle and action; refused (nothing written)
    when there is nothing to do, or while resting orders still have candles to meet."""
    portfolio, desk, manual = restored.portfolio, analysis.desk, restored.manual
    with ledger.unit_of_work(write=True) as uow:
        version = uow.portfolios.version(portfolio.id, lock=True)
        claim = _claim_state(uow, restored, synced)
        if claim.duplicate is not None:
            book = portfolio.book if version == portfolio.version else uow.portfolios.get(portfolio.id).book
            why = f"already done: a manual {manual.action} of {restored.symbol} on this candle"
            return _duplicate_result(restored, synced, book, why, analysis.decision.signal)
        if version != portfolio.version:
            return None
        _check_orders_met(uow, restored)
        _store_market_data(uow, restored, synced, now)
        decision = desk.act(analysis.decision, synced.candle, kind=MANUAL)
        if not desk.filled:
            raise InputError(f"cannot {manual.action} {restored.symbol} in portfolio {portfolio.id}: {decision.reason}")
        try:
            tick_id = uow.ticks.claim(_tick_record(restored, synced, desk, decision, 0, now))
        except TickAlreadyClaimed:
            return _duplicate_result(restored, synced, portfolio.book, "another run claimed this candle just now")
        _write_desk(uow, portfolio, desk, tick_id, now)
        uow.commit()
    return _result(restored, synced, desk, decision, _status(desk), 0)


def _check_orders_met(uow: UnitOfWork, restored: Restored) -> None:
    """Resting orders meet candles in the strategy's ticks: a manual trade waits until they have
    met the candle it acts on, so that none is met twice or skipped."""
    if not restored.orders:
        return
    config = restored.portfolio.config
    latest = uow.ticks.latest(restored.portfolio.id, config.strategy, restored.symbol)
    if latest is None or latest.key.candle_ts < restored.candle_ts:
        raise TemporaryError(
            f"{restored.symbol} has resting orders that have not met the {timestamp(restored.candle_ts)} candle "
            f"yet: run `papertrade trade {restored.portfolio.id} {restored.symbol} LIVE` (or wait for cron), then retry"
        )


def _status(desk: Desk) -> Status:
    return Status.EXECUTED if desk.filled else Status.NEUTRAL


def _store_market_data(uow: UnitOfWork, restored: Restored, synced: Synced, now: int) -> None:
    config = restored.portfolio.config
    uow.candles.upsert(config.exchange, restored.symbol, config.timeframe.name, synced.fresh)
    uow.funding.upsert(config.exchange, restored.symbol, synced.fresh_funding)
    if synced.market_to_cache:
        uow.markets.put(config.exchange, synced.market, now)


def _execute_dry(ledger: Ledger, restored: Restored, synced: Synced, analysis: Analysis) -> TickResult:
    with ledger.unit_of_work() as uow:
        claim = _claim_state(uow, restored, synced)
    desk = analysis.desk  # works on a private copy of the book, never saved
    decision = desk.act(analysis.decision, synced.candle)
    would_be = Status.DUPLICATE if claim.duplicate else _status(desk)
    result = _result(restored, synced, desk, decision, Status.DRY_RUN, claim.skipped)
    return replace(result, live_status=would_be)


@dataclass(frozen=True, slots=True)
class _Claim:
    """Whether a candle may still be acted on: `duplicate` says why not."""

    duplicate: str | None = None
    signal: Signal = Signal.HOLD  # what the run that got there first decided
    skipped: int = 0  # candles stored since the last one acted on
    latest_ts: int | None = None  # the last candle processed


def _claim_state(uow: UnitOfWork, restored: Restored, synced: Synced) -> _Claim:
    key = restored.key()
    latest = uow.ticks.latest(key.portfolio_id, key.strategy, key.symbol)
    if latest is None:
        return _Claim()
    latest_ts = latest.key.candle_ts
    if latest_ts == key.candle_ts:
        return _Claim(f"this candle was already processed ({latest.signal}, {latest.status})", Signal(latest.signal))
    if latest_ts > key.candle_ts:
        return _Claim(f"a later candle ({timestamp(latest_ts)}) was already processed")
    if key.candle_ts - latest_ts == restored.timeframe.ms:
        return _Claim(latest_ts=latest_ts)  # the previous candle: nothing can lie in between
    config = restored.portfolio.config
    stored = uow.candles.count_between(config.exchange, key.symbol, config.timeframe.name, latest_ts, key.candle_ts)
    fresh = sum(1 for bar in synced.fresh if latest_ts < bar.ts < key.candle_ts)
    return _Claim(skipped=stored + fresh, latest_ts=latest_ts)


def _processed_since(claim: "_Claim", restored: Restored) -> bool:
    """Whether another run processed a candle of the strategy since `restored` was read (its
    processed candle may be a later manual open's, see `_unprocessed`)."""
    latest = claim.latest_ts
    return latest is not None and (restored.processed_ts is None or latest > restored.processed_ts)


def _write_desk(uow: UnitOfWork, portfolio: Portfolio, desk: Desk, tick_id: int, now: int) -> None:
    """Write what the desk did, in the order it happened: each fill's trade, journal entry and
    notification (an outbox event that exists exactly when this transaction commits), each
    order change's journal entry; then the book and the resting orders."""
    config = portfolio.config
    for entry in desk.log:
        if isinstance(entry, DeskFill):
            booked = entry.booked
            uow.trades.add(portfolio.id, tick_id, entry.candle_ts, booked.fill, booked.realized_pnl,
                           booked.cash_after, now, entry.kind, booked.floored, entry.reference)  # fmt: skip
            uow.journal.append(portfolio.id, "fill", fill_entry(entry), now, tick_id=tick_id)
            uow.outbox.record_fill(portfolio.id, config.name, config.quote, entry.candle_ts, booked, now, entry.kind,
                                   functools.partial(_closing, uow, portfolio.id, booked.fill.symbol))  # fmt: skip
        elif isinstance(entry, FundingPayment):
            uow.funding.add_payment(portfolio.id, tick_id, entry, now)
            uow.journal.append(portfolio.id, "funding", funding_entry(entry), now, tick_id=tick_id)
        else:
            uow.journal.append(portfolio.id, f"order.{entry.what}", order_entry(entry), now, tick_id=tick_id)
    if desk.filled or desk.funded:
        uow.portfolios.save_book(portfolio.id, desk.book, [desk.symbol], now)
    if desk.events:
        uow.orders.replace(portfolio.id, desk.symbol, desk.orders)
        if not (desk.filled or desk.funded):
            uow.portfolios.touch(portfolio.id)


def funding_entry(payment: FundingPayment) -> dict[str, Any]:
    """The audit journal's record of a funding payment: enough to book it again."""
    return {
        "candle_ts": payment.candle_ts,
        "funding_ts": payment.ts,
        "symbol": payment.symbol,
        "quantity": payment.quantity,
        "mark_price": payment.mark_price,
        "rate": payment.rate,
        "amount": payment.amount,
        "cash_after": payment.cash_after,
        **({"floored": payment.floored} if payment.floored else {}),
    }


def _closing(uow: UnitOfWork, portfolio_id: int, symbol: str) -> Closing | None:
    """The round trip the fill just booked ended, if it ended one (for its notification)."""
    return last_closing(uow.trades.list(portfolio_id, symbol))


def order_entry(event: OrderEvent) -> dict[str, Any]:
    """The audit journal's record of an order change: enough to rebuild the resting orders."""
    return {"candle_ts": event.candle_ts, "reason": event.reason, "order": order_fields(event.order)}


def order_fields(order: RestingOrder) -> dict[str, Any]:
    return {
        "symbol": order.symbol,
        "kind": str(order.kind),
        "side": str(order.side),
        "price": order.price,
        "placed_ts": order.placed_ts,
        "expires_ts": order.expires_ts,
        "size": None if order.size is None else {"unit": order.size.unit, "value": order.size.value},
        "exits": None if order.exits is None else order.exits.as_dict(),
        "trail": order.trail,
    }


def fill_entry(filled: DeskFill) -> dict[str, Any]:
    """The audit journal's record of a fill: enough to replay it through the ledger."""
    booked = filled.booked
    fill = booked.fill
    return {
        "candle_ts": filled.candle_ts,
        "kind": filled.kind,
        "symbol": fill.symbol,
        "side": str(fill.side),
        "quantity": fill.quantity,
        "price": fill.price,
        "notional": fill.notional,
        "fee": fill.fee,
        "realized_pnl": booked.realized_pnl,
        "cash_after": booked.cash_after,
        "position_after": booked.position_after,
        **({"floored": booked.floored} if booked.floored else {}),
        **({"cancelled": cancelled_fields(filled.cancelled)} if filled.cancelled else {}),
        **({"leverage": booked.leverage} if booked.leverage != 1 else {}),
        **({"reference": filled.reference} if filled.reference is not None else {}),
    }


def cancelled_fields(cancelled) -> dict[str, Any]:
    """The unfilled rest of a partial book fill: a base `quantity` or an unspent quote `budget`,
    and the cap's `limit` price that stopped the walk."""
    return {"quantity": cancelled.quantity, "budget": cancelled.budget, "limit": cancelled.limit}


# -- results --------------------------------------------------------------------------------


def _tick_record(
    restored: Restored, synced: Synced, desk: Desk, decision: Decision, skipped: int, now: int
) -> TickRecord:
    return TickRecord(
        key=restored.key(),
        signal=str(decision.signal),
        status=str(_status(desk)),
        reason=decision.reason,
        indicators=dict(decision.indicators),
        close=synced.candle.close,
        cash_after=desk.book.cash,
        position_after=desk.book.position(restored.symbol).quantity,
        skipped=skipped,
        processed_ts=now,
        margin_basis_after=desk.book.margined_basis,
    )


def _result(
    restored: Restored, synced: Synced, desk: Desk, decision: Decision, status: Status, skipped: int
) -> TickResult:
    signal_fills = [f.booked.fill for f in desk.filled if f.order is None]
    return TickResult(
        portfolio_id=restored.portfolio.id,
        strategy=restored.portfolio.config.strategy,
        symbol=restored.symbol,
        candle_ts=synced.candle.ts,
        signal=decision.signal,
        status=status,
        reason=decision.reason,
        close=synced.candle.close,
        cash=desk.book.cash,
        position=desk.book.position(restored.symbol).quantity,
        fill=signal_fills[-1] if signal_fills else None,
        indicators=dict(decision.indicators),
        skipped=skipped,
        fetched=len(synced.fresh),
        order_fills=tuple(f for f in desk.filled if f.order is not None),
        order_events=tuple(e for e in desk.events if e.what != "filled"),
        funding=tuple(desk.funded),
        partial=tuple(f for f in desk.filled if f.order is None and f.cancelled is not None),
    )


def _duplicate_result(
    restored: Restored, synced: Synced, book: Book, why: str, signal: Signal = Signal.HOLD
) -> TickResult:
    return TickResult(
        portfolio_id=restored.portfolio.id,
        strategy=restored.portfolio.config.strategy,
        symbol=restored.symbol,
        candle_ts=synced.candle.ts,
        signal=signal,
        status=Status.DUPLICATE,
        reason=why,
        close=synced.candle.close,
        cash=book.cash,
        position=book.position(restored.symbol).quantity,
    )
