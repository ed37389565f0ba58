"""A local HTTP server that imitates Binance's public spot REST API for real ccxt.

It serves the real candles in tests/data/ohlcv through `GET /api/v3/klines` (with `startTime`,
`endTime`, `limit`, the still-forming candle last, as Binance does) and a small
`GET /api/v3/exchangeInfo`. Its clock is injectable, and the data can be shifted in time so that
a process using the real clock sees "live" candles. USDⓈ-M futures: `GET /fapi/v1/exchangeInfo`
lists perpetuals (`FUTURES`), `GET /fapi/v1/klines` serves the same real spot candles as the
swaps' candles, and `GET /fapi/v1/fundingRate` the synthetic funding series of
`tests.support.synthetic_funding` (tests/data/funding/SOURCES.md), paged as Binance pages it;
`GET /dapi/v1/exchangeInfo` lists no inverse contract. `GET /api/v3/depth` serves an order book built
from the latest closed candle (see `BookSpec`). Faults can be switched on per endpoint to
prove how papertrade behaves when an exchange misbehaves.

    with FakeBinance(clock=lambda: now) as server:
        os.environ["PAPERTRADE_CCXT_CONFIG"] = json.dumps(server.ccxt_config())
"""

import bisect
import csv
import json
import socket
import threading
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_DOWN, ROUND_UP, Decimal
from functools import cache
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlparse

from tests.support.paths import DATA

INTERVAL_MS = {"1m": 60_000, "5m": 300_000, "1h": 3_600_000, "1d": 86_400_000}
DAY_MS = 86_400_000
#: The dataset day a by-hand try-out lives on: every served series has it and the 250 candles
#: of warm-up before it without a gap (2021-04-25 had Binance's four-hour maintenance).
TRYOUT_AT = "2021-05-12T18:00"

#: (exchange symbol id, interval) -> candle file in tests/data/ohlcv
FILES = {
    ("BTCUSDT", "1m"): "binance_BTC-USDT_1m.csv",
    ("BTCUSDT", "5m"): "binance_BTC-USDT_5m.csv",
    ("BTCUSDT", "1h"): "binance_BTC-USDT_1h.csv",
    ("BTCUSDT", "1d"): "binance_BTC-USDT_1d.csv",
    ("ETHUSDT", "1h"): "binance_ETH-USDT_1h.csv",
}


@dataclass(frozen=True)
class MarketSpec:
    """One spot market in exchangeInfo."""

    base: str
    quote: str = "USDT"
    step: str = "0.00001"
    min_qty: str = "0.00001"
    min_notional: str = "5.0"
    status: str = "TRADING"

    @property
    def id(self) -> str:
        return self.base + self.quote

    def to_json(self) -> dict:
        return {
            "symbol": self.id,
            "status": self.status,
            "baseAsset": self.base,
            "quoteAsset": self.quote,
            "isSpotTradingAllowed": True,
            "permissions": ["SPOT"],
            "orderTypes": ["LIMIT", "MARKET"],
            "filters": [
                {"filterType": "PRICE_FILTER", "tickSize": "0.01", "minPrice": "0.01", "maxPrice": "1000000"},
                {"filterType": "LOT_SIZE", "stepSize": self.step, "minQty": self.min_qty, "maxQty": "9000"},
                {"filterType": "NOTIONAL", "minNotional": self.min_notional},
            ],
        }


#: The USDⓈ-M perpetuals `/fapi/v1/exchangeInfo` lists (exchange id -> LOT_SIZE step).
FUTURES = {"BTCUSDT": "0.001", "ETHUSDT": "0.001"}


