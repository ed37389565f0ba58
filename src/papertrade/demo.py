"""The offline demo: a bundled sample of real candles, replayed through the tick path and charted.

An application of its own, like `bootstrap`: it composes a ledger, services and charts.
"""

from collections.abc import Callable
from contextlib import AbstractContextManager
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

from papertrade.adapters.csv_candles import CandleFile
from papertrade.bootstrap import open_ledger
from papertrade.errors import InputError
from papertrade.reports.model import Performance
from papertrade.services.portfolios import create_portfolio, parse_new_portfolio
from papertrade.services.replay import replay
from papertrade.services.reports import from_ledger
from papertrade.settings import Settings
from papertrade.views.chart_data import for_ledger
from papertrade.views.plots import write_plot

SAMPLE = "binance_BTC-USDT_1h_2021-01_2021-04.csv"
SYMBOL = "BTC/USDT"
TITLE = f"papertrade demo: RSI(14) on {SYMBOL} 1h, January to April 2021 (real Binance candles)"


@dataclass(frozen=True)
class DemoOutcome:
    performance: Performance
    title: str
    ledger_path: Path
    png: Path
    html: Path


def sample_path() -> Path:
    return Path(str(files("papertrade") / "data" / SAMPLE))


def run_demo(directory: Path, progress: Callable[[int], AbstractContextManager]) -> DemoOutcome:
    """Create a demo RSI portfolio in a fresh SQLite file under `directory`, replay the sample
    candle by candle through the LIVE tick path, and write the equity curve as PNG and HTML.

    Touches no network: the candles come from the file bundled with papertrade.
    """
    directory = _demo_directory(directory)
    database = directory / "demo-ledger.db"
    for leftover in (database, Path(f"{database}-wal"), Path(f"{database}-shm")):
        leftover.unlink(missing_ok=True)  # a throw-away ledger: start from nothing every time
    ledger = open_ledger(Settings(database_url=str(database)), create=True, durable=False)
    try:
        request = parse_new_portfolio(name="Demo RSI bot", cash="10000", strategy="rsi", timeframe="1h")
        portfolio = create_portfolio(ledger, request, now=0)
        candles = CandleFile.load(sample_path(), portfolio.config.timeframe)
        with progress(len(candles.bars)) as advance:
            replay(ledger, candles, portfolio.id, SYMBOL, progress=advance)
        performance = from_ledger(ledger, portfolio.id)
        chart = for_ledger(ledger, portfolio.id, performance, TITLE)
    finally:
        ledger.dispose()
    png = write_plot(chart, directory / "equity.png")
    html = write_plot(chart, directory / "equity.html")
    return DemoOutcome(performance, TITLE, database, png, html)


def _demo_directory(directory: Path) -> Path:
    """`directory`, made if missing; `InputError` when it names a file or cannot be made."""
    directory = directory.resolve()
    if directory.exists() and not directory.is_dir():
        raise InputError(f"{directory} is a file, not a directory: give --dir a directory")
    try:
        directory.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(f"cannot make the demo directory {directory}: {exc.strerror}") from None
    return directory
