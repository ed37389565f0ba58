"""Paper against backtest: which fills differ, what execution cost, and where the two first part.

Fills are compared as `FillRow`-like values (`candle_ts`, `side`, `kind`, `quantity`, `price`,
`fee`): two fills are the same when all of those are equal, to the last decimal.
"""

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal

from papertrade.domain.money import ZERO, divide_to_ledger, exact
from papertrade.domain.timeframes import timestamp

#: Why paper and backtest part, in the order the reasons are looked for on the first candle.
MISSED_CANDLE = "missed_candle"
MANUAL_TRADE = "manual_trade"
PARTIAL_FILL = "partial_fill"
BOOK_FILL = "book_fill"
SETTINGS_CHANGE = "settings_change"
FILL_DIFFERS = "fill_differs"

#: The fills priced at a decided candle's close (the reference their slippage is measured from).
_AT_THE_CLOSE = ("signal", "manual")


@dataclass(frozen=True, slots=True)
class FillPair:
    """The paper fill and the backtest fill made on one candle by the same side and kind (the
    n-th of them when a candle has several); either is None when only the other traded."""

    candle_ts: int
    paper: object | None
    backtest: object | None

    @property
    def same(self) -> bool:
        return self.paper is not None and self.backtest is not None and _key(self.paper) == _key(self.backtest)


@dataclass(frozen=True, slots=True)
class Divergence:
    """The first candle where paper and backtest part, and why (one of the reasons above)."""

    candle_ts: int
    reason: str
    detail: str
    pair: FillPair | None = None  # the fills on that candle, when it is a fill that differs


@dataclass(frozen=True, slots=True)
class SettingsEvent:
    """A settings change in force from the candle opening at `from_ts`: each changed key's
    values before and after (as `portfolio set` journals them)."""

    from_ts: int
    before: Mapping[str, object]
    after: Mapping[str, object]

    def describe(self) -> str:
        return ", ".join(f"{key} {self.before.get(key, 'none')} -> {self.after.get(key, 'none')}" for key in self.after)


def _key(fill) -> tuple:
    return (fill.candle_ts, fill.side, fill.kind, fill.quantity, fill.price, fill.fee)


def paired_fills(paper: Sequence, backtest: Sequence) -> list[FillPair]:
    """Paper's and the backtest's fills side by side, candle by candle."""
    slots: dict[tuple, list] = {}
    for index, fills in enumerate((paper, backtest)):
        seen: dict[tuple, int] = {}
        for fill in fills:
            name = (fill.candle_ts, fill.side, fill.kind)
            nth = seen[name] = seen.get(name, -1) + 1
            slots.setdefault((*name, nth), [None, None])[index] = fill
    ordered = sorted(slots.items(), key=lambda item: (item[0][0], item[0][3]))
    return [FillPair(key[0], pair[0], pair[1]) for key, pair in ordered]


def differing(pairs: Sequence[FillPair]) -> list[FillPair]:
    return [pair for pair in pairs if not pair.same]


def slippage(fills: Sequence, closes: Mapping[int, Decimal]) -> tuple[Decimal, Decimal | None]:
    """What the fills made at a decided candle's close (signal and manual fills) paid against
    that close, in the quote currency (positive: a cost), and on average in basis points of the
    notional at the close (None without such a fill). Resting orders' fills are not counted:
    their reference is the order's level, not a close."""
    cost, at_close = ZERO, ZERO
    with exact():
        for fill in fills:
            close = closes.get(fill.candle_ts)
            if fill.kind not in _AT_THE_CLOSE or close is None:
                continue
            moved = fill.price - close if fill.side == "BUY" else close - fill.price
            cost += moved * fill.quantity
            at_close += close * fill.quantity
    bps = divide_to_ledger(cost * 10_000, at_close) if at_close else None
    return cost, bps


def settings_history(current: Mapping[str, object], changes: Sequence[tuple[dict, dict]]) -> list[dict]:
    """The settings before each change and after the last: `current` undone change by change
    (`changes` oldest first, each its journaled (before, after) of the keys it changed; a key
    missing from one side was not set then). `len(changes) + 1` dicts, oldest first."""
    history = [dict(current)]
    for before, _after in reversed(changes):
        earlier = dict(history[0])
        for key, value in before.items():
            if value is None:
                earlier.pop(key, None)
            else:
                earlier[key] = value
        history.insert(0, earlier)
    return history


def first_divergence(
    pairs: Sequence[FillPair],
    missed: Sequence[int],
    fill_setting_at: Callable[[int], str],
    partial: set[int] = frozenset(),
    changes: Sequence[SettingsEvent] = (),
) -> Divergence | None:
    """The earliest candle where paper and backtest part (None when they never do): a candle no
    tick processed (`missed`, sorted), or the first fill that differs, with its reason. A book
    fill (`fill_setting_at(candle_ts)` is "book"), a partial one (its candle in `partial`), a
    manual trade, a settings change since the fills last agreed, or else the fill differs."""
    changed = next((i for i, pair in enumerate(pairs) if not pair.same), None)
    if missed and (changed is None or missed[0] <= pairs[changed].candle_ts):
        return Divergence(missed[0], MISSED_CANDLE, _missed_detail(missed, pairs))
    if changed is None:
        return None
    pair = pairs[changed]
    agreed_ts = pairs[changed - 1].candle_ts if changed else None
    reason, detail = _why(pair, fill_setting_at, partial, changes, agreed_ts)
    return Divergence(pair.candle_ts, reason, detail, pair)


def _why(pair: FillPair, fill_setting_at, partial, changes, agreed_ts) -> tuple[str, str]:
    paper, backtest = pair.paper, pair.backtest
    told = f"paper {describe(paper)}, backtest {describe(backtest)}"
    if paper is not None and paper.kind == "manual":
        return MANUAL_TRADE, f"a manual trade (papertrade open/close): {told}"
    if paper is not None and paper.kind == "signal" and fill_setting_at(pair.candle_ts) == "book":
        if pair.candle_ts in partial:
            return PARTIAL_FILL, f"a partial fill (the book ran out within --max-slippage): {told}"
        return BOOK_FILL, f"a fill from the order book: {told}"
    since = [c for c in changes if (agreed_ts is None or c.from_ts > agreed_ts) and c.from_ts <= pair.candle_ts]
    if since:
        return SETTINGS_CHANGE, f"the settings changed ({since[-1].describe()}): {told}"
    return FILL_DIFFERS, told


def _missed_detail(missed: Sequence[int], pairs: Sequence[FillPair]) -> str:
    there = [pair.backtest for pair in pairs if pair.candle_ts == missed[0] and pair.backtest is not None]
    did = f"the backtest {describe(there[0])} on it" if there else "the backtest made no trade on it"
    more = f" ({len(missed):,} candles missed in all)" if len(missed) > 1 else ""
    return f"a tick that did not run: no tick processed the candle of {timestamp(missed[0])}; {did}{more}"


def describe(fill) -> str:
    """'BUY 0.5 at 101.2 (signal)', or 'no fill'."""
    if fill is None:
        return "no fill"
    return f"{fill.side} {fill.quantity} at {fill.price} ({fill.kind})"