def future_json(symbol_id: str, step: str) -> dict:
    """One perpetual in `/fapi/v1/exchangeInfo`, with the fields ccxt reads."""
    return {
        "symbol": symbol_id, "pair": symbol_id, "contractType": "PERPETUAL", "deliveryDate": 4133404800000,
        "onboardDate": 1569398400000, "status": "TRADING", "baseAsset": symbol_id[:-4], "quoteAsset": "USDT",
        "marginAsset": "USDT", "pricePrecision": 2, "quantityPrecision": 3, "baseAssetPrecision": 8,
        "quotePrecision": 8, "underlyingType": "COIN", "triggerProtect": "0.0500", "orderTypes": ["LIMIT", "MARKET"],
        "filters": [
            {"filterType": "PRICE_FILTER", "tickSize": "0.10", "minPrice": "556.80", "maxPrice": "4529764"},
            {"filterType": "LOT_SIZE", "stepSize": step, "minQty": step, "maxQty": "1000"},
            {"filterType": "MIN_NOTIONAL", "notional": "100"},
        ],
    }  # fmt: skip


DEFAULT_MARKETS = (
    MarketSpec("BTC"),
    MarketSpec("ETH", step="0.0001", min_qty="0.0001"),
    MarketSpec("LUNA", status="BREAK"),
    MarketSpec("BTC", quote="EUR"),
)


@dataclass(frozen=True)
class BookSpec:
    """How `/api/v3/depth` builds a book from the latest closed candle of `interval`: best bid and
    ask `spread` (a fraction of the close) apart around the close, each further level `spacing` (a
    fraction of the close) beyond the one before, `depth` levels a side holding `amount` more base
    than the level before (the first holds `amount`), prices on the market's 0.01 tick, rounded
    away from the close."""

    interval: str = "1h"
    spread: str = "0.0002"
    spacing: str = "0.0005"
    depth: int = 20
    amount: str = "0.25"


