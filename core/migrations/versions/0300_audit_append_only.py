"""audit events are append-only: on PostgreSQL a trigger refuses UPDATE and DELETE on audit_events

Revision ID: 0300_audit_append_only
Revises: 0201_console_summaries
"""

from collections.abc import Sequence

from alembic import op

from core.audit import TRIGGER, TRIGGER_FUNCTION

revision: str = "0300_audit_append_only"
down_revision: str | None = "0201_console_summaries"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # SQLite has no role that could be refused; the application's own refusal covers it.
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(TRIGGER_FUNCTION)
    op.execute(TRIGGER)


def downgrade() -> None:
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute("DROP TRIGGER IF EXISTS audit_events_append_only ON audit_events")
    op.execute("DROP FUNCTION IF EXISTS easel_audit_append_only()")
