"""In-memory fakes of the ports papertrade owns (`papertrade.services.ports`), for fast unit tests
of the services. The SQL adapter is tested against real SQLite and PostgreSQL elsewhere; these
only have to keep the ports' promises: a unit of work sees a snapshot and changes nothing
unless committed, a tick key is claimed once, a portfolio's version grows with its book.
"""

import copy
from bisect import bisect_left, bisect_right
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from decimal import Decimal

from papertrade.domain.bars import Bar
from papertrade.domain.fills import Market
from papertrade.domain.journal import GENESIS_HASH, JournalEntry, canonical_json, entry_hash
from papertrade.domain.ledger import Book
from papertrade.domain.portfolio import Portfolio
from papertrade.domain.ticks import TickAlreadyClaimed, TickRecord, TradeRecord
from papertrade.domain.timeframes import Timeframe
from papertrade.errors import NotFound


@dataclass
class LedgerState:
    portfolios: dict[int, Portfolio] = field(default_factory=dict)
    ticks: list[tuple[int, TickRecord]] = field(default_factory=list)
    trades: list[TradeRecord] = field(default_factory=list)
    journal: list[tuple[int, JournalEntry]] = field(default_factory=list)
    candles: dict[tuple[str, str, str], dict[int, Bar]] = field(default_factory=dict)
    markets: dict[tuple[str, str], tuple[Market, int]] = field(default_factory=dict)
    outbox: list[tuple] = field(default_factory=list)
    confirmed_gaps: list[tuple] = field(default_factory=list)
    deleted: set[int] = field(default_factory=set)
    funding_rates: dict[tuple[str, str], dict[int, object]] = field(default_factory=dict)
    funding_payments: list[tuple[int, object]] = field(default_factory=list)  # (portfolio id, FundingPayment)


class FakePortfolios:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def add(self, config, initial_cash: Decimal, now: int) -> int:
        portfolio_id = len(self._s.portfolios) + 1
        self._s.portfolios[portfolio_id] = Portfolio(portfolio_id, config, Book(initial_cash, initial_cash), now)
        return portfolio_id

    def id_by_name(self, name: str) -> int | None:
        alive = (p for p in self._s.portfolios.values() if p.id not in self._s.deleted)
        return next((p.id for p in alive if p.config.name == name), None)

    def get(self, portfolio_id: int, *, lock: bool = False, with_positions: bool = True) -> Portfolio:
        if portfolio_id not in self._s.portfolios or portfolio_id in self._s.deleted:
            raise NotFound(f"no portfolio with id {portfolio_id}")
        stored = self._s.portfolios[portfolio_id]
        return replace(stored, book=stored.book.copy())

    def version(self, portfolio_id: int, *, lock: bool = False) -> int:
        return self.get(portfolio_id).version

    def list(self, *, archived: bool = False) -> list[Portfolio]:
        alive = [self.get(i) for i in sorted(self._s.portfolios) if i not in self._s.deleted]
        return [p for p in alive if archived or not p.archived]

    def update(self, portfolio_id: int, config, archived_ts: int | None) -> None:
        stored = self._s.portfolios[portfolio_id]
        changed = replace(stored, config=config, archived_ts=archived_ts, version=stored.version + 1)
        self._s.portfolios[portfolio_id] = changed

    def delete(self, portfolio_id: int, now: int) -> None:
        self._s.deleted.add(portfolio_id)

    def save_book(self, portfolio_id: int, book: Book, symbols, now: int) -> None:
        stored = self._s.portfolios[portfolio_id]
        self._s.portfolios[portfolio_id] = replace(stored, book=book.copy(), version=stored.version + 1)

    def touch(self, portfolio_id: int) -> None:
        stored = self._s.portfolios[portfolio_id]
        self._s.portfolios[portfolio_id] = replace(stored, version=stored.version + 1)


class FakeOrders:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def of(self, portfolio_id: int) -> list:
        return list(self._s.portfolios[portfolio_id].orders)

    def replace(self, portfolio_id: int, symbol: str, orders) -> None:
        stored = self._s.portfolios[portfolio_id]
        kept = tuple(o for o in stored.orders if o.symbol != symbol)
        self._s.portfolios[portfolio_id] = replace(stored, orders=kept + tuple(orders))


