"""The week at a glance: headline figures computed in SQL, never by loading every row."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import Integer, func
from sqlmodel import Session, col, select

from core.tables import Customer, Order, Product, StockLevel, Supplier


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
