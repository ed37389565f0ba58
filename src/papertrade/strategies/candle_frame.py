"""The candles `decide` receives by default: a DataFrame-like view at numpy's speed.

A `CandleFrame` is the window of closed candles a tick (or a backtest's candle) hands a
strategy. It stands for exactly the DataFrame strategies always received (float columns open,
high, low, close, volume and the int64 open time `ts`, indexed by the UTC open time `time`,
oldest first) without building one: its columns (`CandleColumn`) are read-only numpy views of
columns built once for the whole series (`CandleSource`), and they answer the idioms the README
teaches at numpy's speed: `candles["close"]`, `candles.close`, `.iloc[...]` and `.iat[...]` by
position, slices, `.values`, `.to_numpy()`, `.index`, `len`, `.mean()`, `.sum()`, `.min()`,
`.max()`, arithmetic and comparisons between columns of the same candles or with a number.

Anything else (`rolling`, `ewm`, `shift`, `.loc`, assigning a column, ...) is answered by the
real pandas object the view stands for: a copy-on-write slice of the DataFrame its source
builds once, on first need. From then on that view (or column) is that pandas object, so a
strategy that writes to it sees its own writes and no other candle ever does. A fast path that
would answer differently from pandas (a NaN in a reduction, an out-of-range position) hands the
question to pandas instead, so the answers are pandas' own.
"""

import operator

import numpy as np

NAMES = ("ts", "open", "high", "low", "close", "volume")
_ADD, _MAX, _MIN = np.add.reduce, np.maximum.reduce, np.minimum.reduce
_SCALARS = (int, float, np.integer, np.floating)


class CandleSource:
    """Read-only numpy columns of a whole series of candles (`ts` int64 ms, prices float64),
    with their `DatetimeIndex` and DataFrame built once, on first need: what every view of
    its rows shares, so no view builds an index or a frame of its own."""

    __slots__ = ("_frame", "_index", "_series", "arrays")

    def __init__(self, ts, floats: dict) -> None:
        self.arrays = {"ts": _read_only(ts), **{name: _read_only(floats[name]) for name in NAMES[1:]}}
        self._index = self._frame = None
        self._series: dict = {}

    def view(self, start: int, stop: int) -> "CandleFrame":
        """Rows start..stop-1 as the DataFrame-like view a strategy receives."""
        return CandleFrame(self, start, stop)

    def index(self):
        """The open times as the UTC `DatetimeIndex` named `time`, built once."""
        if self._index is None:
            import pandas as pd

            times = self.arrays["ts"].astype("datetime64[ms]").astype("datetime64[ns]")
            self._index = pd.DatetimeIndex(times, tz="UTC", name="time")
        return self._index

    def frame(self):
        """The whole series as the DataFrame strategies receive, built once."""
        if self._frame is None:
            import pandas as pd

            self._frame = pd.DataFrame(dict(self.arrays), index=self.index())
        return self._frame

    def series(self, name: str):
        """One column of `frame()` as a pandas Series, built once."""
        if name not in self._series:
            self._series[name] = self.frame()[name]
        return self._series[name]


def _read_only(values):
    view = values.view()
    view.flags.writeable = False
    return view


