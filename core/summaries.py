"""Console summaries: small tables, refreshed set-based from the orders, that the overview and
inventory pages read instead of scanning every order.

- `summary_daily_activity`: per day, orders and revenue (cancelled orders excluded), how many
  customers placed their first order and how many their second (became repeat buyers). Sums
  over days answer "as of any date" exactly.
- `summary_monthly_activity`: per month, buyers, those who had bought in the three months
  before (returning) and those who did not buy in the three months after (lapsing).
- `summary_sku_daily_units`: units sold per SKU per day, for demand and cover.
- `summary_customer_categories`: who has bought in which category (the at-risk filter).
- `summary_score_bands`: customers and value at risk per risk band of the newest scores (the
  overview's risk table; read only while no scores were written since).

`refresh` rebuilds them (all, or from a day on) in one transaction and records when
(`summary_refreshes`); readers show that time ("as of ..."). Before the first refresh the
readers compute from the orders directly. On PostgreSQL a refresh also gathers the planner's
statistics of the tables the console reads (after the night's scoring, after an import).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pandas as pd
from sqlalchemy import Integer, case, delete, exists, extract, func, insert, over, select
from sqlalchemy.engine import Connection, Engine
from sqlmodel import Field, Session, SQLModel

from core import audit
from core.bulk import gather_statistics, write_frame
from core.db import session_scope
from core.roles import SYSTEM, Actor, Permission, require
from core.scores import CustomerScore
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


class ScoreBand(SQLModel, table=True):
    """Customers and value at risk per risk band of the newest scores when last refreshed."""

    __tablename__ = "summary_score_bands"

    as_of: date = Field(primary_key=True)
    risk_band: str = Field(primary_key=True)
    customers: int = 0
    value_at_risk: float = 0.0
    # The newest scored_at of those scores: scores written since carry another, and then the
    # overview counts them afresh instead of reading this.
    scored_at: datetime


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


def _daily_activity(conn: Connection, since: date | None) -> pd.DataFrame:
    o = Order.__table__
    kept = [o.c.status != "cancelled"]
    recent = [*kept, o.c.ordered_date >= since] if since else kept
    totals = pd.read_sql(
        select(
            o.c.ordered_date.label("day"),
            func.count().label("orders"),
            func.coalesce(func.sum(o.c.amount), 0.0).label("revenue"),
        )
        .where(*recent)
        .group_by(o.c.ordered_date),
        conn,
    )
    # The n-th order day per customer (over all their orders; only those who ordered since
    # `since` can have one on or after it). Ties share a date, so which is n-th is moot.
    buyers = [o.c.customer_id.in_(select(o.c.customer_id).where(*recent))] if since else []
    ranked = (
        select(
            o.c.ordered_date.label("day"),
            over(func.row_number(), partition_by=o.c.customer_id, order_by=o.c.ordered_date).label(
                "n"
            ),
        )
        .where(*kept, *buyers)
        .subquery()
    )
    nth = pd.read_sql(
        select(ranked.c.day, ranked.c.n, func.count().label("customers"))
        .where(ranked.c.n <= 2, *([ranked.c.day >= since] if since else []))
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


def _monthly_activity(conn: Connection, since: date | None) -> pd.DataFrame:
    """Months whose figures orders from `since` on can change (replaced here): from GAP_MONTHS
    before its month (lapsing looks ahead), read with GAP_MONTHS more (returning looks back)."""
    if since is None:
        statement = monthly_statement(conn.dialect.name, start=None, end=None)
    else:
        first = since.year * 12 + since.month - 1 - GAP_MONTHS
        counts = monthly_statement(
            conn.dialect.name, start=month_of(first - GAP_MONTHS), end=None
        ).subquery()
        statement = select(counts).where(counts.c.m >= first)
        m = MonthlyActivity.__table__
        conn.execute(delete(m).where(m.c.month >= first))
    return pd.read_sql(statement, conn).rename(columns={"m": "month"}).astype(int)


def refresh(
    session: Session, *, actor: Actor, now: datetime, since: date | None = None
) -> SummaryRefresh:
    """Rebuild the summaries from the orders in the caller's transaction (audited): all of
    them, or from `since` on when the orders before it have not changed."""
    require(actor, Permission.RUN_JOBS)
    conn = session.connection()
    o, lines = Order.__table__, OrderLine.__table__
    d, u, c = DailyActivity.__table__, SkuDailyUnits.__table__, CustomerCategory.__table__
    if since is None:
        for table in (d, u, c, MonthlyActivity.__table__):
            conn.execute(delete(table))
    else:
        conn.execute(delete(d).where(d.c.day >= since))
        conn.execute(delete(u).where(u.c.day >= since))
    recent = [o.c.ordered_date >= since] if since else []
    daily = _daily_activity(conn, since)
    write_frame(conn, d, daily, update=False)
    monthly = _monthly_activity(conn, since)
    write_frame(conn, MonthlyActivity.__table__, monthly, update=False)
    lined = o.join(lines, lines.c.order_id == o.c.order_id)
    units = (
        select(o.c.ordered_date, lines.c.sku, func.sum(lines.c.quantity))
        .select_from(lined)
        .where(o.c.status != "cancelled", lines.c.sku.is_not(None), *recent)
        .group_by(o.c.ordered_date, lines.c.sku)
    )
    conn.execute(insert(u).from_select([u.c.day, u.c.sku, u.c.units], units))
    p = Product.__table__
    known = exists().where(c.c.category == p.c.category, c.c.customer_id == o.c.customer_id)
    bought = (
        select(p.c.category, o.c.customer_id)
        .distinct()
        .select_from(lined.join(p, p.c.sku == lines.c.sku))
        .where(*recent, *([~known] if since else []))
    )
    conn.execute(insert(c).from_select([c.c.category, c.c.customer_id], bought))
    _score_bands(conn)
    # The console's tables: a few seconds at a million customers.
    gather_statistics(conn, PLANNED_TABLES)
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
        after={"since": str(since) if since else "all", "data_through": str(through)},
        now=now,
    )
    session.flush()
    return state


def _score_bands(conn: Connection) -> None:
    """Replace the band totals with those of the newest scores (none before scoring)."""
    b, t = ScoreBand.__table__, CustomerScore.__table__
    conn.execute(delete(b))
    newest = select(func.max(t.c.as_of)).scalar_subquery()
    stamp = select(func.max(t.c.scored_at)).where(t.c.as_of == newest).scalar_subquery()
    totals = (
        select(
            t.c.as_of,
            t.c.risk_band,
            func.count(),
            func.sum(t.c.value_at_risk),
            stamp,
        )
        .where(t.c.as_of == newest)
        .group_by(t.c.as_of, t.c.risk_band)
    )
    columns = [b.c.as_of, b.c.risk_band, b.c.customers, b.c.value_at_risk, b.c.scored_at]
    conn.execute(insert(b).from_select(columns, totals))


# The tables the console's pages read at scale. PostgreSQL plans their queries from sampled
# statistics; on a server without autovacuum none are ever gathered, and a million rows
# planned blind take seconds instead of milliseconds (the at-risk list's category filter at
# 1M customers: 17 s).
PLANNED_TABLES = (
    "customers",
    "customer_scores",
    "orders",
    "order_lines",
    "products",
    "campaigns",
    "offers",
    "audit_events",
    "survey_responses",
    "support_tickets",
    "inbound_orders",
    "summary_daily_activity",
    "summary_monthly_activity",
    "summary_sku_daily_units",
    "summary_customer_categories",
    "summary_score_bands",
)


def score_bands_statement():
    """The band totals, if they were made from the newest scores as they are now: a few
    index lookups (the newest date, its newest scored_at), no pass over the scores."""
    b, t = ScoreBand.__table__, CustomerScore.__table__
    newest = select(func.max(t.c.as_of)).scalar_subquery()
    stamp = select(func.max(t.c.scored_at)).where(t.c.as_of == newest).scalar_subquery()
    return select(
        b.c.risk_band, b.c.as_of, b.c.customers, b.c.value_at_risk.label("value_at_risk")
    ).where(b.c.as_of == newest, b.c.scored_at == stamp)


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


# A nightly refresh redoes this many days before the newest summarised one (late changes).
OVERLAP_DAYS = 35


def nightly_since(session: Session) -> date | None:
    """Where the nightly refresh starts: the overlap before the newest summarised day, or
    None (everything) before the first refresh."""
    state = refreshed(session)
    if state is None or state.data_through is None:
        return None
    return state.data_through - timedelta(days=OVERLAP_DAYS)
