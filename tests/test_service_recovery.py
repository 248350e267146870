"""Service recovery on request: who gets an apology with credit, who is skipped and why."""

from __future__ import annotations

from datetime import date, timedelta

import pandas as pd
import pytest
from sqlmodel import Session, select

from core import campaign_reviews, dispatch, holdout, pauses, proposals, service_recovery
from core.audit import AuditEvent
from core.campaign_config import update_config
from core.campaigns import Campaign, Offer
from core.errors import InvalidInput, PermissionDenied
from core.roles import SYSTEM
from tests import console_factories as console
from tests import loop_factories as f
from tests.test_dispatch import FakeChannel

WEEK = "2026-W26"  # the week after NOW (Monday 2026-06-15)
LATE = [f"c{n:02d}" for n in range(1, 21)]


@pytest.fixture
def shop(engine):
    f.catalogue(engine)
    f.customers(engine, *LATE, "on-time", "no-consent")
    with Session(engine) as session:
        row = session.get(f.Customer, "no-consent")
        row.consent_email = row.consent_post = False
        session.add(row)
        session.commit()
    for n, customer in enumerate([*LATE, "no-consent"]):
        console.order(
            engine,
            f"o{n}",
            customer,
            date(2026, 6, 1),
            promised=date(2026, 6, 5),
            delivered=date(2026, 6, 8 + n % 5),
        )
    console.order(
        engine,
        "o-ok",
        "on-time",
        date(2026, 6, 2),
        promised=date(2026, 6, 5),
        delivered=date(2026, 6, 4),
    )
    return engine


def _propose(engine, actor, now, **kwargs):
    kwargs.setdefault("reason", "delayed yarn shipment")
    with Session(engine) as session:
        result = service_recovery.propose(session=session, actor=actor, now=now, **kwargs)
        session.commit()
    return result


def _offers(engine):
    with Session(engine) as session:
        return {o.customer_id: o for o in session.exec(select(Offer))}


def test_chosen_customers_get_an_apology_with_credit_in_a_proposed_campaign(shop, support, now):
    result = _propose(shop, support, now, customer_ids=["c01", "c02"])
    assert result.created_campaign and result.week == WEEK
    assert sorted(result.offered + result.held_out) == ["c01", "c02"]
    offers = _offers(shop)
    assert set(offers) == {"c01", "c02"}
    for offer in offers.values():
        assert (offer.status, offer.campaign_type, offer.sku) == (
            "overridden",
            "service_recovery",
            None,
        )
        assert offer.discount_pct == 0 and offer.credit_amount == 10.0
        assert (offer.reviewed_by, offer.review_reason) == ("sam", "delayed yarn shipment")
        assert "days late" in offer.why_customer
    with Session(shop) as session:
        campaign = session.get(Campaign, result.campaign_id)
        event = session.exec(select(AuditEvent)).one()
    assert (campaign.status, campaign.week, campaign.send_date) == (
        "proposed",
        WEEK,
        date(2026, 6, 22),
    )
    assert campaign.audience_size == len(result.offered)
    assert (event.action, event.actor, event.entity_id) == (
        "service_recovery.propose",
        "sam",
        str(result.campaign_id),
    )
    assert "Service-recovery campaign" in result.describe()


def test_all_customers_of_the_filter_follow_the_holdout_split(shop, planner, now):
    result = _propose(shop, planner, now, customer_ids=None, within_days=30)
    expected = holdout.is_holdout(
        pd.Series([f"service_recovery:{WEEK}"] * len(LATE)),
        pd.Series(LATE),
        share=0.10,
    )
    assert sorted(result.held_out) == sorted(c for c, h in zip(LATE, expected, strict=True) if h)
    assert sorted(result.offered + result.held_out) == LATE
    assert result.skipped == {"no-consent": "the customer has not consented to any channel"}
    offers = _offers(shop)
    assert {c for c, o in offers.items() if o.holdout} == set(result.held_out)


def test_customers_not_delayed_paused_or_already_holding_an_offer_are_skipped(shop, support, now):
    with Session(shop) as session:
        pauses.pause(
            session=session,
            actor=support,
            scope="customer",
            target="c03",
            reason="complaint open",
            now=now,
        )
        session.commit()
    f.campaign(shop, 900, status="approved", week=WEEK)
    f.offer(shop, 900, "c04", week=WEEK)
    result = _propose(shop, support, now, customer_ids=["c01", "c03", "c04", "on-time", "nobody"])
    assert result.offered + result.held_out == ["c01"]
    assert result.skipped["c03"].startswith("customer c03 is paused")
    assert "contact cap" in result.skipped["c04"]
    assert result.skipped["on-time"] == "no late or cancelled order in the last 30 days"
    assert result.skipped["nobody"] == "no late or cancelled order in the last 30 days"
    assert "Skipped 4" in result.describe()


def test_asking_twice_extends_the_campaign_and_skips_those_already_offered(shop, support, now):
    first = _propose(shop, support, now, customer_ids=["c01"])
    second = _propose(shop, support, now, customer_ids=["c01", "c02"])
    assert second.campaign_id == first.campaign_id and not second.created_campaign
    assert second.offered + second.held_out == ["c02"]
    assert "already has a service-recovery offer" in second.skipped["c01"]
    with Session(shop) as session:
        campaign = session.get(Campaign, first.campaign_id)
    assert campaign.version == 3
    assert campaign.audience_size == len(first.offered) + len(second.offered)


