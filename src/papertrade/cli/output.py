"""Rendering for humans (aligned tables, rounded money) and for scripts (JSON, exact strings)."""

import sys
from collections.abc import Sequence
from typing import Any

import typer

# The one rule for numbers people read lives in the domain (the notifications use it too).
from papertrade.domain.numbers import (  # noqa: F401
    amount,
    count,
    duration,
    fee,
    money,
    percent,
    price,
    quantities,
    quantities_by_symbol,
    statistic,
)  # fmt: skip


def emit_json(value: Any) -> None:
    from papertrade.views.documents import dumps

    typer.echo(dumps(value))


def fields(record: Any, names: Sequence[str]) -> dict[str, Any]:
    """The named attributes of a record, for JSON (decimals become strings in `emit_json`)."""
    return {name: getattr(record, name) for name in names}


def timestamp(ms: int | None) -> str:
    if ms is None:
        return "-"
    from papertrade.domain.timeframes import timestamp as format_ts

    return format_ts(ms)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A plain aligned table; columns whose index is in `right` are right-aligned."""
    widths = [width_of(h) for h in headers]
    for row in rows:
        widths = [max(w, width_of(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [_pad(cell, width, right=i in right) for i, (cell, width) in enumerate(zip(cells, widths, strict=True))]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def error_line(message: str) -> None:
    """One line on stderr, whatever the message contained: no control characters or terminal
    escape sequences (a message may quote an exchange's error page), at most 1,000 characters."""
    from papertrade.domain.text import printable

    print(f"papertrade: error: {printable(message, 1000)}", file=sys.stderr)


def plural(n: int, noun: str) -> str:
    """`1 bot`, `2 bots`, `1 entry`, `3,000 entries`."""
    if n == 1:
        return f"1 {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{count(n)} {noun[:-1]}ies"
    return f"{count(n)} {noun}s"


def width_of(text: str) -> int:
    """Columns `text` takes in a terminal: wide (East Asian, emoji) characters take two,
    combining marks none."""
    import unicodedata

    return sum(
        0 if unicodedata.combining(ch) else 2 if unicodedata.east_asian_width(ch) in ("W", "F") else 1 for ch in text
    )


def _pad(cell: str, width: int, *, right: bool) -> str:
    padding = " " * (width - width_of(cell))
    return padding + cell if right else cell + padding
