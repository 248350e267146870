"""Console summaries: small tables, refreshed set-based from the orders, that the overview and
inventory pages read instead of scanning every order.

- `summary_daily_activity`: per day, orders and revenue (cancelled orders excluded), how many
  customers placed their first order and how many their second (became repeat buyers). Sums
  over days answer "as of any date" exactly.
- `summary_monthly_activity`: per month, buyers, those who had bought in the three months
  before (returning) and those who did not buy in the three months after (lapsing).
- `summary_sku_daily_units`: units sold per SKU per day, for demand and cover.

`refresh` rebuilds them in one transaction and records when (`summary_refreshes`); readers get
that time from `refreshed_at` and show it ("as of ..."). Before the first refresh the readers
compute from the orders directly.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import Integer, case, delete, extract, func, insert, over, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel

from core import audit
from core.bulk import write_frame
from core.db import session_scope
from core.roles import SYSTEM, Actor, Permission, require
from core.tables import Order, OrderLine, Product

NAME = "console"
GAP_MONTHS = 3  # the monthly summary's returning / lapsing window


class DailyActivity(SQLModel, table=True):
    __tablename__ = "summary_daily_activity"

    day: date = Field(primary_key=True)
    orders: int = 0
    revenue: float = 0.0
    first_orders: int = 0  # customers whose first order was placed this day
    second_orders: int = 0  # customers whose second order was placed this day


class MonthlyActivity(SQLModel, table=True):
    __tablename__ = "summary_monthly_activity"

    month: int = Field(primary_key=True)  # year * 12 + month - 1
    buyers: int = 0
    returners: int = 0  # buyers who had bought in the GAP_MONTHS before
    lapsed: int = 0  # buyers with no order in the GAP_MONTHS after (as far as data goes)


class SkuDailyUnits(SQLModel, table=True):
    __tablename__ = "summary_sku_daily_units"

    day: date = Field(primary_key=True)
    sku: str = Field(primary_key=True)
    units: int = 0


class CustomerCategory(SQLModel, table=True):
    """Who has bought in which category (any order, as the at-risk filter asks)."""

    __tablename__ = "summary_customer_categories"

    category: str = Field(primary_key=True)
    customer_id: str = Field(primary_key=True)


class SummaryRefresh(SQLModel, table=True):
    __tablename__ = "summary_refreshes"

    name: str = Field(primary_key=True)
    refreshed_at: datetime
    data_through: date | None = None  # the newest order date the summaries include


def month_index(column, dialect: str):
    """Months since year 0, so that gaps between months are plain subtraction."""
    if dialect == "sqlite":
        year = func.cast(func.strftime("%Y", column), Integer)
        month = func.cast(func.strftime("%m", column), Integer)
    else:
        year = func.cast(extract("year", column), Integer)
        month = func.cast(extract("month", column), Integer)
    return year * 12 + month - 1


def month_of(index: int) -> date:
    return date(int(index) // 12, int(index) % 12 + 1, 1)


def monthly_statement(
    dialect: str, *, start: date | None, end: date | None, gap_months: int = GAP_MONTHS
):
    """Per month (m): buyers, returners and lapsed, from orders between start and end (None:
    unbounded). Customer-months, their neighbours by window function, then GROUP BY month."""
    t = Order.__table__
    month = month_index(t.c.ordered_date, dialect).label("m")
    where = [t.c.status != "cancelled"]
    if start is not None:
        where.append(t.c.ordered_date >= start)
    if end is not None:
        where.append(t.c.ordered_date <= end)
    active = (
        select(t.c.customer_id, month).where(*where).group_by(t.c.customer_id, month).subquery()
    )
    window = {"partition_by": active.c.customer_id, "order_by": active.c.m}
    neighbours = select(
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
    return select(
        neighbours.c.m,
        func.count().label("buyers"),
        func.sum(returning).label("returners"),
        func.sum(lapsed).label("lapsed"),
    ).group_by(neighbours.c.m)


def _daily_activity(conn: Connection) -> pd.DataFrame:
    o = Order.__table__
    kept = o.c.status != "cancelled"
    totals = pd.read_sql(
        select(
            o.c.ordered_date.label("day"),
            func.count().label("orders"),
            func.coalesce(func.sum(o.c.amount), 0.0).label("revenue"),
        )
        .where(kept)
        .group_by(o.c.ordered_date),
        conn,
    )
    # The n-th order day per customer; ties share a date, so which of them is n-th is moot.
    ranked = select(
        o.c.ordered_date.label("day"),
        over(func.row_number(), partition_by=o.c.customer_id, order_by=o.c.ordered_date).label("n"),
    ).where(kept)
    ranked = ranked.subquery()
    nth = pd.read_sql(
        select(ranked.c.day, ranked.c.n, func.count().label("customers"))
        .where(ranked.c.n <= 2)
        .group_by(ranked.c.day, ranked.c.n),
        conn,
    )
    for frame in (totals, nth):
        frame["day"] = pd.to_datetime(frame["day"]).dt.date
    counts = nth.pivot_table(index="day", columns="n", values="customers", aggfunc="sum")
    frame = totals.set_index("day")
    frame["first_orders"] = counts.get(1, pd.Series(dtype=float)).reindex(frame.index)
    frame["second_orders"] = counts.get(2, pd.Series(dtype=float)).reindex(frame.index)
    frame = frame.fillna(0).reset_index()
    for column in ("orders", "first_orders", "second_orders"):
        frame[column] = frame[column].astype(int)
    return frame


def refresh(session: Session, *, actor: Actor, now: datetime) -> SummaryRefresh:
    """Rebuild every summary from the orders in the caller's transaction (audited)."""
    require(actor, Permission.RUN_JOBS)
    conn = session.connection()
    dialect = conn.dialect.name
    o, lines = Order.__table__, OrderLine.__table__
    for model in (DailyActivity, MonthlyActivity, SkuDailyUnits, CustomerCategory):
        conn.execute(delete(model.__table__))
    daily = _daily_activity(conn)
    write_frame(conn, DailyActivity.__table__, daily, update=False)
    monthly = pd.read_sql(monthly_statement(dialect, start=None, end=None), conn)
    write_frame(
        conn,
        MonthlyActivity.__table__,
        monthly.rename(columns={"m": "month"}).astype(int),
        update=False,
    )
    units = (
        select(o.c.ordered_date, lines.c.sku, func.sum(lines.c.quantity))
        .select_from(o.join(lines, lines.c.order_id == o.c.order_id))
        .where(o.c.status != "cancelled", lines.c.sku.is_not(None))
        .group_by(o.c.ordered_date, lines.c.sku)
    )
    s = SkuDailyUnits.__table__
    conn.execute(insert(s).from_select([s.c.day, s.c.sku, s.c.units], units))
    c, p = CustomerCategory.__table__, Product.__table__
    bought = (
        select(p.c.category, o.c.customer_id)
        .distinct()
        .select_from(
            o.join(lines, lines.c.order_id == o.c.order_id).join(p, p.c.sku == lines.c.sku)
        )
    )
    conn.execute(insert(c).from_select([c.c.category, c.c.customer_id], bought))
    through = conn.execute(select(func.max(o.c.ordered_date))).scalar()
    if isinstance(through, str):
        through = date.fromisoformat(through)
    state = session.get(SummaryRefresh, NAME) or SummaryRefresh(name=NAME, refreshed_at=now)
    state.refreshed_at, state.data_through = now, through
    session.add(state)
    audit.record(
        session,
        actor=actor,
        action="summaries.refreshed",
        entity_type="summary",
        entity_id=NAME,
        after={"days": len(daily), "months": len(monthly), "data_through": str(through)},
        now=now,
    )
    session.flush()
    return state


