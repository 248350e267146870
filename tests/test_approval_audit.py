"""A bulk approval is one audit event naming the campaign and how many offers it moved."""

from __future__ import annotations

from sqlmodel import select

from core import campaign_reviews
from core.audit import AuditEvent
from core.campaigns import Offer, Status
from tests import test_proposals
from tests.test_campaign_reviews import _campaign
from tests.test_proposals import _propose

shop = test_proposals.shop


def test_one_event_for_the_campaign_with_the_count_and_the_offers_found_by_it(shop, now, planner):
    _propose(shop, now)
    campaign = _campaign(shop)
    proposed = shop.exec(
        select(Offer.id).where(Offer.campaign_id == campaign.id, Offer.status == Status.PROPOSED)
    ).all()
    campaign_reviews.approve(
        session=shop, campaign_id=campaign.id, actor=planner, reason="fine", now=now
    )
    shop.commit()
    (event,) = shop.exec(select(AuditEvent).where(AuditEvent.action == "campaign.approve")).all()
    assert event.entity_type == "campaign" and event.entity_id == str(campaign.id)
    assert f'"offers":{{"count":{len(proposed)},"status":"approved"}}' in event.after
    # Per offer: the campaign's offers changed at the event's time.
    changed = shop.exec(
        select(Offer.id).where(
            Offer.campaign_id == campaign.id,
            Offer.status == Status.APPROVED,
            Offer.updated_at == event.at,
        )
    ).all()
    assert sorted(changed) == sorted(proposed) and proposed
