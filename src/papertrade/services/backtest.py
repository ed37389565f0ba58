"""Backtest: the live tick's strategy, warm-up, fill model and resting orders, over a candle
file, in memory.

Every candle of the file is gone through exactly as a replay (or a cron tick at that candle's
close) would: the resting orders are filled on it by the same `Desk`, the strategy sees the
same window of closed candles, and its decision is carried out by the same `Desk` and booked by
the same ledger code. Nothing is written to a database.

A strategy with `decide_series` is evaluated for all candles at once, and then only the candles
where something can change are visited: a BUY signal while flat, a SELL signal while holding,
and, while orders rest, the candles whose prices could fill, expire or move one (a cheap float
test that never misses what the exact rule would do). Every other candle is a HOLD with no
resting order touched, so skipping it changes nothing but the time taken.
"""

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from functools import partial
from itertools import pairwise

from papertrade.adapters.csv_candles import HEADER, CandleColumns
from papertrade.domain.bars import Bar
from papertrade.domain.desk import Desk, DeskFill
from papertrade.domain.fills import FillModel, Market
from papertrade.domain.funding import NO_FUNDING, FundingPayment, FundingSchedule
from papertrade.domain.ledger import Book, Side
from papertrade.domain.margin import SPOT, MarginRules, liquidation_price
from papertrade.domain.money import exact, to_plain
from papertrade.domain.orders import NO_EXITS, Exits, OrderKind
from papertrade.domain.signals import Decision, PositionView, Signal
from papertrade.reports.model import EquitySeries, FillRow, Performance, SymbolPnl, Warmup
from papertrade.strategies.base import SignalSeries, Strategy
from papertrade.strategies.candle_frame import NAMES, CandleFrame, CandleSource
from papertrade.strategies.runner import CandleArrays, call_series, call_strategy


@dataclass(frozen=True, slots=True)
class SettingsFrom:
    """Settings a backtest trades with from the candle opening at `from_ts` on: what a paper
    portfolio's `portfolio set` changed between two ticks (`report --vs-backtest`)."""

    from_ts: int
    strategy: Strategy
    fills: FillModel
    exits: Exits
    margin: MarginRules | None = None  # None: unchanged (its leverage is that of new entries)


def backtest(
    candles: CandleColumns,
    strategy: Strategy,
    fills: FillModel,
    cash: Decimal,
    symbol: str,
    quote: str = "USD",
    exits: Exits = NO_EXITS,
    market: Market | None = None,
    allow_short: bool = False,
    margin: MarginRules = SPOT,
    start: int | None = None,
    funding: FundingSchedule = NO_FUNDING,
    changes: Sequence[SettingsFrom] = (),
) -> Performance:
    """Run `strategy` over every candle of `candles`, starting with `cash`; `exits` are the
    portfolio's protective exits, attached to every entry whose decision sets none. `market`
    (its amount step and minimums) defaults to one with steps of 1e-8 and no minimum order.
    `allow_short` lets the strategy go short, as `create-portfolio --allow-short` does; `margin`
    says when a position is liquidated; `funding` holds a swap's funding rates, booked at each
    funding time while a position is open (`papertrade.domain.funding`).

    With `start` (ms), trading starts at the first candle opening then, and the candles before
    it only warm the strategy up, as the stored candles before a replay's first tick do: as
    many as its lookback holds (every one for a strategy that sees all). The performance covers
    the candles from `start` on, and says in `warmup` how many candles warmed it up.

    `changes` (oldest first) replace the strategy, fill model and exits from a candle on, as
    a paper portfolio's settings changed; the candles are then visited one by one."""
    candles, warmup = _with_warmup(candles, strategy, start)
    frame = candles.frame()
    by_series = not changes and (strategy.series_reverses or not allow_short)
    series = call_series(strategy, frame) if by_series else None
    market = market or Market.unrestricted(symbol)
    book = Book(cash, cash, allow_short=allow_short)
    desk = Desk(book, market, fills, [], candles.timeframe.ms, exits, allow_short=allow_short, margin=margin,
                funding=funding)  # fmt: skip
    desk.book.position(symbol)
    funded = _funding_mask(candles, funding)
    before = warmup.candles if warmup is not None else 0
    first = max(_first_decision(strategy, len(candles)), before)
    if series is None:
        _step_by_step(candles, CandleSource(candles.ts, candles.floats), strategy, desk, first, funded,
                      list(changes))  # fmt: skip
    else:
        _by_signals(candles, series, desk, first, funded)
    traded = candles.between(warmup.start_ts, None) if warmup is not None else candles
    performance = _performance(traded, desk.log, desk.book, cash, symbol, quote, first - before)
    performance.refused = desk.refused
    performance.warmup = warmup
    return performance


