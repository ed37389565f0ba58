"""Tick order: an index of each portfolio's ticks in the order they were processed.

The dashboard's tick journal lists a portfolio's ticks newest first, a page at a time, and its
caches notice a new tick by the portfolio's highest tick id. The tick key's index orders ticks
by strategy, symbol and candle, so both read (and sorted) every tick of the portfolio: 100,000
of them for a page of fifty. This index gives the page's ids, and the highest id, directly.

Revision ID: 0008_tick_order
Revises: 0007_orders
Create Date: 2026-11-26
"""

from alembic import op

revision = "0008_tick_order"
down_revision = "0007_orders"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ticks_portfolio_id_id", "ticks", ["portfolio_id", "id"])


def downgrade() -> None:
    op.drop_index("ix_ticks_portfolio_id_id", table_name="ticks")