class FakeTicks:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def latest(self, portfolio_id: int, strategy: str, symbol: str) -> TickRecord | None:
        mine = [
            r
            for _, r in self._s.ticks
            if (r.key.portfolio_id, r.key.strategy, r.key.symbol) == (portfolio_id, strategy, symbol)
        ]
        return max(mine, key=lambda r: r.key.candle_ts, default=None)

    def latest_per_symbol(self, portfolio_id: int) -> list[TickRecord]:
        symbols = sorted({r.key.symbol for _, r in self._s.ticks if r.key.portfolio_id == portfolio_id})
        return [self.latest(portfolio_id, r.key.strategy, s) for s in symbols for r in [self._any(portfolio_id, s)]]

    def _any(self, portfolio_id: int, symbol: str) -> TickRecord:
        return next(r for _, r in self._s.ticks if r.key.portfolio_id == portfolio_id and r.key.symbol == symbol)

    def claim(self, record: TickRecord) -> int:
        if any(r.key == record.key for _, r in self._s.ticks):
            raise TickAlreadyClaimed(str(record.key))
        tick_id = len(self._s.ticks) + 1
        self._s.ticks.append((tick_id, record))
        return tick_id

    def with_ids(self, portfolio_id: int) -> "list[tuple[int, TickRecord]]":
        return [(i, r) for i, r in self._s.ticks if r.key.portfolio_id == portfolio_id]

    def list(self, portfolio_id: int) -> list[TickRecord]:
        mine = [r for _, r in self._s.ticks if r.key.portfolio_id == portfolio_id]
        return sorted(mine, key=lambda r: r.key.candle_ts)

    def equity_columns(self, portfolio_id: int) -> tuple[list, ...]:
        rows = [
            (
                r.key.symbol,
                r.key.candle_ts,
                r.close,
                r.cash_after - r.margin_basis_after,
                r.position_after,
                r.reason.startswith("warming up"),
            )
            for r in self.list(portfolio_id)
        ]
        return tuple(list(column) for column in zip(*rows, strict=True)) if rows else ([],) * 6


class FakeTrades:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def add(self, portfolio_id, tick_id, candle_ts, fill, realized_pnl, cash_after, now, kind="signal",
            floored=Decimal(0), reference=None) -> int:  # fmt: skip
        trade_id = len(self._s.trades) + 1
        self._s.trades.append(
            TradeRecord(trade_id, portfolio_id, tick_id, fill.symbol, str(fill.side), candle_ts, fill.quantity,
                        fill.price, fill.notional, fill.fee, realized_pnl, cash_after, now, kind, floored, reference)
        )  # fmt: skip
        return trade_id

    def list(self, portfolio_id: int, symbol: str | None = None) -> list[TradeRecord]:
        return [t for t in self._s.trades if t.portfolio_id == portfolio_id and symbol in (None, t.symbol)]

    def by_portfolio(self) -> "dict[int, list[TradeRecord]]":
        grouped: dict[int, list[TradeRecord]] = {}
        for trade in self._s.trades:
            grouped.setdefault(trade.portfolio_id, []).append(trade)
        return grouped


class FakeJournal:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def append(self, portfolio_id, event, payload, now, tick_id=None) -> None:
        mine = self.entries(portfolio_id)
        prev_hash = mine[-1].hash if mine else GENESIS_HASH
        body = canonical_json(dict(payload))
        entry = JournalEntry(len(self._s.journal) + 1, tick_id, event, {}, body, prev_hash,
                             entry_hash(prev_hash, event, body), now)  # fmt: skip
        self._s.journal.append((portfolio_id, entry))

    def entries(self, portfolio_id: int, event: str | None = None) -> list[JournalEntry]:
        import json

        return [replace(e, payload=json.loads(e.body)) for pid, e in self._s.journal
                if pid == portfolio_id and event in (None, e.event)]  # fmt: skip