class CandleFrame:
    """Closed candles as a strategy receives them: a read-only, DataFrame-like view of rows
    start..stop-1 of a `CandleSource` (see the module's docstring). `frame()` is the real
    pandas DataFrame it stands for."""

    __slots__ = ("_frame", "_source", "_start", "_stop")

    def __init__(self, source: CandleSource, start: int, stop: int) -> None:
        self._source, self._start, self._stop, self._frame = source, start, stop, None

    def frame(self):
        """The pandas DataFrame this view stands for (a copy-on-write slice of the source's);
        from the first call on, the view answers everything through it."""
        if self._frame is None:
            self._frame = self._source.frame().iloc[self._start : self._stop]
        return self._frame

    def __getitem__(self, key):
        if self._frame is None and type(key) is str and key in self._source.arrays:
            return self._column(key)
        return self.frame()[key]

    def __getattr__(self, name: str):
        if name in self._source.arrays and self._frame is None:
            return self._column(name)
        return getattr(self.frame(), name)

    def __setitem__(self, key, value) -> None:
        self.frame()[key] = value

    def _column(self, name: str) -> "CandleColumn":
        source, start = self._source, self._start
        return CandleColumn(source.arrays[name][start : self._stop], source, start, name)

    def __len__(self) -> int:
        return self._stop - self._start if self._frame is None else len(self._frame)

    def __iter__(self):
        return iter(NAMES) if self._frame is None else iter(self._frame)

    def __contains__(self, key) -> bool:
        return key in self._source.arrays if self._frame is None else key in self._frame

    def __repr__(self) -> str:
        return repr(self.frame())

    def __array__(self, dtype=None, copy=None):
        return self.frame().__array__(dtype, copy)

    @property
    def index(self):
        """The rows' open times: a slice of the source's index, never a new one."""
        if self._frame is None:
            return self._source.index()[self._start : self._stop]
        return self._frame.index

    @property
    def columns(self):
        return _columns() if self._frame is None else self._frame.columns

    @property
    def shape(self) -> tuple[int, int]:
        return (len(self), len(NAMES)) if self._frame is None else self._frame.shape

    @property
    def empty(self) -> bool:
        return len(self) == 0 if self._frame is None else self._frame.empty

    @property
    def iloc(self):
        return _FrameRows(self) if self._frame is None else self._frame.iloc

    def head(self, n: int = 5):
        """The first `n` rows (all but the last -n when negative), as pandas' `head`."""
        return self.iloc[:n]

    def tail(self, n: int = 5):
        """The last `n` rows (all but the first -n when negative), as pandas' `tail`."""
        return self.iloc[0:0] if n == 0 else self.iloc[-n:]


def _columns():
    global _COLUMNS
    if _COLUMNS is None:
        import pandas as pd

        _COLUMNS = pd.Index(list(NAMES))
    return _COLUMNS


_COLUMNS = None


class _FrameRows:
    """`candles.iloc` of a view: a slice of rows is another view; anything else is pandas'."""

    __slots__ = ("_view",)

    def __init__(self, view: CandleFrame) -> None:
        self._view = view

    def __getitem__(self, key):
        view = self._view
        if type(key) is slice:
            bounds = _plain_slice(key, view._stop - view._start)
            if bounds is not None:
                return CandleFrame(view._source, view._start + bounds[0], view._start + bounds[1])
        return view.frame().iloc[key]

    def __setitem__(self, key, value) -> None:
        self._view.frame().iloc[key] = value


def _plain_slice(key: slice, length: int) -> tuple[int, int] | None:
    """A positional slice's (start, stop) within `length` rows, or None if it steps or is not
    made of integers (pandas then answers)."""
    try:
        start, stop, step = key.indices(length)
    except TypeError:
        return None
    return (start, max(start, stop)) if step == 1 and key.step in (None, 1) else None


