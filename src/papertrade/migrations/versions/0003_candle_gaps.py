"""Gaps in an exchange's candle history that a download confirmed, so it never asks again.

Revision ID: 0003_candle_gaps
Revises: 0002_market_cache
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_candle_gaps"
down_revision = "0002_market_cache"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "candle_gaps",
        sa.Column("exchange", sa.String(50), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("timeframe", sa.String(10), nullable=False),
        sa.Column("first_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_ts", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("exchange", "symbol", "timeframe", "first_ts", name="pk_candle_gaps"),
    )


def downgrade() -> None:
    op.drop_table("candle_gaps")
