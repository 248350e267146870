"""The loop's jobs through the job runner: once per slot, no duplicates, nothing half-written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pandas as pd
import pytest
from sqlalchemy import func, select
from sqlmodel import Session

from core import pauses, proposals, tables
from core.bulk import write_frame
from core.campaigns import Campaign, Offer
from core.jobruns import JobRun
from core.pauses import Pause
from core.roles import SYSTEM
from core.scores import CustomerScore
from jobs import registry
from jobs.scoring import due_for_retraining
from tests import loop_factories as f
from tests.churn_data import END, generate
from tests.test_proposals import shop  # noqa: F401  (fixture)


def _count(engine, model) -> int:
    with Session(engine) as session:
        return session.exec(select(func.count()).select_from(model)).one()[0]


def _statuses(engine, job):
    with Session(engine) as session:
        rows = session.scalars(select(JobRun).where(JobRun.job == job).order_by(JobRun.id))
        return [r.status for r in rows]


def _run(engine, name, slot, *, now=None):
    now = now or slot
    return registry.run(engine, name, slot=slot, actor=SYSTEM, clock=lambda: now)


def test_every_loop_job_is_registered_with_its_cadence():
    cadences = {job.name: job.cadence for job in registry.JOBS}
    assert cadences["nightly_scoring"] == "cron 0 2 * * *"
    assert cadences["weekly_proposals"] == "cron 0 5 * * 1"
    assert cadences["inventory_watch"] == "every 1h"
    assert cadences["dispatch"] == "every 15m"
    assert cadences["outcomes"] == "cron 0 3 * * *"
    assert cadences["bandit_update"] == "cron 30 3 * * *"


def test_retraining_is_due_when_there_is_no_model_or_it_is_a_week_old(now):
    assert due_for_retraining(None, now=now, every_days=7)
    assert not due_for_retraining(now - timedelta(days=6), now=now, every_days=7)
    assert due_for_retraining(now - timedelta(days=7), now=now, every_days=7)


@pytest.mark.slow
def test_nightly_scoring_trains_scores_and_a_rerun_duplicates_nothing(engine):
    history = generate(1200, seed=21)
    orders = history["orders"].assign(status="delivered", discount_amount=0.0)
    customers = pd.DataFrame({"customer_id": orders["customer_id"].unique()})
    with engine.begin() as conn:
        write_frame(conn, tables.Customer.__table__, customers, update=False)
        write_frame(conn, tables.Order.__table__, orders, update=False)
    slot = datetime.combine(END, datetime.min.time(), tzinfo=UTC).replace(hour=2)
    assert _run(engine, "nightly_scoring", slot).status == "succeeded"
    scored = _count(engine, CustomerScore)
    assert scored > 0
    assert _run(engine, "nightly_scoring", slot).status == "already_done"
    # A second slot the same day replaces that day's scores.
    assert _run(engine, "nightly_scoring", slot + timedelta(minutes=1)).status == "succeeded"
    assert _count(engine, CustomerScore) == scored


PROPOSAL_SLOT = datetime(2026, 6, 14, 5, 0, tzinfo=UTC)  # as of 14 June: the week 2026-W25


def test_weekly_proposals_rerun_keeps_one_row_per_offer(shop, engine):  # noqa: F811
    assert _run(engine, "weekly_proposals", PROPOSAL_SLOT).status == "succeeded"
    offers, campaigns = _count(engine, Offer), _count(engine, Campaign)
    assert offers > 0
    assert _run(engine, "weekly_proposals", PROPOSAL_SLOT).status == "already_done"
    later = PROPOSAL_SLOT + timedelta(hours=1)
    assert _run(engine, "weekly_proposals", later).status == "succeeded"
    assert (_count(engine, Offer), _count(engine, Campaign)) == (offers, campaigns)


def test_a_proposal_run_that_fails_half_way_writes_nothing(shop, engine, monkeypatch):  # noqa: F811
    def crash(*args, **kwargs):
        raise RuntimeError("crash after writing the offers")

    monkeypatch.setattr(proposals.audit, "record", crash)
    outcome = _run(engine, "weekly_proposals", PROPOSAL_SLOT)
    assert outcome.status == "failed" and "crash after writing" in outcome.error
    assert (_count(engine, Offer), _count(engine, Campaign)) == (0, 0)
    assert _statuses(engine, "weekly_proposals") == ["failed"]
    monkeypatch.undo()
    assert _run(engine, "weekly_proposals", PROPOSAL_SLOT).status == "succeeded"


def _watch_world(engine):
    f.catalogue(engine, stock={"PAINT-1": 0, "YARN-1": 0})
    f.customers(engine, "c1", "c2")
    f.campaign(engine, 1)
    f.offer(engine, 1, "c1", sku="PAINT-1")
    f.offer(engine, 1, "c2", sku="YARN-1")


def test_the_inventory_watch_runs_once_per_slot(engine, now):
    _watch_world(engine)
    assert _run(engine, "inventory_watch", now).rows == 2
    assert _run(engine, "inventory_watch", now).status == "already_done"
    assert _run(engine, "inventory_watch", now + timedelta(hours=1)).rows == 0
    assert _count(engine, Pause) == 2


def test_an_inventory_watch_failing_after_its_first_pause_leaves_none(engine, now, monkeypatch):
    _watch_world(engine)
    calls = []
    original = pauses.audit.record

    def second_fails(*args, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("lost the database half-way")
        return original(*args, **kwargs)

    monkeypatch.setattr(pauses.audit, "record", second_fails)
    outcome = _run(engine, "inventory_watch", now)
    assert outcome.status == "failed" and _count(engine, Pause) == 0
    assert _statuses(engine, "inventory_watch") == ["failed"]
