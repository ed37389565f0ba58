"""Orders: resting orders, the exits a portfolio attaches to its entries, and what made each trade.

A tick may now book several trades (resting orders filled on the candles since the last tick,
then the decision), so a trade no longer owns its tick alone; `kind` says what made it. Existing
trades were all made by signals.

Revision ID: 0007_orders
Revises: 0006_portfolio_lifecycle
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_orders"
down_revision = "0006_portfolio_lifecycle"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("portfolios") as batch:
        batch.add_column(sa.Column("exits", sa.Text(), nullable=False, server_default="{}"))
    with op.batch_alter_table("trades") as batch:
        batch.drop_constraint("uq_trades_tick_id", type_="unique")
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default="signal"))
        batch.create_index("ix_trades_tick_id", ["tick_id"])
    _create_orders()


def _create_orders() -> None:
    amount = sa.Numeric().with_variant(sa.Text(), "sqlite")
    op.create_table(
        "orders",
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("placed_ts", sa.BigInteger(), nullable=False),
        sa.Column("side", sa.String(4), nullable=False),
        sa.Column("price", amount, nullable=False),
        sa.Column("expires_ts", sa.BigInteger(), nullable=True),
        sa.Column("size", sa.Text(), nullable=True),
        sa.Column("exits", sa.Text(), nullable=True),
        sa.Column("trail", amount, nullable=True),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], name="fk_orders_portfolio_id_portfolios"),
        sa.PrimaryKeyConstraint("portfolio_id", "symbol", "kind", "placed_ts", name="pk_orders"),
    )


def downgrade() -> None:
    op.drop_table("orders")
    with op.batch_alter_table("trades") as batch:
        batch.drop_index("ix_trades_tick_id")
        batch.drop_column("kind")
        batch.create_unique_constraint("uq_trades_tick_id", ["tick_id"])
    with op.batch_alter_table("portfolios") as batch:
        batch.drop_column("exits")
