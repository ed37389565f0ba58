"""Column reads for charts and the dashboard: floats and raw text, no domain objects.

A chart of 100,000 candles needs their prices as float arrays, not 500,000 exact `Decimal`s;
these queries give it that, and nothing here writes.
"""

from sqlalchemy import Connection, Float, String, and_, bindparam, case, cast, func, or_, select

from papertrade.adapters import schema as t

_c = t.candles.c
_CANDLES = (
    select(_c.ts, *(cast(column, Float) for column in (_c.open, _c.high, _c.low, _c.close)))
    .where(
        _c.exchange == bindparam("exchange"),
        _c.symbol == bindparam("symbol"),
        _c.timeframe == bindparam("timeframe"),
        _c.ts >= bindparam("first"),
        _c.ts <= bindparam("last"),
    )
    .order_by(_c.ts)
)
_k = t.ticks.c


def candle_columns(connection: Connection, exchange: str, symbol: str, timeframe: str, first: int, last: int):
    """Stored candles opening in [first, last] as arrays: ts (int64), open, high, low, close."""
    import numpy as np

    params = {"exchange": exchange, "symbol": symbol, "timeframe": timeframe, "first": first, "last": last}
    rows = connection.execute(_CANDLES, params).all()
    if not rows:
        return None
    ts, o, h, low, c = zip(*rows, strict=True)
    return np.asarray(ts, dtype=np.int64), *(np.asarray(column, dtype=float) for column in (o, h, low, c))


