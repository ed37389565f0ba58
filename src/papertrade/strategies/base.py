"""The strategy plug-in API.

A strategy is a subclass of `Strategy` with a `name`, a pydantic `Params` model and one method,
`decide`, that turns the latest closed candles plus a read-only view of the position into a
signal. papertrade calls it once per tick, on closed candles only, and never lets it near the
database; a backtest calls it once for every candle of the file, so what it costs per candle is
what a backtest costs. Register your own in the `papertrade.strategies` entry-point group or
pass `--strategy package.module:ClassName`.

Write it on numpy columns first (`candles_as = "arrays"`): `candles.close`, `.open`, `.high`,
`.low`, `.volume` and `.ts` are read-only numpy arrays, oldest first, cut from columns made
once (a tick costs about one numpy slice to hand them over), and numpy answers
`candles.close[-10:].mean()` in a few microseconds; `candles.frame()` builds the pandas
DataFrame when pandas is wanted after all:

    class Breakout(Strategy):
        name = "breakout"
        candles_as = "arrays"

        class Params(BaseModel):
            model_config = ConfigDict(extra="forbid")
            window: int = Field(20, ge=2, description="candles in the channel")

        @property
        def warmup(self) -> int:
            return self.params.window + 1

        def decide(self, candles, position):
            channel_high = candles.high[-self.params.window - 1 : -1].max()
            if not position.is_open and candles.close[-1] > channel_high:
                return Decision(Signal.BUY, "close above the channel")
            return Signal.HOLD

The default (`candles_as = "frame"`) is the DataFrame form, read as pandas reads:

        def decide(self, candles, position):
            channel_high = candles["high"].iloc[-self.params.window - 1 : -1].max()
            if not position.is_open and candles["close"].iloc[-1] > channel_high:
                ...

There `candles` is a `papertrade.strategies.candle_frame.CandleFrame`: the DataFrame it stands
for, without one built per candle. Handing it over costs what the arrays cost, and the common
idioms (column access, `.iloc`/`.iat` by position, slices, `.values`, `.to_numpy()`, `.index`,
`len`, `.mean()`/`.sum()`/`.min()`/`.max()`, arithmetic and comparisons) run at numpy's speed;
anything else (`rolling`, `ewm`, `shift`, `.loc`, assigning a column, ...) is pandas' own
answer, at pandas' cost (tens of microseconds an operation, plus slicing the DataFrame once per
candle). `candles.frame()` is that real DataFrame.

A backtest can also skip `decide` altogether: see `Strategy.decide_series` (the README has a
worked example).

A decision can also size the entry, rest it as a limit or stop order, protect it and scale out
(the fill rules are in the README, "Orders"). From `papertrade.strategies` import `Decision`,
`Size`, `price`:

        def decide(self, candles, position):
            close = candles["close"].iloc[-1]
            if not position.is_open:
                if any(not order.kind.is_exit for order in position.orders):
                    return Decision.hold("a limit entry is waiting")
                return Decision.buy(
                    "dip below the channel",
                    size=Size.quote(500),          # or Size.cash(0.5), Size.base("0.01")
                    limit=round(close * 0.98, 2),  # rests from the next candle; stop=... for a breakout
                    expires=6,                     # candles; None: until cancelled
                    stop_loss=0.03,                # 3 % under the fill price, or price(24_500)
                    take_profit=0.06,
                    trailing_stop=0.04,            # follows the highest close since
                )
            if close > float(position.avg_cost) * 1.1:
                return Decision.sell("take half off", portion=0.5)
            return Decision.hold()

`position.orders` holds the symbol's resting orders; `Decision.hold(cancel=True)` cancels a
waiting entry. The protective exits of the portfolio (`create-portfolio --stop-loss ...`) apply
to every entry whose decision sets none.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from papertrade.domain.signals import Decision, PositionView, Signal

if TYPE_CHECKING:
    import numpy as np
    import pandas as pd


class NoParams(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True, slots=True)
class SignalSeries:
    """Vectorized decisions over a whole history, for fast backtests.

    For every row i (a candle), `buy[i]` says whether `decide` on the window ending at i would
    answer BUY when flat, and `sell[i]` whether it would answer SELL when holding. Rows before
    the warm-up are False. `indicators` holds the per-row values reported in decisions.
    """

    buy: "np.ndarray"
    sell: "np.ndarray"
    indicators: dict[str, "np.ndarray"]


class Strategy(ABC):
    """Base class of every strategy.

    Subclasses set `name` (what `--strategy` accepts), optionally `Params` (a pydantic model of
    the tunable parameters with their defaults) and `description`, and implement `decide`.
    """

    name: ClassVar[str]
    description: ClassVar[str] = ""
    Params: ClassVar[type[BaseModel]] = NoParams
    #: What `decide` receives: "arrays", the columns as read-only numpy arrays
    #: (`papertrade.strategies.runner.CandleArrays`: `candles.close`, `candles["close"]`,
    #: `candles.frame()`), or "frame" (the default), the DataFrame-like view
    #: (`papertrade.strategies.candle_frame.CandleFrame`). Both cost about one numpy slice per
    #: candle to hand over; see the module docstring.
    candles_as: ClassVar[Literal["frame", "arrays"]] = "frame"
    #: Whether, in a portfolio that allows shorts, `decide` answers `decide_series`' signals by
    #: stopping and reversing: `Decision.buy` on a `buy` row unless long, `Decision.short` on a
    #: `sell` row unless short. Only then may a backtest with shorts take the fast path.
    series_reverses: ClassVar[bool] = False

    def __init__(self, params: BaseModel | None = None) -> None:
        self.params = params if params is not None else self.Params()

    @property
    def warmup(self) -> int:
        """Closed candles needed before `decide` is called; until then the tick holds. Default 1."""
        return 1

    @property
    def lookback(self) -> int | None:
        """How many of the latest closed candles `decide` receives; None means all stored.

        Defaults to the warm-up, which keeps every tick equally fast however long the history.
        """
        return self.warmup

    @abstractmethod
    def decide(self, candles: "pd.DataFrame", position: PositionView) -> Decision | Signal:
        """Answer BUY, SELL or HOLD for the last row of `candles`.

        `candles` holds the last `lookback` closed candles, oldest first, indexed by their UTC
        open time, with float columns open, high, low, close, volume and the integer open time
        in milliseconds as `ts`: numpy arrays of those columns when `candles_as` is "arrays",
        else the DataFrame-like view. `position` is this strategy's holding in the symbol.
        """

    def decide_series(self, candles: "pd.DataFrame") -> SignalSeries | None:
        """Optional fast path for backtests: the same decisions as `decide`, for every row.

        `candles` is the whole file as a pandas DataFrame (the columns `decide` sees). Return a
        `SignalSeries` whose `buy[i]` / `sell[i]` say whether `decide` on the window ending at
        row i would answer BUY when flat / SELL when holding; the backtest then visits only the
        candles where one can act, at the built-ins' speed. Only for strategies whose decision
        depends on the position solely through whether it is open; ticks and replays still call
        `decide`, so both must compute the same numbers (the README's "`decide_series`" section
        has a worked example). Return None (the default) and backtests call `decide` candle by
        candle.
        """
        return None

    def indicator_levels(self) -> dict[str, tuple[float, ...]]:
        """Indicators that charts draw in a panel of their own, each with the horizontal levels
        the strategy acts on (RSI: oversold and overbought). Indicators not named here are on
        the price's scale and are drawn over the candles. Default: none."""
        return {}

    @classmethod
    def parameter_schema(cls) -> dict[str, Any]:
        return cls.Params.model_json_schema()
