"""Stale symbols: the outbox takes `stale` and `resumed` events (`papertrade notify check`), sent
to the URLs that get `error` events.

Revision ID: 0014_stale_events
Revises: 0013_max_slippage
Create Date: 2026-12-07
"""

from alembic import op

revision = "0014_stale_events"
down_revision = "0013_max_slippage"
branch_labels = None
depends_on = None

BEFORE = "kind IN ('fill', 'error', 'recovery', 'daily')"
AFTER = "kind IN ('fill', 'error', 'recovery', 'daily', 'stale', 'resumed')"


#: 0004 named the constraint twice over (the naming convention prefixed a name already prefixed).
OLD_NAME = "ck_notify_events_ck_notify_events_kind"
NAME = "ck_notify_events_kind"


def upgrade() -> None:
    _kinds(OLD_NAME, NAME, AFTER)


def downgrade() -> None:
    op.execute("DELETE FROM notify_deliveries WHERE event_id IN "
               "(SELECT id FROM notify_events WHERE kind IN ('stale', 'resumed'))")  # fmt: skip
    op.execute("DELETE FROM notify_events WHERE kind IN ('stale', 'resumed')")
    _kinds(NAME, OLD_NAME, BEFORE)


def _kinds(old_name: str, name: str, check: str) -> None:
    with op.batch_alter_table("notify_events") as batch:
        batch.drop_constraint(op.f(old_name), type_="check")
        batch.create_check_constraint(op.f(name), check)