def refreshed(session: Session) -> SummaryRefresh | None:
    """When the summaries were last rebuilt (None before the first refresh)."""
    return session.get(SummaryRefresh, NAME)


def aware(moment: datetime) -> datetime:
    """SQLite hands datetimes back without their zone; they are stored in UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def data_through(conn: Connection) -> date | None:
    """The newest order day the summaries include (None before the first refresh)."""
    r = SummaryRefresh.__table__
    value = conn.execute(select(r.c.data_through).where(r.c.name == NAME)).scalar()
    return date.fromisoformat(value) if isinstance(value, str) else value


# Import kinds whose rows the summaries are built from.
SOURCE_KINDS = ("orders", "order_lines", "transactions")


def refresh_now(engine: Engine, *, now: datetime) -> SummaryRefresh:
    """Refresh in a transaction of its own, as the system (after a demo build or an import)."""
    with session_scope(engine) as session:
        return refresh(session, actor=SYSTEM, now=now)


STALE_AFTER = timedelta(hours=36)  # the nightly job missed a night


def as_of_note(refreshed_at: datetime | None, *, now: datetime) -> str:
    """What a page says under figures read from the summaries."""
    if refreshed_at is None:
        return "computed from the orders just now"
    text = f"orders summarised {refreshed_at:%d %b %Y %H:%M} UTC"
    if now - refreshed_at > STALE_AFTER:
        text += " — more than a day ago: run the console_summaries job to refresh"
    return text