def warmup_needed(strategy: Strategy) -> int:
    """Candles before the first traded one that give the strategy, on that one, the window a
    tick would: its lookback less one, or its warm-up less one when it sees every candle."""
    return max(strategy.warmup, strategy.lookback or 0) - 1


def _with_warmup(candles: CandleColumns, strategy: Strategy, start: int | None) -> tuple:
    """The candles from those warming the strategy up before `start`, and the `Warmup`."""
    import numpy as np

    if start is None:
        return candles, None
    at = int(np.searchsorted(candles.ts, start, "left"))
    needed = warmup_needed(strategy)
    used = at if strategy.lookback is None else min(at, needed)
    start_ts = int(candles.ts[at]) if at < len(candles) else start
    kept = candles.between(int(candles.ts[at - used]), None) if used else candles.between(start, None)
    return kept, Warmup(start_ts, used, needed)


def _first_decision(strategy: Strategy, count: int) -> int:
    """Index of the first candle with the strategy's warm-up behind it (`count` if none)."""
    first = strategy.warmup - 1
    if strategy.lookback is not None and strategy.lookback < strategy.warmup:
        return count  # its window never holds its warm-up: it only ever warms up
    return min(max(first, 0), count)


def _by_signals(candles: CandleColumns, series: SignalSeries, desk: Desk, first: int, funded) -> None:
    import numpy as np

    eligible = np.arange(len(candles)) >= first
    acts = _acting_masks(series, eligible, desk.allow_short)
    wanted = {side: np.flatnonzero(mask) for side, mask in acts.items()}
    position, i = desk.book.positions[desk.symbol], first
    while i < len(candles):
        side = position.side
        if _watched(desk):  # something rests: on to the next candle that could fill, move or expire it
            i = _next_candle_that_matters(candles, desk, acts[side], i, funded)
            if i == len(candles):
                return
            desk.on_candle(_bar(candles, i), _previous_ts(candles, i))
            act = bool(acts[position.side][i])
        else:  # nothing rests: straight to the next candle whose signal can act
            at = int(wanted[side].searchsorted(i))
            if at == len(wanted[side]):
                return
            i, act = int(wanted[side][at]), True
        if act:
            desk.act(_series_decision(series, i, position.side, desk.allow_short), _bar(candles, i))
        i += 1


def _acting_masks(series: SignalSeries, eligible, allow_short: bool) -> dict:
    """For each side of the position, the candles where the strategy's answer acts: long only,
    a BUY signal while flat and a SELL signal while long; with shorts (stop and reverse), a BUY
    signal unless long and a SELL signal (a short) unless short."""
    buy, sell = series.buy & eligible, series.sell & eligible
    if not allow_short:
        return {"flat": buy, "long": sell, "short": buy & False}
    return {"flat": buy | sell, "long": sell, "short": buy}


def _series_decision(series: SignalSeries, i: int, side: str, allow_short: bool) -> Decision:
    """What `decide` answers on candle i with the position on `side` (see `_acting_masks`)."""
    indicators = {name: float(values[i]) for name, values in series.indicators.items()}
    if series.buy[i] and side != "long":
        return Decision(Signal.BUY, "", indicators)
    if allow_short:
        return Decision.short(indicators=indicators)
    return Decision(Signal.SELL, "", indicators)


