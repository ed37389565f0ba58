"""Funding of perpetual swaps (`papertrade.domain.funding`): the funding rates an exchange
published (stored like candles, with the mark price it gave), each position's funding paid,
and every funding payment a tick booked, at most one per portfolio, symbol and funding time.

Revision ID: 0012_funding
Revises: 0011_fill_setting
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0012_funding"
down_revision = "0011_fill_setting"
branch_labels = None
depends_on = None

# NUMERIC on PostgreSQL, exact decimal text on SQLite, as in 0001_initial.
AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.add_column("positions", sa.Column("funding_paid", AMOUNT, nullable=False, server_default="0"))
    op.create_table(
        "funding_rates",
        sa.Column("exchange", sa.String(50), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("ts", sa.BigInteger(), nullable=False),
        sa.Column("rate", AMOUNT, nullable=False),
        sa.Column("mark_price", AMOUNT, nullable=True),
        sa.PrimaryKeyConstraint("exchange", "symbol", "ts", name="pk_funding_rates"),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "funding_payments",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("tick_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("funding_ts", sa.BigInteger(), nullable=False),
        sa.Column("candle_ts", sa.BigInteger(), nullable=False),
        sa.Column("quantity", AMOUNT, nullable=False),
        sa.Column("mark_price", AMOUNT, nullable=False),
        sa.Column("rate", AMOUNT, nullable=False),
        sa.Column("amount", AMOUNT, nullable=False),
        sa.Column("floored", AMOUNT, nullable=False),
        sa.Column("cash_after", AMOUNT, nullable=False),
        sa.Column("executed_ts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], name="fk_funding_payments_portfolio_id_portfolios"),
        sa.ForeignKeyConstraint(["tick_id"], ["ticks.id"], name="fk_funding_payments_tick_id_ticks"),
        sa.PrimaryKeyConstraint("id", name="pk_funding_payments"),
        sa.UniqueConstraint("portfolio_id", "symbol", "funding_ts", name="uq_funding_payments_once"),
    )


def downgrade() -> None:
    op.drop_table("funding_payments")
    op.drop_table("funding_rates")
    with op.batch_alter_table("positions") as batch:
        batch.drop_column("funding_paid")
