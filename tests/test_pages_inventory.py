"""Inventory page: who sees it, and pausing and lifting from it changes the database and the trail."""

from datetime import UTC, datetime

import pytest
from sqlmodel import Session, select

from core import pauses
from core.audit import AuditEvent
from core.roles import Actor, Role
from tests import console_factories as make
from tests import pages


@pytest.fixture
def shop(engine, monkeypatch):
    pages.use_database(monkeypatch, engine)
    make.catalogue(engine)
    return engine


def _by_label(elements, label):
    return next(e for e in elements if e.label == label)


def test_support_sees_skus_and_pause_forms(shop):
    test = pages.page("inventory", Actor("sam", Role.SUPPORT))
    test.run()
    assert not test.exception
    assert test.title[0].value == "Inventory and suppliers"
    assert set(test.dataframe[0].value["sku"]) == {"PAINT-1", "YARN-1"}
    assert any(b.label == "Pause offers" for b in test.button)


def test_anyone_without_sign_in_is_refused(shop):
    test = pages.page("inventory", None)
    test.run()
    assert "sign in" in test.warning[0].value
    assert not test.dataframe


def test_pause_a_supplier_writes_the_pause_and_its_audit_event(shop):
    test = pages.page("inventory", Actor("sam", Role.SUPPORT))
    test.run()
    _by_label(test.selectbox, "On").select("supplier")
    _by_label(test.text_input, "SKU, supplier id or category").input("S2")
    _by_label(test.text_input, "Reason").input("strike at the mill")
    _by_label(test.button, "Pause offers").click()
    test.run()
    assert not test.exception and not test.error
    assert "paused supplier S2" in test.toast[0].value
    with Session(shop) as session:
        pause = session.exec(select(pauses.Pause)).one()
        event = session.exec(select(AuditEvent)).one()
    assert (pause.scope, pause.target, pause.created_by) == ("supplier", "S2", "sam")
    assert (event.action, event.actor, event.reason) == (
        "pause.create",
        "sam",
        "strike at the mill",
    )


def test_pause_without_reason_is_refused_with_a_message(shop):
    test = pages.page("inventory", Actor("sam", Role.SUPPORT))
    test.run()
    _by_label(test.text_input, "SKU, supplier id or category").input("PAINT-1")
    _by_label(test.button, "Pause offers").click()
    test.run()
    assert "needs a reason" in test.error[0].value
    with Session(shop) as session:
        assert session.exec(select(pauses.Pause)).first() is None


def test_lift_a_pause_writes_the_lift_and_its_audit_event(shop):
    with Session(shop) as session:
        made = pauses.pause(
            session=session,
            actor=Actor("sam", Role.SUPPORT),
            scope="sku",
            target="YARN-1",
            reason="late",
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
        session.commit()
        pause_id = made.id
    test = pages.page("inventory", Actor("pat", Role.PLANNER))
    test.run()
    _by_label(test.text_input, "Why lift it").input("shipment arrived")
    _by_label(test.button, "Lift pause").click()
    test.run()
    assert not test.exception and not test.error
    with Session(shop) as session:
        pause = session.get(pauses.Pause, pause_id)
        actions = session.exec(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert (pause.lifted_by, pause.lift_reason) == ("pat", "shipment arrived")
    assert actions == ["pause.create", "pause.lift"]