class FakeCandles:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def _sorted(self, exchange, symbol, timeframe) -> list[Bar]:
        series = self._s.candles.get((exchange, symbol, timeframe), {})
        return [series[ts] for ts in sorted(series)]

    def latest_ts(self, exchange, symbol, timeframe, until=None) -> int | None:
        bars = [b for b in self._sorted(exchange, symbol, timeframe) if until is None or b.ts <= until]
        return bars[-1].ts if bars else None

    def window(self, exchange, symbol, timeframe, until, count) -> list[Bar]:
        bars = [b for b in self._sorted(exchange, symbol, timeframe) if b.ts <= until]
        return bars if count is None else bars[-count:]

    def after(self, exchange, symbol, timeframe, after, until) -> list[Bar]:
        return [b for b in self._sorted(exchange, symbol, timeframe) if after < b.ts <= until]

    def count_between(self, exchange, symbol, timeframe, after, before) -> int:
        return sum(1 for b in self._sorted(exchange, symbol, timeframe) if after < b.ts < before)

    def upsert(self, exchange, symbol, timeframe, bars) -> None:
        self._s.candles.setdefault((exchange, symbol, timeframe), {}).update({b.ts: b for b in bars})


class FakeSeries:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def confirm_gap(self, series, first: int, last: int) -> None:
        self._s.confirmed_gaps.append((series, first, last))


class FakeMarkets:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def get(self, exchange: str, symbol: str):
        return self._s.markets.get((exchange, symbol))

    def put(self, exchange: str, market: Market, now: int) -> None:
        self._s.markets[(exchange, market.symbol)] = (market, now)


class FakeFunding:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def upsert(self, exchange: str, symbol: str, rates) -> None:
        self._s.funding_rates.setdefault((exchange, symbol), {}).update({rate.ts: rate for rate in rates})

    def between(self, exchange: str, symbol: str, after: int, until: int) -> list:
        stored = self._s.funding_rates.get((exchange, symbol), {})
        return [stored[ts] for ts in sorted(stored) if after < ts <= until]

    def latest_ts(self, exchange: str, symbol: str) -> int | None:
        return max(self._s.funding_rates.get((exchange, symbol), {}), default=None)

    def add_payment(self, portfolio_id: int, tick_id: int, payment, now: int) -> None:
        if any(pid == portfolio_id and (p.symbol, p.ts) == (payment.symbol, payment.ts)
               for pid, p in self._s.funding_payments):  # fmt: skip
            raise AssertionError("a funding time booked twice")
        self._s.funding_payments.append((portfolio_id, payment))

    def payments(self, portfolio_id: int, symbol: str | None = None) -> list:
        return [p for pid, p in self._s.funding_payments if pid == portfolio_id and symbol in (None, p.symbol)]


class FakeOutbox:
    def __init__(self, state: LedgerState) -> None:
        self._s = state

    def record_fill(self, portfolio_id, name, quote, candle_ts, booked, now, kind="signal", closing=None) -> None:
        self._s.outbox.append((portfolio_id, "fill", candle_ts, booked.fill))


class FakeUnitOfWork:
    """Works on a copy of the ledger's state; `commit` makes the copy the ledger's."""

    def __init__(self, ledger: "FakeLedger") -> None:
        self._ledger = ledger
        self.state = copy.deepcopy(ledger.state)
        self.portfolios = FakePortfolios(self.state)
        self.ticks = FakeTicks(self.state)
        self.trades = FakeTrades(self.state)
        self.orders = FakeOrders(self.state)
        self.journal = FakeJournal(self.state)
        self.candles = FakeCandles(self.state)
        self.markets = FakeMarkets(self.state)
        self.series = FakeSeries(self.state)
        self.outbox = FakeOutbox(self.state)
        self.funding = FakeFunding(self.state)

    def commit(self) -> None:
        self._ledger.state = self.state
        self._ledger.commits += 1


class FakeLedger:
    name = "the in-memory ledger"

    def __init__(self) -> None:
        self.state = LedgerState()
        self.commits = 0
        self.write_transactions = 0
        #: Called inside every write transaction before it is handed out: tests use it to play
        #: "another tick" changing the ledger between a tick's analysis and its execution.
        self.before_write = None

    @contextmanager
    def unit_of_work(self, *, write: bool = False):
        if write:
            self.write_transactions += 1
            if self.before_write is not None:
                hook, self.before_write = self.before_write, None
                hook(self)
        yield FakeUnitOfWork(self)


