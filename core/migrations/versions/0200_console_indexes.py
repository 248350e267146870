"""console indexes: newest scores by band, orders by customer and status

Revision ID: 0200_console_indexes
Revises: 0101_sends
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0200_console_indexes"
down_revision: str | None = "0101_sends"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_index(
        "ix_customer_scores_as_of_band",
        "customer_scores",
        ["as_of", "risk_band", "value_at_risk"],
        unique=False,
    )
    op.create_index(
        "ix_orders_customer_status_date",
        "orders",
        ["customer_id", "status", "ordered_date"],
        unique=False,
    )


def downgrade() -> None:
    op.drop_index("ix_orders_customer_status_date", table_name="orders")
    op.drop_index("ix_customer_scores_as_of_band", table_name="customer_scores")
