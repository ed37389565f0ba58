"""Cache of exchange market descriptions, so a steady-state tick makes one request.

Revision ID: 0002_market_cache
Revises: 0001_initial
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_market_cache"
down_revision = "0001_initial"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "markets",
        sa.Column("exchange", sa.String(50), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("description", sa.Text(), nullable=False),
        sa.Column("fetched_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", name="pk_markets"),
    )


def downgrade() -> None:
    op.drop_table("markets")
