"""Stored candles as file contents: CSV in the format backtests and replays read, JSON, and Parquet.

`adapters/user_files.py` writes them (never over the ledger, a database or a device).
"""

from collections.abc import Sequence
from decimal import Decimal

from papertrade.adapters.candle_reader import HEADER
from papertrade.domain.bars import Bar
from papertrade.domain.money import to_plain
from papertrade.errors import InputError

FORMATS = ("csv", "json", "parquet")
_PRICES = HEADER[1:]
#: The format a file name's suffix means, for `data export -o` without `--format`.
SUFFIXES = {".csv": "csv", ".json": "json", ".parquet": "parquet"}


def format_for(name: str, given: str | None, named: bool) -> str:
    """The export format: `given` (`--format`) when there is one, else the one the suffix of
    `name` means. `named` is False for standard output, a device or a pipe, which have no
    meaningful suffix and get CSV. `InputError` for an unknown format or suffix."""
    if given is not None:
        if given not in FORMATS:
            raise InputError(f"--format must be csv, json or parquet, not {given!r}")
        return given
    if not named:
        return "csv"
    suffix = "." + name.rsplit(".", 1)[1].lower() if "." in name.rsplit("/", 1)[-1] else ""
    if suffix not in SUFFIXES:
        what = f"suffix {suffix!r}" if suffix else "no suffix"
        raise InputError(
            f"cannot tell the format of {name} ({what}): name it .csv, .json or .parquet, or give --format"
        )
    return SUFFIXES[suffix]


def encoder(format: str):
    """The function that turns candles into the bytes of `format`."""
    return {"csv": csv_bytes, "json": json_bytes, "parquet": parquet_bytes}[format]


def csv_line(bar: Bar) -> str:
    """One candle as a line of a candle file: open time in ms, then exact decimal text."""
    return ",".join([str(bar.ts), *(to_plain(getattr(bar, name)) for name in _PRICES)])


def csv_bytes(bars: Sequence[Bar]) -> bytes:
    """The candles as a candle file: a header, then one line per candle."""
    lines = [",".join(HEADER), *(csv_line(bar) for bar in bars)]
    return ("\n".join(lines) + "\n").encode()


def json_bytes(bars: Sequence[Bar]) -> bytes:
    """The candles as a JSON array of objects: `timestamp` in UTC milliseconds, the prices and
    the volume as exact decimal strings (as every JSON papertrade writes)."""
    import json

    rows = [{"timestamp": bar.ts, **{name: to_plain(getattr(bar, name)) for name in _PRICES}} for bar in bars]
    return (json.dumps(rows, indent=1) + "\n").encode()


def parquet_bytes(bars: Sequence[Bar]) -> bytes:
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
    sink = pa.BufferOutputStream()
    pq.write_table(pa.table(columns), sink)
    return sink.getvalue().to_pybytes()


def _decimal_column(pa, values: list[Decimal]):
    scale = max([0, *(-v.as_tuple().exponent for v in values)])
    whole = max([1, *(len(v.as_tuple().digits) + v.as_tuple().exponent for v in values)])
    if whole + scale > 38:
        return pa.array([to_plain(v) for v in values], type=pa.string())
    return pa.array(values, type=pa.decimal128(38, scale))
