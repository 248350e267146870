"""At-risk customers page: the offer and why, overrides one at a time and in bulk, each audited,
and a stale screen asks to reload."""

import pytest
from sqlmodel import Session, select

from core import approval_views, campaign_reviews
from core.audit import AuditEvent
from core.campaigns import Offer, Status
from core.roles import Actor, Role
from core.scores import CustomerScore
from tests import pages, test_proposals
from tests.test_proposals import _ago, _propose

shop = test_proposals.shop
PLANNER = Actor("pat", Role.PLANNER)


@pytest.fixture
def week(shop, engine, monkeypatch, now):
    """Rows in order c1 (win back), c2 (service recovery), c3 (first to repeat), each offered."""
    pages.use_database(monkeypatch, engine)
    for customer_id, at_risk in (("c2", 50.0), ("c3", 30.0)):
        shop.add(
            CustomerScore(
                as_of=_ago(1),
                customer_id=customer_id,
                churn_probability=0.7,
                risk_band="high",
                expected_value=at_risk * 2,
                value_at_risk=at_risk,
                reasons='["fewer orders than usual"]',
                scored_at=now,
            )
        )
    shop.commit()
    _propose(shop, now)
    return engine


def _by_label(elements, label):
    return next(e for e in elements if e.label == label)


def _selected(rows, actor=PLANNER):
    test = pages.page("customers", actor)
    test.session_state["at_risk"] = {"selection": {"rows": rows, "columns": []}}
    test.run()
    assert not test.exception
    return test


def _offer(engine, customer_id, campaign_type=None) -> Offer:
    with Session(engine) as session:
        query = select(Offer).where(Offer.customer_id == customer_id)
        if campaign_type:
            query = query.where(Offer.campaign_type == campaign_type)
        return session.exec(query.order_by(Offer.id)).first()


def _events(engine, action):
    with Session(engine) as session:
        return session.exec(select(AuditEvent).where(AuditEvent.action == action)).all()


def _override(test, change, reason, **inputs):
    _by_label(test.radio, "Change").set_value(change)
    for label, value in inputs.items():
        _by_label([*test.number_input, *test.text_input, *test.selectbox], label).set_value(value)
    _by_label(test.text_input, "Why change this offer").input(reason)
    test.button(key="FormSubmitter:override-Override offer").click()
    test.run()
    return test


def test_the_list_shows_each_customers_offer_and_the_chosen_one_says_why(week):
    test = _selected([0])
    offers = test.dataframe[0].value.set_index("customer_id")["offer"]
    assert offers["c1"].startswith("win back") and offers["c2"].startswith("service recovery")
    assert test.subheader[0].value.startswith("Customer c1")
    assert any(c.value.startswith("Why this customer") for c in test.caption)


def test_override_the_discount_is_saved_audited_and_toasted(week):
    test = _override(_selected([0]), "discount", "loyal for years", **{"Discount %": 25.0})
    assert not test.error, test.error
    assert "overridden" in test.toast[0].value
    offer = _offer(week, "c1")
    assert (offer.status, offer.discount_pct, offer.reviewed_by) == (Status.OVERRIDDEN, 25.0, "pat")
    assert _events(week, "offer.override")[0].reason == "loyal for years"


def test_an_override_needs_a_reason(week):
    test = _override(_selected([0]), "exclude", " ")
    assert "reason is required" in test.error[0].value
    assert _offer(week, "c1").status == Status.PROPOSED


def test_move_to_another_campaign(week):
    target = _campaign_id(week, "first to repeat")
    test = _override(_selected([0]), "campaign", "wants the onboarding offer", Campaign=target)
    assert not test.error, test.error
    assert _offer(week, "c1", "win_back").status == Status.REJECTED
    assert _offer(week, "c1", "first_to_repeat").status == Status.OVERRIDDEN
    assert _events(week, "offer.move")[0].reason == "wants the onboarding offer"


def _campaign_id(engine, name):
    with Session(engine) as session:
        choices = approval_views.campaign_choices(session, week="2026-W25")
    return next(key for key, label in choices.items() if label == name)


def test_bulk_exclude_several_customers_with_one_reason(week):
    test = _selected([0, 1])
    _by_label(test.text_input, "Why exclude them").input("asked not to be contacted")
    test.button(key="FormSubmitter:bulk-Exclude from this week's offers").click()
    test.run()
    assert "Excluded 2 customers" in test.toast[0].value
    assert {_offer(week, c).status for c in ("c1", "c2")} == {Status.REJECTED}
    assert _offer(week, "c3").status == Status.PROPOSED
    assert len(_events(week, "offer.override")) == 2


def test_a_stale_offer_asks_to_reload_and_keeps_the_other_change(week, now):
    test = _selected([0])
    with Session(week) as session:
        campaign_reviews.override_offer(
            session=session,
            offer_id=_offer(week, "c1").id,
            actor=Actor("meg", Role.MANAGER),
            reason="first",
            now=now,
            discount_pct=30.0,
        )
        session.commit()
    test = _override(test, "discount", "second", **{"Discount %": 5.0})
    assert "reload" in test.warning[0].value
    assert _offer(week, "c1").discount_pct == 30.0


def test_a_role_that_may_not_override_sees_no_override_form(week):
    test = _selected([0, 1], actor=Actor("ada", Role.ADMIN))
    assert not test.get("form")
    assert test.subheader[0].value.startswith("Customer c1")
