"""Inventory as the console sees it: every SKU's cover against its lead time, and delayed customers.

The SKU table is computed over the catalogue (a few thousand rows at most): demand is summed
per SKU in SQL, then `core.forecast` turns it into days of cover. Delayed customers are
grouped, sorted and paged in SQL, so that no page ever holds every order.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import Integer, and_, case, func, literal, or_, over, select
from sqlalchemy.engine import Connection
from sqlmodel import Session

from core import forecast, pauses, summaries
from core.console_indexes import TROUBLED_ORDERS
from core.tables import Customer, InboundOrder, Order, OrderLine, Product, StockLevel, Supplier

DEMAND_WINDOW_DAYS = 56

SKU_COLUMNS = [
    "sku",
    "name",
    "category",
    "supplier_id",
    "supplier",
    "supplier_status",
    "lead_time_days",
    "on_hand",
    "daily_demand",
    "days_of_cover",
    "next_arrival",
    "next_arrival_quantity",
    "short",
    "paused",
]

SKU_SORTS = {
    "days of cover": ("days_of_cover", True),
    "on hand": ("on_hand", True),
    "forecast demand": ("daily_demand", False),
    "lead time": ("lead_time_days", False),
    "next arrival": ("next_arrival", True),
    "sku": ("sku", True),
}


@dataclass(frozen=True)
class SkuFilter:
    """What the SKU table is narrowed by; empty means everything."""

    category: str | None = None
    supplier_id: str | None = None
    short_only: bool = False


def _frame(conn: Connection, statement) -> pd.DataFrame:
    return pd.read_sql(statement, conn)


def recent_demand(conn: Connection, *, as_of: date, window_days: int = DEMAND_WINDOW_DAYS):
    """Units sold per SKU in the window before as_of, summed in SQL (cancelled orders excluded).

    Days the SKU summary covers are read from it; days after its newest day (orders that came
    in since the last refresh) straight from the orders, so that the sum is never stale.
    """
    start = as_of - timedelta(days=window_days)
    through = summaries.data_through(conn)
    if through is None or through < start:
        return _units_from_orders(conn, start=start, end=as_of)
    u = summaries.SkuDailyUnits.__table__
    summarised = _frame(
        conn,
        select(u.c.sku, func.sum(u.c.units).label("quantity"))
        .where(u.c.day >= start, u.c.day < as_of, u.c.day <= through)
        .group_by(u.c.sku),
    )
    if through + timedelta(days=1) >= as_of:
        return summarised
    tail = _units_from_orders(conn, start=through + timedelta(days=1), end=as_of)
    both = pd.concat([summarised, tail], ignore_index=True)
    return both.groupby("sku", as_index=False)["quantity"].sum()


def _units_from_orders(conn: Connection, *, start: date, end: date) -> pd.DataFrame:
    """Units per SKU ordered from start up to (not including) end."""
    lines, orders = OrderLine.__table__, Order.__table__
    statement = (
        select(lines.c.sku, func.sum(lines.c.quantity).label("quantity"))
        .select_from(orders.join(lines, lines.c.order_id == orders.c.order_id))
        .where(
            orders.c.ordered_date >= start,
            orders.c.ordered_date < end,
            orders.c.status != "cancelled",
            lines.c.sku.is_not(None),
        )
        .group_by(lines.c.sku)
    )
    return _frame(conn, statement)


def _paused_mask(frame: pd.DataFrame, active: pd.DataFrame) -> pd.Series:
    """True where an active pause covers the SKU, its supplier or its category (or everything)."""
    if active.empty:
        return pd.Series(False, index=frame.index)
    if (active["scope"] == pauses.PauseScope.ALL).any():
        return pd.Series(True, index=frame.index)
    by_scope = {s: set(active.loc[active["scope"] == s, "target"]) for s in ("sku", "supplier")}
    categories = set(active.loc[active["scope"] == "category", "target"])
    return (
        frame["sku"].isin(by_scope["sku"])
        | frame["supplier_id"].isin(by_scope["supplier"])
        | frame["category"].isin(categories)
    )


def sku_cover(session: Session, *, as_of: date, now: datetime) -> pd.DataFrame:
    """Every active SKU: on hand, forecast demand per day, days of cover, next inbound, supplier.

    `short` means the days of cover are fewer than the supplier's lead time: the shelf empties
    before a fresh order could arrive. Demand is the recent rate (`core.forecast.daily_demand`
    over the last eight weeks, aggregated in SQL); a SKU without recent sales is never short.
    """
    conn = session.connection()
    p, s, st, io = (m.__table__ for m in (Product, Supplier, StockLevel, InboundOrder))
    products = _frame(
        conn,
        select(p.c.sku, p.c.name, p.c.category, p.c.supplier_id).where(p.c.active.is_(True)),
    )
    if products.empty:
        return pd.DataFrame(columns=SKU_COLUMNS)
    suppliers = _frame(
        conn, select(s.c.supplier_id, s.c.name, s.c.lead_time_days, s.c.status)
    ).rename(columns={"name": "supplier", "status": "supplier_status"})
    stock = _frame(conn, select(st.c.sku, st.c.on_hand))
    inbound = _frame(
        conn,
        select(io.c.sku, io.c.quantity, io.c.expected_date, io.c.received_date).where(
            io.c.received_date.is_(None), io.c.expected_date >= as_of
        ),
    )
    sold = recent_demand(conn, as_of=as_of)
    # One row per SKU dated inside the window is all daily_demand needs (it sums quantities).
    lines = pd.DataFrame(
        {
            "sku": sold["sku"],
            "ordered_date": as_of - timedelta(days=1),
            "quantity": sold["quantity"].astype(float),
        }
    )
    demand = forecast.daily_demand(
        lines,
        as_of=as_of,
        target=as_of,
        products=products[["sku", "category"]],
        window_days=DEMAND_WINDOW_DAYS,
    )
    cover = forecast.coverage(
        products=products,
        suppliers=suppliers,
        stock=stock,
        inbound=inbound,
        demand=demand,
        as_of=as_of,
        send_date=as_of,
    )
    frame = products.merge(suppliers, on="supplier_id", how="left").merge(
        cover[["sku", "on_hand", "daily_demand", "coverage_days", "next_arrival"]].assign(
            next_arrival_quantity=cover["next_arrival_quantity"].to_numpy()
        ),
        on="sku",
        how="left",
    )
    frame["days_of_cover"] = frame.pop("coverage_days").replace(np.inf, np.nan)
    frame["lead_time_days"] = frame["lead_time_days"].fillna(0).astype(int)
    frame["on_hand"] = frame["on_hand"].fillna(0).astype(int)
    frame["short"] = frame["days_of_cover"].notna() & (
        frame["days_of_cover"] < frame["lead_time_days"]
    )
    frame["paused"] = _paused_mask(frame, pauses.active_frame(session, now=now))
    return frame[SKU_COLUMNS]


def sku_table(
    session: Session,
    *,
    as_of: date,
    now: datetime,
    filters: SkuFilter = SkuFilter(),
    sort: str = "days of cover",
) -> pd.DataFrame:
    """The SKU cover table narrowed and sorted; SKUs without demand sort last on days of cover."""
    frame = sku_cover(session, as_of=as_of, now=now)
    if filters.category:
        frame = frame[frame["category"] == filters.category]
    if filters.supplier_id:
        frame = frame[frame["supplier_id"] == filters.supplier_id]
    if filters.short_only:
        frame = frame.loc[frame["short"].astype(bool)]
    column, ascending = SKU_SORTS[sort]
    frame = frame.sort_values([column, "sku"], ascending=[ascending, True], na_position="last")
    return frame.reset_index(drop=True)


def short_skus(session: Session, *, as_of: date, now: datetime, limit: int = 20) -> pd.DataFrame:
    """SKUs whose cover is shorter than their lead time, the emptiest first."""
    table = sku_table(session, as_of=as_of, now=now, filters=SkuFilter(short_only=True))
    return table.head(limit)


def categories(session: Session) -> list[str]:
    p = Product.__table__
    return list(
        session.connection()
        .execute(select(p.c.category).distinct().order_by(p.c.category))
        .scalars()
    )


def suppliers(session: Session) -> pd.DataFrame:
    """Every supplier's id, name, status and lead time, by name."""
    s = Supplier.__table__
    statement = select(s.c.supplier_id, s.c.name, s.c.status, s.c.lead_time_days).order_by(s.c.name)
    return _frame(session.connection(), statement)


