"""Rendering for humans (aligned tables, rounded money) and for scripts (JSON, exact strings)."""

import sys
from collections.abc import Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, Context, Decimal
from typing import Any

import typer

_WIDE = Context(prec=80)  # enough digits for any amount the ledger can hold


def emit_json(value: Any) -> None:
    from papertrade.views.documents import dumps

    typer.echo(dumps(value))


def fields(record: Any, names: Sequence[str]) -> dict[str, Any]:
    """The named attributes of a record, for JSON (decimals become strings in `emit_json`)."""
    return {name: getattr(record, name) for name in names}


#: Currencies whose amounts are shown in cents: fiat money and the coins pegged to it.
CENT_CURRENCIES = frozenset({
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "TRY", "BRL", "RUB", "UAH", "INR", "KRW", "ZAR",
    "MXN", "PLN", "IDR", "NGN", "ARS", "USDT", "USDC", "BUSD", "TUSD", "FDUSD", "USDP", "DAI", "PYUSD", "USDD",
    "EURT",
})  # fmt: skip
#: Places for every other currency (a satoshi, for BTC and the coins quoted like it).
CRYPTO_PLACES = 8


def currency_places(currency: str | None) -> int:
    """Decimal places an amount of `currency` is shown with (2 when the currency is unknown)."""
    if currency is None or currency.upper() in CENT_CURRENCIES:
        return 2
    return CRYPTO_PLACES


def money(value: Decimal | None, currency: str | None = None, *, cost: bool = False) -> str:
    """An amount of money for humans, with thousands separators and its currency's places.

    Rounded against the trader, never in their favour: what they hold or gained is rounded
    down, what they lost (negative) or paid (`cost`: fees) is rounded up in size. An amount
    too small for those places is shown exactly rather than as 0.00. JSON stays exact.
    """
    if value is None:
        return "-"
    if value.is_zero():
        value = abs(value)  # never "-0.00"
    quantum = Decimal(1).scaleb(-currency_places(currency))
    if not value.is_zero() and abs(value) < quantum:
        from papertrade.domain.money import to_plain

        return to_plain(value)
    rounding = ROUND_CEILING if cost else ROUND_FLOOR
    return f"{value.quantize(quantum, rounding=rounding, context=_WIDE):,}"


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
    widths = [width_of(h) for h in headers]
    for row in rows:
        widths = [max(w, width_of(cell)) for w, cell in zip(widths, row, strict=True)]

    def line(cells: Sequence[str]) -> str:
        parts = [_pad(cell, width, right=i in right) for i, (cell, width) in enumerate(zip(cells, widths, strict=True))]
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


def plural(count: int, noun: str) -> str:
    """`1 bot`, `2 bots`, `1 entry`, `3 entries`."""
    if count == 1:
        return f"1 {noun}"
    if noun.endswith("y") and noun[-2:-1] not in "aeiou":
        return f"{count:,} {noun[:-1]}ies"
    return f"{count:,} {noun}s"


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
