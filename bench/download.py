"""Download throughput against the local exchange imitations, compared with what the exchange's
rate limit allows: `make bench` includes it; `python bench/download.py` runs it alone.

The rate limit allows one request every `rateLimit * cost` milliseconds (ccxt's own numbers for
the endpoint), each bringing at most `page_size` candles: that product is the ceiling. The
download runs in this process through real ccxt with its rate limiter on (two requests may be
on their way at once, but their starts keep that spacing), into a SQLite ledger that commits
every page durably, exactly as `papertrade data download` does; the imitation answers from a
process of its own, as an exchange would.
"""

import multiprocessing
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from papertrade.bootstrap import market_data_factory, open_ledger  # noqa: E402
from papertrade.domain.timeframes import Timeframe  # noqa: E402
from papertrade.services import market_data  # noqa: E402
from papertrade.settings import Settings  # noqa: E402
from tests.support.fake_binance import FakeBinance  # noqa: E402
from tests.support.fake_okx import FakeOkx  # noqa: E402
from tests.support.live import dataset_ms  # noqa: E402

#: (exchange, server, endpoint ccxt calls for old candles, series to download)
CASES = (
    ("okx", FakeOkx, ("public", "get", "market/history-candles")),
    ("binance", FakeBinance, ("public", "get", "klines")),
)
#: The one-minute file after the 2021-04-25 outage, gap-free: 36,675 candles, 37 Binance pages (a
#: download much shorter than a real one, say a year of minutes in 526 pages, measures its start).
FIRST, LAST = dataset_ms("2021-04-25T08:45"), dataset_ms("2021-05-20T19:59")
TIMEFRAME = "1m"
GOAL = 0.90


def request_interval(source, endpoint: tuple[str, str, str]) -> float:
    """Seconds ccxt's rate limiter leaves between two candle requests of one page each."""
    exchange = source._exchange
    api, method, path = endpoint
    config = exchange.api[api][method][path]
    cost = exchange.calculate_rate_limiter_cost(api, method, path, {"limit": source.page_size}, config)
    return exchange.rateLimit * cost / 1000


class elsewhere:
    """An exchange imitation in a process of its own, as a real exchange is: the imitation's
    work (building and sending 1,000-candle pages) is not papertrade's, and must not share
    papertrade's interpreter lock. Yields the ccxt config that points at it.

    The process is a fresh interpreter ("spawn"), not a fork of this one: a forked child shares
    this process's memory page by page until either writes to it, so each would pay for copying
    the other's pages while the download runs.
    """

    def __init__(self, server_class) -> None:
        context = multiprocessing.get_context("spawn")
        self._pipe, child = context.Pipe()
        self._process = context.Process(target=_serve, args=(server_class, child))

    def __enter__(self) -> dict:
        self._process.start()
        return self._pipe.recv()

    def __exit__(self, *exc_info) -> None:
        self._pipe.send("stop")
        self._process.join(10)


def _serve(server_class, pipe) -> None:
    import gc

    with server_class() as server:
        gc.freeze()  # its candle files, read once: no full collection walks them between requests
        pipe.send(server.ccxt_config())
        pipe.recv()


def measure(name: str, server_class, endpoint, work: Path) -> tuple[float, float, int, float]:
    """Candles per second downloaded, candles per second allowed, requests, seconds."""
    with elsewhere(server_class) as ccxt_config:
        settings = Settings(database_url=f"sqlite:///{work / name}.db", ccxt_config=ccxt_config)
        source = market_data_factory(settings)(name)
        source._exchange.enableRateLimit = True  # the fake's config turns it off for the tests
        ledger = open_ledger(settings, create=True)
        timeframe, now = Timeframe.parse(TIMEFRAME), time.time_ns() // 1_000_000
        series, first, end = market_data.check_download(source, "BTC/USDT", timeframe, FIRST, LAST, now)
        plan = market_data.plan_download(ledger, series, timeframe, first, end)
        tally = market_data.download(ledger, source, plan, now, lambda tally: None)
        ledger.dispose()
        allowed = source.page_size / request_interval(source, endpoint)
        return tally.fetched / tally.seconds, allowed, tally.requests, tally.seconds


def rows(work: Path) -> list[tuple[str, str, str, bool]]:
    """(target, measured, goal, met) for each exchange imitation."""
    result = []
    for name, server_class, endpoint in CASES:
        speed, allowed, requests, seconds = measure(name, server_class, endpoint, work)
        share = speed / allowed
        result.append(
            (
                f"data download, {name} imitation: candles/s vs rate limit",
                f"{speed:,.0f}/s of {allowed:,.0f}/s = {share:.0%} ({requests} requests, {seconds:.1f} s)",
                f">= {GOAL:.0%}",
                share >= GOAL,
            )
        )
    return result


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="papertrade-bench-") as directory:
        for row in rows(Path(directory)):
            print(" | ".join(str(cell) for cell in row))
