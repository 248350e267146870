"""customer scores and model versions

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-26 01:31:22.172368
"""

from collections.abc import Sequence

import sqlalchemy as sa
import sqlmodel
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.Column("created_by", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("horizon_days", sa.Integer(), nullable=False),
        sa.Column("params", sa.Text(), nullable=False),
        sa.Column("library_versions", sa.Text(), nullable=False),
        sa.Column("data_window", sa.Text(), nullable=False),
        sa.Column("metrics", sa.Text(), nullable=False),
        sa.Column("beats_baselines", sa.Boolean(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("artifact_sha256", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("artifact", sa.LargeBinary(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_model_versions_active"), ["active"], unique=False)

    op.create_table(
        "customer_scores",
        sa.Column("as_of", sa.Date(), nullable=False),
        sa.Column("customer_id", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("model_version_id", sa.Integer(), nullable=True),
        sa.Column("churn_probability", sa.Float(), nullable=False),
        sa.Column("risk_band", sqlmodel.sql.sqltypes.AutoString(), nullable=False),
        sa.Column("expected_value", sa.Float(), nullable=False),
        sa.Column("value_at_risk", sa.Float(), nullable=False),
        sa.Column("reasons", sa.Text(), nullable=True),
        sa.Column("scored_at", sqlmodel.sql.sqltypes.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["customer_id"],
            ["customers.customer_id"],
        ),
        sa.PrimaryKeyConstraint("as_of", "customer_id"),
    )
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_customer_scores_customer_id"), ["customer_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_scores_model_version_id"), ["model_version_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_scores_risk_band"), ["risk_band"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_customer_scores_value_at_risk"), ["value_at_risk"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("customer_scores", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_customer_scores_value_at_risk"))
        batch_op.drop_index(batch_op.f("ix_customer_scores_risk_band"))
        batch_op.drop_index(batch_op.f("ix_customer_scores_model_version_id"))
        batch_op.drop_index(batch_op.f("ix_customer_scores_customer_id"))

    op.drop_table("customer_scores")
    with op.batch_alter_table("model_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_model_versions_active"))

    op.drop_table("model_versions")
