"""A ledger worth looking at, on SQLite and PostgreSQL: two bots replayed through the tick path."""

import atexit

import pytest

from papertrade.adapters.csv_candles import CandleFile
from papertrade.bootstrap import open_ledger
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.replay import replay
from papertrade.settings import Settings
from tests.support.databases import PostgresSchema, migrate, postgres_unavailable, sqlite_url
from tests.support.paths import DATA

HOURS = CandleFile.load(DATA / "binance_BTC-USDT_1h.csv")
HOUR = 3_600_000
#: A name that would run as script if any page failed to escape it.
HOSTILE = "<script>alert(1)</script>"
LAST = 700  # candles the RSI bot has processed
BEHIND = 450  # candles the hostile-named bot processed before its cron stopped
#: The dashboard's clock: one minute after the RSI bot's last candle closed.
NOW = HOURS.bars[LAST - 1].ts + HOUR + 60_000


def build_ledger(url: str) -> None:
    """Portfolio 1 "RSI bot" (RSI, 900 candles, up to date at NOW), portfolio 2 named HOSTILE
    (SMA cross with a trailing stop, 600 candles, so stale at NOW, holding with its stop
    resting), portfolio 3 "fresh" with no candle yet."""
    ledger = open_ledger(Settings(database_url=url), create=True, durable=False)
    try:
        for name, strategy, count in (("RSI bot", "rsi", LAST), (HOSTILE, "sma-cross", BEHIND), ("fresh", "rsi", 0)):
            exits = (None, None, "0.1") if strategy == "sma-cross" else (None, None, None)
            request = parse_new_portfolio(name=name, cash="10000", strategy=strategy, exits=exits)
            stored = create_portfolio(ledger, request, now=0)
            if count:
                replay(ledger, HOURS, stored.id, "BTC/USDT", end=HOURS.bars[count - 1].ts)
    finally:
        ledger.dispose()


def build_failing_ledger(url: str, last_error: str) -> int:
    """One bot that processed 300 candles, then was told to notify about errors and failed twice
    with `last_error` (as `trade` records failures once `notify --add` was run; nothing is sent),
    70 and 10 minutes before the returned time."""
    from papertrade.errors import TemporaryError
    from papertrade.services.notifications import Notifier, add_targets, parse_targets

    ledger = open_ledger(Settings(database_url=url), create=True, durable=False)
    try:
        stored = create_portfolio(ledger, parse_new_portfolio(name="failing", cash="1000"), now=0)
        replay(ledger, HOURS, stored.id, "BTC/USDT", end=HOURS.bars[299].ts)
        add_targets(ledger, stored.id, parse_targets(["json://127.0.0.1:9/down"], "error", lambda url: url), now=0)
        now = HOURS.bars[299].ts + 6 * HOUR
        notifier = Notifier(ledger, sender=None, quiet=False)
        for minutes_ago in (70, 10):
            notifier.tick_failed(stored.id, "BTC/USDT", TemporaryError(last_error), now - minutes_ago * 60_000)
        return now
    finally:
        ledger.dispose()


#: The built ledgers' URLs by database, kept for the whole run: the tests that use them only read,
#: and pytest sets a parametrized module fixture up again each time the order of the parameters
#: of the module's tests switches databases (three times over in test_api.py).
_BUILT: dict[str, str] = {}


@pytest.fixture(scope="module", params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def served_url(request, tmp_path_factory):
    """The ledger's URL, on SQLite and then on PostgreSQL (built once per run and database)."""
    if request.param == "postgresql":
        reason = postgres_unavailable()
        if reason:
            pytest.skip(reason)
    if request.param not in _BUILT:
        if request.param == "sqlite":
            url = sqlite_url(tmp_path_factory.mktemp("web") / "ledger.db")
        else:
            schema = PostgresSchema().__enter__()
            atexit.register(schema.__exit__, None, None, None)
            url = schema.url
            migrate(url)
        build_ledger(url)
        _BUILT[request.param] = url
    return _BUILT[request.param]


@pytest.fixture(scope="module")
def sqlite_served(tmp_path_factory):
    url = sqlite_url(tmp_path_factory.mktemp("web") / "ledger.db")
    build_ledger(url)
    return url
