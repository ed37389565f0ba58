"""Shorts: a portfolio created with `--allow-short` may hold a negative quantity.

Existing portfolios stay long-only (the column defaults to false), so nothing they do changes.
Positions already keep signed-capable amounts (quantity, cost basis), so no other column moves.

Revision ID: 0009_shorts
Revises: 0008_tick_order
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_shorts"
down_revision = "0008_tick_order"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("portfolios", sa.Column("allow_short", sa.Boolean(), nullable=False, server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("allow_short")
