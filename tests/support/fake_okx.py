"""A local HTTP server that imitates OKX's public REST API (v5) for real ccxt.

OKX's candle API differs from Binance's in nearly every way a downloader can trip over, and this
server keeps each difference, as ccxt 4.5's `okx.fetch_ohlcv` and `okx.fetch_markets` use them:

- `GET /api/v5/market/candles` serves only the most recent 1,440 candles; older ones come from
  `GET /api/v5/market/history-candles` (ccxt picks the endpoint from `since`);
- both answer **newest first**, at most `limit` rows (default 100, at most 300), and page
  *backwards*: `after` = only candles older than this time, `before` = only newer (both exclusive);
  within those bounds the newest `limit` candles are returned, not the oldest;
- rows are all strings, `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]`, and the still-forming
  candle is included with `confirm` "0";
- bars are named `1m 5m 1H 1D` (ccxt asks for `1Dutc`, daily candles aligned on UTC);
- errors are HTTP 200 with a non-zero `code` (51001: unknown instrument, 51000: bad parameter);
- `GET /api/v5/public/instruments?instType=SPOT` lists markets (`lotSz`, `minSz`, `state`).

It serves the same real candles as `FakeBinance` (tests/data/ohlcv), on the same injectable clock
and data offset, with the same faults (`inject`).
"""

import json
import time

from tests.support.fake_binance import (
    INTERVAL_MS,
    FakeBinance,
    FakeBinanceState,
    MarketSpec,
    _Handler,
    _Server,
    visible_rows,
)

#: OKX bar names (ccxt adds "utc" from 6h up) -> the interval names the shared data uses.
BARS = {"1m": "1m", "5m": "5m", "1H": "1h", "1D": "1d", "1Dutc": "1d"}
#: How many of the latest candles `market/candles` serves; older ones need `history-candles`.
RECENT = 1440
MAX_LIMIT = 300


def instrument(market: MarketSpec) -> dict:
    return {
        "instType": "SPOT",
        "instId": f"{market.base}-{market.quote}",
        "baseCcy": market.base,
        "quoteCcy": market.quote,
        "settleCcy": "",
        "tickSz": "0.1",
        "lotSz": market.step,
        "minSz": market.min_qty,
        "maxMktSz": "1000000",
        "state": "live" if market.status == "TRADING" else "suspend",
        "listTime": "1548133413000",
        "ctVal": "",
        "ctMult": "",
        "ctType": "",
        "lever": "10",
        "alias": "",
        "category": "1",
        "uly": "",
        "instFamily": "",
    }


class FakeOkx(FakeBinance):
    """The server; a context manager that runs it on a free port in a background thread.

    Faults are injected as on `FakeBinance`, with paths such as "/history-candles"."""

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ccxt_config(self, timeout_ms: int = 5000) -> dict:
        """The PAPERTRADE_CCXT_CONFIG that points ccxt's OKX at this server (rate limiter off)."""
        return {"urls": {"api": {"rest": self.base_url}}, "timeout": timeout_ms, "enableRateLimit": False}


class _OkxHandler(_Handler):
    """OKX's routes; faults and plumbing are the Binance fake's."""

    server_version = "FakeOkx/1.0"

    def do_GET(self) -> None:
        from urllib.parse import parse_qs, urlparse

        state: FakeBinanceState = self.server.state
        url = urlparse(self.path)
        query = {k: v[-1] for k, v in parse_qs(url.query).items()}
        symbol_id = query.get("instId", "").replace("-", "")
        with state.lock:
            state.requests[url.path] += 1
            state.log.append(self.path)
            state.arrivals.append((time.monotonic(), self.path))
            since = int(query["before"]) + 1 - state.offset_ms if "before" in query else None
            fault = self._take_fault(state, url.path, symbol_id or None, since)
        if fault is not None and self._misbehave(fault):
            return
        routes = {
            "/api/v5/public/instruments": self._instruments,
            "/api/v5/market/candles": lambda s, q: self._candles(s, q, history=False),
            "/api/v5/market/history-candles": lambda s, q: self._candles(s, q, history=True),
            "/api/v5/public/time": lambda s, q: _ok([{"ts": str(s.clock())}]),
        }
        route = routes.get(url.path)
        if route is None:
            self._send(404, {"code": "50000", "msg": "not found", "data": []})
            return
        status, body = route(state, query)
        if fault is not None and isinstance(body, dict) and body.get("data"):
            body["data"] = _corrupt_newest_first(fault, body["data"])
        self._send(status, body)

    def _instruments(self, state: FakeBinanceState, query: dict) -> tuple[int, dict]:
        if query.get("instType") != "SPOT":
            return _ok([])
        return _ok([instrument(m) for m in state.markets])

    def _candles(self, state: FakeBinanceState, query: dict, history: bool) -> tuple[int, dict]:
        inst, bar = query.get("instId", ""), query.get("bar", "1m")
        symbol_id = inst.replace("-", "")
        if symbol_id not in {m.id for m in state.markets}:
            return 200, {"code": "51001", "msg": f"Instrument ID {inst} doesn't exist.", "data": []}
        if bar not in BARS or not query.get("limit", "100").isdigit():
            return 200, {"code": "51000", "msg": "Parameter bar error", "data": []}
        interval = BARS[bar]
        limit = min(int(query.get("limit", 100)), MAX_LIMIT)
        after, before = int(query.get("after", 2**62)), int(query.get("before", -1))
        rows = visible_rows(state, symbol_id, interval, before + 1, after - 1, 10**9)
        if not history:
            step = INTERVAL_MS[interval]
            oldest = state.clock() - state.clock() % step - (RECENT - 1) * step
            rows = [row for row in rows if row[0] >= oldest]
        newest_first = rows[::-1][:limit]
        now = state.clock()
        return _ok([_candle(row, INTERVAL_MS[interval], now) for row in newest_first])


FakeOkx.handler = _OkxHandler


def _ok(data: list) -> tuple[int, dict]:
    return 200, {"code": "0", "msg": "", "data": data}


def _candle(row: tuple, step: int, now: int) -> list[str]:
    ts, o, h, low, c, v = row
    confirm = "1" if ts + step <= now else "0"
    return [str(ts), o, h, low, c, v, "0", "0", confirm]


def _corrupt_newest_first(fault, data: list) -> list:
    """The Binance fake's corruptions, applied to a newest-first page."""
    from tests.support.fake_binance import _corrupt

    oldest_first = [list(row) for row in reversed(data)]
    return list(reversed(_corrupt(fault, oldest_first, None, {})))


def main() -> None:
    """Serve by hand: python -m tests.support.fake_okx --port 8998 [--at 2021-05-12T18:00]"""
    import argparse

    from tests.support.fake_binance import TRYOUT_AT, dataset_ms_of

    parser = argparse.ArgumentParser(description=main.__doc__)
    parser.add_argument("--port", type=int, default=8998)
    parser.add_argument("--at", default=TRYOUT_AT, help="dataset day (UTC) that today falls on")
    args = parser.parse_args()
    server = FakeOkx()
    server.align_now_to(dataset_ms_of(args.at))
    server._server.server_close()
    server._server = _Server(("127.0.0.1", args.port), _OkxHandler)
    server._server.state = server.state
    print(f"PAPERTRADE_CCXT_CONFIG='{json.dumps(server.ccxt_config())}'", flush=True)
    server._server.serve_forever()


if __name__ == "__main__":
    main()
