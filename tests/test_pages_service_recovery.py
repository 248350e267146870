"""Inventory page: proposing service recovery for delayed customers, and who may."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session, select

from core.audit import AuditEvent
from core.campaigns import Campaign, Offer
from core.roles import Actor, Role
from tests import console_factories as make
from tests import loop_factories as f
from tests import pages

TODAY = datetime.now(UTC).date()
BUTTON = "propose_recovery"


@pytest.fixture
def shop(engine, monkeypatch):
    pages.use_database(monkeypatch, engine)
    make.catalogue(engine)
    f.customers(engine, "late-1", "late-2", "fine")
    for n, customer in enumerate(["late-1", "late-2"]):
        make.order(
            engine,
            f"o{n}",
            customer,
            TODAY - timedelta(days=10),
            promised=TODAY - timedelta(days=6),
            delivered=TODAY - timedelta(days=2 + n),
        )
    return engine


def _page(actor, rows=None):
    test = pages.page("inventory", actor)
    if rows is not None:
        test.session_state["delayed"] = {"selection": {"rows": rows, "columns": []}}
    test.run()
    assert not test.exception
    return test


def _propose(test, reason):
    next(t for t in test.text_input if t.label == "Why").input(reason)
    test.button(key=BUTTON).click()
    test.run()
    assert not test.exception
    return test


def _offers(engine):
    with Session(engine) as session:
        return session.exec(select(Offer)).all()


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.PLANNER])
def test_support_and_planners_see_a_button_that_says_what_it_will_do(shop, role):
    test = _page(Actor("sam", role))
    assert test.button(key=BUTTON).label == "Propose service recovery for 2 customers"
    selected = _page(Actor("sam", role), rows=[1])
    assert selected.button(key=BUTTON).label == "Propose service recovery for 1 customer"


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_others_see_the_list_but_no_button(shop, role):
    test = _page(Actor("meg", role))
    assert set(test.dataframe[1].value["customer_id"]) == {"late-1", "late-2"}
    assert not any(b.key == BUTTON for b in test.button)
    assert "weekly proposals" in test.caption[-1].value


def test_the_selected_customer_gets_an_offer_and_the_message_says_what_happened(shop):
    test = _page(Actor("sam", Role.SUPPORT), rows=[0])
    chosen = test.dataframe[1].value.iloc[0]["customer_id"]
    _propose(test, "courier lost a van")
    message = test.toast[0].value
    assert "Service-recovery campaign" in message and "created" in message
    [offer] = _offers(shop)
    assert (offer.customer_id, offer.status, offer.reviewed_by) == (chosen, "overridden", "sam")
    with Session(shop) as session:
        campaign = session.exec(select(Campaign)).one()
        event = session.exec(select(AuditEvent)).one()
    assert campaign.status == "proposed"
    assert (event.action, event.reason) == ("service_recovery.propose", "courier lost a van")


def test_all_customers_of_the_filter_and_a_second_click_skips_them(shop):
    _propose(_page(Actor("pat", Role.PLANNER)), "supplier delay")
    assert len(_offers(shop)) == 2
    again = _propose(_page(Actor("pat", Role.PLANNER)), "supplier delay")
    assert "Skipped 2" in again.warning[0].value
    assert "already has a service-recovery offer" in again.warning[0].value
    assert len(_offers(shop)) == 2


def test_without_a_reason_nothing_is_proposed(shop):
    test = _propose(_page(Actor("sam", Role.SUPPORT)), "")
    assert "reason is required" in test.error[0].value
    assert _offers(shop) == []
