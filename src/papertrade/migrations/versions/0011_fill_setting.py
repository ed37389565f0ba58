"""The fill setting: how a portfolio's market orders fill in LIVE and DRY ticks
(`create-portfolio --fill close|book`), "close" by default, which is what every portfolio did before.

Revision ID: 0011_fill_setting
Revises: 0010_margin_rates
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_fill_setting"
down_revision = "0010_margin_rates"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("portfolios", sa.Column("fill", sa.Text(), nullable=False, server_default="close"))


def downgrade() -> None:
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("fill")
