"""The three programmes `easel simulate` compares, one simulated week at a time.

- `none`: no retention programme; the world alone.
- `rules`: the playbook without guardrails (core.simulation_rules).
- `easel`: the product: inventory watch, `propose`, approval, dispatch with its send-time
  re-checks, outcome attribution and the bandit's update.
Both programmes score every customer each week (the nightly scoring's model) and retrain the
churn model every RETRAIN_WEEKS weeks. Auto-approval: every proposed campaign is approved as
proposed by a manager account (so that large campaigns need no second person).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path

import numpy as np
import pandas as pd
from sqlalchemy import literal, select
from sqlalchemy.engine import Engine
from sqlmodel import Session

from core import (
    campaign_reviews,
    dispatch,
    inventory_watch,
    outcomes,
    policy_learning,
    proposals,
    response_simulation,
    scoring,
    simulation_rules,
    simulation_stock,
)
from core.campaigns import Campaign, Offer, Status
from core.channels import CsvExportChannel
from core.db import session_scope
from core.roles import SYSTEM, Actor, Role
from core.tables import Order, StockLevel

POLICIES = ("none", "rules", "easel")
RETRAIN_WEEKS = 8
APPROVER = Actor("simulated-manager", Role.MANAGER)
APPROVAL_REASON = "Simulation: every proposed campaign is approved as proposed."
ATTRIBUTION_DAYS = 14
MAX_APPROVAL_AGE = timedelta(hours=168)
MATERIAL_STOCK_CHANGE = 0.5


@dataclass
class Sent:
    """The week's offers as sent, with stock on hand at send time, and their responses."""

    offers: pd.DataFrame  # offer_id, customer_id, sku, holdout, sent, out_of_stock, responded


def at(day: date, hour: int) -> datetime:
    return datetime.combine(day, time(hour), tzinfo=UTC)


def run_week(
    policy: str,
    engine: Engine,
    *,
    monday: date,
    week_index: int,
    traits: pd.DataFrame,
    seed: int,
    outbox: Path,
    world,
) -> Sent:
    """Score, propose, approve and send the week starting `monday`; simulate the responses."""
    if policy == "none":
        return Sent(_empty_offers())
    as_of = monday - timedelta(days=1)
    scoring.score_customers(
        engine,
        actor=SYSTEM,
        as_of=as_of,
        now=at(monday, 1),
        retrain=week_index % RETRAIN_WEEKS == 0,
    )
    with session_scope(engine) as session:
        if policy == "easel":
            inventory_watch.watch(session=session, actor=SYSTEM, now=at(monday, 2))
            proposals.propose(session=session, as_of=as_of, now=at(monday, 3))
        else:
            simulation_rules.propose(session, as_of=as_of, now=at(monday, 3))
        _approve_all(session, week=proposals.week_label(monday), now=at(monday, 4))
    send_time = at(monday, 8)
    if policy == "easel":
        sent = _dispatch_daily(engine, world, monday=monday, week_index=week_index, outbox=outbox)
    else:
        with session_scope(engine) as session:
            simulation_rules.send(session, now=send_time)
        with session_scope(engine) as session:
            sent = _sent_offers(session, week=proposals.week_label(monday), sent_at=send_time)
    with session_scope(engine) as session:
        response_simulation.simulate(
            session=session,
            actor=SYSTEM,
            as_of=monday + timedelta(days=7),
            now=at(monday + timedelta(days=6), 9),
            traits=traits,
            seed=seed,
            lookback_days=7,
        )
    if policy == "easel":
        _restore_feed(engine, world, monday=monday, week_index=week_index)
    with Session(engine) as session:
        sent["responded"] = _responded(session, sent["offer_id"])
    return Sent(sent)


