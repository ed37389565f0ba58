"""How numbers are written for people: the one rule the command line, the dashboard, the
notifications and the charts follow (JSON and the ledger stay exact; see `money.to_plain`).

- Money has its currency's places: cents for fiat money and the coins pegged to it, a satoshi
  (8 places) for every other currency, so a BTC-quoted portfolio keeps its 0.12345678 BTC.
  It is rounded against the trader, never in their favour: what they hold or gained is rounded
  down, what they lost is rounded up in size, and what they paid (fees, `cost=True`) is rounded
  up. An amount too small for those places is written exactly rather than as 0.00.
- A price is written exactly in its shortest form (at least two decimals), unless it has more
  than `PRICE_DIGITS` significant digits: then it is a quotient (an average cost) and is
  rounded half-even to that many, so no division noise is shown.
- Quantities in one column are written with the same number of decimals: the amount step's
  when it is known, else the finest quantity's, so 0.02100 stands above 0.02147.
"""

from collections.abc import Mapping, Sequence
from decimal import ROUND_CEILING, ROUND_FLOOR, ROUND_HALF_EVEN, Context, Decimal

from papertrade.domain.money import places, to_plain

_WIDE = Context(prec=80)  # enough digits for any amount the ledger can hold

#: Currencies whose amounts are shown in cents: fiat money and the coins pegged to it.
CENT_CURRENCIES = frozenset({
    "USD", "EUR", "GBP", "JPY", "CHF", "CAD", "AUD", "NZD", "TRY", "BRL", "RUB", "UAH", "INR", "KRW", "ZAR",
    "MXN", "PLN", "IDR", "NGN", "ARS", "USDT", "USDC", "BUSD", "TUSD", "FDUSD", "USDP", "DAI", "PYUSD", "USDD",
    "EURT",
})  # fmt: skip
#: Places for every other currency (a satoshi, for BTC and the coins quoted like it).
CRYPTO_PLACES = 8
#: Significant digits beyond which a price is a quotient and is rounded (an exchange's prices have fewer).
PRICE_DIGITS = 10


def currency_places(currency: str | None) -> int:
    """Decimal places an amount of `currency` is shown with (2 when the currency is unknown)."""
    if currency is None or currency.upper() in CENT_CURRENCIES:
        return 2
    return CRYPTO_PLACES


def money(value: Decimal | str | float | None, currency: str | None = None, *, cost: bool = False) -> str:
    """An amount of money for people, with thousands separators and its currency's places,
    rounded against the trader (`cost`: a fee, rounded up). None is "-"; a float (a chart's)
    counts as its shortest repr."""
    if value is None:
        return "-"
    value = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    if value.is_zero():
        value = abs(value)  # never "-0.00"
    quantum = Decimal(1).scaleb(-currency_places(currency))
    if not value.is_zero() and abs(value) < quantum:
        return to_plain(value)
    rounding = ROUND_CEILING if cost else ROUND_FLOOR
    return f"{value.quantize(quantum, rounding=rounding, context=_WIDE):,}"


def fee(value: Decimal | str | None, currency: str | None = None) -> str:
    """A fee or any sum of fees: money rounded up."""
    return money(value, currency, cost=True)


def price(value: Decimal | str | None) -> str:
    """A price for people: exact with at least two decimals (56012.00, 0.00001234), a quotient
    rounded to `PRICE_DIGITS` significant digits. None is "-"."""
    if value is None:
        return "-"
    value = Decimal(value)
    if len(value.normalize().as_tuple().digits) > PRICE_DIGITS:
        value = value.quantize(Decimal(1).scaleb(value.adjusted() + 1 - PRICE_DIGITS), ROUND_HALF_EVEN, _WIDE)
    return f"{value:.2f}" if places(value) <= 2 else to_plain(value)


def amount(value: Decimal | str | None) -> str:
    """A quantity or rate for people, alone: exact, without trailing zeros. None is "-"."""
    return "-" if value is None else to_plain(Decimal(value))


def quantities(values: Sequence[Decimal | None], step: Decimal | None = None) -> list[str]:
    """A column of quantities, all with the amount step's places (`step`), or the finest
    value's when the step is unknown; None is "-"."""
    exact_values = [Decimal(v) for v in values if v is not None]
    column_places = places(step) if step else max((places(v) for v in exact_values), default=0)
    quantum = Decimal(1).scaleb(-column_places)
    return ["-" if v is None else _aligned(Decimal(v), quantum) for v in values]


def quantities_by_symbol(rows: Sequence[tuple[str, Decimal]], steps: Mapping[str, Decimal] | None = None) -> list[str]:
    """A column of (symbol, quantity) rows, each symbol's quantities aligned among themselves
    (their amount steps differ): to its amount step in `steps`, else to its finest quantity."""
    places_of = {symbol: places(step) for symbol, step in (steps or {}).items()}
    for symbol, value in rows:
        places_of[symbol] = max(places_of.get(symbol, 0), places(Decimal(value)))
    return [_aligned(Decimal(value), Decimal(1).scaleb(-places_of[symbol])) for symbol, value in rows]


def _aligned(value: Decimal, quantum: Decimal) -> str:
    if places(value) > -quantum.as_tuple().exponent:
        return to_plain(value)  # finer than the step: never hide a digit
    return f"{value.quantize(quantum, context=_WIDE):f}"


def count(value: int | None) -> str:
    """A count of things (candles, ticks, trials) for people: with thousands separators, as in
    every progress and summary line (5,449 neutral, 4,000/39,813). None is "-"."""
    return "-" if value is None else f"{value:,}"


def ratio(value: float | None) -> str:
    """A statistic that is a plain number (a ratio, a percentage): two decimals, thousands
    separators, never -0.00; undefined (None, NaN) is "-"."""
    if value is None or value != value:
        return "-"
    return "0.00" if round(value, 2) == 0 else f"{value:,.2f}"


def percent(value: float | None) -> str:
    """A signed percentage: +1.23 %, 0.00 %; None is "-"."""
    if value is None or value != value:
        return "-"
    return "0.00 %" if round(value, 2) == 0 else f"{value:+,.2f} %"


def duration(ms: int | None) -> str:
    """A duration of whole seconds as pandas writes a Timedelta: "2 days 05:00:00"."""
    if ms is None:
        return "-"
    days, rest = divmod(ms, 86_400_000)
    seconds = rest // 1000
    return f"{days} days {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


def statistic(value, kind: str, currency: str | None = None) -> str:
    """A report statistic for people; `kind` is one of `reports.statistics.STAT_KINDS`
    ("Commissions [$]" is money paid: give it kind "cost")."""
    from papertrade.domain.timeframes import timestamp

    if value is None:
        return "-"
    if kind in ("money", "cost"):
        return money(value, currency, cost=kind == "cost")
    if kind == "time":
        return timestamp(value)
    if kind == "duration":
        return duration(value)
    if kind == "count":
        return count(value)
    return ratio(value)
