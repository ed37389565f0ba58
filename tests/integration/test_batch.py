"""The batch runner: many bots, each series fetched once, each bot in its own transaction."""

import re
from itertools import pairwise

import pytest

from papertrade.bootstrap import market_data_factory
from papertrade.errors import InputError, NotFound, TemporaryError
from papertrade.services.batch import Bot, in_shard, load_bots, parse_shard, run_bots
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.tick import Mode, Status
from papertrade.settings import Settings
from tests.support.fake_binance import DEFAULT_MARKETS, FakeBinance, MarketSpec, load_rows
from tests.support.live import HOUR

BTC = load_rows("binance_BTC-USDT_1h.csv")


def write(tmp_path, text):
    path = tmp_path / "bots.toml"
    path.write_text(text)
    return path


# -- the file -------------------------------------------------------------------------------


def test_a_bots_file_lists_portfolios_and_symbols(tmp_path):
    path = write(
        tmp_path,
        """
mode = "DRY"
[[bot]]
portfolio = 1
symbol = "BTC/USDT"
[[bot]]
portfolio = 2
symbols = ["BTC/USDT", "ETH/USDT"]
mode = "live"
""",
    )
    assert load_bots(path) == [
        Bot(1, "BTC/USDT", Mode.DRY),
        Bot(2, "BTC/USDT", Mode.LIVE),
        Bot(2, "ETH/USDT", Mode.LIVE),
    ]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[[bot]\nportfolio=1", "not valid TOML"),
        ("mode = 'LIVE'", "no [[bot]] tables"),
        ("bots = 1\n[[bot]]\nportfolio = 1\nsymbol = 'BTC/USDT'", "unknown setting 'bots'"),
        ("[[bot]]\nportfolio = 1\nsymbol = 'BTC/USDT'\nstrategy = 'rsi'", "unknown key 'strategy'"),
        ("[[bot]]\nportfolio = 'one'\nsymbol = 'BTC/USDT'", "positive integer"),
        ("[[bot]]\nportfolio = 0\nsymbol = 'BTC/USDT'", "positive integer"),
        ("[[bot]]\nportfolio = 1", "either symbol or symbols"),
        ("[[bot]]\nportfolio = 1\nsymbol = 'BTC/USDT'\nsymbols = ['ETH/USDT']", "either symbol or symbols"),
        ("[[bot]]\nportfolio = 1\nsymbols = []", "list of BASE/QUOTE"),
        ("[[bot]]\nportfolio = 1\nsymbol = 'btc/usdt'", "malformed symbol"),
        ("[[bot]]\nportfolio = 1\nsymbol = 'BTC/USDT'\nmode = 'PAPER'", "mode must be DRY or LIVE"),
        ("[[bot]]\nportfolio = 1\nsymbol = 'BTC/USDT'\n[[bot]]\nportfolio = 1\nsymbol = 'BTC/USDT'", "twice"),
    ],
)
def test_a_bad_bots_file_is_refused_with_the_reason(tmp_path, text, message):
    with pytest.raises(InputError, match=re.escape(message)):
        load_bots(write(tmp_path, text))


def test_shards_split_the_bots_deterministically_and_completely():
    bots = [Bot(p, s) for p in range(1, 200) for s in ("BTC/USDT", "ETH/USDT")]
    shards = [[bot for bot in bots if in_shard(bot, k, 3)] for k in (1, 2, 3)]
    assert sorted(b for shard in shards for b in shard) == sorted(bots)
    assert all(len(shard) > 100 for shard in shards)
    assert [b for b in reversed(bots) if in_shard(b, 2, 3)] == list(reversed(shards[1]))


@pytest.mark.parametrize("text", ["3", "0/2", "3/2", "a/b", "1/0"])
def test_bad_shards_are_refused(text):
    with pytest.raises(InputError):
        parse_shard(text)


# -- running --------------------------------------------------------------------------------

SOL = MarketSpec("SOL", step="0.01", min_qty="0.01")


@pytest.fixture
def exchange(clock):
    with FakeBinance(clock=clock, markets=(*DEFAULT_MARKETS, SOL)) as server:
        scaled = [(ts, *(str(round(float(v) / 1000, 6)) for v in values)) for ts, *values in BTC]
        server.add_series("SOLUSDT", "1h", scaled)
        yield server


