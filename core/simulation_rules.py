"""The rule-based programme `easel simulate` compares Easel with: the playbook, nothing else.

The playbook's candidates (core.proposals.plan(...).candidates, before any guardrail), a fixed
priority among campaigns (the playbook's order), the same contact cap, holdout share and
weekly discount budget as Easel; no stock, cover, pause or margin checks and no bandit.
Consent is respected (it is the law, not a guardrail). The offers are written as campaigns
and offers like Easel's, approved, and sent as they are, with no send-time re-check.
"""

from __future__ import annotations

from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlmodel import Session

from core import audit, pauses, playbook, proposal_data, proposal_store, proposals
from core.campaign_config import CampaignConfig, load_config
from core.campaigns import Offer, Status
from core.roles import SYSTEM
from core.tables import Customer, Product


def _channels(customers: pd.DataFrame) -> pd.Series:
    """The first channel each customer consented to (None: no consent at all)."""
    channel = pd.Series(None, index=customers.index, dtype=object)
    for name in ("post", "sms", "email"):  # email wins, then sms, then post
        channel = channel.mask(customers[f"consent_{name}"].astype(bool), name)
    return channel


def rule_offers(
    candidates: pd.DataFrame,
    *,
    customers: pd.DataFrame,
    products: pd.DataFrame,
    config: CampaignConfig,
) -> pd.DataFrame:
    """The rule-based programme's offers: fixed priority, contact cap, budget; nothing else."""
    order = {name: rank for rank, name in enumerate(playbook.CAMPAIGNS)}
    frame = candidates.assign(_rank=candidates["campaign_type"].map(order))
    frame = frame.merge(customers, on="customer_id", how="left")
    frame["channel"] = _channels(frame.fillna({c: False for c in customers if c != "customer_id"}))
    frame = frame[frame["channel"].notna()]
    frame = frame.sort_values(["_rank", "customer_id"], kind="stable")
    frame = frame[frame.groupby("customer_id").cumcount() < config.contact_cap_per_week]
    prior = frame["campaign_type"].map(
        {name: config.campaign(name).prior_uptake for name in playbook.CAMPAIGNS}
    )
    price = frame["sku"].map(products.set_index("sku")["price"]).fillna(0.0).astype(float)
    discount = frame["discount_pct"].fillna(0.0).astype(float) / 100.0
    units = prior * config.units_per_conversion
    credit = frame["credit_amount"].fillna(0.0).astype(float)
    frame["expected_uptake"] = prior
    frame["expected_units"] = np.where(frame["sku"].notna(), units, 0.0)
    frame["expected_revenue"] = frame["expected_units"] * price * (1 - discount)
    frame["expected_cost"] = frame["expected_units"] * price * discount + credit
    treated_cost = frame["expected_cost"].where(~frame["holdout"].astype(bool), 0.0)
    frame = frame[treated_cost.cumsum() <= config.weekly_discount_budget + 1e-9]
    return frame.assign(
        propensity=1.0,
        context=None,
        original_sku=None,
        why_sku=None,
        why_offer="rule: fixed campaign priority",
    ).drop(columns="_rank")


def propose(session: Session, *, as_of: date, now: datetime) -> None:
    """Write the week's rule-based campaigns and offers (proposed), audited."""
    week, as_of, send_date, window_end = proposals.week_bounds(None, as_of, today=now.date())
    config = load_config(session)
    conn = session.connection()
    data = proposals.load_data(conn, as_of=as_of, config=config)
    campaigns, settled = proposal_data.week_state(conn, week)
    result = proposals.plan(
        data,
        week=week,
        as_of=as_of,
        send_date=send_date,
        window_end=window_end,
        config=config,
        active_pauses=pauses.active_frame(session, now=now),
        settled=settled,
    )
    consent = ["customer_id", "consent_email", "consent_sms", "consent_post"]
    customers = pd.DataFrame(
        conn.execute(select(*(Customer.__table__.c[c] for c in consent))).all(), columns=consent
    )
    products = pd.DataFrame(
        conn.execute(select(Product.__table__.c.sku, Product.__table__.c.price)).all(),
        columns=["sku", "price"],
    )
    offers = rule_offers(result.candidates, customers=customers, products=products, config=config)
    empty = pd.DataFrame(columns=[*proposal_store.OFFER_FIELDS, "reason"], dtype=object)
    written = proposal_store.write(
        session,
        week=week,
        as_of=as_of,
        send_date=send_date,
        now=now,
        offers=offers,
        suppressed=empty,
        campaigns=campaigns,
        spare=pd.Series(dtype=float),
        config=config,
    )
    audit.record(
        session,
        actor=SYSTEM,
        action="simulation.rules_propose",
        entity_type="week",
        entity_id=week,
        after={"campaigns": written},
        now=now,
    )


def send(session: Session, *, now: datetime) -> None:
    """The rule-based programme sends every approved treated offer due, with no re-check."""
    o = Offer.__table__
    due = (
        o.c.status == Status.APPROVED.value,
        o.c.holdout.is_(False),
        o.c.sent_at.is_(None),
        o.c.send_date <= now.date(),
    )
    conn = session.connection()
    ids = conn.execute(select(o.c.id).where(*due)).scalars().all()
    conn.execute(
        update(o)
        .where(*due)
        .values(status=Status.SENT.value, sent_at=now, version=o.c.version + 1, updated_at=now)
    )
    audit.record(
        session,
        actor=SYSTEM,
        action="simulation.rules_send",
        entity_type="dispatch",
        entity_id=now.isoformat(timespec="seconds"),
        after={"sent": len(ids)},
        now=now,
    )
