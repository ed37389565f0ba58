"""The report model: how a portfolio did, as equity marked to market at every processed candle,
round-trip trades and per-symbol PnL, built the same way from the ledger (paper, by
`papertrade.services.reports`) and from a backtest (`papertrade.services.backtest`)."""

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import TYPE_CHECKING

from papertrade.domain.money import ZERO, divide_to_ledger, exact

if TYPE_CHECKING:
    import numpy as np


@dataclass(frozen=True, slots=True)
class FillRow:
    candle_ts: int
    symbol: str
    side: str
    quantity: Decimal
    price: Decimal
    fee: Decimal
    notional: Decimal
    realized_pnl: Decimal
    kind: str = "signal"  # what made the fill: "signal" or a resting order's kind
    floored: Decimal = Decimal(0)  # the loss the cash could not pay (`domain.ledger`)
    reference: Decimal | None = None  # the close decided on, or the resting order's level


#: The fills that rest on the book at their own level and pay the maker's rate; all others take.
MAKER_KINDS = ("limit", "take-profit")


@dataclass(frozen=True, slots=True)
class RoundTrip:
    """A position's entry and one fill that closed it or a part of it: a SELL of a long, a BUY
    covering a short (papertrade holds one position per symbol; a scaled-in entry counts at its
    average price, from its first fill)."""

    symbol: str
    entry_ts: int
    exit_ts: int
    size: Decimal
    entry_price: Decimal
    exit_price: Decimal
    commissions: Decimal
    pnl: Decimal  # after both fees
    exit_kind: str = "signal"
    side: str = "long"  # or "short"

    @property
    def return_pct(self) -> float:
        """backtesting.py's trade return: price change (against a short) minus commissions per
        unit of entry value."""
        gross = float(self.exit_price) / float(self.entry_price) - 1
        if self.side == "short":
            gross = -gross
        return gross - float(self.commissions) / (float(self.size) * float(self.entry_price))


@dataclass(frozen=True, slots=True)
class SymbolPnl:
    symbol: str
    quantity: Decimal
    avg_cost: Decimal
    last_price: Decimal | None
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    fees_paid: Decimal


class EquitySeries(Sequence[Decimal]):
    """Equity at every processed candle: exact `Decimal`s on demand, floats for statistics.

    A paper portfolio's equity is a list of exact values; a backtest over hundreds of thousands
    of candles computes its floats in one go and an exact value only where one is asked for.
    """

    def __init__(
        self,
        floats: "np.ndarray",
        exact_at: Callable[[int], Decimal],
        exact_texts: Callable[[], list[str]] | None = None,
    ) -> None:
        self._floats = floats
        self._exact_at = exact_at
        self._exact_texts = exact_texts

    @classmethod
    def of(cls, values: Sequence[Decimal]) -> "EquitySeries":
        import numpy as np

        values = list(values)
        return cls(np.array([float(v) for v in values], dtype=float), values.__getitem__)

    def floats(self) -> "np.ndarray":
        return self._floats

    def texts(self) -> list[str]:
        """Every exact value as plain text (`money.to_plain`), in one go: what `equity_curve`
        prints; a backtest computes them segment by segment, faster than one by one."""
        if self._exact_texts is not None:
            return self._exact_texts()
        from papertrade.domain.money import to_plain

        return [to_plain(self[i]) for i in range(len(self))]

    def __len__(self) -> int:
        return len(self._floats)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        if index < 0:
            index += len(self)
        if not 0 <= index < len(self):
            raise IndexError(index)
        return self._exact_at(index)

    def peak(self) -> Decimal:
        """The exact highest value (floats locate it; near-ties are settled exactly)."""
        import numpy as np

        top = self._floats.max()
        candidates = np.flatnonzero(self._floats >= top - abs(top) * 1e-9)
        return max(self[int(i)] for i in candidates)


@dataclass(frozen=True)
class Warmup:
    """The candles before a backtest's `--from` that warmed its strategy up: `candles` of the
    `needed` ones (fewer when the data start later: the strategy then warms up on the first
    candles of the range and decides later)."""

    start_ts: int  # the first candle traded
    candles: int
    needed: int

    @property
    def enough(self) -> bool:
        return self.candles >= self.needed


