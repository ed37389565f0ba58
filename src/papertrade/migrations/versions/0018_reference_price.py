"""Each trade's reference price beside its fill price: the decided candle's close for a market
fill, the resting order's level for a limit, stop or protective fill (NULL for a liquidation and
for trades booked before), so that slippage is measured per fill.

Revision ID: 0018_reference_price
Revises: 0017_tick_margin_basis
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_reference_price"
down_revision = "0017_tick_margin_basis"
branch_labels = None
depends_on = None

# NUMERIC on PostgreSQL, exact decimal text on SQLite, as in 0001_initial.
AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.add_column("trades", sa.Column("reference_price", AMOUNT, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("trades") as batch:
        batch.drop_column("reference_price")
