"""What several commands parse or show alike: candle times given on the command line, progress."""

import sys
from pathlib import Path
from typing import Annotated

import typer

#: The last millisecond of the year 9999, the latest time papertrade can write as a date.
LATEST_MS = 253_402_300_799_999
#: The largest id the ledger's integer columns hold on every database.
MAX_ID = 2**31 - 1


def parse_portfolio_id(text: str) -> int:
    """A portfolio id as typed: ASCII digits only (not `1.0`, `1_0`, `+1` or fullwidth digits,
    which Python's int() would take), from 1 to MAX_ID."""
    if not (text.isascii() and text.isdigit()) or not 0 < int(text) <= MAX_ID:
        raise typer.BadParameter(f"a portfolio id is a whole number from 1 to {MAX_ID:,}, not {text!r}")
    return int(text)


IdArgument = Annotated[int, typer.Argument(metavar="ID", help="Portfolio id.", parser=parse_portfolio_id)]

DataOption = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE.csv",
        help="Candles: timestamp,open,high,low,close,volume. Without it, candles come from the candle store.",
    ),
]
FundingOption = Annotated[
    Path | None,
    typer.Option(
        metavar="FILE.csv",
        help="A swap's funding rates: timestamp,rate,mark_price (mark_price may be empty). Without it, a swap's "
        "rates come from the store (see `data download`).",
    ),
]
ExchangeOption = Annotated[
    str | None, typer.Option(help="Without --data: read stored candles of this exchange (see `data download`).")
]
TimeframeOption = Annotated[str | None, typer.Option(help="Without --data: the stored candles' timeframe.")]
FromOption = Annotated[str | None, typer.Option("--from", metavar="TS", help="First candle (ms or ISO time).")]
ToOption = Annotated[str | None, typer.Option("--to", metavar="TS", help="Last candle (ms or ISO time).")]
FeeRateOption = Annotated[str, typer.Option(metavar="RATE", help="Fee per trade as a fraction of its value, 0 to 0.1.")]
PortfolioFeeRateOption = Annotated[
    str | None,
    typer.Option(
        "--fee-rate",
        metavar="RATE",
        help="Fee per trade as a fraction of its value, 0 to 0.1, maker and taker alike (default: the exchange's "
        "maker and taker rates of each market, from ccxt).",
    ),
]
MakerFeeOption = Annotated[
    str | None,
    typer.Option(metavar="RATE", help="Fee of resting limit and take-profit fills (with --taker-fee), 0 to 0.1."),
]
TakerFeeOption = Annotated[
    str | None,
    typer.Option(metavar="RATE", help="Fee of market and stop fills (with --maker-fee), 0 to 0.1."),
]
SlippageOption = Annotated[
    str, typer.Option(metavar="BPS", help="Price moved against each fill, in basis points: 0 to 1000.")
]
StakeFractionOption = Annotated[
    str, typer.Option(metavar="FRACTION", help="Fraction of cash each BUY spends, fee included: above 0, at most 1.")
]
StopLossOption = Annotated[
    str | None,
    typer.Option(metavar="F", help="Stop-loss under every entry, as a fraction of its fill price (0.03 = 3 %)."),
]
TakeProfitOption = Annotated[
    str | None,
    typer.Option(metavar="F", help="Take-profit over every entry, as a fraction of its fill price (0.06 = 6 %)."),
]
TrailingStopOption = Annotated[
    str | None,
    typer.Option(metavar="F", help="Trailing stop under every entry: F below the highest close since (0.05 = 5 %)."),
]
AllowShortOption = Annotated[
    bool,
    typer.Option(
        "--allow-short",
        help="Let the strategy go short (Decision.short; the built-ins stop and reverse). Without it, "
        "a SELL only ever closes a long.",
    ),
]
AmountStepOption = Annotated[
    str | None,
    typer.Option(
        metavar="STEP",
        help="Quantities are rounded down to this step (default: the market cached for stored candles, "
        "else 0.00000001).",
    ),
]
MinNotionalOption = Annotated[
    str | None,
    typer.Option(
        metavar="AMOUNT",
        help="Smallest order value in the quote currency; smaller buys and sells are not made (default: the "
        "market cached for stored candles, else 0).",
    ),
]
FillOption = Annotated[
    str,
    typer.Option(
        metavar="close|book",
        help="How LIVE and DRY ticks fill market orders: at the candle's close (as backtest and replay), "
        "or by walking the exchange's order book (capped at --max-slippage from the close; the rest is cancelled).",
    ),
]
MaxSlippageOption = Annotated[
    str,
    typer.Option(
        metavar="FRACTION",
        help="With --fill book: how far from the decided candle's close a market order may walk the book "
        "(above 0, below 0.5; 0.05 = 5 %); what lies beyond is not filled.",
    ),
]
MaintenanceMarginOption = Annotated[
    str,
    typer.Option(
        metavar="RATE",
        help="Maintenance margin as a fraction of a position's notional: it is liquidated when its margin "
        "plus unrealized PnL falls to this (0 to below 0.5).",
    ),
]
LeverageOption = Annotated[
    str,
    typer.Option(
        metavar="X",
        help="Leverage of new entries, 1 to 125 (1: spot). Above 1 an entry puts up notional / X as margin "
        "and a fractional size applies to equity x X.",
    ),
]
LiquidationFeeOption = Annotated[
    str,
    typer.Option(
        metavar="RATE", help="Fee of a liquidation, instead of the trading fee, as a fraction of its notional."
    ),
]


def parse_time(text: str | None, option: str) -> int | None:
    """A candle time given as integer milliseconds or an ISO date/time (UTC unless it says)."""
    if text is None:
        return None
    from datetime import UTC, datetime

    from papertrade.errors import InputError

    if text.strip().lstrip("-").isdigit() and text.isascii():
        ms = int(text)
    else:
        try:
            moment = datetime.fromisoformat(text.strip())
        except ValueError:
            raise InputError(
                f"{option} takes milliseconds or an ISO time like 2021-03-01T12:00, not {text!r}"
            ) from None
        if moment.tzinfo is None:
            moment = moment.replace(tzinfo=UTC)
        ms = int(moment.timestamp() * 1000)
    if not 0 <= ms <= LATEST_MS:
        raise InputError(f"{option} {text!r} is not a time between 1970 and 9999")
    return ms


def parse_range(start: str | None, end: str | None) -> tuple[int | None, int | None]:
    """`--from` and `--to` as candle times; `InputError` when `--from` is after `--to`. (A range
    in which the candles have none, such as one in the future, is refused where they are known.)"""
    from papertrade.errors import InputError

    first, last = parse_time(start, "--from"), parse_time(end, "--to")
    if first is not None and last is not None and first > last:
        raise InputError(f"--from {start} is after --to {end}")
    return first, last


class progress:
    """A progress bar on stderr when it is a terminal; nothing otherwise."""

    def __init__(self, total: int, quiet: bool = False) -> None:
        self._bar = None
        if not quiet and sys.stderr.isatty() and total > 0:
            self._bar = typer.progressbar(length=total, label="replaying", file=sys.stderr)

    def __enter__(self):
        if self._bar is None:
            return lambda done: None
        self._bar.__enter__()
        state = {"done": 0}

        def advance(done: int) -> None:
            self._bar.update(done - state["done"])
            state["done"] = done

        return advance

    def __exit__(self, *exc_info) -> None:
        if self._bar is not None:
            self._bar.__exit__(*exc_info)
