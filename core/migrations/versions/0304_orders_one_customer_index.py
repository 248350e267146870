"""orders: drop the single-column index on customer_id

ix_orders_customer_status_date (customer_id, status, ordered_date) starts with the same column
and serves the same lookups, the foreign key's included; every order imported or written kept
both up to date, and a first import into an empty table built both.

Revision ID: 0304_orders_one_customer_index
Revises: 0303_offers_hot_updates
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0304_orders_one_customer_index"
down_revision: str | None = "0303_offers_hot_updates"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_orders_customer_id", table_name="orders")


def downgrade() -> None:
    op.create_index("ix_orders_customer_id", "orders", ["customer_id"], unique=False)
