"""Console decisions: approval weighing stock impact, bulk exclusion, moving to another campaign."""

import json

import pytest
from sqlmodel import select

from core import approvals, campaign_reviews
from core.audit import AuditEvent
from core.campaigns import Campaign, Offer, Status
from core.errors import InvalidInput, PermissionDenied, StaleVersion
from tests import test_proposals
from tests.test_proposals import _propose

shop = test_proposals.shop


def _campaign(session, name):
    return session.exec(select(Campaign).where(Campaign.campaign_type == name)).one()


def _offer(session, customer_id, name):
    return session.exec(
        select(Offer).where(Offer.customer_id == customer_id, Offer.campaign_type == name)
    ).one()


def test_a_heavy_stock_pull_needs_a_manager(shop, now, planner, manager):
    _propose(shop, now)
    campaign = _campaign(shop, "first_to_repeat")
    campaign.stock_impact = json.dumps({"A1": {"expected_units": 90.0, "spare_units": 100.0}})
    shop.add(campaign)
    shop.commit()
    with pytest.raises(PermissionDenied, match="manager"):
        campaign_reviews.approve(
            session=shop, campaign_id=campaign.id, actor=planner, reason="x", now=now
        )
    approved = campaign_reviews.approve(
        session=shop, campaign_id=campaign.id, actor=manager, reason="ok", now=now
    )
    assert approved.status == Status.APPROVED


def test_bulk_exclusion_is_all_or_nothing(shop, now, planner):
    _propose(shop, now)
    c1, c2 = _offer(shop, "c1", "win_back"), _offer(shop, "c2", "service_recovery")
    with pytest.raises(StaleVersion):
        approvals.exclude_offers(
            session=shop,
            versions={c1.id: c1.version, c2.id: c2.version + 1},
            actor=planner,
            reason="asked us",
            now=now,
        )
    shop.rollback()
    assert _offer(shop, "c1", "win_back").status == Status.PROPOSED
    assert (
        approvals.exclude_offers(
            session=shop,
            versions={c1.id: c1.version, c2.id: c2.version},
            actor=planner,
            reason="asked us",
            now=now,
        )
        == 2
    )
    shop.commit()
    events = shop.exec(select(AuditEvent).where(AuditEvent.action == "offer.override")).all()
    assert [e.reason for e in events] == ["asked us", "asked us"]


def test_move_to_another_campaign_of_the_week(shop, now, planner):
    _propose(shop, now)
    offer = _offer(shop, "c1", "win_back")
    target = _campaign(shop, "first_to_repeat")
    moved = approvals.move_offer(
        session=shop,
        offer_id=offer.id,
        campaign_id=target.id,
        actor=planner,
        reason="new to us really",
        now=now,
        expected_version=offer.version,
    )
    shop.commit()
    assert (moved.status, moved.campaign_type) == (Status.OVERRIDDEN, "first_to_repeat")
    assert _offer(shop, "c1", "win_back").status == Status.REJECTED
    with pytest.raises(InvalidInput, match="already has"):
        approvals.move_offer(
            session=shop,
            offer_id=moved.id,
            campaign_id=_campaign(shop, "win_back").id,
            actor=planner,
            reason="x",
            now=now,
        )
