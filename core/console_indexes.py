"""Secondary indexes the console's reads need (declared here so that migrations and models agree)."""

from __future__ import annotations

from sqlalchemy import Index, and_, literal_column, or_

from core.campaigns import Offer
from core.scores import CustomerScore
from core.tables import Customer, Order

_scores = CustomerScore.__table__
_orders = Order.__table__

# Risk by band on the newest scores reads only this index (no table rows).
SCORES_BY_BAND = Index(
    "ix_customer_scores_as_of_band", _scores.c.as_of, _scores.c.risk_band, _scores.c.value_at_risk
)
# Buyers and repeat buyers group orders by customer without touching the table.
ORDERS_BY_CUSTOMER = Index(
    "ix_orders_customer_status_date",
    _orders.c.customer_id,
    _orders.c.status,
    _orders.c.ordered_date,
)
# The at-risk list pages the newest scores in each sort order without sorting every score.
SCORES_BY_VALUE_AT_RISK = Index(
    "ix_customer_scores_as_of_value_at_risk", _scores.c.as_of, _scores.c.value_at_risk
)
SCORES_BY_PROBABILITY = Index(
    "ix_customer_scores_as_of_probability", _scores.c.as_of, _scores.c.churn_probability
)
# Also covers the band and id, so that "expected value at least X" counts from the index alone.
SCORES_BY_EXPECTED_VALUE = Index(
    "ix_customer_scores_as_of_expected_value",
    _scores.c.as_of,
    _scores.c.expected_value,
    _scores.c.risk_band,
    _scores.c.customer_id,
)
# Orders that may be late or were cancelled: promised and undelivered, delivered after the
# promise, or cancelled. The inventory page's delayed customers read only these, from the index
# alone; the query repeats this condition as it is, so that SQLite sees the index applies. An
# order without a promised date is never late (a purchase log's orders have none): it stays out.
TROUBLED_ORDERS = or_(
    and_(_orders.c.delivered_date.is_(None), _orders.c.promised_date.is_not(None)),
    _orders.c.delivered_date > _orders.c.promised_date,
    _orders.c.status == literal_column("'cancelled'"),
)
TROUBLED_ORDERS_BY_DATE = Index(
    "ix_orders_troubled_by_date",
    _orders.c.ordered_date,
    _orders.c.customer_id,
    _orders.c.status,
    _orders.c.promised_date,
    _orders.c.delivered_date,
    sqlite_where=TROUBLED_ORDERS,
    postgresql_where=TROUBLED_ORDERS,
)
# The region menu steps through this index (one lookup per region).
CUSTOMERS_BY_REGION = Index("ix_customers_region", Customer.__table__.c.region)
# The region filter checks a customer's region here without reading the row.
CUSTOMER_REGIONS = Index(
    "ix_customers_id_region", Customer.__table__.c.customer_id, Customer.__table__.c.region
)
# A page of customers' offers of one week: a few index entries each, not the week's offers.
OFFERS_BY_CUSTOMER_WEEK = Index(
    "ix_offers_customer_week", Offer.__table__.c.customer_id, Offer.__table__.c.week
)
# Orders delivered late, by date: the at-risk list's "late order" filter reads only these.
_late = _orders.c.delivered_date > _orders.c.promised_date
LATE_ORDERS_BY_DATE = Index(
    "ix_orders_late_by_date",
    _orders.c.ordered_date,
    _orders.c.customer_id,
    sqlite_where=_late,
    postgresql_where=_late,
)
# The at-risk list's late-order filter checks a customer's late orders here (a few entries
# each, no table rows), and PostgreSQL merges them with the scores by customer.
LATE_ORDERS_BY_CUSTOMER = Index(
    "ix_orders_late_by_customer",
    _orders.c.customer_id,
    _orders.c.ordered_date,
    sqlite_where=_late,
    postgresql_where=_late,
)
# The at-risk list's id search (LIKE 'prefix%'): PostgreSQL compares with pattern operators
# here whatever the database's collation (SQLite reads a range of the key and ignores the ops).
SCORES_BY_ID_PREFIX = Index(
    "ix_customer_scores_as_of_id_prefix",
    _scores.c.as_of,
    _scores.c.customer_id,
    postgresql_ops={"customer_id": "varchar_pattern_ops"},
)
# When the newest scores were written: the overview's risk by band reads the band summary
# only while it was made from these very scores.
SCORES_BY_SCORED_AT = Index(
    "ix_customer_scores_as_of_scored_at", _scores.c.as_of, _scores.c.scored_at
)
# The offers have no index on their status, so that approving a campaign rewrites its offers
# without touching an index (core.campaigns.Offer). The offers made (not suppressed records),
# treated or holdout, are found here; the status the database keeps this flag from only
# changes it when an offer is suppressed.
OFFERS_MADE = Index(
    "ix_offers_suppressed_holdout", Offer.__table__.c.suppressed, Offer.__table__.c.holdout
)
# Offers with a recorded outcome, by week and campaign: the results page reads only these.
_measured = Offer.__table__.c.converted.is_not(None)
MEASURED_OFFERS_BY_WEEK = Index(
    "ix_offers_measured_week",
    Offer.__table__.c.week,
    Offer.__table__.c.campaign_type,
    sqlite_where=_measured,
    postgresql_where=_measured,
)
