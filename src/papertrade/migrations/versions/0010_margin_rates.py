"""Margin rates: a portfolio's maintenance margin rate and liquidation fee rate
(`create-portfolio --maintenance-margin --liquidation-fee`), both 0.005 by default, which is
what every portfolio used before.

Revision ID: 0010_margin_rates
Revises: 0009_shorts
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_margin_rates"
down_revision = "0009_shorts"
branch_labels = None
depends_on = None

# NUMERIC on PostgreSQL, exact decimal text on SQLite, as in 0001_initial.
AMOUNT = sa.Numeric().with_variant(sa.Text(), "sqlite")


def upgrade() -> None:
    op.add_column("portfolios", sa.Column("maintenance_margin", AMOUNT, nullable=False, server_default="0.005"))
    op.add_column("portfolios", sa.Column("liquidation_fee", AMOUNT, nullable=False, server_default="0.005"))


def downgrade() -> None:
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("liquidation_fee")
        batch.drop_column("maintenance_margin")