@dataclass
class Performance:
    """Everything the report needs; `times[i]` is the open time of the i-th processed candle.

    `prices[symbol]` holds the closes the portfolio saw, as (open times, float closes).
    """

    quote: str
    initial_cash: Decimal
    cash: Decimal | None = None  # at the end
    times: Sequence[int] = field(default_factory=list)
    equity: EquitySeries = field(default_factory=lambda: EquitySeries.of([]))
    in_market: Sequence[bool] = field(default_factory=list)
    fills: list[FillRow] = field(default_factory=list)
    symbols: list[SymbolPnl] = field(default_factory=list)
    prices: dict[str, tuple[Sequence[int], Sequence[float]]] = field(default_factory=dict)
    first_trading_ts: int | None = None
    warmup: Warmup | None = None  # a backtest from `--from`: the candles before it that warmed it up
    name: str = ""  # the portfolio's, for a paper portfolio
    _trips: tuple | None = field(default=None, repr=False, compare=False)  # round_trips(), worked out
    #: A backtest's entries refused as nonsense, (candle_ts, why) in candle order (None: a paper
    #: portfolio's report, whose refusals are in its ticks' reasons).
    refused: list[tuple[int, str]] | None = None
    #: The funding payments of swap positions (`papertrade.domain.funding.FundingPayment`), in order.
    funding: list = field(default_factory=list)

    @property
    def fees(self) -> Decimal:
        with exact():
            return sum((f.fee for f in self.fills), ZERO)

    def fees_by_liquidity(self) -> tuple[Decimal, Decimal]:
        """The fees of maker fills (resting limits, take-profits) and of taker fills (the rest)."""
        with exact():
            maker = sum((f.fee for f in self.fills if f.kind in MAKER_KINDS), ZERO)
            return maker, self.fees - maker

    def slippage(self) -> tuple[Decimal, Decimal | None]:
        """What the fills paid against their reference prices (the close decided on, a resting
        order's level), in the quote currency (positive: a cost), and on average in basis points
        of their notional at the reference (None without a fill that has a reference)."""
        cost = at_reference = ZERO
        with exact():
            for fill in self.fills:
                if fill.reference is None:
                    continue
                moved = fill.price - fill.reference if fill.side == "BUY" else fill.reference - fill.price
                cost += moved * fill.quantity
                at_reference += fill.reference * fill.quantity
        return cost, (divide_to_ledger(cost * 10_000, at_reference) if at_reference else None)

    @property
    def funding_paid(self) -> Decimal:
        """Net funding paid (negative: received)."""
        with exact():
            return -sum((payment.amount for payment in self.funding), ZERO)

    def exits_by_kind(self) -> dict[str, int]:
        """How many exits (fills that close a long or a short) each kind made: "signal",
        "stop-loss", "take-profit", "trailing-stop"."""
        counts: dict[str, int] = {}
        for trip in self.round_trips():
            counts[trip.exit_kind] = counts.get(trip.exit_kind, 0) + 1
        return counts

    def round_trips(self) -> list[RoundTrip]:
        """Every closing fill as a round trip against the open entry's share it closes: a fill
        on the lot's own side (or with no lot open) adds to it, one on the other side closes.
        Worked out once per list of fills (the report asks for them several times)."""
        key = (id(self.fills), len(self.fills))
        if self._trips is None or self._trips[0] != key:
            self._trips = (key, self._matched_trips())
        return list(self._trips[1])

    def _matched_trips(self) -> list[RoundTrip]:
        opened: dict[str, _OpenLot] = {}
        trips = []
        for fill in self.fills:
            lot = opened.get(fill.symbol)
            if lot is None or lot.entry_side == fill.side:
                opened.setdefault(fill.symbol, _OpenLot(fill.candle_ts, fill.side)).add(fill)
                continue
            trips.append(lot.close(fill))
            if lot.quantity <= 0:
                del opened[fill.symbol]
        return trips


@dataclass
class _OpenLot:
    """What is left of a position's entries: quantity, notional and fees not yet closed."""

    entry_ts: int
    entry_side: str = "BUY"  # "SELL" for a short
    quantity: Decimal = ZERO
    notional: Decimal = ZERO
    fees: Decimal = ZERO
    price: Decimal | None = None  # the entry price: its fill's, or the average of several

    def add(self, fill: FillRow) -> None:
        self.price = (
            fill.price
            if self.price is None
            else divide_to_ledger(self.notional + fill.notional, self.quantity + fill.quantity)
        )
        with exact():
            self.quantity += fill.quantity
            self.notional += fill.notional
            self.fees += fill.fee

    def close(self, fill: FillRow) -> RoundTrip:
        if fill.quantity >= self.quantity:
            notional, fees, size = self.notional, self.fees, self.quantity
        else:
            notional = divide_to_ledger(self.notional * fill.quantity, self.quantity)
            fees = divide_to_ledger(self.fees * fill.quantity, self.quantity)
            size = fill.quantity
        entry_price = self.price
        with exact():
            self.quantity -= size
            self.notional -= notional
            self.fees -= fees
            commissions = fees + fill.fee
            gross = fill.notional - notional if self.entry_side == "BUY" else notional - fill.notional
            pnl = gross - commissions
        side = "long" if self.entry_side == "BUY" else "short"
        return RoundTrip(fill.symbol, self.entry_ts, fill.candle_ts, size, entry_price, fill.price, commissions, pnl,
                         fill.kind, side)  # fmt: skip