def _next_candle_that_matters(candles: CandleColumns, desk: Desk, acts, start: int, funded=None) -> int:
    """The first candle from `start` on where the signal acts or a resting order could fill,
    expire or move (`len(candles)` if none), scanning in growing blocks. Nothing happens on the
    candles skipped: no order is touched and the position, hence the signal wanted, stays."""
    import numpy as np

    size = 64
    while start < len(candles):
        stop = min(start + size, len(candles))
        matters = acts[start:stop].copy()
        for order in desk.orders:
            matters |= _could_change(order, candles, start, stop)
        matters |= _could_liquidate(desk, candles, start, stop)
        matters |= _could_fund(desk, funded, start, stop)
        hits = np.flatnonzero(matters)
        if len(hits):
            return start + int(hits[0])
        start, size = stop, min(size * 2, 8192)
    return len(candles)


def _could_change(order, candles: CandleColumns, start: int, stop: int):
    """Whether candles start..stop-1 could fill, expire or move `order`: a cheap, conservative
    float test, never False where the exact rule (the desk) would act, so a backtest can skip
    the candles where nothing can happen. Float rounding is monotonic, so comparing rounded
    values never hides a touch; the trailing test leaves a margin for the product's rounding
    (tests/unit/test_orders.py checks it against the exact rule on real candles)."""
    level, floats = float(order.price), candles.floats
    buys = order.side is Side.BUY
    if buys == (order.kind in (OrderKind.LIMIT, OrderKind.TAKE_PROFIT)):  # met on the way down
        mask = floats["low"][start:stop] <= level
    else:
        mask = floats["high"][start:stop] >= level
    if order.kind is OrderKind.TRAILING_STOP and buys:  # a short's: lowered to close x (1 + trail)
        mask |= floats["close"][start:stop] * (1 + float(order.trail)) <= level * (1 + 1e-9)
    elif order.kind is OrderKind.TRAILING_STOP:
        mask |= floats["close"][start:stop] * (1 - float(order.trail)) >= level * (1 - 1e-9)
    if order.expires_ts is not None:
        mask |= candles.ts[start:stop] > order.expires_ts
        mask |= _after_a_gap(candles, start, stop, order.expires_ts)
    return mask


def _watched(desk: Desk) -> bool:
    """Whether a candle could change something: an order rests, the position could be
    liquidated, or it is open on a funded swap."""
    position = desk.book.position(desk.symbol)
    return (
        bool(desk.orders)
        or liquidation_price(position, desk.margin) is not None
        or (bool(desk.funding) and position.is_open)
    )


def _funding_mask(candles: CandleColumns, funding: FundingSchedule):
    """Which candles book a funding time (`FundingSchedule.candles`), or None without funding."""
    import numpy as np

    if not funding:
        return None
    mask = np.zeros(len(candles), dtype=bool)
    mask[funding.candles(candles.ts.tolist(), candles.timeframe.ms)] = True
    return mask


def _could_fund(desk: Desk, mask, start: int, stop: int):
    """Whether candles start..stop-1 book funding (`mask`: `_funding_mask`) of an open position."""
    import numpy as np

    if mask is None or not desk.book.position(desk.symbol).is_open:
        return np.zeros(stop - start, dtype=bool)
    return mask[start:stop]


def _could_liquidate(desk: Desk, candles: CandleColumns, start: int, stop: int):
    """Whether candles start..stop-1 could reach the position's liquidation price (the same
    conservative float test as `_could_change`)."""
    import numpy as np

    position = desk.book.position(desk.symbol)
    level = liquidation_price(position, desk.margin)
    if level is None:
        return np.zeros(stop - start, dtype=bool)
    if position.is_short:
        return candles.floats["high"][start:stop] >= float(level)
    return candles.floats["low"][start:stop] <= float(level)


