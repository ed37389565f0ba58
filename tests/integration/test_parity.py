"""Paper/backtest parity: replaying a file through the real LIVE tick path (candle store, ledger,
tick key, journal, one SQLite transaction per candle) and backtesting the same file in memory
give identical trades (candle, side, kind, quantity, price, fee) and identical final cash, for
both built-in strategies on every data file, unprotected and with a stop-loss, a take-profit and
a trailing stop resting between ticks; and, on every file, one built-in stopping and reversing in
a portfolio that allows shorts, protected (the mirrored exits of its shorts rest between ticks).

The replays are long (about 330,000 ticks in all); each (file, strategy) pair is a test class of
its own, so that `make test` can run them on different cores.
"""

import functools
import re
import tempfile
from decimal import Decimal
from pathlib import Path

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
from tests.support.databases import migrate
from tests.support.paths import DATA

pytestmark = pytest.mark.slow  # about 330,000 ticks replayed

FILES = sorted(path.name for path in DATA.glob("*.csv"))
STRATEGIES = ["rsi", "sma-cross"]
CASH, FEE_RATE, SLIPPAGE = "10000", "0.001", "5"
#: Protective exits (stop-loss, take-profit, trailing stop): none, and all three at once.
EXITS = {"unprotected": (None, None, None), "protected": ("0.03", "0.06", "0.025")}
#: The built-in that goes short (stop and reverse, protected) on each file: one per file keeps
#: the suite's cost down; between them both built-ins are covered. They replay at most the
#: first SHORTS_CANDLES candles of a file (the minute files are 24,000 and 43,000 long).
SHORTS = {name: STRATEGIES[i % 2] for i, name in enumerate(FILES)}
SHORTS_CANDLES = 6_000


@functools.cache
def source(filename: str, shorts: bool) -> Path:
    """The file a parity case replays: the shared file, or for shorts its first SHORTS_CANDLES
    candles under the same name (the name says the symbol and the timeframe)."""
    if not shorts:
        return DATA / filename
    lines = (DATA / filename).read_text().splitlines(keepends=True)[: SHORTS_CANDLES + 1]
    copy = Path(tempfile.mkdtemp(prefix="parity-shorts-")) / filename
    copy.write_text("".join(lines))
    return copy


def trades_of(performance) -> list[tuple]:
    return [(f.candle_ts, f.symbol, f.side, f.kind, f.quantity, f.price, f.fee) for f in performance.fills]


def replayed(job: tuple[str, str, str], shorts: bool = False) -> tuple[list[tuple], Decimal, Decimal, int]:
    """Replay one file into a fresh SQLite ledger."""
    filename, strategy, exits = job
    candles = CandleFile.load(source(filename, shorts))
    symbol = symbol_from_filename(DATA / filename)
    with tempfile.TemporaryDirectory() as directory:
        migrate(f"{directory}/ledger.db")  # a copy of a ledger migrated once: Alembic is not on trial here
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
            allow_short=shorts,
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


def assert_identical_trades(filename, strategy, exits, replayed_here, shorts=False):
    candles = load_columns(source(filename, shorts))
    symbol = symbol_from_filename(DATA / filename)
    fills = parse_fill_model(FEE_RATE, SLIPPAGE, "1")
    performance = backtest(candles, registry.build(strategy, {}), fills, Decimal(CASH), symbol,
                           exits=parse_exits(*EXITS[exits]), allow_short=shorts)  # fmt: skip
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


def assert_shorts_and_reversals(trades: list[tuple]) -> None:
    """Some fills open shorts, and some candles carry a reversal: a close and an entry."""
    sides_by_candle: dict[int, list[str]] = {}
    for candle_ts, _, side, *_ in trades:
        sides_by_candle.setdefault(candle_ts, []).append(side)
    assert any(len(sides) == 2 for sides in sides_by_candle.values()), "no stop and reverse"
    assert trades[0][2] == "SELL" or any(s == ["SELL", "SELL"] for s in sides_by_candle.values()), "no short"


def parity_of(filename: str, strategy: str, exits: str, shorts: bool = False) -> type:
    """The parity test of one file, strategy and protection, a class of its own: `make test`
    hands each class to whichever worker is free (`--dist loadscope`), so the long replays
    spread over every core instead of queueing in one file."""

    class Parity:
        def test_replay_and_backtest_make_identical_trades(self):
            here = replayed((filename, strategy, exits), shorts)
            assert_identical_trades(filename, strategy, exits, here, shorts)
            if shorts:
                assert_shorts_and_reversals(here[0])

    label = f"{exits} shorts" if shorts else exits
    words = re.split(r"[^A-Za-z0-9]+", f"{filename.removesuffix('.csv')} {strategy} {label}")
    Parity.__name__ = Parity.__qualname__ = "Test" + "".join(word.capitalize() for word in words)
    return Parity


# The longest replays first, so that the workers start on them.
for _filename in sorted(FILES, key=lambda name: -(DATA / name).stat().st_size):
    for _strategy in STRATEGIES:
        for _exits in EXITS:
            _case = parity_of(_filename, _strategy, _exits)
            globals()[_case.__name__] = _case
    _case = parity_of(_filename, SHORTS[_filename], "protected", shorts=True)
    globals()[_case.__name__] = _case
