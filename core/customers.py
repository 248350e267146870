"""Customers as the console sees them: the at-risk list (paged in SQL) and one customer's story."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import and_, exists, func, literal, or_
from sqlalchemy import select as sql_select
from sqlmodel import Session, col, select

from core import summaries
from core.campaign_reviews import OFFER_REVIEWABLE as OVERRIDABLE
from core.campaigns import Offer, Status
from core.scores import CustomerScore
from core.tables import Customer, Order, OrderLine, Product, SupportTicket, SurveyResponse

_SORT_COLUMNS = {
    "value at risk": col(CustomerScore.value_at_risk),
    "churn probability": col(CustomerScore.churn_probability),
    "expected value": col(CustomerScore.expected_value),
}
SORTS = {name: column.desc() for name, column in _SORT_COLUMNS.items()}
# The same orders as expressions, which no index supplies: for sorting a few rows found otherwise.
SORTS_OF_FEW = {name: (column + 0).desc() for name, column in _SORT_COLUMNS.items()}


@dataclass(frozen=True)
class AtRiskFilter:
    """What a planner narrows the list by; empty means no restriction."""

    risk_bands: tuple[str, ...] = ("high", "medium")
    min_expected_value: float = 0.0
    region: str | None = None
    category: str | None = None
    delayed_within_days: int | None = None  # only customers with a late order this recent
    search: str | None = None  # a customer id or the start of one


# The list counts its matches up to this many; beyond, it says "more than" (a count of every
# score would read a million rows on each rerun).
COUNT_LIMIT = 1_000


@dataclass(frozen=True)
class AtRiskPage:
    rows: pd.DataFrame
    total: int  # matches, counted up to COUNT_LIMIT
    as_of: date | None
    page: int
    page_size: int
    more: bool = False  # more than `total` customers match

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.page_size))

    @property
    def total_text(self) -> str:
        return f"more than {self.total:,}" if self.more else f"{self.total:,}"


def latest_as_of(session: Session) -> date | None:
    """The date of the newest scores, or None before the first scoring."""
    return session.exec(select(func.max(CustomerScore.as_of))).one()


def _bought_lines(category: str):
    """Order lines in the category, joined to their order (the product looked up per line, so
    that a customer's own orders drive the search, not every line of the category)."""
    category_of = (
        select(Product.category).where(col(Product.sku) == col(OrderLine.sku)).scalar_subquery()
    )
    return (
        select(Order.customer_id)
        .join(OrderLine, col(OrderLine.order_id) == col(Order.order_id))
        .where(category_of == category)
    )


def _bought_in(category: str, through: date | None):
    """The scored customer has bought in the category: the summary up to its newest day plus
    orders placed since; straight from the orders before the first refresh."""
    customer = col(CustomerScore.customer_id)
    if through is None:
        return exists(_bought_lines(category).where(col(Order.customer_id) == customer))
    c = summaries.CustomerCategory.__table__
    summarised = exists(
        sql_select(c.c.customer_id).where(c.c.category == category, c.c.customer_id == customer)
    )
    return or_(summarised, customer.in_(_bought_since(category, through)))


def _bought_since(category: str, through: date):
    """Customers with an order in the category placed after `through`: the few orders since
    the newest summarised day, found by date first, then their lines checked (never a pass
    over every line of the category)."""
    o, lines, p = Order.__table__, OrderLine.__table__, Product.__table__
    in_category = exists(
        sql_select(literal(1))
        .select_from(lines.join(p, p.c.sku == lines.c.sku))
        .where(lines.c.order_id == o.c.order_id, p.c.category == category)
    )
    return sql_select(o.c.customer_id).where(o.c.ordered_date > through, in_category)


def _conditions(
    filters: AtRiskFilter, as_of: date, today: date, through: date | None, dialect: str
) -> list:
    conditions = [CustomerScore.as_of == as_of]
    if filters.risk_bands:
        conditions.append(col(CustomerScore.risk_band).in_(filters.risk_bands))
    if filters.min_expected_value:
        conditions.append(col(CustomerScore.expected_value) >= filters.min_expected_value)
    if filters.region:
        conditions.append(col(Customer.region) == filters.region)
    if filters.search and filters.search.strip():
        prefix = filters.search.strip()
        customer = col(CustomerScore.customer_id)
        conditions.append(customer.startswith(prefix))
        if dialect == "sqlite":
            # SQLite compares text bytewise: the ids with the prefix are a range of its key.
            following = prefix[:-1] + chr(ord(prefix[-1]) + 1)
            conditions += [customer >= prefix, customer < following]
    if filters.category:
        conditions.append(_bought_in(filters.category, through))
    return conditions


def _late_orders(filters: AtRiskFilter, today: date):
    since = today - timedelta(days=filters.delayed_within_days)
    return select(col(Order.customer_id)).where(
        col(Order.ordered_date) >= since,
        col(Order.delivered_date) > col(Order.promised_date),
    )


def _from_late_customers(matching, filters: AtRiskFilter, today: date):
    """With the late-order filter, the matches found from the customers with a recent late
    order (each once, from the partial index of late orders, one probe of the scores each),
    however rare they are among the scores; else the matches as they are."""
    if not filters.delayed_within_days:
        return matching
    late = _late_orders(filters, today).distinct().subquery("late")
    return matching.join(late, late.c.customer_id == col(CustomerScore.customer_id))


def _has_late_order(filters: AtRiskFilter, today: date):
    """True for a score whose customer has a recent late order."""
    late = _late_orders(filters, today).where(
        col(Order.customer_id) == col(CustomerScore.customer_id)
    )
    return exists(late)


def at_risk(
    session: Session,
    *,
    filters: AtRiskFilter,
    today: date,
    sort: str = "value at risk",
    page: int = 1,
    page_size: int = 50,
    count_limit: int = COUNT_LIMIT,
) -> AtRiskPage:
    """One page of scored customers matching the filters, sorted in SQL; matches are counted
    up to `count_limit` (`more` says there are more)."""
    as_of = latest_as_of(session)
    columns = [
        "customer_id",
        "name",
        "region",
        "churn_probability",
        "risk_band",
        "expected_value",
        "value_at_risk",
        "reasons",
    ]
    if as_of is None:
        return AtRiskPage(pd.DataFrame(columns=columns), 0, None, 1, page_size)
    through = summaries.data_through(session.connection()) if filters.category else None
    dialect = session.connection().dialect.name
    where = and_(*_conditions(filters, as_of, today, through, dialect))
    matching = select(col(CustomerScore.customer_id)).where(where)
    if filters.region:
        matching = matching.join(
            Customer, col(Customer.customer_id) == col(CustomerScore.customer_id)
        )
    # Count up to the limit from the indexes alone (no column of the row is needed); with the
    # late-order filter, from the customers with a late order.
    few = _from_late_customers(matching, filters, today)
    counted = session.exec(
        select(func.count()).select_from(
            few.with_only_columns(literal(1)).limit(count_limit + 1).subquery()
        )
    ).one()
    total, more = min(counted, count_limit), counted > count_limit
    page = max(1, page)
    order = (SORTS[sort], col(CustomerScore.customer_id))
    if more:
        # Many matches: the sort's index is walked, each score checked (a late order is
        # one probe of the late orders by customer), until the page is full.
        if filters.delayed_within_days:
            matching = matching.where(_has_late_order(filters, today))
    else:
        # At most count_limit matches: found as they were counted, then sorted, instead of
        # walking the sort's index past every score that does not match (a sort key that
        # is an expression keeps the planner off that index).
        matching = few
        order = (SORTS_OF_FEW[sort], col(CustomerScore.customer_id))
    # The page's ids first, then only their rows read (skipped rows are never read).
    ids = session.exec(
        matching.order_by(*order).offset((page - 1) * page_size).limit(page_size)
    ).all()
    statement = (
        select(CustomerScore, Customer)
        .join(Customer, col(Customer.customer_id) == col(CustomerScore.customer_id))
        .where(col(CustomerScore.as_of) == as_of, col(CustomerScore.customer_id).in_(ids))
        .order_by(SORTS_OF_FEW[sort], col(CustomerScore.customer_id))
    )
    rows = [
        {
            "customer_id": score.customer_id,
            "name": customer.name,
            "region": customer.region,
            "churn_probability": score.churn_probability,
            "risk_band": score.risk_band,
            "expected_value": score.expected_value,
            "value_at_risk": score.value_at_risk,
            "reasons": "; ".join(reason_list(score.reasons)),
        }
        for score, customer in session.exec(statement)
    ]
    return AtRiskPage(pd.DataFrame(rows, columns=columns), total, as_of, page, page_size, more)


def reason_list(raw: str | None) -> list[str]:
    """Reasons are stored as a JSON list of sentences."""
    if not raw:
        return []
    try:
        value = json.loads(raw)
    except ValueError:
        return [raw]
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


@dataclass(frozen=True)
class CustomerStory:
    """What a planner reads before changing someone's offer."""

    customer: Customer
    score: CustomerScore | None
    orders: pd.DataFrame  # ordered, promised, delivered, days late, status, amount
    surveys: pd.DataFrame
    tickets: pd.DataFrame
    reasons: list[str] = field(default_factory=list)


def story(session: Session, *, customer_id: str, limit_orders: int = 200) -> CustomerStory | None:
    """One customer's orders, deliveries, surveys, complaints and current score."""
    customer = session.get(Customer, customer_id)
    if customer is None:
        return None
    as_of = latest_as_of(session)
    score = session.get(CustomerScore, (as_of, customer_id)) if as_of else None
    orders = pd.DataFrame(
        [
            o.model_dump()
            for o in session.exec(
                select(Order)
                .where(Order.customer_id == customer_id)
                .order_by(col(Order.ordered_date).desc())
                .limit(limit_orders)
            )
        ],
        columns=list(Order.model_fields),
    )
    if not orders.empty:
        late = pd.to_datetime(orders["delivered_date"]) - pd.to_datetime(orders["promised_date"])
        orders["days_late"] = late.dt.days.clip(lower=0)
    surveys = pd.DataFrame(
        [
            s.model_dump()
            for s in session.exec(
                select(SurveyResponse)
                .where(SurveyResponse.customer_id == customer_id)
                .order_by(col(SurveyResponse.responded_date))
            )
        ],
        columns=list(SurveyResponse.model_fields),
    )
    tickets = pd.DataFrame(
        [
            t.model_dump()
            for t in session.exec(
                select(SupportTicket)
                .where(SupportTicket.customer_id == customer_id)
                .order_by(col(SupportTicket.opened_date))
            )
        ],
        columns=list(SupportTicket.model_fields),
    )
    return CustomerStory(
        customer, score, orders, surveys, tickets, reason_list(score.reasons if score else None)
    )


def regions(session: Session) -> list[str]:
    """The customers' regions, in order: each the smallest after the one before, found in the
    region index (a handful of lookups instead of reading every customer)."""
    found: list[str] = []
    while True:
        after = col(Customer.region) > found[-1] if found else col(Customer.region) != ""
        region = session.exec(select(func.min(Customer.region)).where(after)).one()
        if region is None:
            return found
        found.append(region)


def categories(session: Session) -> list[str]:
    return list(session.exec(select(Product.category).distinct().order_by(Product.category)))


OFFER_COLUMNS = [
    "offer_id",
    "version",
    "customer_id",
    "week",
    "campaign_id",
    "campaign_type",
    "status",
    "holdout",
    "sku",
    "discount_pct",
    "credit_amount",
    "channel",
    "send_date",
    "reason",
    "why_customer",
    "why_offer",
    "why_sku",
    "reviewed_by",
    "review_reason",
]


def latest_offer_week(session: Session) -> str | None:
    """The newest ISO week that has offers."""
    return session.exec(select(func.max(Offer.week))).one()


def offers_for(session: Session, *, customer_ids: list[str], week: str | None) -> pd.DataFrame:
    """The week's offers (and suppression records) of these customers, live ones first."""
    if not customer_ids or week is None:
        return pd.DataFrame(columns=OFFER_COLUMNS)
    t = Offer.__table__
    columns = [t.c.id.label("offer_id"), *(t.c[name] for name in OFFER_COLUMNS[1:])]
    statement = (
        sql_select(*columns)
        .where(t.c.week == week, t.c.customer_id.in_(list(customer_ids)))
        .order_by(t.c.customer_id, (t.c.status == Status.SUPPRESSED.value), t.c.campaign_type)
    )
    frame = pd.read_sql(statement, session.connection())
    frame["holdout"] = frame["holdout"].astype(bool)
    return frame


def open_offer_per_customer(offers: pd.DataFrame) -> pd.DataFrame:
    """One row per customer: the offer a person can still change (not suppressed or settled)."""
    live = offers[offers["status"].isin([s.value for s in OVERRIDABLE])]
    return live.drop_duplicates("customer_id")
