from datetime import date, timedelta

import pytest
from sqlmodel import select

from core import pauses, proposals
from core.audit import AuditEvent
from core.campaign_config import CampaignConfig
from core.campaigns import Campaign, Offer, Status
from core.errors import InvalidInput, PermissionDenied
from core.scores import CustomerScore
from tests.proposal_factories import add_catalogue, add_customers, add_order

AS_OF = date(2026, 6, 14)
WEEK = "2026-W25"


def _ago(days):
    return AS_OF - timedelta(days=days)


@pytest.fixture
def shop(session, now):
    """c1 lapsed (win-back), c2 had a late order (service recovery), c3 new (first-to-repeat)."""
    add_catalogue(session)
    add_customers(session, ids=("c1", "c2", "c3", "c4"))
    add_order(session, "o1", "c1", _ago(200), [("A1", 1, 40.0)])
    add_order(session, "o2", "c1", _ago(120), [("A1", 1, 40.0), ("C1", 1, 15.0)])
    add_order(
        session, "o3", "c2", _ago(20), [("C1", 2, 15.0)], promised=_ago(17), delivered=_ago(10)
    )
    add_order(session, "o4", "c3", _ago(20), [("A1", 1, 40.0)])
    add_order(session, "o5", "c4", _ago(150), [("B1", 1, 12.0)])
    session.add(
        CustomerScore(
            as_of=_ago(1),
            customer_id="c1",
            churn_probability=0.8,
            risk_band="high",
            expected_value=120.0,
            value_at_risk=96.0,
            reasons='["no order for 120 days"]',
            scored_at=now,
        )
    )
    session.commit()
    return session


def _propose(session, now, **kwargs):
    kwargs.setdefault("config", CampaignConfig(holdout_share=0.0))
    summary = proposals.propose(session=session, as_of=AS_OF, week=WEEK, now=now, **kwargs)
    session.commit()
    return summary


def _offers(session):
    return {(o.customer_id, o.campaign_type): o for o in session.exec(select(Offer))}


def test_week_bounds_default_to_the_next_week():
    assert proposals.week_bounds(None, date(2026, 6, 14), today=date(2026, 6, 14)) == (
        "2026-W25",
        date(2026, 6, 14),
        date(2026, 6, 15),
        date(2026, 6, 21),
    )
    assert proposals.week_bounds("2026-W25", None, today=date(2026, 1, 1))[1] == date(2026, 6, 14)


def test_bad_week_is_refused():
    with pytest.raises(InvalidInput, match="2026-W25"):
        proposals.week_bounds("June", None, today=AS_OF)


def test_proposes_one_campaign_per_type_with_explained_offers(shop, now):
    summary = _propose(shop, now)
    offers = _offers(shop)
    assert offers["c1", "win_back"].status == Status.PROPOSED
    assert "lapsed" in offers["c1", "win_back"].why_customer
    assert "churn risk 80% (high)" in offers["c1", "win_back"].why_customer
    assert "lead time" in offers["c1", "win_back"].why_sku
    assert "expected response" in offers["c1", "win_back"].why_offer
    assert offers["c3", "first_to_repeat"].sku is not None
    assert set(summary.campaigns) >= {"win_back", "service_recovery", "first_to_repeat"}
    campaign = shop.exec(select(Campaign).where(Campaign.campaign_type == "win_back")).one()
    assert campaign.week == WEEK and campaign.audience_size >= 1 and campaign.expected_cost > 0


def test_late_order_gets_only_service_recovery(shop, now):
    _propose(shop, now)
    mine = [key for key in _offers(shop) if key[0] == "c2"]
    assert mine == [("c2", "service_recovery")]
    offer = _offers(shop)["c2", "service_recovery"]
    assert offer.sku is None and offer.discount_pct == 0 and offer.credit_amount > 0


def test_paused_sku_is_suppressed_with_the_reason(shop, now, support):
    pauses.pause(session=shop, actor=support, scope="sku", target="A1", reason="recall", now=now)
    pauses.pause(session=shop, actor=support, scope="sku", target="A2", reason="recall", now=now)
    shop.commit()
    _propose(shop, now)
    offer = _offers(shop)["c1", "win_back"]
    assert offer.status == Status.SUPPRESSED and offer.reason == "sku A1 is paused: recall"


@pytest.mark.parametrize("share", [0.0, 0.5])
def test_rerun_replaces_unreviewed_offers_without_duplicates(shop, now, share):
    config = CampaignConfig(holdout_share=share)
    _propose(shop, now, config=config)
    first = {k: (o.status, o.sku, o.holdout) for k, o in _offers(shop).items()}
    ids = {c.campaign_type: c.id for c in shop.exec(select(Campaign))}
    _propose(shop, now + timedelta(hours=1), config=config)
    again = {k: (o.status, o.sku, o.holdout) for k, o in _offers(shop).items()}
    assert again == first
    assert {c.campaign_type: c.id for c in shop.exec(select(Campaign))} == ids