@pytest.mark.parametrize("role", ["admin", "manager"])
def test_other_roles_are_refused_and_nothing_changes(shop, now, role, request):
    with pytest.raises(PermissionDenied):
        _propose(shop, request.getfixturevalue(role), now, customer_ids=["c01"])
    assert _offers(shop) == {}


def test_a_reason_is_required_and_an_approved_campaign_takes_no_more(shop, support, now):
    with pytest.raises(InvalidInput, match="reason"):
        _propose(shop, support, now, customer_ids=["c01"], reason=" ")
    f.campaign(shop, 901, status="approved", week=WEEK, campaign_type="service_recovery")
    with pytest.raises(InvalidInput, match="already approved"):
        _propose(shop, support, now, customer_ids=["c01"])
    assert _offers(shop) == {}


def test_switched_off_service_recovery_is_refused(shop, support, admin, now):
    with Session(shop) as session:
        update_config(
            session=session,
            actor=admin,
            changes={"service_recovery": {"enabled": False}},
            reason="off",
            now=now,
        )
        session.commit()
    with pytest.raises(InvalidInput, match="switched off"):
        _propose(shop, support, now, customer_ids=["c01"])


def test_a_proposals_rerun_keeps_the_requested_offers(shop, support, now):
    result = _propose(shop, support, now, customer_ids=["c01", "c02", "c05"])
    for _ in range(2):
        with Session(shop) as session:
            proposals.propose(session=session, as_of=None, now=now, week=WEEK, actor=SYSTEM)
            session.commit()
    with Session(shop) as session:
        offers = session.exec(select(Offer).where(Offer.status != "suppressed")).all()
    requested = sorted(o.customer_id for o in offers if o.reviewed_by == "sam")
    assert requested == ["c01", "c02", "c05"]
    assert {o.campaign_id for o in offers if o.reviewed_by} == {result.campaign_id}
    with Session(shop) as session:
        campaign = session.get(Campaign, result.campaign_id)
    treated = [o for o in offers if o.campaign_id == result.campaign_id and not o.holdout]
    assert campaign.audience_size == len(treated)  # its totals count the requested ones too
    assert campaign.expected_cost == pytest.approx(sum(o.expected_cost for o in treated))
    # The weekly run proposes the other delayed customers, and nobody a second offer.
    by_customer = [o.customer_id for o in offers]
    assert len(by_customer) == len(set(by_customer))
    assert {o.customer_id for o in offers if not o.reviewed_by} >= {"c03", "c04"}


def test_after_approval_dispatch_sends_the_credit_to_the_treated_only(shop, support, planner, now):
    result = _propose(shop, support, now, customer_ids=None)
    with Session(shop) as session:
        campaign_reviews.approve(
            session=session,
            campaign_id=result.campaign_id,
            actor=planner,
            reason="apologies go out",
            now=now,
        )
        session.commit()
    send_day = now + timedelta(days=7)
    channel = FakeChannel()
    with Session(shop) as session:
        summary = dispatch.dispatch(
            session=session,
            engine=shop,
            channel=channel,
            actor=SYSTEM,
            now=send_day,
            clock=lambda: send_day,
            max_age=timedelta(days=14),
            material_change=0.5,
        )
        session.commit()
    offers = _offers(shop)
    assert summary.sent == len(result.offered)
    assert sorted(channel.sent) == sorted(f"offer:{offers[c].id}" for c in result.offered)
    assert all(offers[c].status == "overridden" for c in result.held_out)


def test_a_service_recovery_the_weekly_run_proposed_is_confirmed_not_doubled(shop, support, now):
    with Session(shop) as session:
        proposals.propose(session=session, as_of=None, now=now, week=WEEK, actor=SYSTEM)
        session.commit()
    before = _offers(shop)
    assert before["c01"].status == "proposed"
    with Session(shop) as session:
        audience = session.get(Campaign, before["c01"].campaign_id).audience_size
    result = _propose(shop, support, now, customer_ids=["c01", "c02"])
    assert sorted(result.confirmed) == ["c01", "c02"] and not result.created_campaign
    assert "already proposed by the weekly run" in result.describe()
    after = _offers(shop)
    for customer in ("c01", "c02"):
        assert after[customer].id == before[customer].id
        assert (after[customer].status, after[customer].reviewed_by) == ("overridden", "sam")
        assert after[customer].holdout == before[customer].holdout
    with Session(shop) as session:
        assert session.get(Campaign, result.campaign_id).audience_size == audience
        proposals.propose(session=session, as_of=None, now=now, week=WEEK, actor=SYSTEM)
        session.commit()
    assert _offers(shop)["c01"].status == "overridden"


def test_nothing_to_propose_says_so(shop, support, now):
    result = _propose(shop, support, now, customer_ids=["on-time"])
    assert result.created == 0 and result.campaign_id is None
    assert result.describe().startswith("No service-recovery offer proposed for 2026-W26.")
    with Session(shop) as session:
        assert session.exec(select(AuditEvent)).first() is None
