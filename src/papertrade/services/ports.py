"""The ports the services depend on: what they need from a ledger and from market data.

The SQL adapter (`papertrade.adapters.unit_of_work`) implements the ledger ports on SQLite and
PostgreSQL; `tests/unit/fakes.py` implements them in memory. Services import these protocols
and the domain's record types, never SQLAlchemy or ccxt.
"""

from collections.abc import Callable, Mapping, Sequence
from contextlib import AbstractContextManager
from decimal import Decimal
from typing import Any, Protocol

from papertrade.domain.bars import Bar
from papertrade.domain.book import OrderBook
from papertrade.domain.coverage import Series, SeriesExtent
from papertrade.domain.fills import Market
from papertrade.domain.funding import FundingPayment, FundingRate
from papertrade.domain.journal import JournalEntry
from papertrade.domain.ledger import Book, Fill, FillResult
from papertrade.domain.orders import RestingOrder
from papertrade.domain.pnl import Closing
from papertrade.domain.portfolio import Portfolio, PortfolioConfig
from papertrade.domain.search import SearchSpace, StudySpec, TrialOutcome, TrialRecord
from papertrade.domain.ticks import TickRecord, TradeRecord
from papertrade.domain.timeframes import Timeframe


class PortfolioRepository(Protocol):
    def add(self, config: PortfolioConfig, initial_cash: Decimal, now: int) -> int: ...

    def id_by_name(self, name: str) -> int | None: ...

    def get(self, portfolio_id: int, *, lock: bool = False, with_positions: bool = True) -> Portfolio:
        """The portfolio (NotFound if there is none); `lock` holds it until the transaction ends."""
        ...

    def version(self, portfolio_id: int, *, lock: bool = False) -> int:
        """The portfolio's version (NotFound if there is none); `lock` as for `get`."""
        ...

    def list(self, *, archived: bool = False) -> list[Portfolio]:
        """Every portfolio in id order; archived ones too when `archived`; deleted ones never."""
        ...

    def update(self, portfolio_id: int, config: PortfolioConfig, archived_ts: int | None) -> None:
        """Store the changed name, fill model and strategy parameters and the archived time;
        advance the version."""
        ...

    def delete(self, portfolio_id: int, now: int) -> None:
        """Take the portfolio out of every command (its rows stay) and free its name."""
        ...

    def save_book(self, portfolio_id: int, book: Book, symbols: Sequence[str], now: int) -> None:
        """Write cash and the positions in `symbols` back, and advance the portfolio's version."""
        ...

    def touch(self, portfolio_id: int) -> None:
        """Advance the portfolio's version (its resting orders changed, its book did not)."""
        ...


class OrderRepository(Protocol):
    def of(self, portfolio_id: int) -> list[RestingOrder]:
        """The portfolio's resting orders, by symbol and the candle they were placed on."""
        ...

    def replace(self, portfolio_id: int, symbol: str, orders: Sequence[RestingOrder]) -> None:
        """Make `orders` the resting orders of `symbol`."""
        ...


class TickRepository(Protocol):
    def latest(self, portfolio_id: int, strategy: str, symbol: str) -> TickRecord | None: ...

    def latest_per_symbol(self, portfolio_id: int) -> list[TickRecord]: ...

    def claim(self, record: TickRecord) -> int:
        """Store the tick, claiming its key; `TickAlreadyClaimed` if another run holds it."""
        ...

    def recent(self, portfolio_id: int, symbol: str | None = None, last: int | None = None) -> list[TickRecord]:
        """The `last` latest processed candles (all when None), of `symbol` or every symbol, oldest first."""
        ...

    def list(self, portfolio_id: int) -> list[TickRecord]: ...

    def with_ids(self, portfolio_id: int) -> "list[tuple[int, TickRecord]]":
        """Every tick of the portfolio with its id, in the order they were processed (id order)."""
        ...

    def equity_columns(self, portfolio_id: int) -> tuple[list, ...]:
        """Every processed candle of the portfolio in time order, as six columns: symbols, candle
        times, closes, cash after, position after (amounts whose floats `numpy.asarray(column,
        float)` gives and whose items are exact through `Decimal(...)`), and whether the
        strategy was still warming up."""
        ...


