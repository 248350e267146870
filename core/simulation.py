"""A simulated stretch of weeks on the demo marketplace, under each retention programme.

One demo marketplace is generated and copied, untouched, into one scratch SQLite database per
policy (core.simulation_policies); then each week, per policy: the programme scores,
proposes, approves and sends, the customers answer (core.response_simulation), and the world
moves on a week (core.simulation_world), with the same random numbers for every policy.

Metrics (core.simulation.metrics), over the simulated weeks:
- churn rate: of the customers still active in the world at the start (not departed), the
  share that have departed by the end (hidden state: the world knows who left);
- repeat-purchase rate: the share of all customers (everyone has bought before) who ordered
  again during the run;
- revenue: list value of every order placed in the run (before discounts), cancelled
  back-orders excepted;
- discount spend: discounts on offer-response orders plus credits of sent offers answered;
- net revenue: revenue minus discount spend (every customer is an existing one, so this is
  the retained revenue net of discounts);
- offers sent, and offers that featured a SKU with nothing on hand at send time;
- next-year value (beside the in-year figures, not part of them): what the customers still
  active at the end would buy in the following year with no programme, at the world's own
  rates (next_year_value).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import func, select
from sqlalchemy.engine import Engine

from core import demo, schema, simulation_policies, simulation_start, simulation_world
from core.db import make_engine
from core.demo_orders import leave_logit
from core.response_simulation import TRAIT_COLUMNS
from core.simulation_world import Contacts, World
from core.tables import Order

END_DATE = date(2026, 1, 4)  # a Sunday: simulated weeks start on Mondays
POLICIES = simulation_policies.POLICIES
WeekProgress = Callable[[str, int, dict], None]  # (policy, week index, that week's figures)


@dataclass
class Run:
    """One policy's run: its world, its database and its weekly figures."""

    policy: str
    engine: Engine
    world: World
    weeks: list[dict] = field(default_factory=list)
    sent: list[pd.DataFrame] = field(default_factory=list)


def prepare(directory: Path, *, customers: int, seed: int, weeks: int, end_date: date = END_DATE):
    """The demo marketplace in `directory`/base.db and its frames (for the world's start)."""
    frames = demo.generate(customers=customers, seed=seed, end_date=end_date)
    path = directory / "base.db"
    engine = make_engine(f"sqlite:///{path}")
    schema.upgrade(engine)
    demo.write(engine, frames)
    engine.dispose()
    return path, frames


def copy_database(source: Path, target: Path) -> None:
    """An identical copy of a SQLite database (through the backup API, WAL included)."""
    with sqlite3.connect(source) as src, sqlite3.connect(target) as dst:
        src.backup(dst)
    src.close()
    dst.close()


def contacts(world: World, sent: pd.DataFrame) -> Contacts:
    """What the world needs to know of the week's offers."""
    index = world.customer_index(sent["customer_id"])
    responded = sent["responded"].to_numpy(bool)
    treated = ~sent["holdout"].to_numpy(bool)
    oos = sent["out_of_stock"].to_numpy(bool)
    return Contacts(
        responded=np.unique(index[responded]),
        responded_in_stock=np.unique(index[responded & treated & ~oos]),
        let_down=np.unique(index[treated & oos]),
    )


def simulate(
    directory: Path,
    *,
    weeks: int,
    customers: int,
    seed: int,
    policies: Iterable[str] = POLICIES,
    progress: WeekProgress | None = None,
    end_date: date = END_DATE,
) -> dict[str, Run]:
    """Run every policy for `weeks` weeks on copies of one demo marketplace; one Run each."""
    base, frames = prepare(
        directory, customers=customers, seed=seed, weeks=weeks, end_date=end_date
    )
    runs: dict[str, Run] = {}
    for policy in policies:
        path = directory / f"{policy}.db"
        copy_database(base, path)
        world = simulation_start.start(
            frames, customers=customers, seed=seed, end_date=end_date, weeks=weeks
        )
        run = Run(policy, make_engine(f"sqlite:///{path}"), world)
        traits = world.latent[TRAIT_COLUMNS].set_axis(pd.Index(world.customer_ids))
        outbox = directory / f"outbox-{policy}"
        for week in range(weeks):
            monday = world.week_start(week)
            sent = simulation_policies.run_week(
                policy,
                run.engine,
                monday=monday,
                week_index=week,
                traits=traits,
                seed=seed,
                outbox=outbox,
                world=world,
            ).offers
            result = simulation_world.advance(run.engine, world, week, contacts(world, sent))
            simulation_policies.close_week(
                policy, run.engine, now=simulation_world.end_of_week(world, week)
            )
            treated = sent[~sent["holdout"].astype(bool)]
            figures = {
                "policy": policy,
                "week": week + 1,
                "monday": monday.isoformat(),
                "organic_orders": result.organic_orders,
                "response_orders": int(sent["responded"].sum()),
                "offers_sent": len(treated),
                "out_of_stock_offers": int(treated["out_of_stock"].sum()),
                "backordered_lines": result.backordered_lines,
                "departed": result.departed,
                "won_back": result.returned,
                "active_customers": int(world.alive.sum()),
                "units_received": result.received_units,
                "purchase_orders": result.reorders,
            }
            run.weeks.append(figures)
            run.sent.append(sent)
            if progress:
                progress(policy, week, figures)
        runs[policy] = run
    return runs


