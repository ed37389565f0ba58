"""`--funding FILE.csv`: a swap's funding rates for a backtest or a replay.

Columns (a header line first): `timestamp,rate,mark_price`. `timestamp` is the funding time in
milliseconds since the epoch (UTC), `rate` the funding rate as a fraction (0.0001 = 0.01 %),
`mark_price` the mark price the exchange gave with it, or empty (then the close of the candle
the funding is booked on is the mark). Rows in time order, one per funding time.
"""

import csv
from decimal import Decimal, InvalidOperation
from pathlib import Path

from papertrade.domain.funding import FundingRate, FundingSchedule
from papertrade.errors import InputError

HEADER = ("timestamp", "rate", "mark_price")


def load_funding(path: Path) -> FundingSchedule:
    """The funding rates of `path` (see the module docstring); `InputError` naming the first bad line."""
    try:
        with path.open(newline="", encoding="utf-8") as handle:
            rows = list(csv.reader(handle))
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError(f"cannot read funding file {path.name}: {exc.__class__.__name__}") from None
    if not rows or tuple(cell.strip() for cell in rows[0]) != HEADER:
        raise InputError(f"funding file {path.name} must start with the header {','.join(HEADER)}")
    rates, previous = [], None
    for number, row in enumerate(rows[1:], start=2):
        rate = _rate(row, f"funding file {path.name} line {number}")
        if previous is not None and rate.ts <= previous:
            raise InputError(f"funding file {path.name} line {number}: times must increase")
        rates.append(rate)
        previous = rate.ts
    return FundingSchedule.of(rates)


def _rate(row: list[str], where: str) -> FundingRate:
    if len(row) != len(HEADER):
        raise InputError(f"{where}: expected {len(HEADER)} columns ({','.join(HEADER)})")
    ts_text, rate_text, mark_text = (cell.strip() for cell in row)
    if not (ts_text.isascii() and ts_text.isdigit()):
        raise InputError(f"{where}: timestamp must be whole milliseconds, not {ts_text!r}")
    try:
        rate = Decimal(rate_text)
        mark = Decimal(mark_text) if mark_text else None
    except InvalidOperation:
        raise InputError(f"{where}: rate and mark price must be decimal numbers") from None
    if not rate.is_finite() or abs(rate) >= 1:
        raise InputError(f"{where}: rate must be a fraction between -1 and 1, not {rate_text!r}")
    if mark is not None and not (mark.is_finite() and mark > 0):
        raise InputError(f"{where}: mark price must be above 0, not {mark_text!r}")
    return FundingRate(int(ts_text), rate, mark)
