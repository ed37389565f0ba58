"""Writing stored candles to files: CSV in the format backtests and replays read, and Parquet.

A file is written next to its destination and renamed into place, so a failed export leaves
nothing behind and never a half-written file.
"""

import os
from collections.abc import Callable, Sequence
from decimal import Decimal
from pathlib import Path

from papertrade.adapters.candle_reader import HEADER
from papertrade.domain.bars import Bar
from papertrade.domain.money import to_plain
from papertrade.errors import InputError

FORMATS = ("csv", "parquet")
_PRICES = HEADER[1:]


def csv_line(bar: Bar) -> str:
    """One candle as a line of a candle file: open time in ms, then exact decimal text."""
    return ",".join([str(bar.ts), *(to_plain(getattr(bar, name)) for name in _PRICES)])


def check_destination(path: Path) -> None:
    """`InputError` unless a file can be written at `path` (checked before any work is done)."""
    parent = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise InputError(f"cannot write {path}: it is a directory")
    if not parent.is_dir():
        raise InputError(f"cannot write {path}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise InputError(f"cannot write {path}: permission denied")


def write_csv(bars: Sequence[Bar], path: Path) -> None:
    lines = [",".join(HEADER), *(csv_line(bar) for bar in bars)]
    _write_atomically(path, lambda handle: handle.write(("\n".join(lines) + "\n").encode()))


def write_parquet(bars: Sequence[Bar], path: Path) -> None:
    """Parquet with `timestamp` as UTC milliseconds and each price and the volume as a decimal
    column wide enough for every value in it (text if a value needs more than 38 digits)."""
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise InputError("Parquet export needs pyarrow: pip install 'papertrade[parquet]'") from None
    columns = {"timestamp": pa.array([bar.ts for bar in bars], type=pa.timestamp("ms", tz="UTC"))}
    for name in _PRICES:
        columns[name] = _decimal_column(pa, [getattr(bar, name) for bar in bars])
    table = pa.table(columns)
    _write_atomically(path, lambda handle: pq.write_table(table, handle))


def _decimal_column(pa, values: list[Decimal]):
    scale = max([0, *(-v.as_tuple().exponent for v in values)])
    whole = max([1, *(len(v.as_tuple().digits) + v.as_tuple().exponent for v in values)])
    if whole + scale > 38:
        return pa.array([to_plain(v) for v in values], type=pa.string())
    return pa.array(values, type=pa.decimal128(38, scale))


def _write_atomically(path: Path, write: Callable) -> None:
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    try:
        with temporary.open("wb") as handle:
            write(handle)
        os.replace(temporary, path)
    except OSError as exc:
        raise InputError(f"cannot write {path}: {exc.strerror or exc}") from None
    finally:
        temporary.unlink(missing_ok=True)