class CandleColumn:
    """One column of a `CandleFrame` (or a column computed from them): a read-only numpy array
    answering the pandas Series idioms the README teaches, and pandas' Series for the rest."""

    __slots__ = ("_computed", "_name", "_series", "_source", "_start", "values")
    __hash__ = None  # as a Series: `==` compares elementwise

    def __init__(self, values, source: CandleSource, start: int, name, computed: bool = False) -> None:
        self.values, self._source, self._start, self._name = values, source, start, name
        self._series, self._computed = None, computed

    def series(self):
        """The pandas Series this column stands for; from the first call on, the column answers
        everything through it."""
        if self._series is None:
            self._series = self._build_series()
        return self._series

    def _build_series(self):
        stop = self._start + len(self.values)
        if not self._computed:  # a slice of the source's Series: copy-on-write, as the DataFrame's
            return self._source.series(self._name).iloc[self._start : stop]
        import pandas as pd

        return pd.Series(self.values, index=self._source.index()[self._start : stop], name=self._name, copy=False)

    def __getattr__(self, name: str):
        return getattr(self.series(), name)

    def __len__(self) -> int:
        return len(self.values) if self._series is None else len(self._series)

    def __iter__(self):
        return iter(self.values.tolist()) if self._series is None else iter(self._series)

    def __repr__(self) -> str:
        return repr(self.series())

    def __bool__(self) -> bool:
        return bool(self.series())

    def __array__(self, dtype=None, copy=None):
        values = self.values if self._series is None else self._series.to_numpy()
        return np.array(values, dtype=dtype, copy=copy) if copy or dtype is not None else values

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        inputs = tuple(x.series() if isinstance(x, CandleColumn) else x for x in inputs)
        return getattr(ufunc, method)(*inputs, **kwargs)

    @property
    def name(self):
        return self._name if self._series is None else self._series.name

    @property
    def index(self):
        if self._series is None:
            return self._source.index()[self._start : self._start + len(self.values)]
        return self._series.index

    @property
    def dtype(self):
        return self.values.dtype if self._series is None else self._series.dtype

    @property
    def shape(self) -> tuple[int]:
        return (len(self),)

    @property
    def empty(self) -> bool:
        return len(self) == 0

    @property
    def iloc(self):
        return _ColumnPositions(self, "iloc") if self._series is None else self._series.iloc

    @property
    def iat(self):
        return _ColumnPositions(self, "iat") if self._series is None else self._series.iat

    def to_numpy(self, *args, **kwargs):
        """The values as a read-only numpy array (with arguments: pandas' `to_numpy`)."""
        if self._series is None and not args and not kwargs:
            return self.values
        return self.series().to_numpy(*args, **kwargs)

    def tolist(self) -> list:
        """The values as Python numbers."""
        return self.values.tolist() if self._series is None else self._series.tolist()

    to_list = tolist

    def __getitem__(self, key):
        if self._series is None and type(key) is slice:
            bounds = _plain_slice(key, len(self.values))
            if bounds is not None:
                return self._slice(*bounds)
        return self.series()[key]

    def __setitem__(self, key, value) -> None:
        self.series()[key] = value

    def _slice(self, start: int, stop: int) -> "CandleColumn":
        values, first = self.values[start:stop], self._start + start
        return CandleColumn(values, self._source, first, self._name, self._computed)

    def head(self, n: int = 5):
        """The first `n` values (all but the last -n when negative), as pandas' `head`."""
        return self.iloc[:n]

    def tail(self, n: int = 5):
        """The last `n` values (all but the first -n when negative), as pandas' `tail`."""
        return self.iloc[0:0] if n == 0 else self.iloc[-n:]

    def mean(self, *args, **kwargs):
        """The mean, as pandas computes it (NaN, empty or arguments: pandas' own `mean`)."""
        values = self.values
        if self._series is None and not args and not kwargs and len(values) and values.dtype.kind == "f":
            total = _ADD(values)
            if total == total:
                return total / len(values)
        return self.series().mean(*args, **kwargs)

    def sum(self, *args, **kwargs):
        """The sum, as pandas computes it (NaN, empty or arguments: pandas' own `sum`)."""
        return self._reduced(_ADD, "sum", args, kwargs)

    def max(self, *args, **kwargs):
        """The largest value (NaN, empty or arguments: pandas' own `max`)."""
        return self._reduced(_MAX, "max", args, kwargs)

    def min(self, *args, **kwargs):
        """The smallest value (NaN, empty or arguments: pandas' own `min`)."""
        return self._reduced(_MIN, "min", args, kwargs)

    def _reduced(self, reduce, name: str, args, kwargs):
        values = self.values
        if self._series is None and not args and not kwargs and len(values) and values.dtype.kind == "f":
            result = reduce(values)
            if result == result:
                return result
        return getattr(self.series(), name)(*args, **kwargs)

    def _operated(self, other, op, reflected: bool = False):
        """`self op other` (`other op self` if reflected) at numpy's speed where pandas would
        answer elementwise (a number, or a column of the same candles); else pandas'."""
        values = _same_rows(self, other)
        if values is None:
            return _by_pandas(op, reflected)(self, other)
        with np.errstate(all="ignore"):
            result = op(values, self.values) if reflected else op(self.values, values)
        name = self._name if not isinstance(other, CandleColumn) or other._name == self._name else None
        return CandleColumn(result, self._source, self._start, name, computed=True)

    def __neg__(self):
        if self._series is None and self.values.dtype.kind in "fi":
            return CandleColumn(-self.values, self._source, self._start, self._name, computed=True)
        return -self.series()

    def __abs__(self):
        if self._series is None and self.values.dtype.kind in "fi":
            return CandleColumn(np.abs(self.values), self._source, self._start, self._name, computed=True)
        return abs(self.series())

    def __invert__(self):
        return ~self.series()

    def __pos__(self):
        return +self.series()

    def __round__(self, decimals: int = 0):
        return round(self.series(), decimals)


