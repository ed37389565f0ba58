"""Reading candle files: exact bars for replays, float columns for backtests, the same rules."""

import pytest

from papertrade.adapters.csv_candles import CandleFile, load_columns, symbol_from_filename
from papertrade.errors import InputError
from tests.support.paths import DATA

FILES = sorted(DATA.glob("*.csv"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_columns_hold_exactly_the_floats_a_tick_would_compute(path):
    """A tick turns a stored Decimal into float(Decimal(text)); a backtest must see the same bits."""
    columns, bars = load_columns(path), CandleFile.load(path).bars
    assert list(columns.ts) == [b.ts for b in bars]
    for name in ("open", "high", "low", "close", "volume"):
        assert list(columns.floats[name]) == [float(getattr(b, name)) for b in bars], name
    assert columns.exact(len(bars) - 1) == bars[-1].close
    assert columns.timeframe == CandleFile.load(path).timeframe


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ("timestamp,open,high,low,close\n1,1,1,1,1\n", "must start with the header"),
        ("timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n60000,1,1,1,x,1\n", "could not"),
        ("timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n60000,1,0.5,1,1,1\n", "line 3: candle 60000 has high/low"),
        ("timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n60000,-1,1,-1,1,1\n", "not a positive number"),
        ("timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n60000,1,1,1,1,-2\n", "negative"),
        ("timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n60000,1,1,1,1,1\n30000,1,1,1,1,1\n", "increasing"),
        ("timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n70000,1,1,1,1,1\n", "not a supported timeframe"),
        ("timestamp,open,high,low,close,volume\n0,1,1,1,1,1\n", "at least two candles"),
    ],
)
def test_bad_files_are_refused_by_both_readers(tmp_path, body, message):
    path = tmp_path / "candles.csv"
    path.write_text(body)
    with pytest.raises(InputError):
        CandleFile.load(path)
    with pytest.raises(InputError, match=message):
        load_columns(path)


def test_symbols_come_from_file_names():
    assert symbol_from_filename(DATA / "binance_BTC-USDT_1h.csv") == "BTC/USDT"
    assert symbol_from_filename(DATA / "quandl-wiki_IBM_1d.csv") == "ASSET/USD"
