"""Reading candle files: one bounded reader, exact bars for replays and float columns for
backtests, one table of rules, and the same message from both for the same bad file."""

import os

import pytest

from papertrade.adapters import candle_reader
from papertrade.adapters.csv_candles import CandleFile, load_columns, symbol_from_filename
from papertrade.domain.bars import RULES
from papertrade.errors import InputError
from tests.support.paths import DATA

FILES = sorted(DATA.glob("*.csv"))
HEADER = "timestamp,open,high,low,close,volume"
T = 1_600_000_020_000  # on the one-minute grid
GOOD = "100,110,90,105,7"


def candle_file(tmp_path, rows: list[str], name: str = "candles.csv", header: str = HEADER) -> str:
    path = tmp_path / name
    path.write_text("\n".join([header, *rows]) + "\n")
    return str(path)


def minutes(*offsets: int, values: str = GOOD) -> list[str]:
    return [f"{T + offset * 60_000},{values}" for offset in offsets]


def both_messages(path) -> tuple[str, str]:
    """What `CandleFile.load` (replays) and `load_columns` (backtests) say about `path`."""
    messages = []
    for read in (CandleFile.load, load_columns):
        with pytest.raises(InputError) as refused:
            read(path)
        messages.append(str(refused.value))
    return messages[0], messages[1]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.stem)
def test_columns_hold_exactly_the_floats_a_tick_would_compute(path):
    """A tick turns a stored Decimal into float(Decimal(text)); a backtest must see the same bits."""
    columns, bars = load_columns(path), CandleFile.load(path).bars
    assert list(columns.ts) == [b.ts for b in bars]
    for name in ("open", "high", "low", "close", "volume"):
        assert list(columns.floats[name]) == [float(getattr(b, name)) for b in bars], name
    assert columns.exact(len(bars) - 1) == bars[-1].close
    assert columns.timeframe == CandleFile.load(path).timeframe


# One file per rule, breaking it (and only it) on the line given.
BREAKS = {
    "price": ([*minutes(0, 1), f"{T + 120_000},0,110,90,105,7"], 4),
    "volume": ([*minutes(0, 1), f"{T + 120_000},100,110,90,105,-1"], 4),
    "high-low": ([*minutes(0, 1), f"{T + 120_000},100,104,90,105,7"], 4),
    "grid": ([*minutes(0, 1), f"{T + 150_000},{GOOD}"], 4),
    "duplicate": (minutes(0, 1, 1, 2), 4),
    "order": (minutes(1, 2, 3, 0), 5),
}


def test_every_rule_has_a_file_that_breaks_it():
    assert set(BREAKS) == {rule.name for rule in RULES}


@pytest.mark.parametrize("style", ["plain", "scientific"])
@pytest.mark.parametrize("rule", RULES, ids=lambda rule: rule.name)
def test_both_readers_refuse_a_broken_rule_with_the_same_message(tmp_path, rule, style):
    """Row by row (replay) and over columns (backtest), through pandas' parser (plain decimals)
    or Python's (an exponent): one message, naming the line and the rule's problem."""
    rows, line = BREAKS[rule.name]
    if style == "scientific":
        rows = [row.replace(",7", ",7e0") for row in rows]
    replay, backtest = both_messages(candle_file(tmp_path, rows))
    assert replay == backtest
    assert f"candles.csv line {line}: candle " in replay
    assert rule.problem.format(timeframe="1m") in replay


