"""Bandit update: the posterior from outcomes and a propensity-weighted rate per campaign."""

from __future__ import annotations

import json

import pandas as pd
import pytest
from sqlmodel import Session, select

from core import bandit, policy_learning
from core.audit import AuditEvent
from core.roles import SYSTEM
from jobs import registry
from tests import loop_factories as f


def test_propensity_weighting_corrects_for_who_the_policy_chose():
    frame = pd.DataFrame(
        {
            "campaign_type": ["loyalty"] * 4,
            "context": ["a", "a", "b", "b"],
            # Chosen often where it converts, rarely where it does not.
            "converted": [True, True, False, False],
            "propensity": [0.9, 0.9, 0.1, 0.1],
        }
    )
    model = bandit.fit(frame, priors={"loyalty": 0.1}, strength=2.0)
    [row] = policy_learning.report(frame, model).to_dict(orient="records")
    assert row["offers"] == 4 and row["conversions"] == 2
    assert row["ips_rate"] < 0.5  # the naive rate is 0.5
    assert pd.isna(row["ips_revenue"])  # no revenue recorded
    valued = frame.assign(revenue=[30.0, 30.0, 0.0, 0.0])
    [row] = policy_learning.report(valued, model).to_dict(orient="records")
    assert row["ips_revenue"] < 15.0  # the naive revenue per offer is 15.00
    assert row["ips_revenue"] == pytest.approx(30.0 * row["ips_rate"])


def test_the_job_refits_from_outcomes_and_records_what_it_learned(engine, now):
    f.catalogue(engine)
    f.customers(engine, "c1", "c2")
    f.campaign(engine, 1)
    f.offer(engine, 1, "c1", status="sent", converted=True, outcome_revenue=20.0)
    f.offer(engine, 1, "c2", status="sent", converted=False, outcome_revenue=0.0)
    outcome = registry.run(engine, "bandit_update", slot=now, actor=SYSTEM, clock=lambda: now)
    assert outcome.status == "succeeded" and outcome.rows == 1
    again = registry.run(engine, "bandit_update", slot=now, actor=SYSTEM, clock=lambda: now)
    assert again.status == "already_done"
    with Session(engine) as session:
        [event] = session.exec(select(AuditEvent).where(AuditEvent.action == "bandit.update"))
    after = json.loads(event.after)
    assert event.actor == "system" and after["outcomes"] == 2
    [win_back] = [c for c in after["campaigns"] if c["offers"] == 2]
    assert win_back["ips_revenue"] == 10.0  # 20.00 and nothing, both chosen with propensity 0.5
