"""A synthetic art-and-craft marketplace for demos, tests and benchmarks.

`generate` is pure: the same customers, seed and end date give the same frames, one per
marketplace table. `write` loads them in one transaction; `clear_marketplace` and
`create_demo_users` are the rest of what `easel demo` does.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from contextlib import nullcontext
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import func
from sqlalchemy.engine import Engine
from sqlmodel import Session, col, select

from core import audit, demo_aftercare, demo_stock
from core.bulk import gather_statistics, indexes_set_aside, large_cache, write_frame
from core.db import session_scope
from core.demo_catalogue import Catalogue, build
from core.demo_customers import WINDOW_DAYS, as_dates, customers_frame, ids, pick, traits
from core.demo_orders import STATUSES, simulate
from core.roles import SYSTEM, Actor, Role
from core.schema import metadata
from core.tables import Customer
from core.users import User, add_user, generate_password

log = logging.getLogger(__name__)

TABLES = (
    "suppliers",
    "products",
    "stock_levels",
    "inbound_orders",
    "customers",
    "orders",
    "order_lines",
    "returns",
    "support_tickets",
    "survey_responses",
    "browsing_events",
)
# What --replace clears besides the marketplace: derived data that points at it.
DERIVED = ("customer_scores", "job_runs")
KEEP = frozenset({"audit_events", "users", "alembic_version"})
DEMO_USERS = tuple(r.value for r in (Role.PLANNER, Role.SUPPORT, Role.MANAGER, Role.ADMIN))

# Independent random streams per part, so that one part can be rebuilt without the others.
_CATALOGUE_STREAM, _HISTORY_STREAM, _AFTERCARE_STREAM = 0, 2, 3

REBUILD_INDEXES_ABOVE = 50_000  # rows; below that, dropping and rebuilding costs more than it saves

Progress = Callable[[str, int, int], None]  # (table, rows just written, table's total rows)


def calendar(end_date: date) -> pd.DatetimeIndex:
    """The two years of days the demo covers, ending on end_date."""
    return pd.date_range(end=pd.Timestamp(end_date), periods=WINDOW_DAYS, freq="D")


def catalogue(*, customers: int, seed: int, end_date: date) -> Catalogue:
    """The suppliers, products and stock-out weeks for this size and seed."""
    rng = np.random.default_rng([seed, _CATALOGUE_STREAM])
    return build(rng, customers=customers, weeks=-(-WINDOW_DAYS // 7))


def latent_traits(*, customers: int, seed: int, end_date: date) -> pd.DataFrame:
    """Each customer's hidden traits (row i is customer C{i+1:07d}); reusable for offer simulations."""
    return traits(
        customers=customers,
        seed=seed,
        catalogue=catalogue(customers=customers, seed=seed, end_date=end_date),
        calendar=calendar(end_date),
    )


def generate(*, customers: int, seed: int, end_date: date) -> dict[str, pd.DataFrame]:
    """Every marketplace table as a frame, keyed by table name, columns as in core.tables."""
    if customers < 1:
        raise ValueError("customers must be at least 1")
    days = calendar(end_date)
    shop = catalogue(customers=customers, seed=seed, end_date=end_date)
    latent = traits(customers=customers, seed=seed, catalogue=shop, calendar=days)
    history = simulate(np.random.default_rng([seed, _HISTORY_STREAM]), latent, shop, days)
    rng = np.random.default_rng([seed, _AFTERCARE_STREAM])
    start = np.datetime64(days[0].date(), "D")
    n_days = len(days)

    people = customers_frame(rng, latent, days)
    o, lines = history.orders, history.lines
    order_ids = ids("O", np.arange(1, len(o) + 1), 9)
    skus = shop.products["sku"]
    keys = demo_aftercare.Keys(
        start=start, days=n_days, customer_ids=people["customer_id"], order_ids=order_ids, skus=skus
    )
    status = o["status"].to_numpy()
    orders = pd.DataFrame(
        {
            "order_id": order_ids,
            "customer_id": pick(people["customer_id"], o["customer"].to_numpy()),
            "ordered_date": as_dates(start, o["day"].to_numpy()),
            "promised_date": as_dates(start, o["promised"].to_numpy()),
            "delivered_date": as_dates(start, o["delivered"].to_numpy(), status == 2),
            "status": pd.Series(STATUSES[status], dtype="str"),
            "amount": o["amount"].to_numpy(),
            "discount_amount": o["discount_amount"].to_numpy(),
        }
    )
    order_lines = pd.DataFrame(
        {
            "order_id": pick(order_ids, lines["order"].to_numpy()),
            "line_no": lines["line_no"].to_numpy().astype(np.int64) + 1,
            "sku": pick(skus, lines["sku"].to_numpy()),
            "quantity": lines["quantity"].to_numpy().astype(np.int64),
            "unit_price": lines["unit_price"].to_numpy(),
            "discount_amount": lines["discount_amount"].to_numpy(),
            "backordered": lines["backordered"].to_numpy(),
        }
    )
    demand = demo_stock.daily_demand(history, shop, days=n_days)
    products = shop.products.assign(reorder_point=demo_stock.reorder_points(demand, shop))
    frames = {
        "suppliers": shop.suppliers,
        "products": products,
        "stock_levels": demo_stock.stock_levels(rng, shop, demand, end_date=end_date),
        "inbound_orders": demo_stock.inbound_orders(rng, shop, demand, start=start, days=n_days),
        "customers": people,
        "orders": orders,
        "order_lines": order_lines,
        "returns": demo_aftercare.returns(rng, history, keys),
        "support_tickets": demo_aftercare.support_tickets(rng, history, keys),
        "survey_responses": demo_aftercare.survey_responses(rng, history, keys),
        "browsing_events": demo_aftercare.browsing_events(
            rng, history, keys, latent["signup_day"].to_numpy()
        ),
    }
    return {name: frames[name][list(metadata.tables[name].columns.keys())] for name in TABLES}