def _resting_orders_on(candles: CandleColumns, desk: Desk, i: int, funded=None) -> bool:
    """Let the desk fill, expire and move resting orders (and liquidate) on candle i, when its
    prices could; whether it did."""
    if (
        any(_could_change(order, candles, i, i + 1)[0] for order in desk.orders)
        or _could_liquidate(desk, candles, i, i + 1)[0]
        or _could_fund(desk, funded, i, i + 1)[0]
    ):
        desk.on_candle(_bar(candles, i), _previous_ts(candles, i))
        return True
    return False


def _after_a_gap(candles: CandleColumns, start: int, stop: int, expires_ts: int):
    """Which of candles start..stop-1 follow missing candles, the first of them by `expires_ts`:
    those move the order's expiry (`orders.expiry_over_gap`)."""
    import numpy as np

    before = candles.ts[max(start - 1, 0) : stop - 1]
    if start == 0:
        before = np.r_[candles.ts[0], before]  # the first candle follows nothing
    step = candles.timeframe.ms
    return (candles.ts[start:stop] - before > step) & (before + step <= expires_ts)


def _previous_ts(candles: CandleColumns, i: int) -> int | None:
    """The open time of the candle before candle i, as a tick knows it (None for the first)."""
    return int(candles.ts[i - 1]) if i > 0 else None


def _bar(candles: CandleColumns, i: int) -> Bar:
    """Candle i with its exact prices, as a tick would have it."""
    return candles.bar(i)


def _step_by_step(
    candles: CandleColumns,
    source: CandleSource,
    strategy: Strategy,
    desk: Desk,
    first: int,
    funded=None,
    changes: list | None = None,
) -> None:
    """For strategies without `decide_series`: `decide` on every candle's window, as a tick would.
    Before `first` a tick only warms up (a HOLD: no order rests, no position to liquidate); the
    position's view, and whether a candle's prices could change something (`_watched`), are
    worked out again only after the desk did something, since nothing else changes them. Each
    of `changes` takes over on its first candle, before anything happens on it."""
    position, window, lookback = desk.book.positions[desk.symbol], _windows(source, strategy), strategy.lookback
    view = watched = None
    for i in range(first, len(candles)):
        while changes and changes[0].from_ts <= candles.ts[i]:
            change = changes.pop(0)
            strategy, desk.fills, desk.exits = change.strategy, change.fills, change.exits
            desk.margin = change.margin or desk.margin
            window, lookback = _windows(source, strategy), strategy.lookback
        if watched is None:
            watched = _watched(desk)
        if watched and _resting_orders_on(candles, desk, i, funded):
            view = watched = None
        if view is None:
            view = PositionView(desk.symbol, position.quantity, position.avg_cost, tuple(desk.orders), desk.allow_short)
        start = 0 if lookback is None else max(0, i + 1 - lookback)
        decision = call_strategy(strategy, window(start, i + 1), view, int(candles.ts[i]))
        if decision.signal is not Signal.HOLD or decision.cancel:
            desk.act(decision, _bar(candles, i))
            view = watched = None


def _windows(source: CandleSource, strategy: Strategy):
    """`(start, stop) -> rows start..stop-1` as `strategy.decide` takes them (see
    `Strategy.candles_as`): views of columns made once for the whole file, never a DataFrame or
    an index per candle."""
    if strategy.candles_as == "arrays":
        return partial(_ArrayRows, source.arrays)
    return partial(CandleFrame, source)


class _ArrayRows(CandleArrays):
    """`CandleArrays` of rows start..stop-1 of whole-file columns, each column cut when first
    read: a strategy reading only the closes pays for one slice, not six."""

    __slots__ = ("_columns", "_start", "_stop")

    def __init__(self, columns: dict, start: int, stop: int) -> None:
        self._columns, self._start, self._stop = columns, start, stop

    def __len__(self) -> int:
        return self._stop - self._start


