import pytest
from sqlmodel import select

from core import campaign_reviews
from core.audit import AuditEvent
from core.campaigns import Campaign, Offer, Status
from core.errors import InvalidInput, NotFound, PermissionDenied, StaleVersion
from tests import test_proposals
from tests.test_proposals import _offers, _propose

shop = test_proposals.shop


def _campaign(session, name="win_back"):
    return session.exec(select(Campaign).where(Campaign.campaign_type == name)).one()


def test_approve_moves_campaign_and_offers_and_is_audited(shop, now, planner):
    _propose(shop, now)
    campaign = _campaign(shop)
    seen = campaign.version
    approved = campaign_reviews.approve(
        session=shop,
        campaign_id=campaign.id,
        actor=planner,
        reason="stock is fine",
        now=now,
        expected_version=seen,
    )
    shop.commit()
    assert approved.status == Status.APPROVED and approved.reviewed_by == "pat"
    assert approved.version == seen + 1
    assert _offers(shop)["c1", "win_back"].status == Status.APPROVED
    event = shop.exec(select(AuditEvent).where(AuditEvent.action == "campaign.approve")).one()
    assert event.reason == "stock is fine" and '"status":"proposed"' in event.before


def test_second_person_with_an_old_version_is_told_to_reload(shop, now, planner, manager):
    _propose(shop, now)
    campaign = _campaign(shop)
    seen = campaign.version
    campaign_reviews.approve(
        session=shop,
        campaign_id=campaign.id,
        actor=planner,
        reason="ok",
        now=now,
        expected_version=seen,
    )
    with pytest.raises(StaleVersion, match="reload"):
        campaign_reviews.reject(
            session=shop,
            campaign_id=campaign.id,
            actor=manager,
            reason="too generous",
            now=now,
            expected_version=seen,
        )


def test_support_may_not_approve(shop, now, support):
    _propose(shop, now)
    with pytest.raises(PermissionDenied):
        campaign_reviews.approve(
            session=shop, campaign_id=_campaign(shop).id, actor=support, reason="x", now=now
        )


def test_large_campaign_needs_a_manager(shop, now, planner, manager):
    _propose(shop, now)
    campaign = _campaign(shop)
    campaign.needs_manager_approval = True
    shop.add(campaign)
    shop.commit()
    with pytest.raises(PermissionDenied):
        campaign_reviews.approve(
            session=shop, campaign_id=campaign.id, actor=planner, reason="x", now=now
        )
    approved = campaign_reviews.approve(
        session=shop, campaign_id=campaign.id, actor=manager, reason="big but fine", now=now
    )
    assert approved.status == Status.APPROVED


def test_reject_needs_a_reason_and_rejects_the_offers(shop, now, planner):
    _propose(shop, now)
    campaign = _campaign(shop)
    with pytest.raises(InvalidInput, match="reason"):
        campaign_reviews.reject(
            session=shop, campaign_id=campaign.id, actor=planner, reason=" ", now=now
        )
    campaign_reviews.reject(
        session=shop, campaign_id=campaign.id, actor=planner, reason="supplier wobbly", now=now
    )
    assert _offers(shop)["c1", "win_back"].status == Status.REJECTED


def test_edit_resets_the_approval_and_changes_the_offers(shop, now, planner):
    _propose(shop, now)
    campaign = _campaign(shop)
    campaign_reviews.approve(
        session=shop, campaign_id=campaign.id, actor=planner, reason="ok", now=now
    )
    edited = campaign_reviews.edit(
        session=shop,
        campaign_id=campaign.id,
        actor=planner,
        reason="smaller discount",
        now=now,
        discount_pct=12,
    )
    shop.commit()
    assert edited.status == Status.EDITED and edited.discount_pct == 12
    offer = _offers(shop)["c1", "win_back"]
    assert offer.status == Status.PROPOSED and offer.discount_pct == 12


def test_edit_audience_cap_suppresses_the_rest(shop, now, planner):
    _propose(shop, now)
    campaign = _campaign(shop)
    edited = campaign_reviews.edit(
        session=shop,
        campaign_id=campaign.id,
        actor=planner,
        reason="test small",
        now=now,
        audience_cap=1,
    )
    shop.commit()
    offers = shop.exec(select(Offer).where(Offer.campaign_id == campaign.id)).all()
    assert sum(o.status == Status.PROPOSED for o in offers if not o.holdout) == 1
    assert any("audience capped at 1 by pat" in (o.reason or "") for o in offers)
    assert edited.audience_size == 1


def test_rejected_campaign_cannot_be_approved(shop, now, planner):
    _propose(shop, now)
    campaign = _campaign(shop)
    campaign_reviews.reject(
        session=shop, campaign_id=campaign.id, actor=planner, reason="no", now=now
    )
    with pytest.raises(InvalidInput, match="rejected"):
        campaign_reviews.approve(
            session=shop, campaign_id=campaign.id, actor=planner, reason="yes", now=now
        )


def test_override_changes_one_offer_and_survives_rerun(shop, now, support):
    _propose(shop, now)
    offer = _offers(shop)["c1", "win_back"]
    changed = campaign_reviews.override_offer(
        session=shop,
        offer_id=offer.id,
        actor=support,
        reason="prefers canvas",
        now=now,
        sku="C1",
        discount_pct=15,
        expected_version=offer.version,
    )
    shop.commit()
    assert (changed.status, changed.sku, changed.original_sku) == (Status.OVERRIDDEN, "C1", "A1")
    _propose(shop, now)
    assert _offers(shop)["c1", "win_back"].sku == "C1"
    assert shop.exec(select(AuditEvent).where(AuditEvent.action == "offer.override")).one()


def test_exclude_rejects_the_offer(shop, now, support):
    _propose(shop, now)
    offer = _offers(shop)["c3", "first_to_repeat"]
    excluded = campaign_reviews.override_offer(
        session=shop,
        offer_id=offer.id,
        actor=support,
        reason="asked not to be contacted",
        now=now,
        exclude=True,
    )
    assert excluded.status == Status.REJECTED and "excluded by sam" in excluded.reason


def test_override_to_unknown_sku_is_refused(shop, now, support):
    _propose(shop, now)
    offer = _offers(shop)["c1", "win_back"]
    with pytest.raises(NotFound):
        campaign_reviews.override_offer(
            session=shop, offer_id=offer.id, actor=support, reason="x", now=now, sku="NOPE"
        )


def test_excluded_customer_stays_excluded_after_a_rerun(shop, now, support):
    _propose(shop, now)
    offer = _offers(shop)["c3", "first_to_repeat"]
    campaign_reviews.override_offer(
        session=shop, offer_id=offer.id, actor=support, reason="no contact", now=now, exclude=True
    )
    shop.commit()
    _propose(shop, now)
    mine = [o for o in shop.exec(select(Offer)) if o.customer_id == "c3"]
    assert [(o.campaign_type, o.status) for o in mine] == [("first_to_repeat", Status.REJECTED)]


def test_customers_of_a_rejected_campaign_may_get_another_one(shop, now, planner):
    _propose(shop, now)
    campaign = _campaign(shop)
    campaign_reviews.reject(
        session=shop, campaign_id=campaign.id, actor=planner, reason="not now", now=now
    )
    shop.commit()
    _propose(shop, now)
    assert _offers(shop)["c1", "win_back"].status == Status.REJECTED