DELAYED_COLUMNS = [
    "customer_id",
    "name",
    "email",
    "late_orders",
    "cancelled_orders",
    "worst_days_late",
    "last_affected",
]


@dataclass(frozen=True)
class DelayedPage:
    rows: pd.DataFrame
    total: int
    page: int
    page_size: int
    since: date

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))


def _days(later, earlier, dialect: str):
    """Whole days from earlier to later, in the database's own date arithmetic."""
    if dialect == "sqlite":
        return func.cast(func.julianday(later) - func.julianday(earlier), Integer)
    return later - earlier


def delayed_customers(
    session: Session,
    *,
    today: date,
    within_days: int = 30,
    min_days_late: int = 1,
    page: int = 1,
    page_size: int = 50,
) -> DelayedPage:
    """Customers with a late or cancelled order placed in the last `within_days`, the worst first.

    Late: delivered after the promised date, or not yet delivered and past it. How late an
    undelivered order is counts up to `today`.
    """
    conn = session.connection()
    dialect = conn.dialect.name
    o, c = Order.__table__, Customer.__table__
    since = today - timedelta(days=within_days)
    delivered_or_today = func.coalesce(o.c.delivered_date, literal(today))
    days_late = _days(delivered_or_today, o.c.promised_date, dialect)
    late = and_(
        o.c.promised_date.is_not(None),
        o.c.status != "cancelled",
        days_late >= min_days_late,
    )
    cancelled = o.c.status == "cancelled"
    per_customer = (
        select(
            o.c.customer_id,
            func.sum(case((late, 1), else_=0)).label("late_orders"),
            func.sum(case((cancelled, 1), else_=0)).label("cancelled_orders"),
            func.max(case((late, days_late), else_=0)).label("worst_days_late"),
            func.max(o.c.ordered_date).label("last_affected"),
        )
        .where(
            o.c.ordered_date >= since,
            o.c.ordered_date <= today,
            or_(late, cancelled),
            *([TROUBLED_ORDERS] if min_days_late >= 1 else []),  # implied; lets the index serve
        )
        .group_by(o.c.customer_id)
        .subquery()
    )
    page = max(1, page)
    # The total rides along on every row (one pass over the orders instead of two).
    ranked = (
        select(per_customer, over(func.count()).label("total"))
        .order_by(
            per_customer.c.worst_days_late.desc(),
            per_customer.c.last_affected.desc(),
            per_customer.c.customer_id,
        )
        .offset((page - 1) * page_size)
        .limit(page_size)
        .subquery()
    )
    statement = (
        select(
            ranked.c.customer_id,
            c.c.name,
            c.c.email,
            ranked.c.late_orders,
            ranked.c.cancelled_orders,
            ranked.c.worst_days_late,
            ranked.c.last_affected,
            ranked.c.total,
        )
        .select_from(ranked.join(c, c.c.customer_id == ranked.c.customer_id))
        .order_by(
            ranked.c.worst_days_late.desc(), ranked.c.last_affected.desc(), ranked.c.customer_id
        )
    )
    rows = _frame(conn, statement)
    if len(rows):
        total = int(rows["total"].iloc[0])
    else:  # past the last page (or nobody): count on its own
        total = conn.execute(select(func.count()).select_from(per_customer)).scalar_one()
    for column in ("late_orders", "cancelled_orders", "worst_days_late"):
        rows[column] = rows[column].astype(int)
    return DelayedPage(rows[DELAYED_COLUMNS], int(total), page, page_size, since)


def end_of_day(day: date) -> datetime:
    """A pause that ends "on" a date ends at the end of that day (UTC)."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=UTC)
