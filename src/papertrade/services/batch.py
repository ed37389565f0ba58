"""The batch runner: tick many (portfolio, symbol) bots in one process.

Each (exchange, symbol, timeframe) series is fetched once per run and shared by every bot that
trades it; fetches run concurrently, within the exchange's rate limit. Every bot then ticks in
its own transaction under the same tick key as a cron tick, so a batch run and a cron tick (or
two batch runs on two machines) never act on one candle twice.
"""

import threading
import time
import tomllib
import zlib
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from papertrade.adapters.user_files import read_regular_file
from papertrade.domain.bars import Bar
from papertrade.domain.fills import Market
from papertrade.domain.portfolio import parse_symbol
from papertrade.domain.timeframes import Timeframe
from papertrade.errors import InputError, NotFound, PapertradeError
from papertrade.services.ports import Ledger, MarketCatalog
from papertrade.services.tick import Mode, TickResult, TickRunner, fetch_start
from papertrade.strategies import registry

#: The largest bots file read: tens of thousands of bots.
BOTS_FILE_LIMIT = 16 * 2**20


@dataclass(frozen=True, slots=True, order=True)
class Bot:
    portfolio_id: int
    symbol: str
    mode: Mode = Mode.LIVE

    @property
    def name(self) -> str:
        return f"{self.portfolio_id}:{self.symbol}"


@dataclass(frozen=True, slots=True)
class BotOutcome:
    bot: Bot
    result: TickResult | None = None
    error: PapertradeError | None = None


# -- the bots file --------------------------------------------------------------------------


def load_bots(path: Path) -> list[Bot]:
    """Read a bots file (TOML): `[[bot]]` tables with `portfolio` and `symbol` (or `symbols`),
    and optionally `mode`; a top-level `mode` is the default. Raises InputError on anything else."""
    data = read_regular_file(Path(path), BOTS_FILE_LIMIT, "a bots file")
    try:
        document = tomllib.loads(data.decode("utf-8"))
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise InputError(f"{path} is not valid TOML: {exc}") from None
    except RecursionError:  # tomllib reads nested arrays and tables recursively
        raise InputError(f"{path} is not a bots file: its values are nested too deeply") from None
    unknown = set(document) - {"mode", "bot"}
    if unknown:
        raise InputError(f"{path}: unknown setting {sorted(unknown)[0]!r} (expected mode and [[bot]] tables)")
    default = Mode.parse(str(document.get("mode", "LIVE")))
    entries = document.get("bot")
    if not isinstance(entries, list) or not entries:
        raise InputError(f"{path} has no [[bot]] tables")
    bots = [bot for number, entry in enumerate(entries, start=1) for bot in _bots(path, number, entry, default)]
    seen: set[str] = set()
    for bot in bots:
        if bot.name in seen:
            raise InputError(f"{path}: portfolio {bot.portfolio_id} trades {bot.symbol} twice")
        seen.add(bot.name)
    return bots


def _bots(path: Path, number: int, entry: Any, default: Mode) -> list[Bot]:
    where = f"{path}: bot {number}"
    if not isinstance(entry, dict):
        raise InputError(f"{where} must be a table")
    unknown = set(entry) - {"portfolio", "symbol", "symbols", "mode"}
    if unknown:
        raise InputError(f"{where}: unknown key {sorted(unknown)[0]!r}")
    portfolio = entry.get("portfolio")
    if isinstance(portfolio, bool) or not isinstance(portfolio, int) or portfolio < 1:
        raise InputError(f"{where}: portfolio must be a positive integer id")
    if ("symbol" in entry) == ("symbols" in entry):
        raise InputError(f"{where}: give either symbol or symbols")
    symbols = entry.get("symbols", [entry.get("symbol")])
    if not isinstance(symbols, list) or not symbols or not all(isinstance(s, str) for s in symbols):
        raise InputError(f"{where}: symbols must be a list of BASE/QUOTE strings")
    for symbol in symbols:
        parse_symbol(symbol)
    mode = Mode.parse(str(entry["mode"])) if "mode" in entry else default
    return [Bot(portfolio, symbol, mode) for symbol in symbols]


