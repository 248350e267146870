"""The frames a week's proposals read, in a few set-based queries."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import pandas as pd
from sqlalchemy import Select, func, select
from sqlalchemy.engine import Connection

from core import tables
from core.campaigns import Campaign, Offer, Status
from core.reading import read_frame, reading_beside
from core.scores import CustomerScore

# Offers of the week that a rerun must respect: decided by a person or already under way.
SETTLED = (
    Status.APPROVED,
    Status.EDITED,
    Status.OVERRIDDEN,
    Status.SCHEDULED,
    Status.SENT,
    Status.PAUSED,
    Status.EXPIRED,
)


@dataclass
class ProposalData:
    customers: pd.DataFrame
    products: pd.DataFrame
    suppliers: pd.DataFrame
    stock: pd.DataFrame
    inbound: pd.DataFrame
    orders: pd.DataFrame
    lines: pd.DataFrame
    scores: pd.DataFrame
    outcomes: pd.DataFrame
    # Summaries of the whole history; derived from `orders` and `lines` when not given.
    summary: pd.DataFrame | None = None
    daily_units: pd.DataFrame | None = None


def _columns(model, names):
    table = model.__table__
    return [table.c[n] for n in names]


def load(
    conn: Connection,
    *,
    as_of: date,
    history_days: int,
    recent_order_days: int = 60,
    season_history_days: int = 730,
) -> ProposalData:
    """Everything up to as_of: customers, catalogue, stock, open inbound, order summaries, the
    recent orders and order lines, daily units per SKU, scores and recorded outcomes.

    The heavy history is summarised in SQL (one row per customer, per SKU and day) so that only
    `history_days` of order lines and `recent_order_days` of orders travel as rows.
    """
    queries = _queries(
        conn,
        as_of=as_of,
        since=as_of - timedelta(days=history_days),
        recent_order_days=recent_order_days,
        season_history_days=season_history_days,
    )
    # Two reads at once on PostgreSQL too: the server works on the order history's large reads
    # side by side (a million customers: 10.4 s instead of 15.8 s, ~300 MB more at the peak).
    with reading_beside(conn, at_once=2) as beside:
        reads = {name: beside(query) for name, query in queries.items()}
        frames = {name: read.result() for name, read in reads.items()}
    customers, products, orders, lines = (
        frames[n] for n in ("customers", "products", "orders", "lines")
    )
    summary, daily_units = frames["summary"], frames["daily_units"]
    for frame, columns in (
        (orders, ["ordered_date", "promised_date", "delivered_date"]),
        (lines, ["ordered_date"]),
        (summary, ["first_order", "last_order"]),
        (daily_units, ["ordered_date"]),
    ):
        for column in columns:
            frame[column] = pd.to_datetime(frame[column])
    for column in ("price", "unit_cost", "replenishment_days"):
        products[column] = pd.to_numeric(products[column]).astype(float)
    for column in ("is_consumable", "active"):
        products[column] = products[column].astype(bool)
    for column in ("consent_email", "consent_sms", "consent_post"):
        customers[column] = customers[column].fillna(False).astype(bool)
    summary["total_spend"] = summary["total_spend"].astype(float)
    for column in ("customer_id", "sku"):
        # Categories (sorted) encode each id once; the rules reuse the codes (core.codes.encode).
        lines[column] = lines[column].astype("category")
    daily_units = _with_recent_days(
        daily_units, lines, since=as_of - timedelta(days=season_history_days)
    )
    return ProposalData(
        customers,
        products,
        frames["suppliers"],
        frames["stock"],
        frames["inbound"],
        orders,
        lines,
        frames["scores"],
        frames["outcomes"],
        summary,
        daily_units,
    )


def _queries(
    conn: Connection,
    *,
    as_of: date,
    since: date,
    recent_order_days: int,
    season_history_days: int,
) -> dict[str, Select]:
    """The statements `load` reads, by name."""
    orders_t = tables.Order.__table__
    lines_t = tables.OrderLine.__table__
    scores_t = CustomerScore.__table__
    latest = select(func.max(scores_t.c.as_of)).where(scores_t.c.as_of <= as_of).scalar_subquery()
    offers_t = Offer.__table__
    inbound_t = tables.InboundOrder.__table__
    return {
        # Longest first: on SQLite two reader processes take them in this order.
        "summary": _summary_query(conn, as_of),
        "lines": select(
            orders_t.c.customer_id,
            lines_t.c.order_id,
            orders_t.c.ordered_date,
            lines_t.c.sku,
            lines_t.c.quantity,
        )
        .join(orders_t, orders_t.c.order_id == lines_t.c.order_id)
        .where(orders_t.c.ordered_date >= since, orders_t.c.ordered_date < as_of)
        .where(orders_t.c.status != "cancelled"),
        "daily_units": _daily_query(as_of, since, season_history_days),
        "scores": select(
            scores_t.c.customer_id,
            scores_t.c.churn_probability,
            scores_t.c.risk_band,
            scores_t.c.expected_value,
            scores_t.c.reasons,
        ).where(scores_t.c.as_of == latest),
        "orders": select(
            *_columns(
                tables.Order,
                [
                    "order_id",
                    "customer_id",
                    "ordered_date",
                    "promised_date",
                    "delivered_date",
                    "status",
                    "amount",
                ],
            )
        ).where(
            orders_t.c.ordered_date >= as_of - timedelta(days=recent_order_days),
            orders_t.c.ordered_date < as_of,
        ),
        "customers": select(
            *_columns(
                tables.Customer, ["customer_id", "consent_email", "consent_sms", "consent_post"]
            )
        ),
        "products": select(
            *_columns(
                tables.Product,
                [
                    "sku",
                    "name",
                    "category",
                    "line",
                    "supplier_id",
                    "price",
                    "unit_cost",
                    "is_consumable",
                    "replenishment_days",
                    "active",
                ],
            )
        ),
        "suppliers": select(
            *_columns(tables.Supplier, ["supplier_id", "lead_time_days", "status"])
        ),
        "stock": select(*_columns(tables.StockLevel, ["sku", "on_hand"])),
        "inbound": select(
            *_columns(tables.InboundOrder, ["sku", "quantity", "expected_date", "received_date"])
        ).where(inbound_t.c.received_date.is_(None)),
        "outcomes": select(
            offers_t.c.campaign_type, offers_t.c.context, offers_t.c.converted
        ).where(offers_t.c.converted.is_not(None), offers_t.c.holdout.is_(False)),
    }


def _summary_query(conn: Connection, as_of: date):
    """One row per customer: orders, first and last order, spend, before as_of."""
    orders_t = tables.Order.__table__
    customer, ordered = orders_t.c.customer_id, orders_t.c.ordered_date
    if conn.dialect.name == "sqlite":
        # Plain expressions keep SQLite off the indexes: walking the customer index and
        # fetching each order's row costs ~1.7x one scan of the table and a sort.
        customer, ordered = customer.concat(""), func.coalesce(ordered, ordered)
    return (
        select(
            customer.label("customer_id"),
            func.count().label("n_orders"),
            func.min(orders_t.c.ordered_date).label("first_order"),
            func.max(orders_t.c.ordered_date).label("last_order"),
            func.sum(orders_t.c.amount).label("total_spend"),
        )
        .where(ordered < as_of, orders_t.c.status != "cancelled")
        .group_by(customer)
    )


def _daily_query(as_of: date, since: date, season_history_days: int):
    """Units per SKU and day in the season's history before `since` (later days come from
    the order lines read anyway)."""
    orders_t, lines_t = tables.Order.__table__, tables.OrderLine.__table__
    return (
        select(
            lines_t.c.sku, orders_t.c.ordered_date, func.sum(lines_t.c.quantity).label("quantity")
        )
        .join(orders_t, orders_t.c.order_id == lines_t.c.order_id)
        .where(
            orders_t.c.ordered_date >= as_of - timedelta(days=season_history_days),
            # The days of `lines` below are summed from those rows, not read twice.
            orders_t.c.ordered_date < max(since, as_of - timedelta(days=season_history_days)),
            orders_t.c.status != "cancelled",
            lines_t.c.sku.is_not(None),
        )
        .group_by(lines_t.c.sku, orders_t.c.ordered_date)
    )


def _with_recent_days(daily_units: pd.DataFrame, lines: pd.DataFrame, *, since) -> pd.DataFrame:
    """Daily units per SKU from SQL for the older days plus those summed from `lines`."""
    usable = lines["sku"].notna() & (lines["ordered_date"] >= pd.Timestamp(since))
    recent = lines if usable.all() else lines[usable]
    recent = recent.groupby(["sku", "ordered_date"], as_index=False, observed=True)[
        "quantity"
    ].sum()
    if recent.empty:
        return daily_units
    recent["sku"] = recent["sku"].astype(str)  # plain ids, as the older days read from SQL
    both = pd.concat([daily_units, recent], ignore_index=True) if len(daily_units) else recent
    return both.sort_values(["sku", "ordered_date"], ignore_index=True)


def week_state(conn: Connection, week: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The week's campaigns, and its offers a person or the pipeline has moved past proposal.

    `counts` marks the offers that take a contact slot and, when treated, money and stock:
    settled ones (approved, sent, ...) and customers a person excluded one by one. Offers
    rejected with their whole campaign free the customer for another campaign.
    """
    campaigns_t = Campaign.__table__
    offers_t = Offer.__table__
    campaigns = read_frame(
        conn,
        select(
            campaigns_t.c.id,
            campaigns_t.c.campaign_type,
            campaigns_t.c.status,
            campaigns_t.c.version,
        ).where(campaigns_t.c.week == week),
    )
    settled = read_frame(
        conn,
        select(
            offers_t.c.campaign_id,
            offers_t.c.customer_id,
            offers_t.c.campaign_type,
            offers_t.c.holdout,
            offers_t.c.expected_cost,
            offers_t.c.sku,
            offers_t.c.expected_units,
            offers_t.c.status,
            offers_t.c.reviewed_by,
        ).where(
            offers_t.c.week == week,
            offers_t.c.status.not_in([s.value for s in (Status.PROPOSED, Status.SUPPRESSED)]),
        ),
    )
    settled["holdout"] = settled["holdout"].astype(bool)
    excluded = settled["status"].eq(Status.REJECTED.value) & settled["reviewed_by"].notna()
    settled["counts"] = settled["status"].isin([s.value for s in SETTLED]) | excluded
    settled["spends"] = settled["status"].isin([s.value for s in SETTLED]) & ~settled["holdout"]
    return campaigns, settled