def metrics(run: Run) -> dict:
    """The run's figures (see the module docstring for the definitions)."""
    world = run.world
    first = world.week_start(0)
    o = Order.__table__
    statement = select(
        func.count(),
        func.count(func.distinct(o.c.customer_id)),
        func.coalesce(func.sum(o.c.amount + o.c.discount_amount), 0.0),
        func.coalesce(func.sum(o.c.discount_amount), 0.0),
    ).where(o.c.ordered_date >= first, o.c.status != "cancelled")
    with run.engine.connect() as conn:
        orders, buyers, revenue, discounts = conn.execute(statement).one()
    sent = pd.concat(run.sent, ignore_index=True) if run.sent else pd.DataFrame()
    treated = sent[~sent["holdout"].astype(bool)] if len(sent) else sent
    credits = (
        float(treated.loc[treated["responded"].astype(bool), "credit_amount"].fillna(0).sum())
        if len(treated)
        else 0.0
    )
    start = world.alive_at_start
    spend = float(discounts) + credits
    return {
        "policy": run.policy,
        "churn_rate": float((start & ~world.alive).sum() / max(start.sum(), 1)),
        "repeat_purchase_rate": float(buyers / len(world.alive)),
        "orders": int(orders),
        "revenue": round(float(revenue), 2),
        "discount_spend": round(spend, 2),
        "net_revenue": round(float(revenue) - spend, 2),
        "offers_sent": len(treated),
        "out_of_stock_offers": int(treated["out_of_stock"].sum()) if len(treated) else 0,
        "next_year_value": round(next_year_value(run), 2),
    }


def next_year_value(run: Run) -> float:
    """Expected list revenue, in the year after the run, of the customers still active at its
    end, with no programme, at the world's own rates: each orders `rate` times a year until
    their hidden lifetime ends, and after each order leaves with the generator's chance at
    their usual satisfaction (core.demo_orders.leave_logit); an order is worth their average
    order before the run (the same for every policy)."""
    world = run.world
    end_day = world.start_day + 7 * len(run.weeks)
    alive = np.flatnonzero(world.alive)
    if len(alive) == 0:
        return 0.0
    latent = world.latent
    years = np.clip(world.lifetime_end[alive] - end_day, 0, 365) / 365.0
    expected = latent["rate"].to_numpy(np.float64)[alive] * years
    none = np.zeros(len(alive), dtype=bool)
    leave = 1.0 / (
        1.0
        + np.exp(
            -leave_logit(
                latent,
                alive,
                first=none,
                late=none,
                days_late=0,
                complaint=none,
                satisfaction=latent["satisfaction"].to_numpy()[alive],
                cancelled_backorder=none,
            )
        )
    )
    # Orders before leaving: 1 + (1 - q) + (1 - q)^2 + ... over the expected orders.
    orders = (1.0 - (1.0 - leave) ** expected) / leave
    o = Order.__table__
    statement = (
        select(o.c.customer_id, func.avg(o.c.amount + o.c.discount_amount))
        .where(o.c.ordered_date < world.week_start(0), o.c.status != "cancelled")
        .group_by(o.c.customer_id)
    )
    with run.engine.connect() as conn:
        average = dict(conn.execute(statement).all())
    value = world.customer_ids.iloc[alive].map(average).astype(float)
    value = value.fillna(value.mean() if value.notna().any() else 0.0).to_numpy()
    return float((orders * value).sum())


def table(runs: dict[str, Run]) -> pd.DataFrame:
    """One row of metrics per policy."""
    return pd.DataFrame([metrics(run) for run in runs.values()]).set_index("policy")


def weekly(runs: dict[str, Run]) -> pd.DataFrame:
    """Every policy's weekly figures, one row per policy and week."""
    return pd.DataFrame([row for run in runs.values() for row in run.weeks])