NOT_CANDLES = [
    ("no header", "\n".join(minutes(0, 1)), "must start with the header timestamp,open,high,low,close,volume"),
    ("a header short of volume", "timestamp,open,high,low,close\n1,1,1,1,1", "must start with the header"),
    ("only the header", HEADER, "holds no candles after its header"),
    ("one candle", "\n".join([HEADER, *minutes(0)]), "needs at least two candles"),
    ("five fields", "\n".join([HEADER, *minutes(0), f"{T},1,1,1,1"]), "line 3: expected 6 fields"),
    ("seven fields", "\n".join([HEADER, *minutes(0), f"{T + 60_000},1,1,1,1,1,1"]), "line 3: expected 6 fields"),
    ("a word", "\n".join([HEADER, *minutes(0), f"{T + 60_000},1,1,1,x,1"]), "line 3: close 'x' is not a number"),
    ("an empty value", "\n".join([HEADER, *minutes(0), f"{T + 60_000},1,,1,1,1"]), "line 3: high '' is not a number"),
    ("a fractional time", "\n".join([HEADER, *minutes(0), f"{T}.5,{GOOD}"]), "line 3: timestamp '1600000020000.5'"),
    ("an empty line", "\n".join([HEADER, *minutes(0), "", *minutes(1)]), "line 3: an empty line"),
    ("a huge exponent", "\n".join([HEADER, *minutes(0), f"{T + 60_000},1e400,1,1,1,1"]), "line 3: open 1E+400 is out"),
    ("a spacing of no timeframe", "\n".join([HEADER, *minutes(0), f"{T + 70_000},{GOOD}"]), "line 3: candle"),
    ("a long line", "\n".join([HEADER, *minutes(0), "1" * 600]), "line 3 is longer than 500 characters"),
    (
        "an accent",
        "\n".join([HEADER, *minutes(0), f"{T + 60_000},1,1,1,1,1 é"]),
        "line 3: a character that is not ASCII",
    ),
]


@pytest.mark.parametrize(("body", "message"), [c[1:] for c in NOT_CANDLES], ids=[c[0] for c in NOT_CANDLES])
def test_what_is_not_a_candle_file_is_refused_alike_naming_the_line(tmp_path, body, message):
    path = tmp_path / "candles.csv"
    path.write_text(body + "\n", encoding="utf-8")
    replay, backtest = both_messages(path)
    assert replay == backtest
    assert message in replay


def test_a_byte_order_mark_and_windows_line_ends_are_read_as_the_same_candles(tmp_path):
    plain = candle_file(tmp_path, minutes(0, 1, 2))
    marked = tmp_path / "marked.csv"
    marked.write_bytes(b"\xef\xbb\xbf" + "\r\n".join([HEADER, *minutes(0, 1, 2)]).encode() + b"\r\n")
    assert CandleFile.load(marked).bars == CandleFile.load(plain).bars
    assert list(load_columns(marked).floats["close"]) == list(load_columns(plain).floats["close"])
    assert load_columns(marked).exact(2) == CandleFile.load(plain).bars[2].close


def test_exponents_and_plain_decimals_give_the_same_columns(tmp_path):
    """A file pandas may not read (exponents) goes through Python's parser: the same floats."""
    plain = candle_file(tmp_path, minutes(0, 1, 2, values="0.5,0.75,0.25,0.5,1234.5"), "plain.csv")
    scientific = candle_file(tmp_path, minutes(0, 1, 2, values="5e-1,7.5E-1,2.5e-1,0.5e0,1.2345e3"), "sci.csv")
    for name in ("open", "high", "low", "close", "volume"):
        assert list(load_columns(scientific).floats[name]) == list(load_columns(plain).floats[name])


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: "/dev/zero", "/dev/zero is not a candle file: it is a device"),
        (lambda tmp: str(tmp), "is not a candle file: it is a directory"),
        (lambda tmp: os.mkfifo(tmp / "fifo") or str(tmp / "fifo"), "is not a candle file: it is a pipe"),
        (lambda tmp: str(tmp / "missing.csv"), "cannot read"),
        (lambda tmp: (tmp / "ls").write_bytes(b"\x7fELF\x02\x01\x01\x00" * 64) and str(tmp / "ls"), "binary data"),
        (lambda tmp: (tmp / "x").write_bytes(b"\xff\xfe" + b"t\x00" * 40) and str(tmp / "x"), "binary data"),
    ],
    ids=["device", "directory", "fifo", "missing", "executable", "utf-16"],
)
def test_what_is_not_a_regular_text_file_is_refused_without_reading_it(tmp_path, make, message):
    replay, backtest = both_messages(make(tmp_path))
    assert replay == backtest and message in replay


def test_a_file_over_the_size_limit_is_refused_before_it_is_read(tmp_path, monkeypatch):
    monkeypatch.setattr(candle_reader, "MAX_FILE_BYTES", 100)
    replay, backtest = both_messages(candle_file(tmp_path, minutes(0, 1, 2, 3)))
    assert replay == backtest and "is over the 100-byte limit of a candle file" in replay


def test_symbols_come_from_file_names():
    assert symbol_from_filename(DATA / "binance_BTC-USDT_1h.csv") == "BTC/USDT"
    assert symbol_from_filename(DATA / "quandl-wiki_IBM_1d.csv") == "ASSET/USD"