@cache
def load_rows(filename: str) -> tuple[tuple[int, str, str, str, str, str], ...]:
    """The candles of a data file, with prices kept as the exact text in the file."""
    with (DATA / filename).open() as handle:
        reader = csv.reader(handle)
        next(reader)
        return tuple((int(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in reader)


@dataclass
class Fault:
    """A misbehaviour for requests to `path` (a suffix like "/klines"); `times` None = forever."""

    kind: str
    path: str = "/klines"
    times: int | None = None
    payload: object = None
    symbol: str | None = None  # only requests for this exchange symbol id
    skip: int = 0  # matching requests answered normally before the fault starts
    from_ts: int | None = None  # only requests for candles opening at or after this (dataset time)


@dataclass
class FakeBinanceState:
    clock: Callable[[], int]
    offset_ms: int = 0
    markets: tuple[MarketSpec, ...] = DEFAULT_MARKETS
    book: BookSpec = field(default_factory=BookSpec)
    series: dict[tuple[str, str], tuple] = field(default_factory=dict)
    faults: list[Fault] = field(default_factory=list)
    requests: Counter = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    arrivals: list[tuple[float, str]] = field(default_factory=list)
    times: dict[tuple[str, str], tuple] = field(default_factory=dict)
    funding: dict[str, list] = field(default_factory=dict)  # exchange id -> synthetic funding rows
    lock: threading.Lock = field(default_factory=threading.Lock)


class FakeBinance:
    """The server; a context manager that runs it on a free port in a background thread."""

    handler: type | None = None  # the request handler class; Binance's when None
    #: The (maker, taker) rates ccxt gives every spot market, as text (None: ccxt's own 0.001, 0.001).
    trading_fees: tuple[str, str] | None = None

    def __init__(
        self,
        clock: Callable[[], int] | None = None,
        offset_ms: int = 0,
        markets=DEFAULT_MARKETS,
        book: BookSpec | None = None,
    ) -> None:
        self.state = FakeBinanceState(clock or (lambda: time.time_ns() // 1_000_000), offset_ms, tuple(markets))
        self.state.book = book or BookSpec()
        for key, filename in FILES.items():
            self.state.series[key] = load_rows(filename)
        self._server = _Server(("127.0.0.1", 0), self.handler or _Handler)
        self._server.state = self.state
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.05,), daemon=True)

    # -- lifecycle ------------------------------------------------------------------------

    def __enter__(self) -> "FakeBinance":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()

    @property
    def port(self) -> int:
        return self._server.server_address[1]

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}/api/v3"

    def ccxt_config(self, timeout_ms: int = 5000) -> dict:
        """The PAPERTRADE_CCXT_CONFIG that points ccxt's Binance at this server.

        ccxt's client-side rate limiter is off: this server has no limits to respect, and the
        limiter's sleeps would only slow the tests down.
        """
        futures = f"http://127.0.0.1:{self.port}"
        api = {"public": self.base_url, "fapiPublic": f"{futures}/fapi/v1", "dapiPublic": f"{futures}/dapi/v1"}
        config = {"urls": {"api": api}, "timeout": timeout_ms, "enableRateLimit": False}
        if self.trading_fees is not None:
            # ccxt's binance takes a spot market's `maker` and `taker` from its own `fees.trading`
            # (Binance's exchangeInfo has no fees), so this is where a test exchange sets them.
            maker, taker = self.trading_fees
            config["fees"] = {"trading": {"maker": float(maker), "taker": float(taker)}}
        return config

    # -- control --------------------------------------------------------------------------

    def add_series(self, symbol_id: str, interval: str, rows) -> None:
        self.state.series[(symbol_id, interval)] = tuple(rows)

    def inject(
        self,
        kind: str,
        path: str = "/klines",
        times: int | None = None,
        payload=None,
        symbol=None,
        skip: int = 0,
        from_ts: int | None = None,
    ) -> None:
        """Misbehave on requests to `path`: `times` of them (None: all), after `skip` normal ones;
        with `from_ts`, only on requests for candles from that time on, whatever order they come in."""
        with self.state.lock:
            self.state.faults.append(Fault(kind, path, times, payload, symbol, skip, from_ts))

    def clear_faults(self) -> None:
        with self.state.lock:
            self.state.faults.clear()

    def reset_counts(self) -> None:
        with self.state.lock:
            self.state.requests.clear()
            self.state.log.clear()
            self.state.arrivals.clear()

    def count(self, path_suffix: str) -> int:
        return sum(n for path, n in self.state.requests.items() if path.endswith(path_suffix))

    def align_now_to(self, dataset_ts: int, now: int | None = None) -> None:
        """Shift the data by whole days so that the real `now` falls on the day of `dataset_ts`."""
        now = self.state.clock() if now is None else now
        self.state.offset_ms = (now - now % DAY_MS) - (dataset_ts - dataset_ts % DAY_MS)


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        """A client that hung up on a slow answer (the point of the "hang" fault) is not news."""


class _Handler(BaseHTTPRequestHandler):
    server_version = "FakeBinance/1.0"
    protocol_version = "HTTP/1.1"

    def setup(self) -> None:
        super().setup()
        # Each answer goes out at once, as a real server's does on a kept-alive connection (nginx
        # sets TCP_NODELAY): otherwise Nagle's algorithm holds the body back until the client's
        # delayed acknowledgement of the headers, 40 ms a request.
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def log_message(self, *args) -> None:  # keep test output clean
        pass

    def do_GET(self) -> None:
        state: FakeBinanceState = self.server.state
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        with state.lock:
            state.requests[url.path] += 1
            state.log.append(self.path)
            state.arrivals.append((time.monotonic(), self.path))
            since = int(query["startTime"]) - state.offset_ms if "startTime" in query else None
            fault = self._take_fault(state, url.path, query.get("symbol"), since)
        if fault is not None and self._misbehave(fault):
            return
        routes = {
            "/api/v3/exchangeInfo": self._exchange_info,
            "/api/v3/klines": self._klines,
            "/api/v3/depth": self._depth,
            "/api/v3/ping": lambda s, q: (200, {}),
            "/api/v3/time": lambda s, q: (200, {"serverTime": s.clock()}),
            "/fapi/v1/exchangeInfo": self._futures_info,
            "/fapi/v1/klines": self._futures_klines,
            "/fapi/v1/fundingRate": self._funding_rate,
            "/dapi/v1/exchangeInfo": lambda s, q: (200, {"timezone": "UTC", "symbols": []}),
        }
        route = routes.get(url.path)
        if route is None:
            self._send(404, {"code": -1, "msg": "not found"})
            return
        status, body = route(state, query)
        if fault is not None:
            body = _corrupt(fault, body, state, query)
        self._send(status, body)

    # -- endpoints ------------------------------------------------------------------------

    def _exchange_info(self, state: FakeBinanceState, query: dict) -> tuple[int, object]:
        return 200, {
            "timezone": "UTC",
            "serverTime": state.clock(),
            "rateLimits": [],
            "symbols": [m.to_json() for m in state.markets],
        }

    def _klines(self, state: FakeBinanceState, query: dict) -> tuple[int, object]:
        symbol, interval = query.get("symbol"), query.get("interval")
        if symbol not in {m.id for m in state.markets}:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        if interval not in INTERVAL_MS:
            return 400, {"code": -1120, "msg": "Invalid interval."}
        limit = min(int(query.get("limit", 500)), 1000)
        start = int(query["startTime"]) if "startTime" in query else None
        end = int(query["endTime"]) if "endTime" in query else None
        rows = visible_rows(state, symbol, interval, start, end, limit)
        return 200, [to_kline(row, INTERVAL_MS[interval]) for row in rows]

    def _futures_info(self, state: FakeBinanceState, query: dict) -> tuple[int, object]:
        symbols = [future_json(symbol_id, step) for symbol_id, step in FUTURES.items()]
        return 200, {"timezone": "UTC", "serverTime": state.clock(), "rateLimits": [], "symbols": symbols}

    def _futures_klines(self, state: FakeBinanceState, query: dict) -> tuple[int, object]:
        symbol, interval = query.get("symbol"), query.get("interval")
        if symbol not in FUTURES:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        if interval not in INTERVAL_MS:
            return 400, {"code": -1120, "msg": "Invalid interval."}
        limit = min(int(query.get("limit", 500)), 1500)
        start = int(query["startTime"]) if "startTime" in query else None
        end = int(query["endTime"]) if "endTime" in query else None
        rows = visible_rows(state, symbol, interval, start, end, limit)
        return 200, [to_kline(row, INTERVAL_MS[interval]) for row in rows]

    def _funding_rate(self, state: FakeBinanceState, query: dict) -> tuple[int, object]:
        """Binance's funding history: from `startTime` (inclusive) oldest first, at most `limit`
        (default 100, at most 1000) rows up to `endTime` (inclusive) and never past now; without
        `startTime`, the latest `limit` rows up to `endTime`."""
        symbol = query.get("symbol")
        if symbol not in FUTURES:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        limit = min(int(query.get("limit", 100)), 1000)
        offset, rows = state.offset_ms, funding_rows(state, symbol)
        times = [row[0] + offset for row in rows]
        end = min(int(query.get("endTime", 2**62)), state.clock())
        stop = bisect.bisect_right(times, end)
        first = bisect.bisect_left(times, int(query["startTime"])) if "startTime" in query else max(0, stop - limit)
        answer = []
        for ts, rate, mark in rows[first : min(stop, first + limit)]:
            entry = {"symbol": symbol, "fundingTime": ts + offset, "fundingRate": rate}
            answer.append({**entry, "markPrice": mark} if mark is not None else {**entry, "markPrice": ""})
        return 200, answer

    def _depth(self, state: FakeBinanceState, query: dict) -> tuple[int, object]:
        symbol = query.get("symbol")
        if symbol not in {m.id for m in state.markets}:
            return 400, {"code": -1121, "msg": "Invalid symbol."}
        limit = min(int(query.get("limit", 100)), 5000)
        bids, asks = book_levels(state, symbol)
        return 200, {"lastUpdateId": state.requests["/api/v3/depth"], "bids": bids[:limit], "asks": asks[:limit]}

    # -- faults ---------------------------------------------------------------------------

    def _take_fault(
        self, state: FakeBinanceState, path: str, symbol: str | None, since: int | None = None
    ) -> Fault | None:
        for fault in state.faults:
            late_enough = fault.from_ts is None or (since is not None and since >= fault.from_ts)
            if path.endswith(fault.path) and fault.symbol in (None, symbol) and late_enough:
                if fault.skip > 0:
                    fault.skip -= 1
                    return None
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        state.faults.remove(fault)
                return fault
        return None

    def _misbehave(self, fault: Fault) -> bool:
        """Answer with a transport-level fault; False when the fault corrupts the body instead."""
        kind = fault.kind
        if kind == "hang":
            time.sleep(float(fault.payload or 30))
            self._send(200, [])
        elif kind.startswith("http-"):
            status = int(kind.split("-")[1])
            if kind.endswith("-html"):
                page = b"<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"
                self._send_raw(status, fault.payload or page, "text/html")
            elif status in (418, 429):
                self._send(status, {"code": -1003, "msg": "Too many requests; current limit is 6000 weight."})
            else:
                self._send(status, {"code": -1000, "msg": "An unknown error occurred while processing the request."})
        elif kind == "not-json":
            self._send_raw(200, b"<html>maintenance</html>", "text/html")
        elif kind == "truncated":
            self._send_raw(200, b'[[1618963200000,"56425.0","56505.1","56420.64","56450.', "application/json")
        elif kind == "no-markets":  # well-formed JSON, but no market list in it
            self._send(200, {"timezone": "UTC", "serverTime": 0, "rateLimits": []})
        elif kind == "reset":
            self.close_connection = True
            self.connection.shutdown(2)
        else:
            return False
        return True

    # -- plumbing -------------------------------------------------------------------------

    def _send(self, status: int, body: object) -> None:
        self._send_raw(status, json.dumps(body).encode(), "application/json")

    def _send_raw(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def visible_rows(
    state: FakeBinanceState,
    symbol: str,
    interval: str,
    start: int | None = None,
    end: int | None = None,
    limit: int = 1000,
) -> list[tuple]:
    """Candles the exchange would answer with at its `now`: from `start` (or the latest `limit`),
    closed ones and then the forming one, which is made obviously partial (it closes at its
    open) so a test can tell if it ever reaches a strategy."""
    now, step, offset = state.clock(), INTERVAL_MS[interval], state.offset_ms
    series = state.series.get((symbol, interval), ())
    times = _times(state, symbol, interval)
    stop = bisect.bisect_right(times, now - offset)  # opened by now
    if end is not None:
        stop = min(stop, bisect.bisect_right(times, end - offset))
    first = bisect.bisect_left(times, start - offset) if start is not None else max(0, stop - limit)
    rows = []
    for ts, o, h, low, c, v in series[first : min(stop, first + limit)]:
        shifted = ts + offset
        rows.append((shifted, o, o, o, o, "0.001") if shifted + step > now else (shifted, o, h, low, c, v))
    return rows


def funding_rows(state: FakeBinanceState, symbol: str) -> list:
    """The synthetic funding series of `symbol` over its 1h candles (dataset time), made once."""
    from tests.support.synthetic_funding import synthetic_funding

    if symbol not in state.funding:
        state.funding[symbol] = synthetic_funding(state.series.get((symbol, "1h"), ()))
    return state.funding[symbol]


def _times(state: FakeBinanceState, symbol: str, interval: str) -> list[int]:
    key = (symbol, interval)
    series = state.series.get(key, ())
    cached = state.times.get(key)
    if cached is None or cached[0] is not series:
        cached = (series, [row[0] for row in series])
        state.times[key] = cached
    return cached[1]


def to_kline(row: tuple, step: int) -> list:
    ts, o, h, low, c, v = row
    return [ts, o, h, low, c, v, ts + step - 1, "0", 100, "0", "0", "0"]


def book_levels(state: FakeBinanceState, symbol: str) -> tuple[list[list[str]], list[list[str]]]:
    """The bids and asks `/api/v3/depth` serves for `symbol` now, as Binance writes them
    ([price, amount] as text, best first), built from the close of the latest closed candle."""
    spec = state.book
    now, step = state.clock(), INTERVAL_MS[spec.interval]
    closed = [row for row in visible_rows(state, symbol, spec.interval, limit=2) if row[0] + step <= now]
    if not closed:
        return [], []
    close, tick = Decimal(closed[-1][4]), Decimal("0.01")
    half, spacing, amount = close * Decimal(spec.spread) / 2, close * Decimal(spec.spacing), Decimal(spec.amount)
    bids, asks = [], []
    for i in range(spec.depth):
        bid = (close - half - i * spacing).quantize(tick, rounding=ROUND_DOWN)
        ask = (close + half + i * spacing).quantize(tick, rounding=ROUND_UP)
        size = str(amount * (i + 1))
        bids.append([str(bid), size])
        asks.append([str(ask), size])
    return [b for b in bids if Decimal(b[0]) > 0], asks


def _corrupt_book(fault: Fault, body: dict, state: FakeBinanceState) -> dict:
    """A depth answer gone bad: no levels, best bid above best ask, or an old timestamp ("T", as
    Binance's futures books carry; `payload` is its age in ms, a minute by default)."""
    if fault.kind == "empty":
        return {**body, "bids": [], "asks": []}
    if fault.kind == "crossed" and body["bids"] and body["asks"]:
        best_ask = Decimal(body["asks"][0][0])
        return {**body, "bids": [[str(best_ask + 1), "1"], *body["bids"]]}
    if fault.kind == "stale":
        return {**body, "T": state.clock() - int(fault.payload or 60_000)}
    return body


def _corrupt(fault: Fault, body, state: FakeBinanceState, query: dict):
    """Bad data with a 200: what exchanges send on a bad day."""
    kind = fault.kind
    if isinstance(body, dict) and "bids" in body:
        return _corrupt_book(fault, body, state)
    if not isinstance(body, list) or not body:
        return body
    if kind == "empty":
        return []
    if kind in ("null-price", "nan-price", "zero-price", "negative-price"):
        value = {"null-price": None, "nan-price": "NaN", "zero-price": "0", "negative-price": "-5"}[kind]
        body[-2][4] = value
    elif kind == "out-of-order":
        body[-2], body[-3] = body[-3], body[-2]
    elif kind == "duplicate":
        body.insert(-1, list(body[-2]))
    elif kind == "only-forming":
        return body[-1:]
    elif kind == "stale":
        return body[: -int(fault.payload or 4)]
    elif kind == "high-below-close":
        body[-2][2] = str(float(body[-2][4]) - 1)
    elif kind == "off-grid":
        body[-2][0] += 1
    return body


def dataset_ms_of(text: str) -> int:
    """A dataset time given as ISO text (UTC), in milliseconds."""
    from datetime import UTC, datetime

    return int(datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp() * 1000)


def main() -> None:
    """Serve by hand: python -m tests.support.fake_binance --port 8999 [--at 2021-05-12T18:00] [--fault K]"""
    import argparse

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8999)
    parser.add_argument("--at", default=TRYOUT_AT, help="dataset day (UTC) that today falls on")
    parser.add_argument("--fault", help="misbehave on every klines request, e.g. http-503-html")
    args = parser.parse_args()
    server = FakeBinance()
    server._server.server_close()
    server._server = _Server(("127.0.0.1", args.port), _Handler)
    server._server.state = server.state
    server.align_now_to(dataset_ms_of(args.at))
    if args.fault:
        server.inject(args.fault)
        server.inject(args.fault, path="/exchangeInfo")
    print(f"PAPERTRADE_CCXT_CONFIG='{json.dumps(server.ccxt_config())}'", flush=True)
    server._server.serve_forever()


if __name__ == "__main__":
    main()
