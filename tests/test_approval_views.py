"""What the approval page reads: the week's campaigns, per-SKU stock impact, what is still needed."""

import json

from sqlmodel import select

from core import approval_views as views
from core import campaign_reviews, manager_approval
from core.campaigns import Campaign
from core.roles import Actor, Role
from tests import test_proposals
from tests.test_proposals import WEEK, _propose

shop = test_proposals.shop
PLANNER = Actor("pat", Role.PLANNER)


def _campaign(session, name="first_to_repeat"):
    return session.exec(select(Campaign).where(Campaign.campaign_type == name)).one()


def test_week_campaigns_carry_audience_money_and_review(shop, now):
    _propose(shop, now)
    assert views.weeks(shop) == [WEEK]
    frame = views.week_campaigns(shop, week=WEEK)
    assert list(frame["campaign_type"]) == ["first_to_repeat", "service_recovery", "win_back"]
    assert {"audience_size", "holdout_size", "expected_uptake", "expected_cost"} <= set(frame)


def test_stock_impact_shows_on_hand_pull_inbound_and_cover_after(shop, now):
    _propose(shop, now)
    impact = views.stock_impact(shop, campaign=_campaign(shop), now=now)
    row = impact.set_index("sku").loc["A1"]
    assert row["on_hand"] == 500 and row["expected_pull"] > 0
    assert row["lead_time_days"] == 14 and row["inbound_units"] == 0


def test_a_heavy_pull_on_stock_needs_a_manager():
    impact = {"A1": {"expected_units": 60.0, "spare_units": 100.0}, "C1": {"expected_units": 1.0}}
    assert manager_approval.stock_heavy_skus(impact) == ["A1", "C1"]
    assert (
        manager_approval.stock_heavy_skus({"A1": {"expected_units": 10.0, "spare_units": 100.0}})
        == []
    )


def test_approval_state_says_who_decided_and_what_is_needed(shop, now):
    _propose(shop, now)
    campaign = _campaign(shop)
    text, decidable = views.approval_state(campaign, PLANNER)
    assert decidable and "Waiting" in text
    campaign.stock_impact = json.dumps({"A1": {"expected_units": 90.0, "spare_units": 100.0}})
    text, _ = views.approval_state(campaign, PLANNER)
    assert "Needs a manager's approval" in text and "A1" in text
    shop.refresh(campaign)
    approved = campaign_reviews.approve(
        session=shop, campaign_id=campaign.id, actor=PLANNER, reason="fine", now=now
    )
    text, decidable = views.approval_state(approved, PLANNER)
    assert not decidable and text.startswith("Approved by pat") and '"fine"' in text