def write(
    engine: Engine,
    frames: dict[str, pd.DataFrame],
    progress: Progress | None = None,
    *,
    actor: Actor = SYSTEM,
    now: datetime | None = None,
) -> dict[str, int]:
    """Insert every frame in one transaction, parents first; returns rows per table.

    With `now`, an audit event records the load in the same transaction.
    """
    written: dict[str, int] = {}
    with engine.begin() as conn, large_cache(conn):
        for table in metadata.sorted_tables:
            frame = frames.get(table.name)
            if frame is None:
                continue
            total = len(frame)
            # Building a secondary index once after the load beats growing it row by row.
            large = total > REBUILD_INDEXES_ABOVE
            aside = indexes_set_aside(conn, table) if large else nullcontext()

            def step(rows: int, name: str = table.name, total: int = total) -> None:
                if progress:
                    progress(name, rows, total)

            with aside:
                written[table.name] = write_frame(conn, table, frame, update=False, progress=step)
        gather_statistics(conn, list(written), rows=sum(written.values()))
        if now is not None:
            with Session(bind=conn) as session:
                audit.record(
                    session,
                    actor=actor,
                    action="demo.load",
                    entity_type="marketplace",
                    entity_id="demo",
                    after=written,
                    now=now,
                )
                session.flush()
    log.info("demo marketplace written: %s", written)
    return written


def has_customers(engine: Engine) -> bool:
    """True when the database already holds at least one customer."""
    with engine.connect() as conn:
        return conn.execute(select(func.count()).select_from(Customer)).scalar_one() > 0


def tables_to_clear() -> list[str]:
    """Marketplace, scores, job runs and anything that points at them, children first."""
    doomed = set(TABLES) | set(DERIVED)
    changed = True
    while changed:  # follow foreign keys until nothing new depends on what goes
        changed = False
        for table in metadata.sorted_tables:
            if table.name in doomed or table.name in KEEP:
                continue
            if any(fk.column.table.name in doomed for fk in table.foreign_keys):
                doomed.add(table.name)
                changed = True
    return [t.name for t in reversed(metadata.sorted_tables) if t.name in doomed]


def clear_marketplace(engine: Engine, *, actor: Actor = SYSTEM, now: datetime) -> dict[str, int]:
    """Delete the marketplace data and what derives from it; the audit trail and users stay."""
    deleted: dict[str, int] = {}
    with session_scope(engine) as session:
        for name in tables_to_clear():
            deleted[name] = session.connection().execute(metadata.tables[name].delete()).rowcount
        audit.record(
            session,
            actor=actor,
            action="demo.clear",
            entity_type="marketplace",
            entity_id="demo",
            before=deleted,
            reason="easel demo --replace",
            now=now,
        )
    return deleted


def create_demo_users(session: Session, *, now: datetime) -> dict[str, str]:
    """One account per role, named after it; returns the passwords of those created now."""
    existing = set(session.exec(select(User.username).where(col(User.username).in_(DEMO_USERS))))
    created = {}
    for role in DEMO_USERS:  # four accounts, not bulk data
        if role in existing:
            continue
        password = generate_password()
        add_user(session, actor=SYSTEM, username=role, role=role, password=password, now=now)
        created[role] = password
    return created
