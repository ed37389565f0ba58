"""The JSON documents the API serves, described for its OpenAPI schema (`/api/openapi.json`).

The documents themselves are built by `papertrade.views.documents`, exactly as `--json`
prints them; these models only describe them (decimals are exact strings, times integer
milliseconds since the epoch, UTC). tests/web/test_api.py validates every served document
against its model, so the published schema cannot drift from what is served.
"""

from typing import Any

from pydantic import BaseModel, ConfigDict

Exact = str  # a decimal, exact, as text


class _Document(BaseModel):
    model_config = ConfigDict(extra="forbid")


class Size(_Document):
    unit: str  # "cash" (a fraction of it), "quote" or "base"
    value: Exact


class Order(_Document):
    """A resting order (`papertrade orders ID --json`, one item)."""

    symbol: str
    kind: str  # limit, stop, stop-loss, take-profit, trailing-stop
    side: str
    price: Exact
    quantity: Exact | None  # exits: the whole position; entries: known for a base size only
    size: Size | None
    trail: Exact | None
    placed_ts: int  # the candle it was decided on; active from the next
    expires_ts: int | None  # the last candle it may fill on (moved later over missing candles); null: until cancelled


class Position(_Document):
    """An open position, marked at the close of the latest stored candle (`marked_ts`; null
    when none is stored and it is marked at its average cost)."""

    symbol: str
    side: str  # "long" or "short" (a short's quantity, cost basis and market value are negative)
    leverage: Exact  # the one it was opened at: above 1 a margin position (equity counts its unrealized PnL)
    quantity: Exact
    avg_cost: Exact
    cost_basis: Exact
    mark_price: Exact
    marked_ts: int | None
    market_value: Exact
    unrealized_pnl: Exact
    realized_pnl: Exact  # before fees
    net_realized_pnl: Exact  # after the fees of the trades that realized it
    fees_paid: Exact
    funding_paid: Exact  # a swap position's net funding paid (negative: received)
    margin: Exact  # |quantity| x average entry price / leverage (isolated)
    liquidation_price: Exact | None  # null: never liquidated (a long at leverage 1)
    exits: list[Order]  # the protective exits resting for it


class LastTick(_Document):
    symbol: str
    candle_ts: int
    signal: str
    status: str
    processed_ts: int


class Portfolio(_Document):
    """`papertrade portfolios --json` (one item)."""

    id: int
    name: str
    quote: str
    cash: Exact
    initial_cash: Exact
    market_value: Exact
    unrealized_pnl: Exact
    equity: Exact  # cash + market value
    marked_ts: int | None
    realized_pnl: Exact  # before fees
    net_realized_pnl: Exact
    fees_paid: Exact
    funding_paid: Exact  # net funding paid by swap positions (negative: received)
    strategy: str
    params: dict[str, object]
    exchange: str
    timeframe: str
    allow_short: bool  # created with --allow-short: its strategy may go short
    maintenance_margin: Exact  # a position is liquidated when its margin + unrealized PnL falls to this x notional
    liquidation_fee: Exact  # what a liquidation pays instead of the trading fee, x its notional
    leverage: Exact  # of new entries (`--leverage`, 1: spot)
    fee_rate: Exact
    slippage_bps: Exact
    stake_fraction: Exact
    fill: str  # how ticks fill market orders: "close" (the candle's close) or "book" (the order book)
    max_slippage: Exact  # how far from the close a book fill may walk (0.05 = 5 %)
    maker_fee: Exact  # the rate of resting limit and take-profit fills; fee_rate is the taker's
    fees: str  # "exchange" (each market's own rates, fee_rate where unknown) or "set" (these rates)
    exits: dict[str, str]  # stop_loss, take_profit, trailing_stop attached to every entry
    created_ts: int
    archived_ts: int | None  # set when archived: it no longer trades
    positions: list[Position]