def _dispatch_daily(engine: Engine, world, *, monday: date, week_index: int, outbox: Path):
    """Easel's dispatch at 08:00 each day of the week, as the scheduler's would send an offer
    timed after a restock on its day; from Tuesday on against a stock feed that shows the
    purchase orders arrived by then (`_restore_feed` puts Monday's back after the responses)."""
    first_day = world.start_day + 7 * week_index
    parts = []
    for offset in range(7):
        send_time = at(monday + timedelta(days=offset), 8)
        if offset:
            with session_scope(engine) as session:
                simulation_stock.write_feed(
                    session.connection(), world, through_day=first_day + offset, stamp=send_time
                )
        with session_scope(engine) as session:
            dispatch.dispatch(
                session=session,
                engine=engine,
                channel=CsvExportChannel(outbox, stamp=send_time),
                actor=SYSTEM,
                now=send_time,
                clock=lambda send_time=send_time: send_time,
                max_age=MAX_APPROVAL_AGE,
                material_change=MATERIAL_STOCK_CHANGE,
            )
        with session_scope(engine) as session:
            parts.append(
                _sent_offers(
                    session,
                    week=proposals.week_label(monday),
                    sent_at=send_time,
                    holdout=not offset,
                )
            )
    return pd.concat(parts, ignore_index=True)


def _restore_feed(engine: Engine, world, *, monday: date, week_index: int) -> None:
    """Monday's stock feed again, for the world to settle the week's sales against."""
    with session_scope(engine) as session:
        simulation_stock.write_feed(
            session.connection(),
            world,
            through_day=world.start_day + 7 * week_index - 1,
            stamp=at(monday - timedelta(days=1), 23),
        )


def close_week(policy: str, engine: Engine, *, now: datetime) -> None:
    """After the week: Easel measures outcomes and refits its campaign choice."""
    if policy != "easel":
        return
    with session_scope(engine) as session:
        outcomes.attribute(session=session, actor=SYSTEM, now=now, window_days=ATTRIBUTION_DAYS)
        policy_learning.update(session=session, actor=SYSTEM, now=now)


def _empty_offers() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "offer_id": pd.Series(dtype="int64"),
            "customer_id": pd.Series(dtype=object),
            "sku": pd.Series(dtype=object),
            "holdout": pd.Series(dtype=bool),
            "credit_amount": pd.Series(dtype=float),
            "out_of_stock": pd.Series(dtype=bool),
            "responded": pd.Series(dtype=bool),
        }
    )


def _approve_all(session: Session, *, week: str, now: datetime) -> None:
    c = Campaign.__table__
    ids = session.connection().execute(
        select(c.c.id).where(c.c.week == week, c.c.status == Status.PROPOSED.value)
    )
    for campaign_id in ids.scalars().all():  # a handful of campaigns a week
        campaign_reviews.approve(
            session=session,
            campaign_id=campaign_id,
            actor=APPROVER,
            reason=APPROVAL_REASON,
            now=now,
        )


def _sent_offers(
    session: Session, *, week: str, sent_at: datetime, holdout: bool = True
) -> pd.DataFrame:
    """The offers sent at `sent_at` (on hand at send time) and, with `holdout`, the week's
    holdout offers."""
    o, st = Offer.__table__, StockLevel.__table__
    statement = (
        select(
            o.c.id.label("offer_id"),
            o.c.customer_id,
            o.c.sku,
            o.c.holdout,
            o.c.credit_amount,
            st.c.on_hand,
        )
        .select_from(o.outerjoin(st, st.c.sku == o.c.sku))
        .where(
            o.c.week == week,
            (o.c.sent_at == sent_at)
            | (
                o.c.holdout.is_(True)
                & o.c.status.not_in((Status.SUPPRESSED.value, Status.REJECTED.value))
                & literal(holdout)
            ),
        )
    )
    rows = session.connection().execute(statement).all()
    frame = pd.DataFrame(rows, columns=list(statement.selected_columns.keys()))
    frame["holdout"] = frame["holdout"].astype(bool)
    on_hand = pd.to_numeric(frame["on_hand"], errors="coerce").fillna(0)
    frame["out_of_stock"] = ~frame["holdout"] & frame["sku"].notna() & (on_hand <= 0)
    return frame.drop(columns="on_hand")


def _responded(session: Session, offer_ids: pd.Series) -> np.ndarray:
    """Whether each offer got a response order (ids R<offer id>, see core.response_simulation)."""
    if offer_ids.empty:
        return np.zeros(0, dtype=bool)
    o = Order.__table__
    first, last = int(offer_ids.min()), int(offer_ids.max())
    rows = session.connection().execute(
        select(o.c.order_id).where(o.c.order_id >= f"R{first:09d}", o.c.order_id <= f"R{last:09d}")
    )
    found = {int(order_id[1:]) for order_id in rows.scalars()}
    return offer_ids.isin(found).to_numpy()