class TradeRepository(Protocol):
    def add(
        self, portfolio_id: int, tick_id: int, candle_ts: int, fill: Fill, realized_pnl: Decimal,
        cash_after: Decimal, now: int, kind: str = "signal",
    ) -> int: ...  # fmt: skip

    def list(self, portfolio_id: int, symbol: str | None = None) -> list[TradeRecord]: ...

    def by_portfolio(self) -> "dict[int, list[TradeRecord]]":
        """Every portfolio's trades by portfolio id, each list as `list` gives it."""
        ...


class JournalRepository(Protocol):
    def append(
        self, portfolio_id: int, event: str, payload: Mapping[str, Any], now: int, tick_id: int | None = None
    ) -> None: ...

    def entries(self, portfolio_id: int, event: str | None = None) -> list[JournalEntry]:
        """The portfolio's entries in order (only those of `event` when given)."""
        ...


class CandleRepository(Protocol):
    """Closed candles per (exchange, symbol, timeframe name)."""

    def latest_ts(self, exchange: str, symbol: str, timeframe: str, until: int | None = None) -> int | None: ...

    def window(self, exchange: str, symbol: str, timeframe: str, until: int, count: int | None) -> list[Bar]: ...

    def after(self, exchange: str, symbol: str, timeframe: str, after: int, until: int) -> list[Bar]: ...

    def count_between(self, exchange: str, symbol: str, timeframe: str, after: int, before: int) -> int: ...

    def upsert(self, exchange: str, symbol: str, timeframe: str, bars: Sequence[Bar]) -> None: ...


class MarketRepository(Protocol):
    """Market descriptions cached from exchanges, with the time they were fetched."""

    def get(self, exchange: str, symbol: str) -> tuple[Market, int] | None: ...

    def put(self, exchange: str, market: Market, now: int) -> None: ...


class SeriesRepository(Protocol):
    """Stored candle series as a data set: extents, holes, and the gaps an exchange confirmed."""

    def extents(self) -> list[SeriesExtent]: ...

    def holes(self, series: Series, step: int, first: int, last: int) -> list[tuple[int, int]]: ...

    def span(self, series: Series, first: int, last: int) -> tuple[int, int] | None: ...

    def bars(self, series: Series, first: int, last: int) -> list[Bar]: ...

    def confirmed_gaps(self, series: Series) -> list[tuple[int, int]]: ...

    def confirm_gap(self, series: Series, first: int, last: int) -> None: ...


class OutboxRepository(Protocol):
    """Notification targets and the transactional outbox of events to deliver to them
    (`papertrade.adapters.outbox` has the full set of operations the notifier uses)."""

    def record_fill(
        self,
        portfolio_id: int,
        name: str,
        quote: str,
        candle_ts: int,
        booked: FillResult,
        now: int,
        kind="signal",
        closing: Callable[[], Closing | None] = lambda: None,
    ):
        """The fill's event, in the transaction that books the fill; `kind` says what made it,
        `closing` reads the round trip it ended (`pnl.last_closing`), asked only when some
        target wants the event."""
        ...


class UnitOfWork(Protocol):
    """Repositories bound to one transaction, which rolls back unless `commit()` is called."""

    portfolios: PortfolioRepository
    ticks: TickRepository
    trades: TradeRepository
    orders: OrderRepository
    journal: JournalRepository
    candles: CandleRepository
    funding: "FundingRepository"
    markets: MarketRepository
    series: SeriesRepository
    outbox: OutboxRepository

    def commit(self) -> None: ...


class Ledger(Protocol):
    """An opened ledger: it hands out units of work."""

    @property
    def name(self) -> str: ...

    def unit_of_work(self, *, write: bool = False) -> AbstractContextManager[UnitOfWork]:
        """A transaction; `write` takes the write lock before anything is read."""
        ...


class MarketData(Protocol):
    """Where a tick's market and candles come from: an exchange through ccxt, or a candle file."""

    #: Whether its markets say what the exchange allows, so a tick may cache them (a file's do not).
    caches_markets: bool

    def market(self, symbol: str, cached: Market | None = None) -> Market:
        """The market for `symbol`: `cached` when given (no request), else from the source."""
        ...

    def closed_bars(self, symbol: str, timeframe: Timeframe, since: int, now: int) -> list[Bar]:
        """Validated closed candles from `since` (inclusive) until `now`, oldest first."""
        ...


