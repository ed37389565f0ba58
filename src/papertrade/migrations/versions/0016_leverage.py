"""Leverage: a portfolio's leverage for new entries (`--leverage`, 1 by default), the leverage
each position was opened at, and the loss a trade could not take out of the cash (`floored`,
0 by default): what every portfolio had before.

Revision ID: 0016_leverage
Revises: 0015_maker_taker_fees
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_leverage"
down_revision = "0015_maker_taker_fees"
branch_labels = None
depends_on = None

# NUMERIC on PostgreSQL, exact decimal text on SQLite, as in 0001_initial.
AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.add_column("portfolios", sa.Column("leverage", AMOUNT, nullable=False, server_default="1"))
    op.add_column("positions", sa.Column("leverage", AMOUNT, nullable=False, server_default="1"))
    op.add_column("trades", sa.Column("floored", AMOUNT, nullable=False, server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("floored")
    with op.batch_alter_table("positions") as batch:
        batch.drop_column("leverage")
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("leverage")
