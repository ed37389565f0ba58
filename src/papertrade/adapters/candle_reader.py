"""The one reader of candle files (`timestamp,open,high,low,close,volume`, integer ms open times).

Every command that takes a candle file reads it here, so every one refuses the same files with
the same words, naming the line. A read is bounded: only a regular file is opened (never a
directory, a device such as /dev/zero, or a pipe, which could be read forever), at most
`MAX_FILE_BYTES` of it, lines of at most `MAX_LINE_CHARS`, at most `MAX_CANDLES` candles. A
UTF-8 byte order mark before the header is skipped; anything else that is not ASCII is refused.

The rows are then turned into exact `Bar`s (`parse_bars`, for replays) or into float columns
(`parse_columns`, for backtests over hundreds of thousands of candles). Both accept exactly the
same rows: the columns come from pandas' C parser only when the text holds nothing but plain
decimals, which it reads as Python's `float()` does; anything else (an exponent, `NaN`, a row
to refuse) goes through `parse_bars`, whose floats are then the columns.
"""

import re
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING

from papertrade.adapters.user_files import read_regular_file
from papertrade.domain.bars import Bar
from papertrade.errors import InputError

if TYPE_CHECKING:
    import numpy as np

HEADER = ["timestamp", "open", "high", "low", "close", "volume"]
#: The bounds of a candle file: about ten years of one-minute candles fit.
MAX_FILE_BYTES = 512 * 2**20
MAX_CANDLES = 10_000_000
MAX_LINE_CHARS = 500

_BOM = b"\xef\xbb\xbf"
_NUMBER = r"[+-]?(?:\d{1,40}(?:\.\d{0,40})?|\.\d{1,40})(?:[eE][+-]?\d{1,4})?|[+-]?(?i:nan|inf(?:inity)?)"
_ROW = re.compile(rf"([+-]?\d{{1,18}}),({_NUMBER}),({_NUMBER}),({_NUMBER}),({_NUMBER}),({_NUMBER})", re.ASCII)
_TIMESTAMP = re.compile(r"[+-]?\d{1,18}", re.ASCII)
_VALUE = re.compile(_NUMBER, re.ASCII)
#: What pandas may read for us: plain decimals (no exponent, no word), integer times.
_PLAIN = b"0123456789.,+-\n"
_POWERS_OF_TEN = [10**k for k in range(19)]
#: Magnitudes a float holds without overflowing or flushing to zero.
_FLOAT_EXPONENTS = range(-300, 301)


@dataclass(frozen=True)
class CandleRows:
    """A candle file's lines after the header, read and bounded; row `i` is on line `i + 2`."""

    path: Path
    rows: list[str]
    data: bytes  # the rows as read, joined by newlines

    def where(self, index: int) -> str:
        return f"{self.path} line {index + 2}"


def read_rows(path: Path | str) -> CandleRows:
    """Read a candle file's text: `InputError` for anything that is not one, naming the line."""
    path = Path(path)
    data = read_regular_file(path, MAX_FILE_BYTES, "a candle file")
    data = data[len(_BOM) :] if data.startswith(_BOM) else data
    if _is_binary(data[:8192]):
        raise InputError(f"{path} is not a candle file: it holds binary data")
    header, _, body = data.partition(b"\n")
    if header.rstrip(b"\r") != ",".join(HEADER).encode():
        shown = header[:60].decode(errors="replace")
        raise InputError(f"{path} must start with the header {','.join(HEADER)} (line 1 is {shown!r})")
    if b"\r" in body:
        body = body.replace(b"\r\n", b"\n")
    body = body.rstrip(b"\n")
    if not body.isascii() or b"\x00" in body:
        offset = re.search(rb"[^\x01-\x7f]", body).start()
        line = body.count(b"\n", 0, offset) + 2
        raise InputError(f"{path} line {line}: {_odd_byte(body, offset)}, not a candle file")
    rows = body.decode("ascii").split("\n") if body else []
    _check_size(path, rows)
    return CandleRows(path, rows, body)


def _check_size(path: Path, rows: list[str]) -> None:
    if not rows:
        raise InputError(f"{path} holds no candles after its header")
    if len(rows) > MAX_CANDLES:
        raise InputError(f"{path} holds more than {MAX_CANDLES:,} candles: split it")
    if max(map(len, rows)) > MAX_LINE_CHARS:
        index = next(i for i, row in enumerate(rows) if len(row) > MAX_LINE_CHARS)
        raise InputError(f"{path} line {index + 2} is longer than {MAX_LINE_CHARS} characters: not a candle")