def test_rerun_never_touches_approved_campaigns(shop, now):
    _propose(shop, now)
    campaign = shop.exec(select(Campaign).where(Campaign.campaign_type == "win_back")).one()
    campaign.status = Status.APPROVED
    shop.add(campaign)
    offer = _offers(shop)["c1", "win_back"]
    offer.status = Status.APPROVED
    shop.add(offer)
    shop.commit()
    _propose(shop, now, config=CampaignConfig(holdout_share=0.0, win_back={"discount_pct": 5}))
    offers = [o for o in shop.exec(select(Offer)) if o.customer_id == "c1"]
    assert [(o.campaign_type, o.status, o.discount_pct) for o in offers] == [
        ("win_back", Status.APPROVED, 20.0)
    ]


def test_overridden_offer_survives_a_rerun_and_counts_for_the_cap(shop, now):
    _propose(shop, now)
    offer = _offers(shop)["c3", "first_to_repeat"]
    offer.status = Status.OVERRIDDEN
    offer.discount_pct = 12.0
    shop.add(offer)
    shop.commit()
    _propose(shop, now)
    mine = [o for o in shop.exec(select(Offer)) if o.customer_id == "c3"]
    assert [(o.status, o.discount_pct) for o in mine] == [(Status.OVERRIDDEN, 12.0)]


def test_proposal_is_audited(shop, now):
    _propose(shop, now)
    event = shop.exec(select(AuditEvent).where(AuditEvent.action == "campaigns.propose")).one()
    assert event.entity_id == WEEK and "win_back" in event.after


def test_people_without_run_jobs_may_not_propose(shop, now, planner):
    with pytest.raises(PermissionDenied):
        proposals.propose(session=shop, as_of=AS_OF, week=WEEK, now=now, actor=planner)


def test_holdout_customers_are_recorded_not_dropped(shop, now):
    _propose(shop, now, config=CampaignConfig(holdout_share=0.999))
    offers = _offers(shop)
    assert offers and all(o.holdout for o in offers.values() if o.status == Status.PROPOSED)
    win_back = shop.exec(select(Campaign).where(Campaign.campaign_type == "win_back")).one()
    assert (
        win_back.audience_size == 0 and win_back.holdout_size == 2 and win_back.expected_cost == 0
    )


def test_audience_is_capped_when_stock_cannot_spare_the_expected_pull(shop, now):
    # Every conversion pulls 10,000 units: no SKU's ~500 spare units can serve every offer.
    _propose(shop, now, config=CampaignConfig(holdout_share=0.0, units_per_conversion=10_000))
    offers = _offers(shop).values()
    capped = [o for o in offers if (o.reason or "").startswith("audience capped")]
    assert capped and all("units" in o.reason and "can spare" in o.reason for o in capped)
    assert any(o.status == Status.PROPOSED and o.sku for o in offers)
    campaign = shop.get(Campaign, capped[0].campaign_id)
    assert "audience capped" in campaign.explanation


def test_a_customer_capped_by_stock_chooses_again_among_arms_with_spare_stock():
    import numpy as np
    import pandas as pd

    from core import bandit, guardrails, offer_choice

    config = CampaignConfig(holdout_share=0.0, units_per_conversion=10.0, exploration_floor=0.0)
    arms = pd.DataFrame(
        {
            "customer_id": ["c1", "c2", "c2"],
            "campaign_type": ["win_back", "win_back", "cross_sell"],
            "sku": ["A1", "A1", "C1"],
            "holdout": [False, False, False],
            "context": ["high|regular|low"] * 3,
            "price": [40.0, 40.0, 15.0],
            "discount_pct": [10.0, 10.0, 10.0],
            "credit_amount": [None, None, None],
        }
    )
    facts = pd.DataFrame(
        {"customer_id": ["c1", "c2"], "total_spend": [100.0, 50.0], "n_orders": [2, 1]}
    )
    model = bandit.cold_start(priors={"win_back": 0.9, "cross_sell": 0.01}, strength=1e6)
    rng = np.random.default_rng(0)
    none = pd.Series(dtype=float)
    first = offer_choice.economics(
        offer_choice.choose(arms, model, config, rng, none), facts, config
    )
    assert set(first["campaign_type"]) == {"win_back"}  # both customers' best arm is A1
    spare = pd.Series({"A1": 10.0, "C1": 100.0})  # A1 can spare one conversion's units
    offers, capped = guardrails.limit(first, spare_units=spare, config=config)
    assert len(offers) == 1 and capped["reason"].str.startswith(guardrails.STOCK_CAP).all()
    more, _ = offer_choice.second_choice(
        arms, offers, capped, model, config, rng, facts, spare, config, none
    )
    # Equal priority: c1 comes first and takes A1's spare; c2 gets its other arm instead.
    assert list(capped["customer_id"]) == ["c2"]
    assert list(zip(more["customer_id"], more["sku"], strict=True)) == [("c2", "C1")]
