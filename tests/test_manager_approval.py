"""The manager's stock-share limit is a campaign setting that admins change, audited."""

from __future__ import annotations

import json

import pytest
from sqlmodel import Session

from core import campaign_reviews, manager_approval
from core.audit import AuditEvent
from core.campaign_config import load_config, update_config
from core.campaigns import Campaign
from core.errors import InvalidInput, PermissionDenied
from tests import loop_factories as f

IMPACT = {"PAINT-1": {"expected_units": 30.0, "spare_units": 100.0}}


@pytest.fixture
def campaign_id(engine):
    f.campaign(engine, 7, status="proposed")
    with Session(engine) as session:
        campaign = session.get(Campaign, 7)
        campaign.stock_impact = json.dumps(IMPACT)
        session.add(campaign)
        session.commit()
    return 7


def _set_share(engine, actor, share, now):
    with Session(engine) as session:
        update_config(
            session=session,
            actor=actor,
            changes={"manager_approval_stock_share": share},
            reason="stock is tight this season",
            now=now,
        )
        session.commit()


def _approve(engine, actor, campaign_id, now):
    with Session(engine) as session:
        campaign_reviews.approve(
            session=session, campaign_id=campaign_id, actor=actor, reason="ok", now=now
        )
        session.commit()


def test_the_default_share_is_half_of_the_spare_units(engine, campaign_id, planner):
    with Session(engine) as session:
        assert load_config(session).manager_approval_stock_share == 0.5
        campaign = session.get(Campaign, campaign_id)
        assert manager_approval.needs_manager(campaign) == []
        assert manager_approval.may_approve(campaign, planner)


def test_a_lower_configured_share_makes_a_planner_wait_for_a_manager(
    engine, campaign_id, admin, planner, manager, now
):
    _set_share(engine, admin, 0.2, now)
    with Session(engine) as session:
        campaign = session.get(Campaign, campaign_id)
        assert manager_approval.needs_manager(campaign) == [
            "it would pull more than 20% of the spare stock of PAINT-1"
        ]
        assert not manager_approval.may_approve(campaign, planner)
    with pytest.raises(PermissionDenied, match="more than 20%"):
        _approve(engine, planner, campaign_id, now)
    _approve(engine, manager, campaign_id, now)
    with Session(engine) as session:
        assert session.get(Campaign, campaign_id).status == "approved"
        event = session.get(AuditEvent, 1)
    assert event.action == "campaign_settings.update"
    assert json.loads(event.after)["manager_approval_stock_share"] == 0.2


def test_a_detached_campaign_or_an_explicit_share(engine, campaign_id, admin, now):
    _set_share(engine, admin, 0.2, now)
    with Session(engine, expire_on_commit=False) as session:
        campaign = session.get(Campaign, campaign_id)
    assert manager_approval.needs_manager(campaign) == []  # the shipped default
    assert manager_approval.needs_manager(campaign, stock_share=0.25)


@pytest.mark.parametrize("share", [0, 1.5, -0.1])
def test_the_share_is_validated(engine, admin, now, share):
    with pytest.raises(InvalidInput, match="manager_approval_stock_share"):
        _set_share(engine, admin, share, now)


def test_only_admins_change_it(engine, planner, now):
    with pytest.raises(PermissionDenied):
        _set_share(engine, planner, 0.9, now)
