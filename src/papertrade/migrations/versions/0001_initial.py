"""The ledger: portfolios, positions, ticks, trades, the append-only journal, and candles.

Revision ID: 0001_initial
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0001_initial"
down_revision = None
branch_labels = None
depends_on = None

# Decimal amounts: exact NUMERIC on PostgreSQL, canonical decimal text on SQLite (whose NUMERIC
# affinity would turn them into binary floats). Matches papertrade.adapters.schema.ExactDecimal.
AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")

_PG_APPEND_ONLY = """
CREATE FUNCTION papertrade_journal_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit journal is append-only';
END $$
"""


def upgrade() -> None:
    _create_portfolios()
    _create_positions()
    _create_ticks()
    _create_trades()
    _create_journal()
    _create_candles()


def _create_portfolios() -> None:
    op.create_table(
        "portfolios",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("name", sa.String(100), nullable=False),
        sa.Column("quote_currency", sa.String(20), nullable=False),
        sa.Column("initial_cash", AMOUNT, nullable=False),
        sa.Column("cash", AMOUNT, nullable=False),
        sa.Column("strategy", sa.String(200), nullable=False),
        sa.Column("strategy_params", sa.Text(), nullable=False),
        sa.Column("exchange", sa.String(50), nullable=False),
        sa.Column("timeframe", sa.String(10), nullable=False),
        sa.Column("fee_rate", AMOUNT, nullable=False),
        sa.Column("slippage_bps", AMOUNT, nullable=False),
        sa.Column("stake_fraction", AMOUNT, nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_portfolios"),
        sa.UniqueConstraint("name", name="uq_portfolios_name"),
    )


def _create_positions() -> None:
    op.create_table(
        "positions",
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("quantity", AMOUNT, nullable=False),
        sa.Column("avg_cost", AMOUNT, nullable=False),
        sa.Column("cost_basis", AMOUNT, nullable=False),
        sa.Column("realized_pnl", AMOUNT, nullable=False),
        sa.Column("fees_paid", AMOUNT, nullable=False),
        sa.Column("updated_ts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], name="fk_positions_portfolio_id_portfolios"),
        sa.PrimaryKeyConstraint("portfolio_id", "symbol", name="pk_positions"),
    )


def _create_ticks() -> None:
    op.create_table(
        "ticks",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("strategy", sa.String(200), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("candle_ts", sa.BigInteger(), nullable=False),
        sa.Column("signal", sa.String(4), nullable=False),
        sa.Column("status", sa.String(10), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("indicators", sa.Text(), nullable=False),
        sa.Column("close", AMOUNT, nullable=False),
        sa.Column("cash_after", AMOUNT, nullable=False),
        sa.Column("position_after", AMOUNT, nullable=False),
        sa.Column("skipped", sa.Integer(), nullable=False),
        sa.Column("processed_ts", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("signal IN ('BUY', 'SELL', 'HOLD')", name="ck_ticks_signal"),
        sa.CheckConstraint("status IN ('executed', 'neutral')", name="ck_ticks_status"),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], name="fk_ticks_portfolio_id_portfolios"),
        sa.PrimaryKeyConstraint("id", name="pk_ticks"),
        sa.UniqueConstraint("portfolio_id", "strategy", "symbol", "candle_ts", name="uq_ticks_key"),
    )


def _create_trades() -> None:
    op.create_table(
        "trades",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("tick_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("candle_ts", sa.BigInteger(), nullable=False),
        sa.Column("quantity", AMOUNT, nullable=False),
        sa.Column("price", AMOUNT, nullable=False),
        sa.Column("notional", AMOUNT, nullable=False),
        sa.Column("fee", AMOUNT, nullable=False),
        sa.Column("realized_pnl", AMOUNT, nullable=False),
        sa.Column("cash_after", AMOUNT, nullable=False),
        sa.Column("executed_ts", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("side IN ('BUY', 'SELL')", name="ck_trades_side"),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], name="fk_trades_portfolio_id_portfolios"),
        sa.ForeignKeyConstraint(["tick_id"], ["ticks.id"], name="fk_trades_tick_id_ticks"),
        sa.PrimaryKeyConstraint("id", name="pk_trades"),
        sa.UniqueConstraint("tick_id", name="uq_trades_tick_id"),
    )
    op.create_index("ix_trades_portfolio_id_candle_ts", "trades", ["portfolio_id", "candle_ts"])


def _create_journal() -> None:
    op.create_table(
        "journal",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("tick_id", sa.Integer(), nullable=True),
        sa.Column("event", sa.String(40), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(64), nullable=False),
        sa.Column("hash", sa.String(64), nullable=False),
        sa.Column("recorded_ts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], name="fk_journal_portfolio_id_portfolios"),
        sa.ForeignKeyConstraint(["tick_id"], ["ticks.id"], name="fk_journal_tick_id_ticks"),
        sa.PrimaryKeyConstraint("id", name="pk_journal"),
    )
    op.create_index("ix_journal_portfolio_id_id", "journal", ["portfolio_id", "id"])


def _create_candles() -> None:
    op.create_table(
        "candles",
        sa.Column("exchange", sa.String(50), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("timeframe", sa.String(10), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("open", AMOUNT, nullable=False),
        sa.Column("high", AMOUNT, nullable=False),
        sa.Column("low", AMOUNT, nullable=False),
        sa.Column("close", AMOUNT, nullable=False),
        sa.Column("volume", AMOUNT, nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", "timeframe", "ts", name="pk_candles"),
        sqlite_with_rowid=False,
    )
    _make_journal_append_only()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER journal_append_only ON journal")
        op.execute("DROP TRIGGER journal_no_truncate ON journal")
        op.execute("DROP FUNCTION papertrade_journal_append_only()")
    else:
        op.execute("DROP TRIGGER journal_no_update")
        op.execute("DROP TRIGGER journal_no_delete")
    op.drop_table("candles")
    op.drop_index("ix_journal_portfolio_id_id", table_name="journal")
    op.drop_table("journal")
    op.drop_index("ix_trades_portfolio_id_candle_ts", table_name="trades")
    op.drop_table("trades")
    op.drop_table("ticks")
    op.drop_table("positions")
    op.drop_table("portfolios")


def _make_journal_append_only() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(_PG_APPEND_ONLY)
        op.execute(
            "CREATE TRIGGER journal_append_only BEFORE UPDATE OR DELETE ON journal "
            "FOR EACH ROW EXECUTE FUNCTION papertrade_journal_append_only()"
        )
        op.execute(
            "CREATE TRIGGER journal_no_truncate BEFORE TRUNCATE ON journal "
            "FOR EACH STATEMENT EXECUTE FUNCTION papertrade_journal_append_only()"
        )
        return
    for action in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER journal_no_{action.lower()} BEFORE {action} ON journal "
            "BEGIN SELECT RAISE(ABORT, 'the audit journal is append-only'); END"
        )
