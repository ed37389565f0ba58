"""Maker and taker fees: a portfolio's maker rate beside its fee rate (the taker's), whether it
charges each market's own rates (`create-portfolio` without a fee option), and each cached
market's rates as ccxt gives them. Portfolios created before keep the one rate they had, for
maker and taker alike.

Revision ID: 0015_maker_taker_fees
Revises: 0014_stale_events
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_maker_taker_fees"
down_revision = "0014_stale_events"
branch_labels = None
depends_on = None

# NUMERIC on PostgreSQL, exact decimal text on SQLite, as in 0001_initial.
AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.add_column("portfolios", sa.Column("maker_fee", AMOUNT, nullable=True))
    op.add_column("portfolios", sa.Column("fees_from_exchange", sa.Boolean(), nullable=False, server_default=sa.false()))
    op.add_column("markets", sa.Column("maker_fee", AMOUNT, nullable=True))
    op.add_column("markets", sa.Column("taker_fee", AMOUNT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("markets") as batch:
        batch.drop_column("taker_fee")
        batch.drop_column("maker_fee")
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("fees_from_exchange")
        batch.drop_column("maker_fee")
