"""console at a million customers: risk band totals summary; indexes for late orders by
customer, the id search on PostgreSQL and the newest scores' write time

Revision ID: 0301_console_at_scale
Revises: 0300_audit_append_only
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0301_console_at_scale"
down_revision: str | None = "0300_audit_append_only"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "summary_score_bands",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("risk_band", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("customers", sa.Integer(), nullable=False),
        sa.Column("value_at_risk", sa.Float(), nullable=False),
        sa.Column("scored_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("as_of", "risk_band"),
    )
    late = sa.text("delivered_date > promised_date")
    op.create_index(
        "ix_orders_late_by_customer",
        "orders",
        ["customer_id", "ordered_date"],
        unique=False,
        sqlite_where=late,
        postgresql_where=late,
    )
    op.create_index(
        "ix_customer_scores_as_of_id_prefix",
        "customer_scores",
        ["as_of", "customer_id"],
        unique=False,
        postgresql_ops={"customer_id": "varchar_pattern_ops"},
    )
    op.create_index(
        "ix_customer_scores_as_of_scored_at",
        "customer_scores",
        ["as_of", "scored_at"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_customer_scores_as_of_scored_at", table_name="customer_scores")
    op.drop_index("ix_customer_scores_as_of_id_prefix", table_name="customer_scores")
    op.drop_index("ix_orders_late_by_customer", table_name="orders")
    op.drop_table("summary_score_bands")
