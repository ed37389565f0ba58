"""Market data from an exchange through ccxt. No ccxt object or dict leaves this module.

What can go wrong, and what papertrade makes of it:
- connection refused or reset, timeouts, HTTP 5xx: retried a bounded number of times with
  exponential backoff, then `TemporaryError` (exit 75);
- rate limiting (HTTP 429, 418): `TemporaryError` at once, never retried (retrying is what gets
  an IP banned);
- a symbol the exchange does not list: `NotFound` (exit 2);
- anything the exchange sends that fails validation: `DataError` (exit 1).
"""

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import closing, contextmanager
from decimal import Decimal, InvalidOperation
from functools import cache
from pathlib import Path
from typing import Any

from papertrade.adapters.in_order import in_order
from papertrade.domain.bars import Bar, validate_series
from papertrade.domain.book import BookLevel, OrderBook
from papertrade.domain.fills import Market
from papertrade.domain.funding import FundingRate
from papertrade.domain.money import fits_ledger
from papertrade.domain.timeframes import Timeframe
from papertrade.errors import DataError, InputError, NotFound, TemporaryError

#: Candles per request where ccxt does not document the exchange's cap.
DEFAULT_PAGE_SIZE = 100
#: Levels a side asked for when fetching an order book (Binance's default, one request weight).
DEFAULT_BOOK_DEPTH = 100
#: Requests a download keeps on their way at once, their starts still spaced by the rate limit.
REQUESTS_IN_FLIGHT = 2
_DEFAULTS: dict[str, Any] = {"enableRateLimit": True, "timeout": 10_000}
_PER_EXCHANGE: dict[str, dict[str, Any]] = {
    # Spot only: skips the futures exchangeInfo requests a spot paper trader never needs.
    "binance": {"options": {"fetchMarkets": {"types": ["spot"]}}},
    # Spot only: otherwise OKX's market list is five requests (spot, futures, swaps, two options).
    "okx": {"options": {"fetchMarkets": {"types": ["spot"]}}},
}


#: The market types ccxt's `fetchMarkets` option names for linear perpetual swaps: a swap symbol
#: loads only those, a spot symbol only spot (Binance: `/fapi/v1/exchangeInfo`, not the spot list).
_SWAP_TYPES = {"binance": ["linear"], "okx": ["swap"]}
#: Funding rates one `fetchFundingRateHistory` request asks for (Binance's most).
FUNDING_PAGE = 1000