def parse_shard(text: str) -> tuple[int, int]:
    """`K/N` (1 <= K <= N) into (K, N)."""
    number, _, count = text.partition("/")
    try:
        k, n = int(number), int(count)
    except ValueError:
        raise InputError(f"--shard takes K/N like 2/3, not {text!r}") from None
    if not 1 <= k <= n:
        raise InputError(f"--shard {text}: K must be between 1 and N")
    return k, n


def in_shard(bot: Bot, k: int, n: int) -> bool:
    """Whether shard K of N runs this bot: a stable hash of (portfolio, symbol), so every machine
    splits the bots the same way whatever order its copy of the file lists them in."""
    return zlib.crc32(bot.name.encode()) % n == k - 1


# -- running --------------------------------------------------------------------------------


@dataclass
class _Series:
    """One (exchange, symbol, timeframe) and what was fetched for it in this run."""

    exchange: str
    symbol: str
    timeframe: Timeframe
    warmup: int = 1
    bars: list[Bar] | None = None
    since: int | None = None
    error: PapertradeError | None = None


@dataclass
class _Prefetched:
    """A market data source answering from what the run fetched, falling back to the exchange."""

    source: MarketCatalog
    series: dict[tuple[str, str], _Series]
    caches_markets = True
    markets: dict[str, Market] = field(default_factory=dict)

    def market(self, symbol: str, cached: Market | None = None) -> Market:
        failed = [s.error for s in self.series.values() if s.symbol == symbol and s.error is not None]
        if failed:
            raise failed[0]
        if cached is None and symbol in self.markets:
            return self.source.market(symbol, self.markets[symbol])
        return self.source.market(symbol, cached)

    def closed_bars(self, symbol: str, timeframe: Timeframe, since: int, now: int) -> list[Bar]:
        series = self.series.get((symbol, timeframe.name))
        if series is not None and series.error is not None:
            raise series.error
        if series is None or series.bars is None or series.since is None or since < series.since:
            return self.source.closed_bars(symbol, timeframe, since, now)
        return [bar for bar in series.bars if bar.ts >= since and bar.ts + timeframe.ms <= now]


def run_bots(
    ledger: Ledger,
    market_data_for: Callable[[str], Any],
    fetcher_for: Callable[[str], Any],
    bots: list[Bot],
    now: int,
    *,
    markets_ttl_ms: int,
    concurrency: int = 8,
    min_interval: Callable[[str], float] = lambda exchange: 0.0,
) -> Iterator[BotOutcome]:
    """Tick every bot at `now`, yielding each outcome as soon as it is known.

    `market_data_for(exchange)` is the source bots tick with; `fetcher_for(exchange)` makes a
    fresh client for one fetching thread; `min_interval(exchange)` is the exchange's rate limit
    (seconds between requests), shared by all threads.
    """
    configs, failures = _configs(ledger, bots)
    for bot, error in failures.items():
        yield BotOutcome(bot, error=error)
    runnable = [bot for bot in bots if bot in configs]
    series = _series_of(runnable, configs)
    sources = {
        exchange: _Prefetched(
            market_data_for(exchange),
            {(s.symbol, s.timeframe.name): s for s in series.values() if s.exchange == exchange},
        )
        for exchange in {s.exchange for s in series.values()}
    }
    _prefetch(ledger, series, sources, fetcher_for, now, markets_ttl_ms, concurrency, min_interval)
    runner = TickRunner(ledger, sources.__getitem__, markets_ttl_ms=markets_ttl_ms)
    for bot in runnable:
        try:
            yield BotOutcome(bot, runner.tick(bot.portfolio_id, bot.symbol, bot.mode, now))
        except PapertradeError as exc:
            yield BotOutcome(bot, error=exc)


def _configs(ledger: Ledger, bots: list[Bot]):
    configs, failures = {}, {}
    with ledger.unit_of_work() as uow:
        portfolios = {p.id: p.config for p in uow.portfolios.list(archived=True)}
    for bot in bots:
        config = portfolios.get(bot.portfolio_id)
        if config is None:
            failures[bot] = NotFound(f"no portfolio with id {bot.portfolio_id}")
        else:
            configs[bot] = config
    return configs, failures


