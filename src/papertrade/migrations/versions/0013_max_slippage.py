"""The slippage cap of a book walk per portfolio (`--max-slippage`), 0.05 (5 % from the decided
candle's close) by default, which is the cap every `--fill book` portfolio walked with before.

Revision ID: 0013_max_slippage
Revises: 0012_funding
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_max_slippage"
down_revision = "0012_funding"
branch_labels = None
depends_on = None

# NUMERIC on PostgreSQL, exact decimal text on SQLite, as in 0001_initial.
AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.add_column("portfolios", sa.Column("max_slippage", AMOUNT, nullable=False, server_default="0.05"))


def downgrade() -> None:
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("max_slippage")