def parse_bars(candles: CandleRows) -> list[Bar]:
    """Every row as an exact `Bar`; `InputError` naming the first row that is not a candle."""
    bars, match = [], _ROW.fullmatch
    for index, row in enumerate(candles.rows):
        found = match(row)
        if found is None:
            raise InputError(f"{candles.where(index)}: {_what_is_wrong(row)}")
        ts, *values = found.groups()
        prices = [Decimal(value) for value in values]
        if "e" in row or "E" in row:
            _check_magnitudes(candles, index, prices)
        bars.append(Bar(int(ts), *prices))
    return bars


def parse_columns(candles: CandleRows) -> "tuple[np.ndarray, dict[str, np.ndarray]]":
    """Open times (int64) and the five value columns (float64), accepting exactly the rows
    `parse_bars` accepts, each float `float()` of the exact value."""
    import numpy as np

    columns = None if candles.data.translate(None, _PLAIN) else _plain_columns(candles)
    if columns is not None:
        return columns
    bars = parse_bars(candles)
    ts = np.fromiter((bar.ts for bar in bars), dtype=np.int64, count=len(bars))
    floats = {name: np.array([float(getattr(bar, name)) for bar in bars]) for name in HEADER[1:]}
    return ts, floats


def _plain_columns(candles: CandleRows):
    """Plain decimal rows through pandas' C parser (correctly rounded, as `float()`); None when
    it finds something to refuse, which `parse_bars` then names."""
    import io

    import numpy as np
    import pandas as pd

    dtypes = {"timestamp": np.int64, **dict.fromkeys(HEADER[1:], np.float64)}
    try:
        table = pd.read_csv(
            io.BytesIO(candles.data), header=None, names=HEADER, dtype=dtypes, engine="c",
            na_filter=False, skip_blank_lines=False,
        )  # fmt: skip
    except (ValueError, OverflowError, pd.errors.ParserError):
        return None
    ts = table["timestamp"].to_numpy()
    if len(ts) != len(candles.rows) or not _integers_as_written(candles.data, ts):
        return None
    return ts, {name: table[name].to_numpy() for name in HEADER[1:]}


def _integers_as_written(data: bytes, ts) -> bool:
    """Whether each open time is written as just the digits of its value, the comma right after
    them (pandas also reads `1.0` as the integer 1); a leading `+` or zero answers False too,
    which costs only time."""
    import numpy as np

    text = np.frombuffer(data, dtype=np.uint8)
    starts = np.concatenate(([0], np.flatnonzero(text == ord("\n")) + 1))
    widths = np.maximum(np.searchsorted(_POWERS_OF_TEN, np.abs(ts), side="right"), 1) + (ts < 0)
    ends = starts + widths
    return len(starts) == len(ts) and bool((ends < len(text)).all()) and bool((text[ends] == ord(",")).all())


def _what_is_wrong(row: str) -> str:
    fields = row.split(",")
    if not row.strip():
        return "an empty line where a candle belongs"
    if len(fields) != len(HEADER):
        return f"expected {len(HEADER)} fields ({','.join(HEADER)}), found {len(fields)}"
    if _TIMESTAMP.fullmatch(fields[0]) is None:
        return f"timestamp {fields[0][:40]!r} is not an integer time in milliseconds"
    bad = [(name, value) for name, value in zip(HEADER[1:], fields[1:], strict=True) if not _VALUE.fullmatch(value)]
    name, value = bad[0] if bad else ("a value", row)
    return f"{name} {value[:40]!r} is not a number"


def _check_magnitudes(candles: CandleRows, index: int, prices: list[Decimal]) -> None:
    for name, value in zip(HEADER[1:], prices, strict=True):
        if value.is_finite() and value and value.adjusted() not in _FLOAT_EXPONENTS:
            raise InputError(f"{candles.where(index)}: {name} {value} is out of range")


def _odd_byte(data: bytes, offset: int) -> str:
    return (
        "binary data" if data[offset] == 0 or _is_binary(data[offset : offset + 4]) else "a character that is not ASCII"
    )


def _is_binary(data: bytes) -> bool:
    """Whether `data` holds a NUL or is not UTF-8 (a cut-off last character aside)."""
    if b"\x00" in data:
        return True
    try:
        data.decode("utf-8")
    except UnicodeDecodeError as exc:
        return exc.start < len(data) - 3 or exc.reason != "unexpected end of data"
    return False
