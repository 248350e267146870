"""The week at a glance: headline figures computed in SQL, never by loading every row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

import pandas as pd
from sqlalchemy import Integer, case, func
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from core import summaries
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
    summarised_at: datetime | None = None  # when the order figures were summarised; None: live


def marketplace_summary(session: Session, *, as_of: date) -> MarketplaceSummary:
    """Headline figures as of a date (orders after it are not counted).

    Orders, revenue, buyers and repeat buyers come from the daily summary once it has been
    refreshed (`summarised_at` says when), else straight from the orders.
    """
    customers = session.exec(select(func.count()).select_from(Customer)).one()
    since = as_of - timedelta(days=30)
    state = summaries.refreshed(session)
    if state is None:
        orders_30, revenue_30, buyers, repeaters = _activity_from_orders(session, since, as_of)
    else:
        orders_30, revenue_30, buyers, repeaters = _activity_from_summary(session, since, as_of)
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
        buyers=int(buyers),
        orders_last_30_days=int(orders_30),
        revenue_last_30_days=float(revenue_30),
        repeat_purchase_rate=(repeaters / buyers) if buyers else None,
        skus_below_reorder_point=below,
        suppliers_with_issues=issues,
        summarised_at=summaries.aware(state.refreshed_at) if state else None,
    )


def _activity_from_summary(session: Session, since: date, as_of: date) -> tuple:
    d = summaries.DailyActivity.__table__
    recent = case((d.c.day > since, 1), else_=0)
    return (
        session.connection()
        .execute(
            sql_select(
                func.coalesce(func.sum(recent * d.c.orders), 0),
                func.coalesce(func.sum(recent * d.c.revenue), 0.0),
                func.coalesce(func.sum(d.c.first_orders), 0),
                func.coalesce(func.sum(d.c.second_orders), 0),
            ).where(d.c.day <= as_of)
        )
        .one()
    )


def _activity_from_orders(session: Session, since: date, as_of: date) -> tuple:
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
    return orders_30, revenue_30, buyers, repeaters


def supplier_issues(session: Session) -> list[Supplier]:
    """Suppliers that are delayed or disrupted, the longest lead time first."""
    statement = (
        select(Supplier)
        .where(col(Supplier.status) != "ok")
        .order_by(col(Supplier.lead_time_days).desc())
    )
    return list(session.exec(statement))


def risk_by_band(session: Session) -> pd.DataFrame:
    """Customers and value at risk per risk band, from the newest scores (empty before scoring).

    Read from the band summary while it was made from the newest scores as they are (a
    million scores take a quarter of a second to add up), else added up here.
    """
    frame = pd.read_sql(summaries.score_bands_statement(), session.connection())
    if frame.empty:
        frame = _bands_from_scores(session)
    order = {band: i for i, band in enumerate(BANDS)}
    frame = frame.sort_values("risk_band", key=lambda b: b.map(order).fillna(len(order)))
    return frame.reset_index(drop=True)


def _bands_from_scores(session: Session) -> pd.DataFrame:
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
    return pd.read_sql(statement, session.connection())


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


def monthly_trend(
    session: Session, *, as_of: date, months: int = 12, gap_months: int = 3
) -> pd.DataFrame:
    """Per month: buyers, the share who had bought in the `gap_months` before (repeat purchase)
    and the share who did not buy again in the `gap_months` after (lapsing; empty while those
    months have not passed). Read from the monthly summary once refreshed (its
    `summaries.refreshed` time is what the figures are as of), else computed in SQL.
    """
    last = as_of.year * 12 + as_of.month - 1
    first = last - months + 1
    if summaries.refreshed(session) is not None and gap_months == summaries.GAP_MONTHS:
        m = summaries.MonthlyActivity.__table__
        statement = (
            sql_select(m.c.month.label("m"), m.c.buyers, m.c.returners, m.c.lapsed)
            .where(m.c.month >= first, m.c.month <= last)
            .order_by(m.c.month)
        )
    else:
        start = summaries.month_of(first - gap_months)
        dialect = session.connection().dialect.name
        counts = summaries.monthly_statement(
            dialect, start=start, end=as_of, gap_months=gap_months
        ).subquery()
        statement = sql_select(counts).where(counts.c.m >= first).order_by(counts.c.m)
    frame = pd.read_sql(statement, session.connection())
    if frame.empty:
        return pd.DataFrame(columns=TREND_COLUMNS)
    frame["month"] = [summaries.month_of(m) for m in frame["m"]]
    frame["buyers"] = frame["buyers"].astype(int)
    frame["repeat_purchase_rate"] = frame["returners"] / frame["buyers"]
    # A month's lapse share is known only once the following months have passed.
    settled = frame["m"] + gap_months < last
    frame["lapse_rate"] = (frame["lapsed"] / frame["buyers"]).where(settled)
    return frame[TREND_COLUMNS]