@pytest.fixture
def bots(ledger):
    """Six portfolios over three symbols."""
    made = []
    for number, symbol in enumerate(["BTC/USDT", "ETH/USDT", "SOL/USDT"] * 2, start=1):
        strategy = "tests.support.strategies:Alternate" if number % 2 else "rsi"
        create_portfolio(ledger, parse_new_portfolio(name=f"bot {number}", cash="1000", strategy=strategy), now=0)
        made.append(Bot(number, symbol))
    return made


def run(ledger, exchange, bots, now, **settings):
    config = Settings(ccxt_config=exchange.ccxt_config(timeout_ms=2000) | settings, exchange_backoff=0)
    shared = market_data_factory(config)

    def fetcher_for(exchange_id):
        from papertrade.adapters.exchange import CcxtMarketData

        return CcxtMarketData(exchange_id, config.ccxt_config, retries=0, backoff=0)

    outcomes = run_bots(
        ledger, shared, fetcher_for, bots, now, markets_ttl_ms=86_400_000, min_interval=lambda e: shared(e).rate_limit
    )
    return {outcome.bot: outcome for outcome in outcomes}


def test_each_series_is_fetched_once_and_each_bot_ticks(ledger, exchange, bots, clock):
    outcomes = run(ledger, exchange, bots, clock())
    assert all(o.error is None for o in outcomes.values()), [str(o.error) for o in outcomes.values()]
    assert {o.result.status for o in outcomes.values()} <= {Status.EXECUTED, Status.NEUTRAL}
    assert exchange.count("/klines") == 3 and exchange.count("/exchangeInfo") == 1
    assert {o.result.candle_ts for o in outcomes.values()} == {BTC[1000][0]}
    exchange.reset_counts()
    again = run(ledger, exchange, bots, clock())
    assert {o.result.status for o in again.values()} == {Status.DUPLICATE}
    assert exchange.state.log == [], "the second run needs nothing from the exchange"
    clock.advance(HOUR)
    later = run(ledger, exchange, bots, clock())
    assert exchange.count("/klines") == 3 and exchange.count("/exchangeInfo") == 0
    assert all(o.result.candle_ts == BTC[1001][0] and o.result.fetched in (0, 1) for o in later.values())


def test_one_failing_series_fails_only_its_bots(ledger, exchange, bots, clock):
    exchange.inject("http-503-html", symbol="ETHUSDT")
    outcomes = run(ledger, exchange, bots, clock())
    failed = {bot.symbol for bot, o in outcomes.items() if o.error is not None}
    assert failed == {"ETH/USDT"}
    assert all(isinstance(outcomes[b].error, TemporaryError) for b in bots if b.symbol == "ETH/USDT")
    assert exchange.count("/klines") == 3


def test_an_unknown_portfolio_or_symbol_fails_alone(ledger, exchange, bots, clock):
    outcomes = run(ledger, exchange, [*bots, Bot(99, "BTC/USDT"), Bot(1, "DOGE/USDT")], clock())
    assert isinstance(outcomes[Bot(99, "BTC/USDT")].error, NotFound)
    assert isinstance(outcomes[Bot(1, "DOGE/USDT")].error, NotFound)
    assert all(outcomes[b].error is None for b in bots)


@pytest.mark.serial  # measures the spacing of requests
def test_fetches_share_the_exchange_rate_limit(ledger, exchange, bots, clock):
    run(ledger, exchange, bots, clock(), enableRateLimit=True, rateLimit=300)
    klines = sorted(t for t, path in exchange.state.arrivals if "/klines" in path)
    assert len(klines) == 3
    # Requests leave 300 ms apart; they arrive within a loaded machine's jitter of that (unlimited,
    # concurrent fetches arrive a few ms apart).
    assert min(b - a for a, b in pairwise(klines)) >= 0.2


def test_dry_bots_write_nothing(ledger, exchange, bots, clock):
    from tests.integration.test_tick import ledger_digest

    before = ledger_digest(ledger)
    outcomes = run(ledger, exchange, [Bot(b.portfolio_id, b.symbol, Mode.DRY) for b in bots], clock())
    assert {o.result.status for o in outcomes.values()} == {Status.DRY_RUN}
    assert ledger_digest(ledger) == before
