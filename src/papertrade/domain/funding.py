"""Funding of perpetual swaps: the one rule, shared by ticks, replays and backtests, that makes
each open position pay or receive funding at each funding time.

- A swap symbol is a ccxt unified symbol with a settle currency, `BTC/USDT:USDT`; only those
  are funded. Binance settles most USDⓈ-M perpetuals every 8 hours, at 00:00, 08:00 and 16:00
  UTC; papertrade uses the funding times the rate history carries, whatever its schedule.
- A funding time F is booked on the candle whose close reaches it for the first time: on a
  candle opening at `ts` that follows the candle opening at `previous_ts`, every F with
  previous_ts + timeframe < F <= ts + timeframe (ts < F <= ts + timeframe for the first candle
  of a series). So funding at 08:00 falls on a 1h candle's 07:00-08:00 candle, and funding
  times in missing candles (an exchange outage, cron not running) fall on the next candle.
- On that candle it comes after the candle's resting-order fills and liquidation (they happened
  before its close) and before the strategy's decision at its close: a position opened at the
  close of the candle ending at F pays nothing at F; one closed by a stop during it pays nothing.
- Amount received = -signed quantity x mark price x rate (a long pays a positive rate, a short
  receives it), rounded down to the ledger's places (against the trader: a payment rounds up,
  a receipt down). The mark price is the one the rate history carries with the rate (Binance's
  `markPrice`); when it carries none, the close of the candle the funding is booked on (the
  candle ending at F, when the timeframe divides 8 hours).
- Cash never goes below zero: a payment larger than the cash takes the cash to zero and the
  part it could not pay is recorded as `floored`, as a short's cover does.
"""

from bisect import bisect_left, bisect_right
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_FLOOR, Decimal

from papertrade.domain.bars import Bar
from papertrade.domain.ledger import Book
from papertrade.domain.money import exact, round_to_ledger

#: Binance's funding interval for most USDⓈ-M perpetuals (the synthetic test series uses it).
FUNDING_INTERVAL_MS = 8 * 3_600_000


def is_swap(symbol: str) -> bool:
    """Whether `symbol` is a ccxt swap symbol (`BASE/QUOTE:SETTLE`), whose positions are funded."""
    return ":" in symbol


@dataclass(frozen=True, slots=True)
class FundingRate:
    """The funding rate settled at `ts` (ms, UTC), and the mark price the exchange gave with it."""

    ts: int
    rate: Decimal
    mark_price: Decimal | None = None


@dataclass(frozen=True, slots=True)
class FundingPayment:
    """What one position received at one funding time: `amount` (negative when it paid), on the
    candle opening at `candle_ts`. `floored` is the part of a payment the cash could not pay."""

    symbol: str
    ts: int
    candle_ts: int
    quantity: Decimal  # the signed position at the funding time
    mark_price: Decimal
    rate: Decimal
    amount: Decimal
    cash_after: Decimal
    floored: Decimal


def funding_amount(quantity: Decimal, mark_price: Decimal, rate: Decimal) -> Decimal:
    """What a position of signed `quantity` receives: -quantity x mark x rate, rounded down."""
    with exact():
        raw = -quantity * mark_price * rate
    return round_to_ledger(raw, ROUND_FLOOR)


def funding_window(bar_ts: int, previous_ts: int | None, step_ms: int) -> tuple[int, int]:
    """The funding times booked on the candle opening at `bar_ts`: (after, until], exclusive then
    inclusive (see the module docstring)."""
    after = bar_ts if previous_ts is None else previous_ts + step_ms
    return after, bar_ts + step_ms


@dataclass(frozen=True, slots=True)
class FundingSchedule:
    """A symbol's funding rates, oldest first, one per funding time."""

    rates: tuple[FundingRate, ...] = ()
    times: tuple[int, ...] = ()

    @classmethod
    def of(cls, rates: Iterable[FundingRate]) -> "FundingSchedule":
        ordered = tuple(sorted({rate.ts: rate for rate in rates}.values(), key=lambda rate: rate.ts))
        return cls(ordered, tuple(rate.ts for rate in ordered))

    def __bool__(self) -> bool:
        return bool(self.rates)

    def due(self, after: int, until: int) -> tuple[FundingRate, ...]:
        """The rates with after < ts <= until."""
        return self.rates[bisect_right(self.times, after) : bisect_right(self.times, until)]

    def candles(self, times: Sequence[int], step_ms: int) -> list[int]:
        """The indexes of the candles (opening at `times`, oldest first) that book a funding
        time: for each, the first candle whose close reaches it."""
        if not times:
            return []
        closes = [ts + step_ms for ts in times]
        indexes = {bisect_left(closes, ts) for ts in self.times if ts > times[0]}
        return sorted(i for i in indexes if i < len(times))


NO_FUNDING = FundingSchedule()


def settle(book: Book, symbol: str, schedule: FundingSchedule, bar: Bar, previous_ts: int | None,
           step_ms: int) -> list[FundingPayment]:  # fmt: skip
    """Book the funding of `symbol`'s position for every rate due on `bar` (see the module
    docstring) and say what was paid; nothing when the position is flat."""
    position = book.positions.get(symbol)
    if position is None or not position.is_open or not schedule:
        return []
    payments = []
    for rate in schedule.due(*funding_window(bar.ts, previous_ts, step_ms)):
        mark = rate.mark_price if rate.mark_price is not None else bar.close
        amount = funding_amount(position.quantity, mark, rate.rate)
        cash_after, floored = book.apply_funding(symbol, amount)
        payments.append(FundingPayment(symbol, rate.ts, bar.ts, position.quantity, mark, rate.rate, amount,
                                       cash_after, floored))  # fmt: skip
    return payments


def scheduled_times(after: int, until: int) -> range:
    """The times of Binance's 8-hour schedule (00:00, 08:00, 16:00 UTC) with after < ts <= until."""
    first = (after // FUNDING_INTERVAL_MS + 1) * FUNDING_INTERVAL_MS
    return range(first, until + 1, FUNDING_INTERVAL_MS)


def missing_times(schedule: FundingSchedule, after: int, until: int) -> list[int]:
    """The scheduled funding times in (after, until] that `schedule` has no rate for."""
    known = set(schedule.times)
    return [ts for ts in scheduled_times(after, until) if ts not in known]
