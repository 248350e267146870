"""Secondary indexes the console's reads need (declared here so that migrations and models agree)."""

from __future__ import annotations

from sqlalchemy import Index

from core.scores import CustomerScore
from core.tables import Order

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