def thinned_candles(connection: Connection, series: tuple[str, str, str], first: int, last: int, width: int):
    """Stored candles opening in [first, last], merged into candles `width` ms wide (open of the
    first, highest high, lowest low, close of the last), as float arrays; the merging runs in
    the database, so a chart of 100,000 candles reads a few thousand rows."""
    import numpy as np

    exchange, symbol, timeframe = series
    c = t.candles.c

    def of(table):
        return and_(table.c.exchange == exchange, table.c.symbol == symbol, table.c.timeframe == timeframe)

    buckets = (
        select(func.min(c.ts).label("t0"), func.max(c.ts).label("t1"), func.max(cast(c.high, Float)).label("high"),
               func.min(cast(c.low, Float)).label("low"))
        .where(of(t.candles), c.ts >= first, c.ts <= last)
        .group_by((c.ts - first) // width)
        .subquery()
    )  # fmt: skip
    opening, closing = t.candles.alias("opening"), t.candles.alias("closing")
    query = (
        select(buckets.c.t0, cast(opening.c.open, Float), buckets.c.high, buckets.c.low, cast(closing.c.close, Float))
        .join_from(buckets, opening, and_(of(opening), opening.c.ts == buckets.c.t0))
        .join(closing, and_(of(closing), closing.c.ts == buckets.c.t1))
        .order_by(buckets.c.t0)
    )
    rows = connection.execute(query).all()
    if not rows:
        return None
    ts, o, h, low, close = zip(*rows, strict=True)
    return np.asarray(ts, dtype=np.int64), *(np.asarray(column, dtype=float) for column in (o, h, low, close))


def indicator_rows(connection: Connection, portfolio_id: int, first: int, spacing: int, lasts) -> list:
    """(candle_ts, symbol, indicators as stored JSON) of the processed candles opening `spacing`
    ms apart from `first`, and of those opening at `lasts`, in time order: a chart's points,
    chosen in the database."""
    on_grid = (_k.candle_ts - first) % spacing == 0
    query = (
        select(_k.candle_ts, _k.symbol, _k.indicators)
        .where(_k.portfolio_id == portfolio_id, or_(on_grid, _k.candle_ts.in_(list(lasts))))
        .order_by(_k.candle_ts, _k.id)
    )
    return [tuple(row) for row in connection.execute(query)]


def tick_count(connection: Connection, portfolio_id: int) -> int:
    return connection.execute(select(func.count()).where(_k.portfolio_id == portfolio_id)).scalar_one()


_JOINED_COLUMNS = (
    select(
        _k.symbol,
        *(func.aggregate_strings(cast(column, String), ",") for column in (_k.id, _k.candle_ts, _k.close,
                                                                         _k.cash_after, _k.position_after,
                                                                         _k.margin_basis_after)),
        func.aggregate_strings(case((_k.reason.like("warming up%"), "1"), else_="0"), ","),
    )
    .where(_k.portfolio_id == bindparam("pid"))
    .group_by(_k.strategy, _k.symbol)
)  # fmt: skip


def tick_columns(connection: Connection, portfolio_id: int):
    """Every processed candle of a portfolio in time order, as columns: symbols, candle times,
    closes, equity cash after, position after, and whether it was still warming up. The equity
    cash is the cash less the cost basis of the margin positions then open (`margin_basis_after`;
    0 at leverage 1), so that equity = it + Σ position x close, as in a backtest.

    The database joins each column into one text per (strategy, symbol), so 100,000 ticks come
    back as a few strings rather than 100,000 rows (each a Python tuple of Python values, most
    of the cost); numpy parses them and puts them in time order. The amounts are
    `AmountColumn`s: their floats in one array, each row's exact text on demand.
    """
    import numpy as np

    groups = connection.execute(_JOINED_COLUMNS, {"pid": portfolio_id}).all()
    if not groups:
        return [], [], [], [], [], []
    parsed = [[_numbers(group[at], np.int64) for at in (1, 2, 7)] for group in groups]
    ids, times, warming = (np.concatenate(column) for column in zip(*parsed, strict=True))
    symbols = np.repeat(np.array([group[0] for group in groups], dtype=object), [len(p[0]) for p in parsed])
    order = np.lexsort((ids, times))  # by candle time, then as processed
    close, cash, held, basis = (AmountColumn(",".join(group[at] for group in groups), order) for at in (3, 4, 5, 6))
    basis_f = np.asarray(basis, dtype=float)
    if basis_f.any():
        cash = _LessColumn(cash, basis, np.asarray(cash, dtype=float) - basis_f)
    return symbols[order], times[order], close, cash, held, warming[order].astype(bool)


class _LessColumn:
    """`minuend` - `subtrahend`, two `AmountColumn`s: the floats given, row i's exact difference."""

    def __init__(self, minuend, subtrahend, floats) -> None:
        self._minuend, self._subtrahend, self._floats = minuend, subtrahend, floats

    def __len__(self) -> int:
        return len(self._floats)

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        return np.asarray(self._floats, dtype=dtype)

    def __getitem__(self, index: int) -> str:
        from decimal import Decimal

        from papertrade.domain.money import exact, to_plain

        less = Decimal(self._subtrahend[index])
        if less.is_zero():
            return self._minuend[index]
        with exact():
            return to_plain(Decimal(self._minuend[index]) - less)


def _numbers(text: str, dtype):
    """The comma-separated numbers of `text` as an array (a ValueError for anything else)."""
    import numpy as np

    values = np.fromstring(text, dtype=dtype, sep=",")
    if len(values) != text.count(",") + 1:
        return np.array(text.split(","), dtype=dtype)  # raises, naming the value it cannot read
    return values


class AmountColumn:
    """A column of exact amounts read as one comma-joined text, in the row order `order` gives:
    `numpy.asarray(column, float)` parses all of them at once, `column[i]` is row i's exact
    text (found by where the commas are, without splitting the text into 100,000 strings)."""

    def __init__(self, joined: str, order) -> None:
        self._joined = joined
        self._order = order
        self._ends = None

    def __len__(self) -> int:
        return len(self._order)

    def __array__(self, dtype=None, copy=None):
        import numpy as np

        return np.asarray(_numbers(self._joined, np.float64)[self._order], dtype=dtype)

    def __getitem__(self, index: int) -> str:
        import numpy as np

        if self._ends is None:  # amounts are ASCII: a character is a byte
            commas = np.flatnonzero(np.frombuffer(self._joined.encode("ascii"), dtype=np.uint8) == ord(","))
            self._ends = np.r_[commas, len(self._joined)]
        at = int(self._order[index])
        return self._joined[int(self._ends[at - 1]) + 1 if at else 0 : int(self._ends[at])]


_ALL_EQUITY = select(
    _k.portfolio_id, _k.symbol, _k.candle_ts, cast(_k.close, Float),
    cast(_k.cash_after, Float) - cast(_k.margin_basis_after, Float), cast(_k.position_after, Float),
).order_by(_k.portfolio_id, _k.candle_ts, _k.id)  # fmt: skip


def all_tick_floats(connection: Connection) -> dict[int, tuple]:
    """Per portfolio, its ticks as columns (symbols, candle times, close, equity cash after (the
    cash less the margin positions' cost basis), position after; amounts as floats), in time
    order: what the overview's returns and drawdowns need."""
    grouped: dict[int, list] = {}
    for row in connection.execute(_ALL_EQUITY):
        grouped.setdefault(row[0], []).append(row[1:])
    return {pid: tuple(list(column) for column in zip(*rows, strict=True)) for pid, rows in grouped.items()}


def latest_ticks(connection: Connection) -> dict[int, list]:
    """Per portfolio, the latest processed candle of each symbol (whole rows), by symbol."""
    newest = (
        select(_k.portfolio_id, _k.symbol, func.max(_k.candle_ts).label("candle_ts"))
        .group_by(_k.portfolio_id, _k.symbol)
        .subquery()
    )
    query = (
        select(t.ticks)
        .join(
            newest,
            (_k.portfolio_id == newest.c.portfolio_id)
            & (_k.symbol == newest.c.symbol)
            & (_k.candle_ts == newest.c.candle_ts),
        )
        .order_by(_k.portfolio_id, _k.symbol, _k.id)
    )
    grouped: dict[int, list] = {}
    for row in connection.execute(query).mappings():
        grouped.setdefault(row["portfolio_id"], []).append(row)
    return grouped


def tick_page(connection: Connection, portfolio_id: int, offset: int, limit: int) -> list:
    """One page of a portfolio's tick journal, last processed first (whole rows).

    The page's ids are chosen from the tick key's index alone, and only their rows are read:
    sorting whole rows would read every tick of the portfolio for a page of fifty.
    """
    ids = (
        select(_k.id)
        .where(_k.portfolio_id == portfolio_id)
        .order_by(_k.id.desc())  # the order they were processed in: a journal's
        .offset(offset)
        .limit(limit)
    )
    query = select(t.ticks).where(_k.id.in_(ids.scalar_subquery())).order_by(_k.id.desc())
    return list(connection.execute(query).mappings())


def failing_runs(connection: Connection, portfolio_id: int | None = None) -> dict[tuple[int, str], tuple]:
    """(portfolio, symbol) whose LIVE runs are failing, as the notifications outbox keeps them
    for portfolios that notify about errors: (failing since, failed runs, the last error)."""
    s = t.notify_streaks.c
    query = select(s.portfolio_id, s.symbol, s.since_ts, s.failures, s.last_error)
    if portfolio_id is not None:
        query = query.where(s.portfolio_id == portfolio_id)
    return {(row[0], row[1]): tuple(row[2:]) for row in connection.execute(query)}


def ledger_version(connection: Connection) -> int:
    """A number that changes whenever the ledger does: every change comes with a new tick or portfolio."""
    ticks = connection.execute(select(func.max(_k.id))).scalar() or 0
    portfolios = connection.execute(select(func.count(), func.max(t.portfolios.c.id))).one()
    return hash((ticks, *portfolios))


def portfolio_version(connection: Connection, portfolio_id: int) -> tuple[int | None, int]:
    """What changes whenever a portfolio does (every change comes with a new tick): its newest
    tick and how many it has."""
    return tuple(connection.execute(select(func.max(_k.id), func.count()).where(_k.portfolio_id == portfolio_id)).one())


def order_history(connection: Connection, portfolio_id: int) -> list[tuple[str, int, str, str, str, int]]:
    """Every change to the portfolio's resting orders, as the journal recorded it, oldest first:
    (what: placed, moved, filled, cancelled, expired; the candle; symbol, kind, price text, and
    the candle the order was placed on)."""
    import json

    j = t.journal.c
    query = select(j.event, j.payload).where(j.portfolio_id == portfolio_id, j.event.like("order.%")).order_by(j.id)
    history = []
    for event, text in connection.execute(query):
        payload = json.loads(text)
        order = payload.get("order") or {}
        try:
            history.append((event.removeprefix("order."), int(payload["candle_ts"]), order["symbol"], order["kind"],
                            str(order["price"]), int(order["placed_ts"])))  # fmt: skip
        except (KeyError, TypeError, ValueError):
            continue  # an entry this chart cannot read is left out of it (`audit verify` reports it)
    return history
