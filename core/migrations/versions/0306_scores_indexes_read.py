"""customer scores: no index that no query reads

Every read of the scores names its date (the newest scores, or one customer's history), so the
single-column indexes on the risk band, the value at risk and the model version served no
query: the at-risk list, the overview and the proposals read the date-led indexes of
core/console_indexes.py. A night's scoring wrote a million entries into each of them.

Revision ID: 0306_scores_indexes_read
Revises: 0305_order_indexes_read
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0306_scores_indexes_read"
down_revision: str | None = "0305_order_indexes_read"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

UNREAD = ["risk_band", "value_at_risk", "model_version_id"]


def upgrade() -> None:
    for column in UNREAD:
        op.drop_index(f"ix_customer_scores_{column}", table_name="customer_scores")


def downgrade() -> None:
    for column in UNREAD:
        op.create_index(f"ix_customer_scores_{column}", "customer_scores", [column], unique=False)
