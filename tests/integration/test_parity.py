"""Paper/backtest parity: replaying a file through the real LIVE tick path (candle store, ledger,
tick key, journal, one SQLite transaction per candle) and backtesting the same file in memory
give identical trades (candle, side, kind, quantity, price, fee) and identical final cash, for
both built-in strategies on every data file, unprotected and with a stop-loss, a take-profit and
a trailing stop resting between ticks.

The replays are long (about 330,000 ticks in all); each (file, strategy) pair is a test class of
its own, so that `make test` can run them on different cores.
"""

import re
import tempfile
from decimal import Decimal

import pytest

from papertrade.adapters.csv_candles import CandleFile, load_columns, symbol_from_filename
from papertrade.bootstrap import open_ledger
from papertrade.domain.portfolio import parse_exits, parse_fill_model
from papertrade.services.backtest import backtest
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.replay import replay
from papertrade.services.reports import from_ledger
from papertrade.settings import Settings
from papertrade.strategies import registry
from tests.support.paths import DATA

pytestmark = pytest.mark.slow  # about 330,000 ticks replayed

FILES = sorted(path.name for path in DATA.glob("*.csv"))
STRATEGIES = ["rsi", "sma-cross"]
CASH, FEE_RATE, SLIPPAGE = "10000", "0.001", "5"
#: Protective exits (stop-loss, take-profit, trailing stop): none, and all three at once.
EXITS = {"unprotected": (None, None, None), "protected": ("0.03", "0.06", "0.025")}


def trades_of(performance) -> list[tuple]:
    return [(f.candle_ts, f.symbol, f.side, f.kind, f.quantity, f.price, f.fee) for f in performance.fills]


def replayed(job: tuple[str, str, str]) -> tuple[list[tuple], Decimal, Decimal, int]:
    """Replay one file into a fresh SQLite ledger."""
    filename, strategy, exits = job
    candles = CandleFile.load(DATA / filename)
    symbol = symbol_from_filename(DATA / filename)
    with tempfile.TemporaryDirectory() as directory:
        ledger = open_ledger(Settings(database_url=f"{directory}/ledger.db"), create=True, durable=False)
        request = parse_new_portfolio(
            name="parity",
            cash=CASH,
            strategy=strategy,
            timeframe=candles.timeframe.name,
            quote=symbol.split("/")[1],
            fee_rate=FEE_RATE,
            slippage_bps=SLIPPAGE,
            exits=EXITS[exits],
        )
        portfolio = create_portfolio(ledger, request, now=0)
        summary = replay(ledger, candles, portfolio.id, symbol)
        performance = from_ledger(ledger, portfolio.id)
        ledger.dispose()
    return trades_of(performance), performance.cash, performance.equity[-1], summary.ticks


def test_every_shared_file_is_covered():
    assert set(FILES) == {
        "binance_BTC-USDT_1d.csv", "binance_BTC-USDT_1h.csv", "binance_BTC-USDT_1m.csv",
        "binance_BTC-USDT_5m.csv", "binance_ETH-USDT_1h.csv", "quandl-wiki_IBM_1d.csv",
    }  # fmt: skip


def assert_identical_trades(filename, strategy, exits, replayed_here):
    candles = load_columns(DATA / filename)
    symbol = symbol_from_filename(DATA / filename)
    fills = parse_fill_model(FEE_RATE, SLIPPAGE, "1")
    performance = backtest(
        candles, registry.build(strategy, {}), fills, Decimal(CASH), symbol, exits=parse_exits(*EXITS[exits])
    )
    trades, final_cash, final_equity, ticks = replayed_here
    if exits == "protected":
        made_by = {trade[3] for trade in trades}
        assert made_by & {"stop-loss", "trailing-stop"} and "signal" in made_by, made_by
    assert ticks == len(candles), "every candle of the file is one tick"
    assert len(trades) >= 4, "a parity check over no trades would prove nothing"
    assert trades == trades_of(performance)
    assert final_cash == performance.cash
    assert final_equity == performance.equity[-1]
    assert performance.equity[-1] != Decimal(CASH)


def parity_of(filename: str, strategy: str, exits: str) -> type:
    """The parity test of one file, strategy and protection, a class of its own: `make test`
    hands each class to whichever worker is free (`--dist loadscope`), so the long replays
    spread over every core instead of queueing in one file."""

    class Parity:
        def test_replay_and_backtest_make_identical_trades(self):
            assert_identical_trades(filename, strategy, exits, replayed((filename, strategy, exits)))

    words = re.split(r"[^A-Za-z0-9]+", f"{filename.removesuffix('.csv')} {strategy} {exits}")
    Parity.__name__ = Parity.__qualname__ = "Test" + "".join(word.capitalize() for word in words)
    return Parity


# The longest replays first, so that the workers start on them.
for _filename in sorted(FILES, key=lambda name: -(DATA / name).stat().st_size):
    for _strategy in STRATEGIES:
        for _exits in EXITS:
            _case = parity_of(_filename, _strategy, _exits)
            globals()[_case.__name__] = _case
