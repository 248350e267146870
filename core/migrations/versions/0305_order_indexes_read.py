"""orders and order lines: indexes hold only the rows their queries read; order lines
without rowid on SQLite

ix_order_lines_sku served no query (order lines are read by order, and products are never
deleted); ix_orders_troubled_by_date held every undelivered order, a purchase log's orders
among them, though an order without a promised date is never late: it now holds promised
undelivered orders, late deliveries and cancellations. A first import of a 10-million-line
purchase log built both over every row. On SQLite, order lines are stored in their key's
tree (WITHOUT ROWID), not in a rowid tree beside a second tree for the key.

Revision ID: 0305_order_indexes_read
Revises: 0304_orders_one_customer_index
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0305_order_indexes_read"
down_revision: str | None = "0304_orders_one_customer_index"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TROUBLED_COLUMNS = ["ordered_date", "customer_id", "status", "promised_date", "delivered_date"]


def _troubled(condition: str) -> None:
    op.drop_index("ix_orders_troubled_by_date", table_name="orders")
    where = sa.text(condition)
    op.create_index(
        "ix_orders_troubled_by_date",
        "orders",
        TROUBLED_COLUMNS,
        unique=False,
        sqlite_where=where,
        postgresql_where=where,
    )


def _order_lines_rowid(kept: bool) -> None:
    if op.get_bind().dialect.name == "sqlite":
        with op.batch_alter_table(
            "order_lines", recreate="always", table_kwargs={"sqlite_with_rowid": kept}
        ):
            pass


def upgrade() -> None:
    op.drop_index("ix_order_lines_sku", table_name="order_lines")
    _order_lines_rowid(False)
    _troubled(
        "(delivered_date IS NULL AND promised_date IS NOT NULL)"
        " OR delivered_date > promised_date OR status = 'cancelled'"
    )


def downgrade() -> None:
    _order_lines_rowid(True)
    _troubled("delivered_date IS NULL OR delivered_date > promised_date OR status = 'cancelled'")
    op.create_index("ix_order_lines_sku", "order_lines", ["sku"], unique=False)
