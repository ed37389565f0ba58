"""Rendering for humans (aligned tables, rounded money) and for scripts (JSON, exact strings)."""

import sys
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import typer


def emit_json(value: Any) -> None:
    from papertrade.views.documents import dumps

    typer.echo(dumps(value))


def fields(record: Any, names: Sequence[str]) -> dict[str, Any]:
    """The named attributes of a record, for JSON (decimals become strings in `emit_json`)."""
    return {name: getattr(record, name) for name in names}


def money(value: Decimal | None, places: int = 2) -> str:
    """Money for humans: thousands separators, rounded to `places` (JSON stays exact)."""
    if value is None:
        return "-"
    return f"{value.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN):,}"


def amount(value: Decimal | None) -> str:
    """A quantity or price for humans: exact, without trailing zeros."""
    if value is None:
        return "-"
    from papertrade.domain.money import to_plain

    return to_plain(value)


def timestamp(ms: int | None) -> str:
    if ms is None:
        return "-"
    from papertrade.domain.timeframes import timestamp as format_ts

    return format_ts(ms)


def table(headers: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A plain aligned table; columns whose index is in `right` are right-aligned."""
    widths = [len(h) for h in headers]
    for row in rows:
        widths = [max(w, len(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [
            cell.rjust(width) if i in right else cell.ljust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=True))
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(headers), rule, *(line(row) for row in rows)])


def error_line(message: str) -> None:
    """One line on stderr, whatever the message contained."""
    flat = " ".join(message.split())
    print(f"papertrade: error: {flat}", file=sys.stderr)


def price(value: Decimal | None) -> str:
    """A price for humans: exact, with at least two decimals (56012.00, 0.00001234)."""
    if value is None:
        return "-"
    from papertrade.domain.money import places, to_plain

    return f"{value:.2f}" if places(value) <= 2 else to_plain(value)
