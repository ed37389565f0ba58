"""Ticks: the cost basis of the portfolio's margin positions after the tick (0 for every tick
before leverage, and whenever no margin position is open), so a report read from the ledger
values a margin position at its unrealized PnL, as a backtest does.

Revision ID: 0017_tick_margin_basis
Revises: 0016_leverage
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_tick_margin_basis"
down_revision = "0016_leverage"
branch_labels = None
depends_on = None

# NUMERIC on PostgreSQL, exact decimal text on SQLite, as in 0001_initial.
AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.add_column("ticks", sa.Column("margin_basis_after", AMOUNT, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("ticks") as batch:
        batch.drop_column("margin_basis_after")