class FakeMarketData:
    """Candles in memory, answered as an exchange would at `now`; counts what it is asked."""

    caches_markets = True

    def __init__(self, bars: list[Bar], symbol: str = "BTC/USDT", min_cost: Decimal = Decimal(0)) -> None:
        self.bars = sorted(bars, key=lambda b: b.ts)
        self.symbol = symbol
        self.min_cost = min_cost
        self.market_requests = 0
        self.candle_requests = 0

    def market(self, symbol: str, cached: Market | None = None) -> Market:
        if cached is not None:
            return cached
        self.market_requests += 1
        if symbol != self.symbol:
            raise NotFound(f"the fake exchange does not list {symbol}")
        return self._describe(symbol)

    def markets(self, symbols: list[str]) -> dict[str, Market]:
        self.market_requests += 1
        return {symbol: self._describe(symbol) for symbol in symbols if symbol == self.symbol}

    def _describe(self, symbol: str) -> Market:
        base, quote = symbol.split("/")
        return Market(symbol, base, quote, Decimal("0.00001"), min_cost=self.min_cost, venue_symbol=base + quote)

    def closed_bars(self, symbol: str, timeframe: Timeframe, since: int, now: int) -> list[Bar]:
        self.candle_requests += 1
        times = [b.ts for b in self.bars]
        return self.bars[bisect_left(times, since) : bisect_right(times, now - timeframe.ms)]


def hourly_bars(closes: list[float | str], start: int = 1_609_459_200_000) -> list[Bar]:
    """Hourly candles with the given closes (open = close, high/low 1% around it)."""
    bars = []
    for i, close in enumerate(closes):
        c = Decimal(str(close))
        bars.append(Bar(start + i * 3_600_000, c, c * Decimal("1.01"), c * Decimal("0.99"), c, Decimal(1)))
    return bars


# -- optimisation ports ---------------------------------------------------------------------------


class FakeStudy:
    """The `Study` port in memory: trials numbered in the order they are asked or added."""

    def __init__(self, name: str, spec) -> None:
        import random

        self.name, self.directions, self.meta = name, list(spec.directions), dict(spec.meta)
        self.records: list = []
        self.space = None
        self._rng = random.Random(0)

    def ask(self):
        from papertrade.domain.search import TrialRecord

        params = {d.name: d.draw(self._rng) for d in self.space.dimensions}
        handle = len(self.records)
        self.records.append(TrialRecord(handle, params, "running", None, {}))
        return handle, params

    def tell(self, handle, outcome) -> None:
        from papertrade.domain.search import TrialRecord

        old = self.records[handle]
        if outcome is None:
            self.records[handle] = replace(old, state="failed", reason="interrupted")
            return
        self.records[handle] = TrialRecord(handle, old.params, outcome.state, outcome.values, outcome.stats,
                                           outcome.reason, outcome.worker, outcome.ran)  # fmt: skip

    def add(self, finished) -> None:
        from papertrade.domain.search import TrialRecord

        for params, outcome in finished:
            self.records.append(TrialRecord(len(self.records), dict(params), outcome.state, outcome.values,
                                            outcome.stats, outcome.reason, outcome.worker, outcome.ran))  # fmt: skip

    def trials(self):
        return list(self.records)


class FakeStudyStore:
    """The `StudyStore` port in memory."""

    url = "memory://studies"

    def __init__(self) -> None:
        self.studies: dict[str, FakeStudy] = {}

    def open(self, name, space, spec):
        study = self.studies.setdefault(name, FakeStudy(name, spec))
        study.space = space
        return study

    def load(self, name):
        if name not in self.studies:
            raise NotFound(f"no study named {name!r}")
        return self.studies[name]

    def names(self):
        return list(self.studies)


class FakeCluster:
    """The `Cluster` port in this process, finishing its tasks in the reverse order of their
    submission (a batch of `slots` * 2 at a time), as busy workers might; it counts what it ran
    and remembers what it was given to share."""

    def __init__(self, slots: int = 3) -> None:
        self.slots, self.shared, self.ran = slots, None, 0
        self._waiting: list = []

    def share(self, data):
        self.shared = data
        return ("shared", id(data))

    def submit(self, key, function, shared, job) -> None:
        assert shared == ("shared", id(self.shared))
        self._waiting.append((key, function, job))

    def next_done(self):
        key, function, job = self._waiting.pop()
        self.ran += 1
        return key, function(self.shared, job), f"fake-{key % self.slots}"

    def cancel(self) -> None:
        self._waiting.clear()
