"""offers: a campaign's approval rewrites no index entry (PostgreSQL HOT updates)

Approving a campaign sets each of its offers' status, version and updated_at. While an index
held the status (ix_offers_status), PostgreSQL wrote a new entry in every one of the offers'
seven indexes for each offer. Now no index holds those columns and each page keeps room for
new versions of its rows (fillfactor 70, for pages written from now on), so most offers are
rewritten beside the old row and no index is touched.

What the status index served: the offers made (not suppressed), through a flag the database
keeps from the status (`suppressed`, which an approval leaves as it is) and its index; the
offers with an outcome (the results page), through a partial index. The index on sku goes
too: no query finds offers by SKU and products are never deleted.

Revision ID: 0303_offers_hot_updates
Revises: 0302_offers_fewer_indexes
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0303_offers_hot_updates"
down_revision: str | None = "0302_offers_fewer_indexes"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def _suppressed() -> sa.Column:
    return sa.Column(
        "suppressed", sa.Boolean(), sa.Computed("status = 'suppressed'", persisted=True)
    )


def upgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.add_column("offers", _suppressed())
    else:
        # SQLite adds a stored generated column only by making the table again.
        with op.batch_alter_table("offers", recreate="always") as batch_op:
            batch_op.add_column(_suppressed())
    op.create_index(
        "ix_offers_suppressed_holdout", "offers", ["suppressed", "holdout"], unique=False
    )
    measured = sa.text("converted IS NOT NULL")
    op.create_index(
        "ix_offers_measured_week",
        "offers",
        ["week", "campaign_type"],
        unique=False,
        sqlite_where=measured,
        postgresql_where=measured,
    )
    op.drop_index("ix_offers_status", table_name="offers")
    op.drop_index("ix_offers_sku", table_name="offers")
    if postgresql:
        op.execute("ALTER TABLE offers SET (fillfactor = 70)")  # core.campaigns.OFFERS_FILLFACTOR


def downgrade() -> None:
    postgresql = op.get_bind().dialect.name == "postgresql"
    if postgresql:
        op.execute("ALTER TABLE offers RESET (fillfactor)")
    op.create_index("ix_offers_sku", "offers", ["sku"], unique=False)
    op.create_index("ix_offers_status", "offers", ["status"], unique=False)
    op.drop_index("ix_offers_measured_week", table_name="offers")
    op.drop_index("ix_offers_suppressed_holdout", table_name="offers")
    if postgresql:
        op.drop_column("offers", "suppressed")
    else:
        with op.batch_alter_table("offers", recreate="always") as batch_op:
            batch_op.drop_column("suppressed")
