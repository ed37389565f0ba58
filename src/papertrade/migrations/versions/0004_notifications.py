"""Notifications: Apprise targets per portfolio and the transactional outbox.

Revision ID: 0004_notifications
Revises: 0003_candle_gaps
Create Date: 2026-11-26
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_notifications"
down_revision = "0003_candle_gaps"
branch_labels = None
depends_on = None


def upgrade() -> None:
    _create_notify_targets()
    _create_notify_events()
    _create_notify_deliveries()
    _create_notify_streaks()


def _create_notify_targets() -> None:
    op.create_table(
        "notify_targets",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("url_hash", sa.String(64), nullable=False),
        sa.Column("redacted", sa.Text(), nullable=False),
        sa.Column("events", sa.String(40), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], name="fk_notify_targets_portfolio_id_portfolios"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_targets"),
        sa.UniqueConstraint("portfolio_id", "url_hash", name="uq_notify_targets_url"),
    )


def _create_notify_events() -> None:
    op.create_table(
        "notify_events",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(10), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=True),
        sa.Column("dedupe", sa.String(40), nullable=True),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("created_ts", sa.BigInteger(), nullable=False),
        sa.CheckConstraint("kind IN ('fill', 'error', 'recovery', 'daily')", name="ck_notify_events_kind"),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], name="fk_notify_events_portfolio_id_portfolios"),
        sa.PrimaryKeyConstraint("id", name="pk_notify_events"),
        sa.UniqueConstraint("portfolio_id", "kind", "dedupe", name="uq_notify_events_dedupe"),
    )


def _create_notify_deliveries() -> None:
    op.create_table(
        "notify_deliveries",
        sa.Column("event_id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.Integer(), nullable=False),
        sa.Column("delivered_ts", sa.BigInteger(), nullable=True),
        sa.Column("lease_until", sa.BigInteger(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["event_id"], ["notify_events.id"], name="fk_notify_deliveries_event_id_notify_events"),
        sa.ForeignKeyConstraint(
            ["target_id"], ["notify_targets.id"], name="fk_notify_deliveries_target_id_notify_targets"
        ),
        sa.PrimaryKeyConstraint("event_id", "target_id", name="pk_notify_deliveries"),
    )
    op.create_index("ix_notify_deliveries_delivered_ts", "notify_deliveries", ["delivered_ts"])


def _create_notify_streaks() -> None:
    op.create_table(
        "notify_streaks",
        sa.Column("portfolio_id", sa.Integer(), nullable=False),
        sa.Column("symbol", sa.String(50), nullable=False),
        sa.Column("since_ts", sa.BigInteger(), nullable=False),
        sa.Column("last_alert_ts", sa.BigInteger(), nullable=False),
        sa.Column("failures", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["portfolio_id"], ["portfolios.id"], name="fk_notify_streaks_portfolio_id_portfolios"),
        sa.PrimaryKeyConstraint("portfolio_id", "symbol", name="pk_notify_streaks"),
    )


def downgrade() -> None:
    op.drop_table("notify_streaks")
    op.drop_index("ix_notify_deliveries_delivered_ts", table_name="notify_deliveries")
    op.drop_table("notify_deliveries")
    op.drop_table("notify_events")
    op.drop_table("notify_targets")