class FundingRepository(Protocol):
    """Swaps' funding rates, stored like candles, and the funding payments ticks booked."""

    def upsert(self, exchange: str, symbol: str, rates: Sequence[FundingRate]) -> None: ...

    def between(self, exchange: str, symbol: str, after: int, until: int) -> list[FundingRate]:
        """The stored rates with after < ts <= until, oldest first."""
        ...

    def latest_ts(self, exchange: str, symbol: str) -> int | None: ...

    def add_payment(self, portfolio_id: int, tick_id: int, payment: FundingPayment, now: int) -> None: ...

    def payments(self, portfolio_id: int, symbol: str | None = None) -> list[FundingPayment]:
        """The portfolio's funding payments in the order they were booked."""
        ...


class FundingSource(MarketData, Protocol):
    """A market data source that also serves a swap's funding rate history (an exchange through
    ccxt's `fetchFundingRateHistory`, or a replay's `--funding` file)."""

    def funding_rates(self, symbol: str, since: int, until: int) -> "list[FundingRate]":
        """The funding rates settled from `since` to `until` (ms, inclusive), oldest first."""
        ...


class OrderBookSource(MarketData, Protocol):
    """A market data source that also serves the live order book (an exchange, not a file)."""

    def fetch_order_book(self, symbol: str) -> OrderBook:
        """The order book of `symbol` now, best levels first; its soundness is `check_book`'s."""
        ...


class MarketCatalog(MarketData, Protocol):
    """A market data source that can describe several markets at once (the batch runner's)."""

    def markets(self, symbols: list[str]) -> dict[str, Market]:
        """The listed ones among `symbols`, from one request."""
        ...


class Study(Protocol):
    """One search's trials, kept in the study storage (never the ledger)."""

    name: str
    #: "maximize" or "minimize", per objective.
    directions: Sequence[str]
    #: What papertrade recorded when the study began: strategy, data (with its hash), objectives.
    meta: Mapping[str, Any]

    def ask(self) -> tuple[object, dict[str, Any]]:
        """A candidate proposed by the study's sampler, and the handle to `tell` its outcome to."""
        ...

    def tell(self, handle: object, outcome: TrialOutcome | None) -> None:
        """The outcome of an asked candidate (None: it was never run, it broke a constraint)."""
        ...

    def add(self, finished: Sequence[tuple[Mapping[str, Any], TrialOutcome]]) -> None:
        """Finished trials of candidates papertrade chose itself (grid, random), as (params,
        outcome) in the order they are numbered, recorded together."""
        ...

    def trials(self) -> list[TrialRecord]:
        """Every trial, in number order."""
        ...


class StudyStore(Protocol):
    """Where studies are kept: Optuna's own database (`papertrade.adapters.studies`)."""

    @property
    def url(self) -> str:
        """The storage, with any password hidden."""
        ...

    def open(self, name: str, space: SearchSpace, spec: StudySpec) -> Study:
        """The study `name`: created with `spec`, or resumed (InputError when `spec` differs)."""
        ...

    def load(self, name: str) -> Study:
        """An existing study (NotFound if there is none)."""
        ...

    def names(self) -> list[str]:
        """Every study's name, oldest first."""
        ...


class Cluster(Protocol):
    """Where trials run: this process, a Dask LocalCluster or a Dask cluster."""

    #: How many trials can run at once.
    slots: int

    def share(self, data: object) -> object:
        """`data` (the candles) sent to every worker once; tasks take what this returns."""
        ...

    def submit(self, key: int, function: Callable[[object, object], object], shared: object, job: object) -> None:
        """Run `function(data, job)` on a worker; its result comes back from `next_done`."""
        ...

    def next_done(self) -> tuple[int, object, str]:
        """The key, result and worker of a finished task, waiting for one if none is."""
        ...

    def cancel(self) -> None:
        """Forget every task not finished (Ctrl-C)."""
        ...
