"""The week at a glance: headline figures computed in SQL, never by loading every row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Integer, case, extract, func, over
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from core.campaigns import Campaign, Status
from core.scores import CustomerScore
from core.tables import Customer, Order, Product, StockLevel, Supplier

BANDS = ("high", "medium", "low")
WAITING = (Status.PROPOSED, Status.EDITED)


@dataclass(frozen=True)
class MarketplaceSummary:
    customers: int
    buyers: int
    orders_last_30_days: int
    revenue_last_30_days: float
    repeat_purchase_rate: float | None  # share of buyers with two orders or more
    skus_below_reorder_point: int
    suppliers_with_issues: int


def marketplace_summary(session: Session, *, as_of: date) -> MarketplaceSummary:
    """Headline figures as of a date (orders after it are not counted)."""
    customers = session.exec(select(func.count()).select_from(Customer)).one()
    since = as_of - timedelta(days=30)
    recent = select(func.count(), func.coalesce(func.sum(Order.amount), 0.0)).where(
        col(Order.ordered_date) > since,
        col(Order.ordered_date) <= as_of,
        col(Order.status) != "cancelled",
    )
    orders_30, revenue_30 = session.exec(recent).one()
    per_buyer = (
        select(Order.customer_id, func.count().label("n"))
        .where(col(Order.ordered_date) <= as_of, col(Order.status) != "cancelled")
        .group_by(col(Order.customer_id))
        .subquery()
    )
    buyers, repeaters = session.exec(
        select(func.count(), func.coalesce(func.sum((per_buyer.c.n >= 2).cast(Integer)), 0))
    ).one()
    below = session.exec(
        select(func.count())
        .select_from(StockLevel)
        .join(Product, col(Product.sku) == col(StockLevel.sku))
        .where(col(StockLevel.on_hand) < col(Product.reorder_point), col(Product.active))
    ).one()
    issues = session.exec(
        select(func.count()).select_from(Supplier).where(col(Supplier.status) != "ok")
    ).one()
    return MarketplaceSummary(
        customers=customers,
        buyers=buyers,
        orders_last_30_days=orders_30,
        revenue_last_30_days=float(revenue_30),
        repeat_purchase_rate=(repeaters / buyers) if buyers else None,
        skus_below_reorder_point=below,
        suppliers_with_issues=issues,
    )


def supplier_issues(session: Session) -> list[Supplier]:
    """Suppliers that are delayed or disrupted, the longest lead time first."""
    statement = (
        select(Supplier)
        .where(col(Supplier.status) != "ok")
        .order_by(col(Supplier.lead_time_days).desc())
    )
    return list(session.exec(statement))


def risk_by_band(session: Session) -> pd.DataFrame:
    """Customers and value at risk per risk band, from the newest scores (empty before scoring)."""
    t = CustomerScore.__table__
    newest = sql_select(func.max(t.c.as_of)).scalar_subquery()
    statement = (
        sql_select(
            t.c.risk_band,
            t.c.as_of,
            func.count().label("customers"),
            func.sum(t.c.value_at_risk).label("value_at_risk"),
        )
        .where(t.c.as_of == newest)
        .group_by(t.c.risk_band, t.c.as_of)
    )
    frame = pd.read_sql(statement, session.connection())
    order = {band: i for i, band in enumerate(BANDS)}
    frame = frame.sort_values("risk_band", key=lambda b: b.map(order).fillna(len(order)))
    return frame.reset_index(drop=True)


AWAITING_COLUMNS = [
    "id",
    "week",
    "campaign_type",
    "status",
    "audience_size",
    "holdout_size",
    "discount_pct",
    "expected_cost",
    "expected_revenue",
    "needs_manager_approval",
    "send_date",
]


def awaiting_approval(session: Session) -> pd.DataFrame:
    """Campaigns proposed or edited and not yet decided, the soonest send date first."""
    t = Campaign.__table__
    statement = (
        sql_select(*(t.c[name] for name in AWAITING_COLUMNS))
        .where(t.c.status.in_([s.value for s in WAITING]))
        .order_by(t.c.send_date, t.c.campaign_type)
    )
    return pd.read_sql(statement, session.connection())


TREND_COLUMNS = ["month", "buyers", "repeat_purchase_rate", "lapse_rate"]


def _month_index(column, dialect: str):
    """Months since year 0, so that gaps between months are plain subtraction."""
    if dialect == "sqlite":
        year = func.cast(func.strftime("%Y", column), Integer)
        month = func.cast(func.strftime("%m", column), Integer)
    else:
        year = func.cast(extract("year", column), Integer)
        month = func.cast(extract("month", column), Integer)
    return year * 12 + month - 1


def monthly_trend(
    session: Session, *, as_of: date, months: int = 12, gap_months: int = 3
) -> pd.DataFrame:
    """Per month: buyers, the share who had bought in the `gap_months` before (repeat purchase)
    and the share who did not buy again in the `gap_months` after (lapsing; empty while those
    months have not passed). Computed in SQL: customer-months, neighbours by window function,
    then GROUP BY month.
    """
    t = Order.__table__
    dialect = session.connection().dialect.name
    last = as_of.year * 12 + as_of.month - 1
    first = last - months + 1
    start_index = first - gap_months
    start = date(start_index // 12, start_index % 12 + 1, 1)
    month = _month_index(t.c.ordered_date, dialect).label("m")
    active = (
        sql_select(t.c.customer_id, month)
        .where(t.c.ordered_date >= start, t.c.ordered_date <= as_of, t.c.status != "cancelled")
        .group_by(t.c.customer_id, month)
        .subquery()
    )
    window = {"partition_by": active.c.customer_id, "order_by": active.c.m}
    neighbours = sql_select(
        active.c.m,
        over(func.lag(active.c.m), **window).label("previous"),
        over(func.lead(active.c.m), **window).label("following"),
    ).subquery()
    returning = case((neighbours.c.m - neighbours.c.previous <= gap_months, 1), else_=0)
    lapsed = case(
        (neighbours.c.following.is_(None), 1),
        (neighbours.c.following - neighbours.c.m > gap_months, 1),
        else_=0,
    )
    statement = (
        sql_select(
            neighbours.c.m,
            func.count().label("buyers"),
            func.sum(returning).label("returners"),
            func.sum(lapsed).label("lapsed"),
        )
        .where(neighbours.c.m >= first)
        .group_by(neighbours.c.m)
        .order_by(neighbours.c.m)
    )
    frame = pd.read_sql(statement, session.connection())
    if frame.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    frame["month"] = [date(int(m) // 12, int(m) % 12 + 1, 1) for m in frame["m"]]
    frame["buyers"] = frame["buyers"].astype(int)
    frame["repeat_purchase_rate"] = frame["returners"] / frame["buyers"]
    # A month's lapse share is known only once the following months have passed.
    settled = frame["m"] + gap_months < last
    frame["lapse_rate"] = (frame["lapsed"] / frame["buyers"]).where(settled)
    return frame[TREND_COLUMNS]