def merge_config(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Deep-merge `override` into `base` (nested objects merge, everything else replaces)."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), Mapping):
            merged[key] = merge_config(merged[key], value)
        else:
            merged[key] = value
    return merged


def for_exchange(config: Mapping[str, Any], exchange_id: str) -> dict[str, Any]:
    """The ccxt config for one exchange: `config` without its per-exchange sections (keys that
    are ccxt exchange ids, such as {"okx": {...}}), with the section for `exchange_id` merged in."""
    import ccxt

    shared = {key: value for key, value in config.items() if key not in ccxt.exchanges}
    own = config.get(exchange_id)
    return merge_config(shared, own) if isinstance(own, Mapping) else shared


def check_exchange_id(exchange_id: str) -> str:
    """`exchange_id` when ccxt has that exchange, else `InputError` (with the closest ids)."""
    known = exchange_ids()
    if exchange_id not in known:
        from difflib import get_close_matches

        close = get_close_matches(exchange_id, known, n=3)
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise InputError(f"ccxt has no exchange {exchange_id!r}{hint}")
    return exchange_id


@cache
def exchange_ids() -> tuple[str, ...]:
    """ccxt's exchange ids (`ccxt.exchanges`), read without importing ccxt, which costs a command
    that makes no request (create-portfolio) half a second: ccxt ships one module per exchange,
    named by its id (tests/unit/test_exchange_ids.py checks that this is the same list)."""
    from importlib.util import find_spec

    spec = find_spec("ccxt")
    folders = spec.submodule_search_locations if spec is not None else None
    found = sorted(path.stem for folder in folders or () for path in Path(folder).glob("*.py"))
    ids = tuple(name for name in found if name.isidentifier() and not name.startswith("_"))
    if ids:
        return ids
    import ccxt  # laid out otherwise: ask ccxt itself

    return tuple(ccxt.exchanges)


class CcxtMarketData:
    """Markets and closed, validated candles of one ccxt exchange."""

    caches_markets = True
    funding_page = FUNDING_PAGE  # funding rates asked for per request

    def __init__(
        self,
        exchange_id: str,
        config: Mapping[str, Any],
        *,
        retries: int = 2,
        backoff: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        import ccxt

        check_exchange_id(exchange_id)
        settings = merge_config(
            merge_config(_DEFAULTS, _PER_EXCHANGE.get(exchange_id, {})), for_exchange(config, exchange_id)
        )
        self.exchange_id = exchange_id
        self._ccxt = ccxt
        self._exchange = _strict_client(getattr(ccxt, exchange_id))(settings)
        self._retries = retries
        self._backoff = backoff
        self._sleep = sleep
        self._made_with = (config, retries, backoff, sleep)
        self._siblings: dict[int, CcxtMarketData] = {}

    # -- markets ---------------------------------------------------------------------------

    def market(self, symbol: str, cached: Market | None = None) -> Market:
        """The `Market` for `symbol`: `cached` when given (no request), else from the exchange's
        market list (one request)."""
        market = cached if cached is not None else self._to_market(self._describe(symbol))
        self._exchange.set_markets([_ccxt_market(market)])
        return market

    def markets(self, symbols: list[str]) -> dict[str, Market]:
        """The listed ones among `symbols`, from one market-list request (two when spot and
        swap symbols are mixed)."""
        listed = self._load_markets(list(symbols))
        return {symbol: self._to_market(listed[symbol]) for symbol in symbols if symbol in listed}

    def _load_markets(self, symbols: list[str] | None = None) -> dict[str, Any]:
        """The exchange's market list, of the types `symbols` need (a swap's only its swap
        list); `DataError` when the answer holds no market at all (a well-formed list lacking a
        symbol is the only answer that says a symbol is not listed)."""
        self._load_types(symbols or [])
        markets = self._call(lambda: self._exchange.load_markets(reload=True), "load markets")
        if not markets:
            raise DataError(f"{self.exchange_id} sent a market list without markets")
        return markets

    def _load_types(self, symbols: list[str]) -> None:
        swap_types = _SWAP_TYPES.get(self.exchange_id)
        if swap_types is None or not any(":" in symbol for symbol in symbols):
            return
        spot = ["spot"] if any(":" not in symbol for symbol in symbols) else []
        self._exchange.options["fetchMarkets"] = {"types": [*spot, *swap_types]}

    @property
    def rate_limit(self) -> float:
        """Seconds to leave between requests, as ccxt knows them (0 when limiting is off)."""
        return self._exchange.rateLimit / 1000 if self._exchange.enableRateLimit else 0.0

    def _describe(self, symbol: str) -> dict[str, Any]:
        markets = self._load_markets([symbol])
        if symbol not in markets:
            raise NotFound(f"{self.exchange_id} does not list {symbol}")
        return markets[symbol]

    def _to_market(self, market: Mapping[str, Any]) -> Market:
        symbol = market["symbol"]
        linear_swap = market.get("swap") and market.get("linear") and market.get("contractSize") in (None, 1)
        if not market.get("spot", True) and not linear_swap:
            raise InputError(f"{symbol} on {self.exchange_id} is neither a spot market nor a linear perpetual swap")
        if market.get("active") is False:
            raise InputError(f"{symbol} is not trading on {self.exchange_id} right now")
        limits = market.get("limits") or {}
        return Market(
            symbol=symbol,
            base=market["base"],
            quote=market["quote"],
            amount_step=self._amount_step(market),
            min_amount=_decimal((limits.get("amount") or {}).get("min")) or Decimal(0),
            min_cost=_decimal((limits.get("cost") or {}).get("min")) or Decimal(0),
            venue_symbol=str(market["id"]),
            maker_fee=_fee_rate(market.get("maker")),
            taker_fee=_fee_rate(market.get("taker")),
        )

    def _amount_step(self, market: Mapping[str, Any]) -> Decimal:
        precision = _decimal((market.get("precision") or {}).get("amount"))
        if precision is None or precision <= 0:
            return Decimal("0.00000001")
        if self._exchange.precisionMode == self._ccxt.TICK_SIZE:
            return precision
        # DECIMAL_PLACES (and, approximately, SIGNIFICANT_DIGITS): a number of decimals.
        return Decimal(1).scaleb(-int(precision))

    # -- candles ---------------------------------------------------------------------------

    @property
    def page_size(self) -> int:
        """Candles one request may ask for: ccxt's documented cap for the exchange's spot
        candles (Binance 1000, OKX 300, Kraken 720), or `DEFAULT_PAGE_SIZE` when ccxt has none."""
        features = (getattr(self._exchange, "features", None) or {}).get("spot") or {}
        limit = (features.get("fetchOHLCV") or {}).get("limit")
        return limit if isinstance(limit, int) and limit > 0 else DEFAULT_PAGE_SIZE

    def check_timeframe(self, timeframe: Timeframe) -> None:
        """`InputError` unless the exchange serves candles of `timeframe`."""
        offered = getattr(self._exchange, "timeframes", None) or {}
        if timeframe.name not in offered:
            raise InputError(f"{self.exchange_id} has no {timeframe} candles: it offers {', '.join(offered)}")

    def closed_bars(self, symbol: str, timeframe: Timeframe, since: int, now: int) -> list[Bar]:
        """Every closed candle from `since` (inclusive) up to `now`, validated, oldest first.

        The still-forming candle the exchange sends last is validated like the rest, then dropped.
        """
        bars, received = [], 0
        for start, stop, page in self._windows(symbol, timeframe, since, now):
            received += len(page)
            bars.extend(_closed_within(page, start, stop, timeframe, now))
        if not received:
            raise TemporaryError(f"{self.exchange_id} sent no {timeframe} candles for {symbol}")
        return bars

    def pages(self, symbol: str, timeframe: Timeframe, start: int, end: int, now: int) -> Iterator[list[Bar]]:
        """The closed candles opening in [start, end], one validated page (oldest first) per request.

        Each request asks for one window of `page_size` candle slots, bounded on both sides, so
        what the exchange answers is complete for its window whichever end it pages from (OKX
        answers newest first, Binance oldest first), and an empty window (an outage) is simply
        passed over. Up to `REQUESTS_IN_FLIGHT` windows are asked for at once, each by a client
        of its own, their starts spaced by the one rate limit they share; pages come back in
        order, and a failed request ends the pages after those before it.
        """
        bounds = list(self._bounds(timeframe, start, end))
        ready: set[int] = set()

        def fetch(lane: int, bound: tuple[int, int, int]) -> list[Bar]:
            source = self if lane == 0 else self._sibling(lane, ready)
            first, last, stop = bound
            return _closed_within(source._window(symbol, timeframe, first, stop), first, last, timeframe, now)

        lanes = range(max(1, min(len(bounds), REQUESTS_IN_FLIGHT)))
        with closing(in_order(lanes, bounds, fetch)) as fetched:
            yield from fetched

    def _windows(self, symbol: str, timeframe: Timeframe, start: int, end: int) -> Iterator[tuple[int, int, list]]:
        for first, last, stop in self._bounds(timeframe, start, end):
            yield first, last, self._window(symbol, timeframe, first, stop)

    def _bounds(self, timeframe: Timeframe, start: int, end: int) -> Iterator[tuple[int, int, int]]:
        """(first, last, stop) of each request: the open times [first, last] it is for, and the
        `until` it sends."""
        width = self.page_size * timeframe.ms
        cursor = timeframe.floor(start) + (timeframe.ms if start % timeframe.ms else 0)
        while cursor <= end:
            # The window's bound is just before the next window's first candle: exchanges
            # that read `until` as inclusive (Binance) and exclusive (OKX) then agree.
            stop = min(cursor + width, timeframe.floor(end) + timeframe.ms) - 1
            yield cursor, min(stop, end), stop
            cursor += width

    def _sibling(self, lane: int, ready: set[int]) -> "CcxtMarketData":
        """A source like this one (the same settings, markets and rate limit) for the requests of
        `lane`, since a ccxt client is not shared between threads. Made on first use, in the
        lane's own thread, while the first lane's request is on its way; brought up to date with
        this one once per download (`ready`)."""
        sibling = self._siblings.get(lane)
        if sibling is None:
            config, retries, backoff, sleep = self._made_with
            sibling = CcxtMarketData(self.exchange_id, config, retries=retries, backoff=backoff, sleep=sleep)
            sibling._exchange.starts = self._exchange.starts
            self._siblings[lane] = sibling
        if lane not in ready:
            mine, client = self._exchange, sibling._exchange
            client.enableRateLimit, client.rateLimit = mine.enableRateLimit, mine.rateLimit
            if mine.markets:
                client.set_markets(list(mine.markets.values()))
            ready.add(lane)
        return sibling

    def _window(self, symbol: str, timeframe: Timeframe, start: int, stop: int) -> list[Bar]:
        """Every candle the exchange sends for [start, stop], validated, oldest first."""
        rows = self._call(
            lambda: self._exchange.fetch_ohlcv(symbol, timeframe.name, start, self.page_size, {"until": stop}),
            f"fetch {symbol} {timeframe} candles",
        )
        page = [_to_bar(row) for row in _as_rows(rows)]
        if len(page) > 1 and page[0].ts > page[-1].ts:
            page.reverse()  # newest first (OKX): the order is checked next, as for anyone else
        validate_series(page, timeframe)
        return page

    # -- funding rates ---------------------------------------------------------------------

    def funding_rates(self, symbol: str, since: int, until: int) -> list[FundingRate]:
        """The swap's funding rates settled from `since` to `until` (ms, inclusive), oldest
        first, through ccxt's `fetchFundingRateHistory`, a page of `FUNDING_PAGE` at a time, each
        from just after the last one received; the mark price is the one the exchange sends
        with each rate (Binance's `markPrice`, in the raw row ccxt keeps), None when it sends none."""
        rates: list[FundingRate] = []
        while since <= until:
            rows = self._call(
                lambda start=since: self._exchange.fetch_funding_rate_history(
                    symbol, start, self.funding_page, {"until": until}
                ),
                f"fetch {symbol} funding rates",
            )
            page = [rate for rate in (_funding_rate(row) for row in _as_rows(rows)) if since <= rate.ts <= until]
            rates.extend(page)
            if len(_as_rows(rows)) < self.funding_page or not page:
                break
            since = page[-1].ts + 1
        return rates

    # -- order book ------------------------------------------------------------------------

    def fetch_order_book(self, symbol: str, depth: int = DEFAULT_BOOK_DEPTH) -> OrderBook:
        """The exchange's order book for `symbol` now, up to `depth` levels a side, as domain
        levels (best first). Whether it can be walked (empty, crossed, stale) is the domain's
        `check_book`; levels that are not positive numbers are a `DataError`."""
        answer = self._call(lambda: self._exchange.fetch_order_book(symbol, depth), f"fetch the {symbol} order book")
        if not isinstance(answer, Mapping):
            raise DataError(f"{self.exchange_id} sent {type(answer).__name__} where an order book belongs")
        bids = _book_side(answer.get("bids"), descending=True)
        asks = _book_side(answer.get("asks"), descending=False)
        ts = answer.get("timestamp")
        return OrderBook(symbol, bids, asks, ts if isinstance(ts, int) and not isinstance(ts, bool) else None)

    # -- error handling --------------------------------------------------------------------

    def _call(self, request: Callable[[], Any], what: str) -> Any:
        attempt = 0
        while True:
            try:
                with self._translated(what):
                    return request()
            except _Retryable as exc:
                if attempt >= self._retries:
                    raise TemporaryError(str(exc)) from None
                self._sleep(self._backoff * 2**attempt)
                attempt += 1

    @contextmanager
    def _translated(self, what: str) -> Iterator[None]:
        ccxt, name = self._ccxt, self.exchange_id
        try:
            yield
        except ccxt.BadSymbol as exc:
            raise NotFound(f"{name} does not list that symbol: {_brief(exc)}") from None
        except (ccxt.DDoSProtection, ccxt.RateLimitExceeded) as exc:
            raise TemporaryError(f"{name} is rate limiting us ({_brief(exc)}); not retried") from None
        except ccxt.RequestTimeout:
            raise _Retryable(f"{name} did not answer in time ({what})") from None
        except ccxt.ExchangeNotAvailable as exc:
            raise _Retryable(f"{name} is unavailable ({what}): {_brief(exc)}") from None
        except ccxt.NetworkError as exc:
            raise _Retryable(f"cannot reach {name} ({what}): {_brief(exc)}") from None
        except ccxt.OperationFailed as exc:  # the exchange's own "try again later" errors
            raise _Retryable(f"{name} failed to {what}: {_brief(exc)}") from None
        except ccxt.BaseError as exc:
            raise DataError(f"{name} refused to {what}: {_brief(exc)}") from None
        except (ValueError, TypeError, KeyError, IndexError) as exc:
            raise DataError(f"{name} sent a response papertrade cannot read ({what}): {_brief(exc)}") from None


def _strict_client(exchange_class: type) -> type:
    """`exchange_class` answering only with what the exchange really sent.

    ccxt hands a body that is not JSON (an HTML maintenance page, a truncated answer) to the
    caller as text, which its market parser reads as an empty market list and its candle parser
    as rows of None: here such a body is a `DataError` naming it. Candles come back exactly as
    the exchange sent them: ccxt sorts them and drops rows it cannot place in time, but
    papertrade validates candles itself, so it needs them in the exchange's order, unfiltered.
    """

    class StrictClient(exchange_class):
        def __init__(self, config=None) -> None:
            super().__init__(config or {})
            self.starts = RequestStarts()

        def throttle(self, cost=None):
            """ccxt's own wait before a request, counted from the last request any client sharing
            `starts` began (several clients may download one series at once)."""
            with self.starts.lock:
                self.lastRestRequestTimestamp = self.starts.last
                super().throttle(cost)
                self.starts.last = self.lastRestRequestTimestamp = self.milliseconds()

        def fetch(self, url, method="GET", headers=None, body=None):
            answer = super().fetch(url, method, headers, body)
            if isinstance(answer, str | bytes):
                raise DataError(f"{self.id} answered with something that is not JSON: {_brief(answer)}")
            return answer

        def parse_ohlcvs(self, ohlcvs, market=None, timeframe="1m", since=None, limit=None, tail=False):
            if not isinstance(ohlcvs, list):
                raise DataError(f"{self.id} sent {type(ohlcvs).__name__} where a list of candles belongs")
            self.number = str  # ccxt's other number type: the exchange's own digits, made exact by `_to_bar`
            try:
                return [self.parse_ohlcv(row, market) for row in ohlcvs]
            finally:
                del self.number  # back to ccxt's floats for everything else

    StrictClient.__name__ = f"Strict{exchange_class.__name__}"
    return StrictClient


class RequestStarts:
    """When the last request of the clients sharing it began (ccxt's milliseconds)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.last = 0


class _Retryable(Exception):
    """A transient network failure, retried with backoff before it becomes a TemporaryError."""


def _closed_within(page: list[Bar], start: int, stop: int, timeframe: Timeframe, now: int) -> list[Bar]:
    return [bar for bar in page if start <= bar.ts <= stop and bar.ts + timeframe.ms <= now]


def _as_rows(rows: Any) -> list:
    if not isinstance(rows, list):
        raise DataError(f"exchange sent {type(rows).__name__} where a list of candles belongs")
    return rows


def _to_bar(row: Any) -> Bar:
    if type(row) is list and len(row) >= 6 and type(row[0]) is int:
        open_, high, low, close, volume = values = row[1:6]
        if type(open_) is type(high) is type(low) is type(close) is type(volume) is str:
            try:  # what ccxt parses: a million a download
                return Bar(row[0], *map(Decimal, values))
            except InvalidOperation:
                pass  # not a number: said by the checks below
    return _checked_bar(row)


def _checked_bar(row: Any) -> Bar:
    if not isinstance(row, list | tuple) or len(row) < 6 or any(v is None for v in row[:6]):
        raise DataError(f"exchange sent a candle with missing values: {str(row)[:80]}")
    ts, *values = row[:6]
    if isinstance(ts, bool) or not isinstance(ts, int | float) or ts != int(ts):
        raise DataError(f"exchange sent a candle time that is not an integer: {ts!r}")
    try:
        prices = [_number(v) for v in values]
    except (InvalidOperation, ValueError, TypeError):
        raise DataError(f"exchange sent a candle with a non-numeric value: {str(row)[:80]}") from None
    return Bar(int(ts), *prices)


def _number(value: Any) -> Decimal:
    if isinstance(value, bool):
        raise TypeError("boolean price")
    # repr of a float is its shortest round-trip text: the exact decimal the exchange sent.
    return Decimal(repr(value)) if isinstance(value, float) else Decimal(value)


def _fee_rate(value: Any) -> Decimal | None:
    """A market's maker or taker rate as ccxt gives it; a rebate (a negative rate) is not paid
    out to a paper trader, so it counts as 0."""
    rate = _decimal(value)
    return None if rate is None else max(rate, Decimal(0))


def _decimal(value: Any) -> Decimal | None:
    if value is None:
        return None
    return _number(value)


def _book_side(levels: Any, *, descending: bool) -> tuple[BookLevel, ...]:
    """One side of a ccxt order book as domain levels, best first; `DataError` for a level that is
    not a positive price and amount the ledger can hold."""
    if levels is None:
        return ()
    if not isinstance(levels, list):
        raise DataError(f"exchange sent {type(levels).__name__} where order book levels belong")
    parsed = [_book_level(level) for level in levels]
    return tuple(sorted(parsed, key=lambda level: level.price, reverse=descending))


def _book_level(level: Any) -> BookLevel:
    try:
        price, amount = _number(level[0]), _number(level[1])
    except (InvalidOperation, ValueError, TypeError, IndexError, KeyError):
        raise DataError(f"exchange sent an order book level papertrade cannot read: {str(level)[:80]}") from None
    if not (price.is_finite() and amount.is_finite() and price > 0 and amount > 0):
        raise DataError(f"exchange sent an order book level that is not positive: {str(level)[:80]}")
    if not (fits_ledger(price) and fits_ledger(amount)):
        raise DataError(f"exchange sent an order book level finer than the ledger keeps: {str(level)[:80]}")
    return BookLevel(price, amount)


def _ccxt_market(market: Market) -> dict[str, Any]:
    """The least ccxt needs to fetch a spot market's candles (or a linear swap's candles and
    funding rates) without loading the market list."""
    if ":" in market.symbol:
        return {
            "id": market.venue_symbol, "symbol": market.symbol, "base": market.base, "quote": market.quote,
            "settle": market.quote, "type": "swap", "spot": False, "margin": False, "swap": True, "future": False,
            "option": False, "contract": True, "linear": True, "inverse": False, "contractSize": 1, "active": True,
        }  # fmt: skip
    return {
        "id": market.venue_symbol, "symbol": market.symbol, "base": market.base, "quote": market.quote,
        "type": "spot", "spot": True, "margin": False, "swap": False, "future": False, "option": False,
        "contract": False, "linear": None, "inverse": None, "active": True,
    }  # fmt: skip


def _funding_rate(row: Any) -> FundingRate:
    """A ccxt funding-rate history entry as a `FundingRate`; `DataError` when it is not one."""
    info = row.get("info") if isinstance(row, Mapping) else None
    ts = row.get("timestamp") if isinstance(row, Mapping) else None
    if not isinstance(ts, int) or isinstance(ts, bool) or not isinstance(info, Mapping):
        raise DataError(f"the exchange sent a funding rate without a time: {_brief(repr(row))}")
    rate = _decimal(info.get("fundingRate"))
    if rate is None or not rate.is_finite() or abs(rate) >= 1:
        raise DataError(f"the exchange sent a funding rate that is not a rate at {ts}")
    mark = _decimal(info.get("markPrice")) if info.get("markPrice") not in (None, "") else None
    if mark is not None and not (mark.is_finite() and mark > 0):
        raise DataError(f"the exchange sent a mark price that is not a positive number at {ts}")
    return FundingRate(ts, rate, mark)


def _brief(exc: Exception | str | bytes) -> str:
    """What the exchange (or ccxt, quoting it) said, safe to print, store and send: one line,
    no control characters or escape sequences, at most 160 characters."""
    from papertrade.domain.text import printable

    text = exc.decode(errors="replace") if isinstance(exc, bytes) else str(exc)
    return printable(text, 160)