def _cut(name: str) -> property:
    def column(rows: _ArrayRows):
        return rows._columns[name][rows._start : rows._stop]

    return property(column, doc=f"The rows' {name} column (read-only numpy).")


for _name in NAMES:
    setattr(_ArrayRows, _name, _cut(_name))


def _performance(candles, log: list, book, cash, symbol, quote, first) -> Performance:
    import numpy as np

    filled = [entry for entry in log if isinstance(entry, DeskFill)]
    changes = [entry for entry in log if isinstance(entry, DeskFill | FundingPayment)]  # what moved the cash
    count, closes = len(candles), candles.floats["close"]
    indices = [int(i) for i in np.searchsorted(candles.ts, [f.candle_ts for f in changes])]
    starts = [0, *indices]
    cash_after = [cash, *_equity_cash(changes)]  # equity = this + held x close
    held_after = [Decimal(0)] + [_held_after(f) for f in changes]
    lengths = np.diff(np.r_[starts, count])
    cash_f = np.repeat(np.array([float(c) for c in cash_after]), lengths)
    held_f = np.repeat(np.array([float(q) for q in held_after]), lengths)

    def exact_at(i: int) -> Decimal:
        segment = bisect_right(starts, i) - 1
        with exact():
            return cash_after[segment] + held_after[segment] * candles.exact(i)

    def exact_texts() -> list[str]:
        texts: list[str] = []
        for segment, (start, stop) in enumerate(pairwise([*starts, count])):
            texts += _segment_texts(candles, cash_after[segment], held_after[segment], start, stop)
        return texts

    position = book.positions[symbol]
    last = candles.exact(count - 1)
    performance = Performance(quote, cash, book.cash)
    performance.times = candles.ts
    performance.equity = EquitySeries(cash_f + held_f * closes, exact_at, exact_texts)
    performance.in_market = (held_f != 0) | np.r_[False, held_f[:-1] != 0]
    performance.fills = [_fill_row(f, symbol) for f in filled]
    performance.prices = {symbol: (candles.ts, closes)}
    performance.first_trading_ts = int(candles.ts[first]) if first < count else None
    performance.funding = [entry for entry in changes if isinstance(entry, FundingPayment)]
    unrealized = position.unrealized_pnl(last) if position.is_open else Decimal(0)
    performance.symbols = [
        SymbolPnl(symbol, position.quantity, position.avg_cost, last, position.realized_pnl, unrealized,
                  position.fees_paid)
    ]  # fmt: skip
    return performance


def _equity_cash(changes: list) -> list[Decimal]:
    """The cash after each change less the cost basis of the margin position then open (whose
    notional never left the cash, see `domain.ledger`)."""
    basis, cash = Decimal(0), []
    for change in changes:
        if isinstance(change, DeskFill):
            basis = change.booked.margined_basis
        after = change.cash_after if isinstance(change, FundingPayment) else change.booked.cash_after
        if basis.is_zero():
            cash.append(after)
        else:
            with exact():
                cash.append(after - basis)
    return cash


def _held_after(change) -> Decimal:
    return change.quantity if isinstance(change, FundingPayment) else change.booked.position_after


def _segment_texts(candles, cash: Decimal, held: Decimal, start: int, stop: int) -> list[str]:
    """The exact equity, as text, at candles start..stop-1 while `cash` and `held` stay."""
    if held.is_zero():
        return [to_plain(cash)] * (stop - start)
    at = HEADER.index("close")
    with exact():
        return [to_plain(cash + held * Decimal(line.split(",")[at])) for line in candles.lines[start:stop]]


def _fill_row(filled: DeskFill, symbol: str) -> FillRow:
    fill, booked = filled.booked.fill, filled.booked
    return FillRow(filled.candle_ts, symbol, str(fill.side), fill.quantity, fill.price, fill.fee, fill.notional,
                   booked.realized_pnl, filled.kind, booked.floored, filled.reference)  # fmt: skip
