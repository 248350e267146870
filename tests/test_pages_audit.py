"""Audit page: managers and admins read it; others are refused; it shows the chain and the trail."""

from datetime import timedelta

import pytest
from sqlmodel import Session

from core import audit
from core.roles import Actor, Role
from tests import pages


@pytest.fixture
def trail(engine, monkeypatch, now):
    pages.use_database(monkeypatch, engine)
    with Session(engine) as session:
        audit.record(
            session,
            actor=Actor("sam", Role.SUPPORT),
            action="pause.create",
            entity_type="pause",
            entity_id=1,
            after={"scope": "sku"},
            reason="late",
            now=now,
        )
        audit.record(
            session,
            actor=Actor("pat", Role.PLANNER),
            action="campaign.approve",
            entity_type="campaign",
            entity_id=3,
            now=now + timedelta(hours=1),
        )
        session.commit()
    return engine


@pytest.mark.parametrize("role", [Role.PLANNER, Role.SUPPORT])
def test_roles_without_read_audit_are_refused(trail, role):
    test = pages.page("audit", Actor("x", role))
    test.run()
    assert "does not give access" in test.error[0].value
    assert not test.dataframe


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_see_chain_events_export_and_scorecard(trail, role):
    test = pages.page("audit", Actor("meg", role))
    test.run()
    assert not test.exception
    assert not test.success  # the chain is checked on request, not on every visit
    next(b for b in test.button if b.label == "Check the audit chain").click().run()
    assert "Audit chain intact: 2 events checked." in test.success[0].value
    assert test.dataframe[0].value["action"].tolist() == ["campaign.approve", "pause.create"]
    assert any("No outcomes yet" in i.value for i in test.info)


def test_filter_by_person(trail):
    test = pages.page("audit", Actor("meg", Role.MANAGER))
    test.run()
    next(s for s in test.selectbox if s.label == "Person").select("sam")
    test.run()
    assert test.dataframe[0].value["actor"].tolist() == ["sam"]
