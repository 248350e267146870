"""Campaigns and their offers: what the machine proposed, what people decided, and why.

States, for campaigns and offers alike:
proposed -> approved | edited | rejected -> scheduled -> sent, or suppressed | paused | expired.
An offer a person changed on its own is `overridden`. Every row carries a `version` that an
update checks, so that two people acting on the same row cannot silently overwrite each other.
"""

from __future__ import annotations

from datetime import date, datetime
from enum import StrEnum

from sqlalchemy import Boolean, Column, Computed, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class Status(StrEnum):
    PROPOSED = "proposed"
    APPROVED = "approved"
    EDITED = "edited"
    REJECTED = "rejected"
    OVERRIDDEN = "overridden"
    SCHEDULED = "scheduled"
    SENT = "sent"
    SUPPRESSED = "suppressed"
    PAUSED = "paused"
    EXPIRED = "expired"


# A rerun of the week may replace these; anything else was decided by a person or has happened.
UNREVIEWED = (Status.PROPOSED, Status.SUPPRESSED)


class Campaign(SQLModel, table=True):
    """One campaign type in one ISO week, with its audience, money and stock impact."""

    __tablename__ = "campaigns"
    __table_args__ = (UniqueConstraint("week", "campaign_type", name="uq_campaign_week_type"),)

    id: int | None = Field(default=None, primary_key=True)
    week: str = Field(index=True)  # ISO week, e.g. 2026-W25
    campaign_type: str = Field(index=True)
    status: str = Field(default=Status.PROPOSED, index=True)
    version: int = 1
    as_of: date
    send_date: date
    discount_pct: float = 0.0
    audience_cap: int | None = None
    audience_size: int = 0  # treated customers
    holdout_size: int = 0
    suppressed_size: int = 0
    expected_uptake: float = 0.0  # expected conversions among the treated
    expected_cost: float = 0.0
    expected_revenue: float = 0.0
    stock_impact: str | None = Field(default=None, sa_column=Column(Text))  # JSON per SKU
    message_template: str | None = Field(default=None, sa_column=Column(Text))
    explanation: str | None = Field(default=None, sa_column=Column(Text))
    needs_manager_approval: bool = False
    proposed_at: datetime
    updated_at: datetime
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None


# Percent of each offers page filled by inserts (PostgreSQL); see Offer.__table_args__.
OFFERS_FILLFACTOR = 70


class Offer(SQLModel, table=True):
    """One customer's offer in one campaign (or the record of why it was suppressed)."""

    __tablename__ = "offers"
    __table_args__ = (
        UniqueConstraint("campaign_id", "customer_id", name="uq_offer_campaign_customer"),
        # Room on each page for a new version of its rows: PostgreSQL then writes a status
        # change such as a campaign's approval beside the old row without touching any index
        # (a HOT update), as no index holds the columns it sets (status, version, updated_at).
        {"postgresql_with": {"fillfactor": OFFERS_FILLFACTOR}},
    )

    id: int | None = Field(default=None, primary_key=True)
    # Found by campaign through uq_offer_campaign_customer and by customer through
    # ix_offers_customer_week (core/console_indexes.py): no index of their own.
    campaign_id: int = Field(foreign_key="campaigns.id")
    week: str = Field(index=True)
    campaign_type: str
    customer_id: str = Field(foreign_key="customers.customer_id")
    # Not indexed (see __table_args__): offers are found by campaign, week or customer, the
    # offers made (not suppressed) through `suppressed`, measured ones through
    # ix_offers_measured_week (core/console_indexes.py).
    status: str = Field(default=Status.PROPOSED)
    # Kept by the database from the status; an approval leaves it as it is.
    suppressed: bool | None = Field(
        default=None,
        sa_column=Column(Boolean, Computed("status = 'suppressed'", persisted=True)),
    )
    version: int = 1
    holdout: bool = False
    # No index: no query finds offers by SKU, and products are never deleted.
    sku: str | None = Field(default=None, foreign_key="products.sku")
    original_sku: str | None = None  # when a substitute took the SKU's place
    discount_pct: float = 0.0
    credit_amount: float = 0.0
    channel: str | None = None
    send_date: date | None = None
    reason: str | None = Field(default=None, sa_column=Column(Text))  # suppression, in words
    why_customer: str | None = Field(default=None, sa_column=Column(Text))
    why_offer: str | None = Field(default=None, sa_column=Column(Text))
    why_sku: str | None = Field(default=None, sa_column=Column(Text))
    context: str | None = None  # the bandit's context cell
    propensity: float | None = None  # probability the policy chose this campaign
    expected_uptake: float = 0.0
    expected_cost: float = 0.0
    expected_revenue: float = 0.0
    expected_units: float = 0.0
    proposed_at: datetime
    updated_at: datetime
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_reason: str | None = None
    # Filled by dispatch and outcome measurement.
    sent_at: datetime | None = None
    idempotency_key: str | None = Field(default=None, unique=True)
    converted: bool | None = None
    outcome_revenue: float | None = None
    outcome_at: datetime | None = None
