"""A portfolio can be archived (it stops trading and leaves the lists, its history kept) or
deleted (gone from every command; its rows stay, since the audit journal that refers to them is
append-only).

Revision ID: 0006_portfolio_lifecycle
Revises: 0005_typed_markets
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_portfolio_lifecycle"
down_revision = "0005_typed_markets"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("portfolios", sa.Column("archived_ts", sa.BigInteger(), nullable=True))
    op.add_column("portfolios", sa.Column("deleted_ts", sa.BigInteger(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("deleted_ts")
        batch.drop_column("archived_ts")