def _series_of(bots: list[Bot], configs) -> dict[tuple[str, str, str], _Series]:
    series: dict[tuple[str, str, str], _Series] = {}
    for bot in bots:
        config = configs[bot]
        key = (config.exchange, bot.symbol, config.timeframe.name)
        entry = series.setdefault(key, _Series(config.exchange, bot.symbol, config.timeframe))
        try:
            strategy = registry.build(config.strategy, config.strategy_params)
            entry.warmup = max(entry.warmup, strategy.warmup, strategy.lookback or 0)
        except PapertradeError:
            pass  # the bot's own tick reports it
    return series


def _prefetch(ledger: Ledger, series, sources, fetcher_for, now: int, ttl: int, concurrency: int, min_interval) -> None:
    """Describe every market and fetch what each series is missing since its last stored candle,
    several series at once: one market-list request per exchange at most, one candle request per
    series."""
    with ledger.unit_of_work() as uow:
        latest = {key: uow.candles.latest_ts(*key) for key in series}
        cached = {(s.exchange, s.symbol): uow.markets.get(s.exchange, s.symbol) for s in series.values()}
    markets = _markets(series, sources, cached, now, ttl)
    wanted = []
    for key, entry in series.items():
        target = entry.timeframe.last_closed(now)
        if entry.error is None and (latest[key] is None or latest[key] < target):
            entry.since = fetch_start(latest[key], target, entry.warmup, entry.timeframe)
            wanted.append(entry)
    if wanted:
        _fetch_concurrently(wanted, markets, fetcher_for, now, concurrency, min_interval)


def _markets(series, sources, cached, now: int, ttl: int) -> dict[tuple[str, str], Market]:
    """Every series' market: from the cache while it is fresh, else one request per exchange."""
    markets: dict[tuple[str, str], Market] = {}
    for exchange, source in sources.items():
        symbols = sorted({s.symbol for s in series.values() if s.exchange == exchange})
        for symbol in symbols:
            entry = cached[(exchange, symbol)]
            if entry is not None and now - entry[1] < ttl:
                markets[(exchange, symbol)] = entry[0]
        missing = [symbol for symbol in symbols if (exchange, symbol) not in markets]
        if missing:
            _describe(source, exchange, missing, markets, series)
    return markets


def _fetch_concurrently(wanted: list[_Series], markets, fetcher_for, now: int, concurrency: int, min_interval) -> None:
    """Fetch every wanted series, each thread with its own clients, within each exchange's rate limit."""
    local = threading.local()
    limiters = {entry.exchange: _Limiter(min_interval(entry.exchange)) for entry in wanted}

    def fetch(entry: _Series) -> None:
        clients = local.__dict__.setdefault("clients", {})
        if entry.exchange not in clients:
            clients[entry.exchange] = fetcher_for(entry.exchange)
        client = clients[entry.exchange]
        try:
            client.market(entry.symbol, markets[(entry.exchange, entry.symbol)])  # no request
            limiters[entry.exchange].wait()
            entry.bars = client.closed_bars(entry.symbol, entry.timeframe, entry.since, now)
        except PapertradeError as exc:
            entry.error = exc

    with ThreadPoolExecutor(max_workers=max(1, min(concurrency, len(wanted)))) as pool:
        list(pool.map(fetch, wanted))


def _describe(source, exchange: str, symbols: list[str], descriptions: dict, series) -> None:
    """Fetch the markets the cache lacks, in one request; the prefetched source hands them to
    the ticks, which store them."""
    try:
        found = source.source.markets(symbols)
    except PapertradeError as exc:
        found = {}
        for entry in series.values():
            if entry.exchange == exchange and entry.symbol in symbols:
                entry.error = exc
    for symbol in symbols:
        if symbol in found:
            descriptions[(exchange, symbol)] = found[symbol]
            source.markets[symbol] = found[symbol]
        else:
            for entry in series.values():
                if entry.exchange == exchange and entry.symbol == symbol and entry.error is None:
                    entry.error = NotFound(f"{exchange} does not list {symbol}")


class _Limiter:
    """At most one request per `interval` seconds, across threads."""

    def __init__(self, interval: float) -> None:
        self._interval = interval
        self._lock = threading.Lock()
        self._next = 0.0

    def wait(self) -> None:
        if self._interval <= 0:
            return
        with self._lock:
            now = time.monotonic()
            start = max(now, self._next)
            self._next = start + self._interval
        if start > now:
            time.sleep(start - now)
