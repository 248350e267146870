"""console summaries: daily and monthly order activity, daily units per SKU, who bought in
which category, refresh times; indexes for the at-risk list's sort orders, customers by
region, offers by customer and week, late orders by date, and orders that may be late or
were cancelled by date

Revision ID: 0201_console_summaries
Revises: 0200_console_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0201_console_summaries"
down_revision: str | None = "0200_console_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

SCORE_SORTS = {
    "ix_customer_scores_as_of_value_at_risk": ["value_at_risk"],
    "ix_customer_scores_as_of_probability": ["churn_probability"],
    "ix_customer_scores_as_of_expected_value": ["expected_value", "risk_band", "customer_id"],
}


def upgrade() -> None:
    op.create_table(
        "summary_daily_activity",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("orders", sa.Integer(), nullable=False),
        sa.Column("revenue", sa.Float(), nullable=False),
        sa.Column("first_orders", sa.Integer(), nullable=False),
        sa.Column("second_orders", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day"),
    )
    op.create_table(
        "summary_monthly_activity",
        sa.Column("month", sa.Integer(), nullable=False),
        sa.Column("buyers", sa.Integer(), nullable=False),
        sa.Column("returners", sa.Integer(), nullable=False),
        sa.Column("lapsed", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("month"),
    )
    op.create_table(
        "summary_sku_daily_units",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("sku", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("units", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("day", "sku"),
    )
    op.create_table(
        "summary_customer_categories",
        sa.Column("category", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.PrimaryKeyConstraint("category", "customer_id"),
    )
    op.create_table(
        "summary_refreshes",
        sa.Column("name", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("refreshed_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("data_through", sa.Date(), nullable=True),
        sa.PrimaryKeyConstraint("name"),
    )
    for name, columns in SCORE_SORTS.items():
        op.create_index(name, "customer_scores", ["as_of", *columns], unique=False)
    op.create_index("ix_customers_region", "customers", ["region"], unique=False)
    op.create_index("ix_customers_id_region", "customers", ["customer_id", "region"], unique=False)
    late = sa.text("delivered_date > promised_date")
    op.create_index(
        "ix_orders_late_by_date",
        "orders",
        ["ordered_date", "customer_id"],
        unique=False,
        sqlite_where=late,
        postgresql_where=late,
    )
    op.create_index("ix_offers_customer_week", "offers", ["customer_id", "week"], unique=False)
    troubled = sa.text(
        "delivered_date IS NULL OR delivered_date > promised_date OR status = 'cancelled'"
    )
    op.create_index(
        "ix_orders_troubled_by_date",
        "orders",
        ["ordered_date", "customer_id", "status", "promised_date", "delivered_date"],
        unique=False,
        sqlite_where=troubled,
        postgresql_where=troubled,
    )


def downgrade() -> None:
    op.drop_index("ix_orders_troubled_by_date", table_name="orders")
    op.drop_index("ix_customers_id_region", table_name="customers")
    op.drop_index("ix_customers_region", table_name="customers")
    op.drop_index("ix_orders_late_by_date", table_name="orders")
    op.drop_index("ix_offers_customer_week", table_name="offers")
    for name in SCORE_SORTS:
        op.drop_index(name, table_name="customer_scores")
    op.drop_table("summary_refreshes")
    op.drop_table("summary_customer_categories")
    op.drop_table("summary_sku_daily_units")
    op.drop_table("summary_monthly_activity")
    op.drop_table("summary_daily_activity")