def _by_pandas(op, reflected: bool = False):
    """`op` between a column's pandas Series and `other` (a column: its Series too)."""

    def operate(column: CandleColumn, other):
        other = other.series() if isinstance(other, CandleColumn) else other
        return op(other, column.series()) if reflected else op(column.series(), other)

    return operate


def _fast_operator(op, reflected: bool = False):
    return lambda column, other: column._operated(other, op, reflected)


for _name in ("add", "sub", "mul", "truediv"):  # numpy where pandas would agree, else pandas
    setattr(CandleColumn, f"__{_name}__", _fast_operator(getattr(operator, _name)))
    setattr(CandleColumn, f"__r{_name}__", _fast_operator(getattr(operator, _name), reflected=True))
for _name in ("lt", "le", "gt", "ge", "eq", "ne"):
    setattr(CandleColumn, f"__{_name}__", _fast_operator(getattr(operator, _name)))
for _name in ("and", "or", "xor", "floordiv", "mod", "pow"):  # pandas' own rules
    _op = getattr(operator, f"{_name}_" if _name in ("and", "or") else _name)
    setattr(CandleColumn, f"__{_name}__", _by_pandas(_op))
    setattr(CandleColumn, f"__r{_name}__", _by_pandas(_op, reflected=True))


def _same_rows(column: CandleColumn, other):
    """`other` as something numpy may combine with `column` elementwise exactly as pandas
    would: a plain number, or the values of a column of the same rows; None otherwise."""
    if column._series is not None or column.values.dtype.kind not in "fi":
        return None
    if isinstance(other, _SCALARS) and not isinstance(other, bool):
        return other
    if not isinstance(other, CandleColumn) or other._series is not None or other.values.dtype.kind not in "fi":
        return None
    same = other._source is column._source and other._start == column._start and len(other) == len(column)
    return other.values if same else None


class _ColumnPositions:
    """`column.iloc` (or `column.iat`, which takes no slices): an integer position is the
    numpy value, a slice a column; anything else (or a position out of range) pandas answers."""

    __slots__ = ("_column", "_kind")

    def __init__(self, column: CandleColumn, kind: str) -> None:
        self._column, self._kind = column, kind

    def __getitem__(self, key):
        column = self._column
        if type(key) is slice:
            bounds = _plain_slice(key, len(column.values)) if self._kind == "iloc" else None
            if bounds is not None:
                return column._slice(*bounds)
        elif type(key) is int or isinstance(key, np.integer):
            values = column.values
            if -len(values) <= key < len(values):
                return values[key]
        return getattr(column.series(), self._kind)[key]

    def __setitem__(self, key, value) -> None:
        getattr(self._column.series(), self._kind)[key] = value