class Status(Portfolio):
    """`papertrade status ID --json`."""

    last_ticks: list[LastTick]
    # the study and trial its settings came from (`optimize --create-portfolio`): study, trial,
    # storage, objectives (name -> value), data (the candles searched on)
    from_study: dict[str, Any] | None = None  # in status; not in the overview
    notifications: dict[str, Any] | None = None  # undelivered events and each URL's last error; in status only


class Trade(_Document):
    """`papertrade trades ID --json` (one item)."""

    id: int
    candle_ts: int
    symbol: str
    side: str
    kind: str  # what made it: signal, limit, stop, stop-loss, take-profit, trailing-stop, liquidation
    quantity: Exact
    price: Exact
    notional: Exact
    fee: Exact
    realized_pnl: Exact
    cash_after: Exact
    executed_ts: int
    floored: Exact  # the loss the cash could not pay: past a liquidation price, beyond the margin
    reference_price: Exact | None  # the close decided on, or the resting order's level (null: none kept)
    position: str  # the side of the position it opened or closed: long or short
    net_realized_pnl: Exact | None
    slippage_bps: Exact | None  # the price's distance from the reference against the trader


class Fill(_Document):
    candle_ts: int
    symbol: str
    side: str
    kind: str
    quantity: Exact
    price: Exact
    fee: Exact
    notional: Exact
    realized_pnl: Exact
    floored: Exact  # the loss the cash could not pay: past a liquidation price, beyond the margin
    position: str  # long or short
    net_realized_pnl: Exact | None


class SymbolPnl(_Document):
    symbol: str
    quantity: Exact
    avg_cost: Exact
    last_price: Exact | None
    realized_pnl: Exact
    unrealized_pnl: Exact
    fees_paid: Exact
    net_realized_pnl: Exact


class RoundTrip(_Document):
    """An entry and the fill that closed it (or part of it): a SELL of a long, a BUY covering a
    short."""

    symbol: str
    side: str  # long or short
    entry_ts: int  # the candle of the entry's first fill
    exit_ts: int
    size: Exact
    entry_price: Exact  # the entry's average price
    exit_price: Exact
    commissions: Exact  # both fees (the entry's share of its fees)
    pnl: Exact  # after both fees
    exit_kind: str  # signal, manual, stop-loss, take-profit, trailing-stop, liquidation
    profit_pct: float  # backtesting.py's ReturnPct, in percent
    duration_ms: int


class EquityCurve(_Document):
    """The series the statistics use, as columns of one length."""

    candle_ts: list[int]
    equity: list[Exact]
    drawdown_pct: list[float]  # below the running peak, 0 or negative


class Report(_Document):
    """`papertrade report ID --json`: backtesting.py's statistics (money as exact text, ratios
    as numbers, null where undefined), the fills, round trips, PnL per symbol, the equity curve."""

    stats: dict[str, str | int | float | None]
    sides: dict[str, dict[str, str | int | float | None]]  # "long", "short": their trades' statistics
    trades: list[Fill]
    exits_by_kind: dict[str, int]  # SELL fills by what made them
    symbols: list[SymbolPnl]
    round_trips: list[RoundTrip]
    equity_curve: EquityCurve


class StaleTick(LastTick):
    stale: bool
    missed: int
    cause: str | None
    last_error: str | None  # of the symbol's failing runs, when the ledger knows it
    failing_since_ts: int | None


class OverviewRow(Status):
    last_ticks: list[StaleTick]
    symbols: list[str]
    return_pct: float | None
    max_drawdown_pct: float | None


class Overview(_Document):
    now: int
    portfolios: list[OverviewRow]


class JournalEntry(_Document):
    symbol: str
    candle_ts: int
    signal: str
    status: str
    reason: str
    indicators: dict[str, float | None]
    close: Exact
    cash_after: Exact
    position_after: Exact
    processed_ts: int


class Journal(_Document):
    """One page of the tick journal, newest first."""

    ticks: list[JournalEntry]
    page: int
    pages: int
    total: int
