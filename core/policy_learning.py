"""What the campaign choice has learned: the bandit's posterior and off-policy value per campaign.

core.bandit keeps no state of its own: each week's proposals refit it from the recorded
outcomes (core.bandit.fit). This update does that same fit once outcomes are in, and adds what
the logged propensities allow: inverse-propensity (self-normalised) estimates of each
campaign's conversion and of its revenue per offer (what the choice maximises, net of the
discounts in the orders), which correct for the policy having sent some campaigns more often
to the customers most likely to convert. Both are recorded as one audit event per run.
"""

from __future__ import annotations

import logging
from datetime import datetime

import numpy as np
import pandas as pd
from sqlalchemy import select
from sqlmodel import Session

from core import audit, bandit
from core.campaign_config import CAMPAIGN_TYPES, load_config
from core.campaigns import Offer
from core.roles import Actor, Permission, require

log = logging.getLogger(__name__)

REPORT_COLUMNS = [
    "campaign_type",
    "offers",
    "conversions",
    "posterior_rate",
    "ips_rate",
    "ips_revenue",
]


def history(session: Session) -> pd.DataFrame:
    """Treated offers with an outcome: campaign_type, context, converted, propensity, revenue."""
    o = Offer.__table__
    statement = select(
        o.c.campaign_type,
        o.c.context,
        o.c.converted,
        o.c.propensity,
        o.c.outcome_revenue.label("revenue"),
    ).where(o.c.converted.is_not(None), o.c.holdout.is_(False))
    return pd.read_sql(statement, session.connection())


def report(frame: pd.DataFrame, model: bandit.BanditModel) -> pd.DataFrame:
    """Per campaign: offers, conversions, the posterior rate, and the propensity-weighted rate
    and revenue per offer (NaN where no revenue was recorded)."""
    if frame.empty:
        return pd.DataFrame(columns=REPORT_COLUMNS)
    reward = frame["converted"].astype(float)
    # Offers logged without a propensity (chosen by a person) count with weight one.
    weight = 1.0 / frame["propensity"].astype(float).where(frame["propensity"] > 0).fillna(1.0)
    revenue = frame["revenue"] if "revenue" in frame else pd.Series(np.nan, index=frame.index)
    grouped = pd.DataFrame(
        {
            "arm": frame["campaign_type"],
            "r": reward,
            "w": weight,
            "wr": reward * weight,
            "wv": revenue.astype(float) * weight,
        }
    )
    stats = grouped.groupby("arm").agg(
        offers=("r", "size"),
        conversions=("r", "sum"),
        weighted=("wr", "sum"),
        weights=("w", "sum"),
        valued=("wv", lambda s: s.sum(min_count=1)),
    )
    out = pd.DataFrame(
        {
            "campaign_type": stats.index,
            "offers": stats["offers"].astype(int).to_numpy(),
            "conversions": stats["conversions"].astype(int).to_numpy(),
            "posterior_rate": [round(model.arm_rates.get(a, np.nan), 4) for a in stats.index],
            "ips_rate": (stats["weighted"] / stats["weights"]).round(4).to_numpy(),
            "ips_revenue": (stats["valued"] / stats["weights"]).round(2).to_numpy(),
        }
    )
    return out[REPORT_COLUMNS]


def update(*, session: Session, actor: Actor, now: datetime) -> pd.DataFrame:
    """Refit the bandit from outcomes and record what it learned; returns the per-campaign report."""
    require(actor, Permission.RUN_JOBS)
    config = load_config(session)
    priors = {name: config.campaign(name).prior_uptake for name in CAMPAIGN_TYPES}
    frame = history(session)
    model = bandit.fit(frame[bandit.HISTORY_COLUMNS], priors=priors, strength=config.prior_strength)
    table = report(frame, model)
    audit.record(
        session,
        actor=actor,
        action="bandit.update",
        entity_type="bandit",
        entity_id=now.isoformat(timespec="seconds"),
        after={
            "outcomes": len(frame),
            "cells": len(model.cells),
            "arm_rates": {k: round(v, 4) for k, v in model.arm_rates.items()},
            "campaigns": table.astype(object).where(table.notna(), None).to_dict(orient="records"),
        },
        now=now,
    )
    log.info("Bandit refit from %d outcome(s) in %d cell(s).", len(frame), len(model.cells))
    return table
