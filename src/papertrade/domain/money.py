"""Exact decimal arithmetic for the ledger.

Every amount is a `Decimal`. Ledger arithmetic runs in `EXACT`, a context that raises instead of
rounding, so a result that cannot be represented exactly is a bug that surfaces, never a silent
loss. The only deliberate roundings (quantities down to a market's step, fees and average costs
to `LEDGER_PLACES`) go through the helpers below and say which way they round.
"""

from decimal import (
    ROUND_HALF_EVEN,
    ROUND_UP,
    Clamped,
    Context,
    Decimal,
    DivisionByZero,
    Inexact,
    InvalidOperation,
    Overflow,
    Rounded,
    Subnormal,
    Underflow,
    localcontext,
)

from papertrade.errors import InputError

#: Decimal places the ledger keeps for any amount (cash, prices, quantities, fees).
LEDGER_PLACES = 18
#: Largest amount of cash a portfolio may start with: beyond it the input is surely a typo.
MAX_CASH = Decimal("1e15")

QUANTUM = Decimal(1).scaleb(-LEDGER_PLACES)
ZERO = Decimal(0)

# 80 significant digits hold any product of three ledger amounts (15 + 18 digits each) exactly.
EXACT = Context(
    prec=80,
    rounding=ROUND_HALF_EVEN,
    Emin=-999_999,
    Emax=999_999,
    traps=[
        Inexact,
        Rounded,
        InvalidOperation,
        DivisionByZero,
        Overflow,
        Underflow,
        Subnormal,
        Clamped,
    ],
)
_ROUNDING = Context(prec=80, traps=[InvalidOperation, DivisionByZero, Overflow])


def exact():
    """A context manager under which decimal arithmetic must be exact or raise."""
    return localcontext(EXACT)


def divide_down(numerator: Decimal, denominator: Decimal, step: Decimal) -> Decimal:
    """`numerator / denominator` rounded down to a multiple of `step` (for quantities to buy)."""
    quotient = _ROUNDING.divide(numerator, denominator)
    steps = _ROUNDING.divide_int(quotient, step)
    return _ROUNDING.multiply(steps, step)


def divide_to_ledger(numerator: Decimal, denominator: Decimal, rounding: str = ROUND_HALF_EVEN) -> Decimal:
    """`numerator / denominator` rounded to the ledger's places, half-even (for average costs)
    unless told otherwise."""
    return _ROUNDING.divide(numerator, denominator).quantize(QUANTUM, rounding=rounding, context=_ROUNDING)


def places(value: Decimal) -> int:
    """Decimal places needed to write `value` exactly (trailing zeros do not count)."""
    _, digits, exponent = value.as_tuple()
    trailing = len(digits) - len("".join(map(str, digits)).rstrip("0"))
    return max(0, -(exponent + trailing)) if digits else 0


def fits_ledger(value: Decimal) -> bool:
    """Whether `value` is a multiple of 10**-LEDGER_PLACES (checked on every fill's amounts:
    two decimal operations in C instead of writing the digits out, as `places` does)."""
    if value.is_zero():
        return places(value) <= LEDGER_PLACES
    scaled = value.scaleb(LEDGER_PLACES, context=_ROUNDING)
    return scaled == scaled.to_integral_value(context=_ROUNDING)


def round_to_ledger(value: Decimal, rounding: str) -> Decimal:
    """`value` on the ledger's grid, rounded as told when it is finer (never in the default context)."""
    if fits_ledger(value):
        return value
    return value.quantize(QUANTUM, rounding=rounding, context=_ROUNDING)


def round_up_to_ledger(value: Decimal) -> Decimal:
    """Round up to the ledger's places (fees: never charge less than the exact amount)."""
    return round_to_ledger(value, ROUND_UP)


def to_plain(value: Decimal) -> str:
    """Canonical text of an amount: plain notation, no exponent, no trailing zeros.

    This is the form written to JSON and to the SQLite ledger.
    """
    text = str(value)  # plain already unless tiny or with a positive exponent; a tenth of format's cost
    if "E" in text:
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("0", "-0") else text


def parse_amount(text: str, what: str, *, max_places: int = LEDGER_PLACES) -> Decimal:
    """Parse a user-typed amount strictly: finite, plain or scientific notation, no separators.

    Raises `InputError` naming `what` for anything else.
    """
    raw = text.strip()
    # Decimal() also reads other scripts' digits (Arabic-Indic, full-width): only ASCII is plain.
    if not raw or not raw.isascii() or "," in raw or "_" in raw:
        raise InputError(f"{what} must be a plain number like 10000 or 0.5, not {text!r}")
    try:
        value = Decimal(raw)
    except InvalidOperation:
        raise InputError(f"{what} must be a number, not {text!r}") from None
    if not value.is_finite():
        raise InputError(f"{what} must be a finite number, not {text!r}")
    if value.adjusted() > 40:
        raise InputError(f"{what} {text!r} is absurdly large")
    if places(value) > max_places:
        raise InputError(
            f"{what} {text!r} has more than {max_places} decimal places, more precise than the ledger keeps"
        )
    if -value.as_tuple().exponent > max_places:  # trailing zeros (0.1000...0) carry no precision
        value = value.quantize(Decimal(1).scaleb(-max_places), context=_ROUNDING)
    return abs(value) if value.is_zero() else value
