"""The ledger's tables, as SQLAlchemy Core metadata.

Alembic migrations create these tables; this module only describes them for queries and for the
test that checks migrations and metadata do not drift apart. Timestamps are integer
milliseconds since the epoch (UTC); amounts are `ExactDecimal`.
"""

from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.sql.expression import false
from sqlalchemy.types import TypeDecorator

from papertrade.domain.money import to_plain


class ExactDecimal(TypeDecorator):
    """A `Decimal` stored without loss: NUMERIC on PostgreSQL, canonical text on SQLite.

    SQLite's NUMERIC affinity would turn 0.1 into a binary float, so there the value is kept as
    its plain decimal text (which also compares correctly for equality).
    """

    impl = Numeric
    cache_ok = True

    def load_dialect_impl(self, dialect):
        if dialect.name == "sqlite":
            return dialect.type_descriptor(Text())
        return dialect.type_descriptor(Numeric(asdecimal=True))

    def process_bind_param(self, value, dialect):
        if value is None:
            return None
        if not isinstance(value, Decimal):
            raise TypeError(f"ExactDecimal columns take Decimal, not {type(value).__name__}")
        return to_plain(value) if dialect.name == "sqlite" else value

    def process_result_value(self, value, dialect):
        if value is None or isinstance(value, Decimal):
            return value
        return Decimal(value)


naming_convention = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=naming_convention)

