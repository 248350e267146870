"""Outcomes: orders within the attribution window are linked to sent and holdout offers."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from sqlmodel import Session, select

from core import outcomes
from core.campaigns import Offer
from core.roles import SYSTEM
from jobs import registry
from tests import loop_factories as f

SENT = datetime(2026, 5, 25, 10, 0, tzinfo=UTC)


@pytest.fixture
def world(engine):
    f.catalogue(engine)
    f.customers(engine, "c1", "c2", "c3", "c4", "c5")
    f.campaign(engine, 1, send_date=date(2026, 5, 25))
    f.offer(engine, 1, "c1", status="sent", sent_at=SENT, send_date=date(2026, 5, 25))
    f.offer(engine, 1, "c2", holdout=True, send_date=date(2026, 5, 25))
    f.offer(engine, 1, "c3", status="sent", sent_at=SENT, send_date=date(2026, 5, 25))
    f.offer(engine, 1, "c4", send_date=date(2026, 5, 25))  # approved, never went out
    f.offer(engine, 1, "c5", status="sent", sent_at=datetime(2026, 6, 10, tzinfo=UTC))
    f.order(engine, "o-before", "c1", date(2026, 5, 20), amount=99.0)
    f.order(engine, "o1", "c1", date(2026, 5, 28), amount=30.0)
    f.order(engine, "o2", "c2", date(2026, 6, 5), amount=40.0)
    f.order(engine, "o3", "c3", date(2026, 6, 10), amount=50.0)  # after the window
    f.order(engine, "o4", "c4", date(2026, 5, 28), amount=20.0)
    f.order(engine, "o5", "c5", date(2026, 6, 11), amount=20.0)
    return engine


def _attribute(engine, now):
    with Session(engine) as session:
        summary = outcomes.attribute(session=session, actor=SYSTEM, now=now, window_days=14)
        session.commit()
    return summary


def _outcomes(engine):
    with Session(engine) as session:
        return {
            o.customer_id: (o.converted, o.outcome_revenue) for o in session.exec(select(Offer))
        }


def test_orders_in_the_window_after_the_send_are_the_outcome(world, now):
    summary = _attribute(world, now)
    assert (summary.treated, summary.holdout, summary.converted) == (2, 1, 2)
    got = _outcomes(world)
    assert got["c1"] == (True, 30.0)  # the order before the send does not count
    assert got["c2"] == (True, 40.0)  # holdout: from the would-be send date
    assert got["c3"] == (False, 0.0)  # ordered after the window closed


def test_offers_not_sent_or_with_an_open_window_are_not_measured(world, now):
    _attribute(world, now)
    got = _outcomes(world)
    assert got["c4"] == (None, None) and got["c5"] == (None, None)


def test_a_second_pass_measures_nothing_again(world, now):
    _attribute(world, now)
    assert _attribute(world, now).measured == 0


def test_the_job_measures_once_per_slot_and_fails_cleanly(world, now, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("audit store unavailable")

    monkeypatch.setattr(outcomes.audit, "record", broken)
    failed = registry.run(world, "outcomes", slot=now, actor=SYSTEM, clock=lambda: now)
    assert failed.status == "failed"
    assert _outcomes(world)["c1"] == (None, None)  # nothing half-written
    monkeypatch.undo()
    assert registry.run(world, "outcomes", slot=now, actor=SYSTEM, clock=lambda: now).rows == 3
    again = registry.run(world, "outcomes", slot=now, actor=SYSTEM, clock=lambda: now)
    assert again.status == "already_done"
