"""Campaign approval page: who sees it, and approve, reject and edit change the database, write
their audit event, and tell the second of two people to reload."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import update
from sqlmodel import Session, select

from core import campaign_reviews
from core.audit import AuditEvent
from core.campaigns import Campaign, Offer, Status
from core.roles import Actor, Role
from core.tables import StockLevel
from tests import pages, test_proposals
from tests.test_proposals import _propose

shop = test_proposals.shop
PLANNER = Actor("pat", Role.PLANNER)
MANAGER = Actor("meg", Role.MANAGER)


@pytest.fixture
def week(shop, engine, monkeypatch, now):
    """first_to_repeat, service_recovery and win_back proposed for 2026-W25."""
    pages.use_database(monkeypatch, engine)
    _propose(shop, now)
    _stock_updated(engine, datetime.now(UTC))  # the page reads the real clock
    return engine


def _stock_updated(engine, at: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(update(StockLevel.__table__).values(updated_at=at))


def _by_label(elements, label):
    return next(e for e in elements if e.label == label)


def _campaign(engine, name="first_to_repeat") -> Campaign:
    with Session(engine) as session:
        return session.exec(select(Campaign).where(Campaign.campaign_type == name)).one()


def _events(engine, action):
    with Session(engine) as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def _opened(actor=PLANNER):
    test = pages.page("campaigns", actor)
    test.run()
    return test


def _confirm(test, action, reason):
    _by_label(test.button, action).click()
    test.run()
    _by_label(test.text_area, "Reason (required)").input(reason)
    next(b for b in test.button if b.key == f"{action.lower()}-confirm").click()
    test.run()
    return test


def test_planner_sees_the_week_with_money_audience_and_stock_chart(week):
    test = pages.page("campaigns", PLANNER)
    test.run()
    assert not test.exception
    assert set(test.dataframe[0].value["campaign_type"]) == {
        "First to repeat",
        "Service recovery",
        "Win back",
    }
    metrics = {m.label for m in test.metric}
    assert {"Audience", "Holdout", "Offer", "Expected uptake", "Discount cost"} <= metrics
    assert "Expected revenue" in metrics
    assert test.get("plotly_chart")
    assert "Waiting for a planner" in test.info[0].value


@pytest.mark.parametrize("role", [Role.SUPPORT, Role.ADMIN])
def test_support_and_admin_are_refused(week, role):
    test = pages.page("campaigns", Actor("x", role))
    test.run()
    assert "does not give access" in test.error[0].value
    assert not test.dataframe


def test_approve_asks_for_a_reason_then_approves_audits_and_toasts(week):
    test = _confirm(_opened(), "Approve", "stock is fine")
    assert not test.exception and not test.error
    assert "Approved the first to repeat campaign" in test.toast[0].value
    campaign = _campaign(week)
    assert (campaign.status, campaign.reviewed_by) == (Status.APPROVED, "pat")
    (event,) = _events(week, "campaign.approve")
    assert (event.actor, event.reason) == ("pat", "stock is fine")


def test_approve_without_a_reason_changes_nothing(week):
    test = _confirm(_opened(), "Approve", "  ")
    assert "reason is required" in test.error[0].value
    assert _campaign(week).status == Status.PROPOSED
    assert not _events(week, "campaign.approve")


def test_reject_rejects_the_campaign_and_its_offers(week):
    test = _confirm(_opened(), "Reject", "budget is needed elsewhere")
    assert "Rejected the first to repeat campaign" in test.toast[0].value
    campaign = _campaign(week)
    assert campaign.status == Status.REJECTED
    with Session(week) as session:
        offers = session.exec(select(Offer).where(Offer.campaign_id == campaign.id)).all()
    assert {o.status for o in offers} == {Status.REJECTED}
    assert _events(week, "campaign.reject")[0].reason == "budget is needed elsewhere"


def test_edit_resets_an_approval(week, now):
    campaign = _campaign(week)
    with Session(week) as session:
        campaign_reviews.approve(
            session=session, campaign_id=campaign.id, actor=MANAGER, reason="ok", now=now
        )
        session.commit()
    test = pages.page("campaigns", PLANNER)
    test.run()
    test.radio[0].set_value(campaign.id)
    test.run()
    assert "Approved by meg" in test.success[0].value
    _by_label(test.number_input, "Discount %").set_value(5.0)
    _by_label(test.text_input, "Why this change").input("margin is thin")
    test.button(key="FormSubmitter:edit-Save edit").click()
    test.run()
    assert not test.error, test.error
    assert "needs approving again" in test.toast[0].value
    edited = _campaign(week)
    assert (edited.status, edited.discount_pct) == (Status.EDITED, 5.0)
    assert _events(week, "campaign.edit")[0].reason == "margin is thin"


def _reject_meanwhile(engine, now):
    with Session(engine) as session:
        campaign_reviews.reject(
            session=session,
            campaign_id=_campaign(engine).id,
            actor=MANAGER,
            reason="no",
            now=now,
        )
        session.commit()


def test_second_person_confirming_is_told_to_reload_and_nothing_is_overwritten(week, now):
    test = _opened()
    _by_label(test.button, "Approve").click()
    test.run()
    _reject_meanwhile(week, now)
    _by_label(test.text_area, "Reason (required)").input("looks good")
    test.button(key="approve-confirm").click()
    test.run()
    assert "reload" in test.warning[0].value
    assert _campaign(week).status == Status.REJECTED
    assert not _events(week, "campaign.approve")
    _by_label(test.button, "Reload").click()
    test.run()
    assert not test.warning
    assert "Rejected by meg" in test.success[0].value


def test_an_edit_on_a_stale_screen_is_refused_with_a_reload_message(week, now):
    test = _opened()
    _reject_meanwhile(week, now)
    _by_label(test.number_input, "Discount %").set_value(5.0)
    _by_label(test.text_input, "Why this change").input("margin is thin")
    test.button(key="FormSubmitter:edit-Save edit").click()
    test.run()
    assert "reload" in test.warning[0].value
    assert not _events(week, "campaign.edit")


def test_a_large_campaign_waits_for_a_manager(week):
    campaign = _campaign(week)
    with Session(week) as session:
        row = session.get(Campaign, campaign.id)
        row.needs_manager_approval = True
        session.add(row)
        session.commit()
    test = pages.page("campaigns", PLANNER)
    test.run()
    assert "Needs a manager's approval" in test.info[0].value
    assert _by_label(test.button, "Approve").disabled
    test = pages.page("campaigns", MANAGER)
    test.run()
    assert not _by_label(test.button, "Approve").disabled


def test_a_stale_stock_feed_shows_a_banner_and_blocks_approval(week):
    _stock_updated(week, datetime.now(UTC) - timedelta(days=5))
    test = _confirm(_opened(), "Approve", "looks right")
    assert "Approvals are blocked" in test.warning[0].value
    assert _campaign(week).status == Status.PROPOSED
    assert _events(week, "campaign.approve") == []