def equity_floats(symbols, close_f, cash_f, held_f):
    """Equity at every tick row as floats, and whether anything was held after it.

    Returns (symbol -> index of its latest row at or before each row, -1 before its first;
    equity per row; holding per row). Rows are in time order, one symbol each.
    """
    import numpy as np

    count, names = len(symbols), np.asarray(symbols, dtype=object)
    latest = {
        symbol: np.maximum.accumulate(np.where(names == symbol, np.arange(count), -1))
        for symbol in dict.fromkeys(symbols)
    }
    equity, holding = np.array(cash_f, dtype=float), np.zeros(count, dtype=bool)
    for at in latest.values():
        seen = at >= 0
        equity += np.where(seen, held_f[at] * close_f[at], 0.0)
        holding |= seen & (held_f[at] > 0)
    return latest, equity, holding


def run_ends(ts):
    """Index of the last row of each run of equal candle times (one equity point per candle)."""
    import numpy as np

    return np.flatnonzero(np.r_[ts[1:] != ts[:-1], True]) if len(ts) else np.arange(0)


def with_unticked_candles(columns, unticked: dict) -> tuple:
    """The tick columns (symbols, times, closes, cash after, held after, warming; see
    `TickRepository.equity_columns`) with a row for every unticked candle (`unticked`: symbol ->
    stored `Bar`s no tick processed) among them, in time order (a candle after the ticks of
    its own time): its close, the cash after the latest tick before it, the position after its
    symbol's latest tick before it (0 before the first), and "warming" (no decision was made on it)."""
    import numpy as np

    if not unticked:
        return columns
    symbols, times, closes, cash_after, held_after, warming = columns
    extra = [(symbol, bar) for symbol, bars in unticked.items() for bar in bars]
    count = len(times)
    all_symbols = np.r_[np.asarray(symbols, dtype=object), np.array([s for s, _ in extra], dtype=object)]
    all_times = np.r_[np.asarray(times, dtype=np.int64), np.array([b.ts for _, b in extra], dtype=np.int64)]
    order = np.lexsort((np.arange(len(all_times)), np.arange(len(all_times)) >= count, all_times))
    is_tick, merged_symbols = order < count, all_symbols[order]
    tick_at = np.maximum.accumulate(np.where(is_tick, order, -1))
    own = np.full(len(order), -1)
    for symbol in unticked.keys() | set(merged_symbols[is_tick].tolist()):
        mine = merged_symbols == symbol
        own[mine] = np.maximum.accumulate(np.where(is_tick & mine, order, -1))[mine]
    close_f = np.r_[np.asarray(closes, dtype=float), [float(b.close) for _, b in extra]][order]
    held_f = np.where(own >= 0, np.asarray(held_after, dtype=float)[np.maximum(own, 0)], 0.0)

    def close_at(i: int):
        at = int(order[i])
        return closes[at] if at < count else extra[at - count][1].close

    return (
        merged_symbols,
        all_times[order],
        MergedColumn(close_f, close_at),
        MergedColumn(np.asarray(cash_after, dtype=float)[tick_at], lambda i: cash_after[int(tick_at[i])]),
        MergedColumn(held_f, lambda i: held_after[int(own[i])] if own[i] >= 0 else ZERO),
        np.where(is_tick, np.asarray(warming, dtype=bool)[np.minimum(order, count - 1)], True),
    )


class MergedColumn:
    """A column of amounts: floats for `numpy.asarray`, row i's exact value from `exact_at(i)`."""

    def __init__(self, floats, exact_at: Callable[[int], object]) -> None:
        self._floats = floats
        self._exact_at = exact_at

    def __len__(self) -> int:
        return len(self._floats)

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        return np.asarray(self._floats, dtype=dtype)

    def __getitem__(self, index: int):
        return self._exact_at(index)