portfolios = Table(
    "portfolios",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("name", String(100), nullable=False, unique=True),
    Column("quote_currency", String(20), nullable=False),
    Column("initial_cash", ExactDecimal, nullable=False),
    Column("cash", ExactDecimal, nullable=False),
    Column("strategy", String(200), nullable=False),
    Column("strategy_params", Text, nullable=False),
    Column("exchange", String(50), nullable=False),
    Column("timeframe", String(10), nullable=False),
    Column("fee_rate", ExactDecimal, nullable=False),
    Column("slippage_bps", ExactDecimal, nullable=False),
    Column("stake_fraction", ExactDecimal, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    # Grows with every change to the book or the settings: a tick compares it under the write
    # lock with the version it decided on.
    Column("version", Integer, nullable=False, server_default="0"),
    # Set when archived (it no longer trades and leaves the lists) or deleted (gone from every
    # command; its rows stay because the append-only journal refers to them).
    Column("archived_ts", BigInteger, nullable=True),
    Column("deleted_ts", BigInteger, nullable=True),
    # The protective exits attached to every entry whose decision sets none (JSON of text amounts).
    Column("exits", Text, nullable=False, server_default="{}"),
    # Whether the portfolio may hold a negative quantity (`create-portfolio --allow-short`).
    Column("allow_short", Boolean, nullable=False, server_default=false()),
    # Liquidation rules (`domain/margin.py`): the maintenance margin rate and the liquidation fee.
    Column("maintenance_margin", ExactDecimal, nullable=False, server_default="0.005"),
    Column("liquidation_fee", ExactDecimal, nullable=False, server_default="0.005"),
    # How market orders fill in a tick: "close" (the candle's close) or "book" (the order book).
    Column("fill", Text, nullable=False, server_default="close"),
    # How far from the decided candle's close a book walk may go (`--max-slippage`, 0.05 = 5 %).
    Column("max_slippage", ExactDecimal, nullable=False, server_default="0.05"),
    # The maker's fee rate (NULL: fee_rate, which is the taker's), and whether each market's own
    # rates (from ccxt) are charged instead, with fee_rate where a market's are not known.
    Column("maker_fee", ExactDecimal, nullable=True),
    Column("fees_from_exchange", Boolean, nullable=False, server_default=false()),
    # The leverage of new entries (`--leverage`); each position keeps the one it opened at.
    Column("leverage", ExactDecimal, nullable=False, server_default="1"),
)

positions = Table(
    "positions",
    metadata,
    Column("portfolio_id", Integer, ForeignKey("portfolios.id"), primary_key=True),
    Column("symbol", String(50), primary_key=True),
    Column("quantity", ExactDecimal, nullable=False),
    Column("avg_cost", ExactDecimal, nullable=False),
    Column("cost_basis", ExactDecimal, nullable=False),
    Column("realized_pnl", ExactDecimal, nullable=False),
    Column("fees_paid", ExactDecimal, nullable=False),
    Column("updated_ts", BigInteger, nullable=False),
    # Net funding paid by the swap position (negative: received), `domain/funding.py`.
    Column("funding_paid", ExactDecimal, nullable=False, server_default="0"),
    # The leverage the position was opened at: above 1, a margin position (`domain/ledger.py`).
    Column("leverage", ExactDecimal, nullable=False, server_default="1"),
)

# One row per processed candle, neutral ones included. The unique key is the idempotency
# guard: a candle can be claimed by a (portfolio, strategy, symbol) only once.
ticks = Table(
    "ticks",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portfolio_id", Integer, ForeignKey("portfolios.id"), nullable=False),
    Column("strategy", String(200), nullable=False),
    Column("symbol", String(50), nullable=False),
    Column("candle_ts", BigInteger, nullable=False),
    Column("signal", String(4), nullable=False),
    Column("status", String(10), nullable=False),
    Column("reason", Text, nullable=False),
    Column("indicators", Text, nullable=False),
    Column("close", ExactDecimal, nullable=False),
    Column("cash_after", ExactDecimal, nullable=False),
    Column("position_after", ExactDecimal, nullable=False),
    Column("skipped", Integer, nullable=False),
    Column("processed_ts", BigInteger, nullable=False),
    # Σ cost basis of the margin positions after the tick: equity = cash - this + Σ position x close.
    Column("margin_basis_after", ExactDecimal, nullable=False, server_default="0"),
    UniqueConstraint("portfolio_id", "strategy", "symbol", "candle_ts", name="uq_ticks_key"),
    Index("ix_ticks_portfolio_id_id", "portfolio_id", "id"),  # a portfolio's ticks in the order processed
    CheckConstraint("signal IN ('BUY', 'SELL', 'HOLD')", name="signal"),
    CheckConstraint("status IN ('executed', 'neutral')", name="status"),
)

trades = Table(
    "trades",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portfolio_id", Integer, ForeignKey("portfolios.id"), nullable=False),
    Column("tick_id", Integer, ForeignKey("ticks.id"), nullable=False, index=True),
    Column("symbol", String(50), nullable=False),
    Column("side", String(4), nullable=False),
    # What made the fill: "signal" (a decision at the candle's close) or a resting order's kind.
    Column("kind", String(16), nullable=False, server_default="signal"),
    Column("candle_ts", BigInteger, nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("notional", ExactDecimal, nullable=False),
    Column("fee", ExactDecimal, nullable=False),
    Column("realized_pnl", ExactDecimal, nullable=False),
    Column("cash_after", ExactDecimal, nullable=False),
    Column("executed_ts", BigInteger, nullable=False),
    # The loss the cash could not pay (it stopped at zero, or at the margin the position freed).
    Column("floored", ExactDecimal, nullable=False, server_default="0"),
    # What the fill is measured against: the decided candle's close, or the resting order's level
    # (NULL: a liquidation, or a trade booked before papertrade kept it).
    Column("reference_price", ExactDecimal, nullable=True),
    CheckConstraint("side IN ('BUY', 'SELL')", name="side"),
    Index("ix_trades_portfolio_id_candle_ts", "portfolio_id", "candle_ts"),
)

# The orders resting between ticks. A portfolio places at most one order of a kind per symbol
# on a candle, hence the key. Filled, cancelled and expired orders leave; the journal keeps them.
orders = Table(
    "orders",
    metadata,
    Column("portfolio_id", Integer, ForeignKey("portfolios.id"), primary_key=True),
    Column("symbol", String(50), primary_key=True),
    Column("kind", String(16), primary_key=True),
    Column("placed_ts", BigInteger, primary_key=True),
    Column("side", String(4), nullable=False),
    Column("price", ExactDecimal, nullable=False),
    Column("expires_ts", BigInteger, nullable=True),
    Column("size", Text, nullable=True),
    Column("exits", Text, nullable=True),
    Column("trail", ExactDecimal, nullable=True),
)

# Append-only (the migration installs triggers that refuse UPDATE and DELETE). Each entry
# carries the hash of the previous entry of its portfolio, so an edit anywhere breaks the chain.
journal = Table(
    "journal",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portfolio_id", Integer, ForeignKey("portfolios.id"), nullable=False),
    Column("tick_id", Integer, ForeignKey("ticks.id"), nullable=True),
    Column("event", String(40), nullable=False),
    Column("payload", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Column("recorded_ts", BigInteger, nullable=False),
    Index("ix_journal_portfolio_id_id", "portfolio_id", "id"),
)

candles = Table(
    "candles",
    metadata,
    Column("exchange", String(50), primary_key=True),
    Column("symbol", String(50), primary_key=True),
    Column("timeframe", String(10), primary_key=True),
    Column("ts", BigInteger, primary_key=True),
    Column("open", ExactDecimal, nullable=False),
    Column("high", ExactDecimal, nullable=False),
    Column("low", ExactDecimal, nullable=False),
    Column("close", ExactDecimal, nullable=False),
    Column("volume", ExactDecimal, nullable=False),
    sqlite_with_rowid=False,
)

# The funding rates of perpetual swaps, stored like candles: the rate settled at `ts` and the
# mark price the exchange gave with it (null when it gave none).
funding_rates = Table(
    "funding_rates",
    metadata,
    Column("exchange", String(50), primary_key=True),
    Column("symbol", String(50), primary_key=True),
    Column("ts", BigInteger, primary_key=True),
    Column("rate", ExactDecimal, nullable=False),
    Column("mark_price", ExactDecimal, nullable=True),
    sqlite_with_rowid=False,
)

# Every funding payment a tick booked (`amount` received, negative when paid), in the tick's
# transaction. The unique key books each funding time of a position at most once.
funding_payments = Table(
    "funding_payments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portfolio_id", Integer, ForeignKey("portfolios.id"), nullable=False),
    Column("tick_id", Integer, ForeignKey("ticks.id"), nullable=False),
    Column("symbol", String(50), nullable=False),
    Column("funding_ts", BigInteger, nullable=False),
    Column("candle_ts", BigInteger, nullable=False),
    Column("quantity", ExactDecimal, nullable=False),
    Column("mark_price", ExactDecimal, nullable=False),
    Column("rate", ExactDecimal, nullable=False),
    Column("amount", ExactDecimal, nullable=False),
    Column("floored", ExactDecimal, nullable=False),
    Column("cash_after", ExactDecimal, nullable=False),
    Column("executed_ts", BigInteger, nullable=False),
    UniqueConstraint("portfolio_id", "symbol", "funding_ts", name="uq_funding_payments_once"),
)

# What the exchange allows for a market (amount step, minimums) and its own name for it, cached
# so that a steady-state tick does not download the exchange's whole market list.
markets = Table(
    "markets",
    metadata,
    Column("exchange", String(50), primary_key=True),
    Column("symbol", String(50), primary_key=True),
    Column("venue_symbol", String(100), nullable=False),
    Column("base", String(20), nullable=False),
    Column("quote", String(20), nullable=False),
    Column("amount_step", ExactDecimal, nullable=False),
    Column("min_amount", ExactDecimal, nullable=False),
    Column("min_cost", ExactDecimal, nullable=False),
    # The exchange's fee rates for the market (ccxt's `maker`, `taker`; NULL when not given).
    Column("maker_fee", ExactDecimal, nullable=True),
    Column("taker_fee", ExactDecimal, nullable=True),
    Column("fetched_ts", BigInteger, nullable=False),
)

# Ranges of candle open times an exchange was asked for and had no candles in (an outage, or
# before the market was listed): a download never asks for them again.
candle_gaps = Table(
    "candle_gaps",
    metadata,
    Column("exchange", String(50), primary_key=True),
    Column("symbol", String(50), primary_key=True),
    Column("timeframe", String(10), primary_key=True),
    Column("first_ts", BigInteger, primary_key=True),
    Column("last_ts", BigInteger, nullable=False),
)

# -- notifications: where to send, and the transactional outbox ---------------------------------

# Apprise URLs carry secrets (bot tokens, passwords): they live here and nowhere else; every
# output shows `redacted`. `url_hash` (SHA-256 of the URL) keeps one row per URL and portfolio
# without indexing long text.
notify_targets = Table(
    "notify_targets",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portfolio_id", Integer, ForeignKey("portfolios.id"), nullable=False),
    Column("url", Text, nullable=False),
    Column("url_hash", String(64), nullable=False),
    Column("redacted", Text, nullable=False),
    Column("events", String(40), nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    UniqueConstraint("portfolio_id", "url_hash", name="uq_notify_targets_url"),
)

# The outbox: an event is written in the transaction that makes it true (a fill in its tick's
# own transaction). `dedupe` makes an event once-only where it must be (one daily summary per
# portfolio and UTC day), whichever host writes it first.
notify_events = Table(
    "notify_events",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("portfolio_id", Integer, ForeignKey("portfolios.id"), nullable=False),
    Column("kind", String(10), nullable=False),
    Column("symbol", String(50), nullable=True),
    Column("dedupe", String(40), nullable=True),
    Column("payload", Text, nullable=False),
    Column("created_ts", BigInteger, nullable=False),
    UniqueConstraint("portfolio_id", "kind", "dedupe", name="uq_notify_events_dedupe"),
    CheckConstraint("kind IN ('fill', 'error', 'recovery', 'daily', 'stale', 'resumed')", name="kind"),
)

# One row per (event, target) to send it to; pending while `delivered_ts` is null. A run that
# sends it holds a lease (`lease_until`), so that runs at the same moment do not all send it.
notify_deliveries = Table(
    "notify_deliveries",
    metadata,
    Column("event_id", Integer, ForeignKey("notify_events.id"), primary_key=True),
    Column("target_id", Integer, ForeignKey("notify_targets.id"), primary_key=True),
    Column("delivered_ts", BigInteger, nullable=True),
    Column("lease_until", BigInteger, nullable=True),  # a run is sending it until then
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Index("ix_notify_deliveries_delivered_ts", "delivered_ts"),
)

# A (portfolio, symbol) whose ticks keep failing: when it was last alerted, to remind at most
# hourly and to announce the recovery.
notify_streaks = Table(
    "notify_streaks",
    metadata,
    Column("portfolio_id", Integer, ForeignKey("portfolios.id"), primary_key=True),
    Column("symbol", String(50), primary_key=True),
    Column("since_ts", BigInteger, nullable=False),
    Column("last_alert_ts", BigInteger, nullable=False),
    Column("failures", Integer, nullable=False),
    Column("last_error", Text, nullable=False),
)
