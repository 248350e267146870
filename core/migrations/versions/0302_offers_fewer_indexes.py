"""offers: drop the single-column indexes on campaign_id and customer_id

Each is the first column of a wider index that serves the same lookups
(uq_offer_campaign_customer and ix_offers_customer_week); every offer written or updated
maintained both twice.

Revision ID: 0302_offers_fewer_indexes
Revises: 0301_console_at_scale
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0302_offers_fewer_indexes"
down_revision: str | None = "0301_console_at_scale"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.drop_index("ix_offers_campaign_id", table_name="offers")
    op.drop_index("ix_offers_customer_id", table_name="offers")


def downgrade() -> None:
    op.create_index("ix_offers_customer_id", "offers", ["customer_id"], unique=False)
    op.create_index("ix_offers_campaign_id", "offers", ["campaign_id"], unique=False)
