import pytest
from sqlmodel import select

from core import campaign_config
from core.audit import AuditEvent
from core.campaign_config import CampaignConfig
from core.errors import InvalidInput, PermissionDenied


def test_defaults_when_nothing_is_stored(session):
    config = campaign_config.load_config(session)
    assert config == CampaignConfig()
    assert config.holdout_share == pytest.approx(0.10)
    assert config.service_recovery.discount_pct == 0


def test_every_campaign_type_has_parameters():
    config = CampaignConfig()
    for name in campaign_config.CAMPAIGN_TYPES:
        assert config.campaign(name).prior_uptake > 0


def test_admin_changes_a_nested_parameter_and_it_is_audited(session, admin, now):
    campaign_config.update_config(
        session=session,
        actor=admin,
        changes={"win_back": {"discount_pct": 25}},
        reason="spring push",
        now=now,
    )
    session.commit()
    config = campaign_config.load_config(session)
    assert config.win_back.discount_pct == 25
    assert config.win_back.min_days_since_last == 90
    event = session.exec(select(AuditEvent)).one()
    assert event.action == "campaign_settings.update" and '"discount_pct":20.0' in event.before


def test_second_change_keeps_the_first(session, admin, now):
    for changes in ({"holdout_share": 0.2}, {"contact_cap_per_week": 2}):
        campaign_config.update_config(
            session=session, actor=admin, changes=changes, reason="tune", now=now
        )
    config = campaign_config.load_config(session)
    assert (config.holdout_share, config.contact_cap_per_week) == (0.2, 2)


def test_planner_may_not_edit_settings(session, planner, now):
    with pytest.raises(PermissionDenied):
        campaign_config.update_config(
            session=session, actor=planner, changes={"holdout_share": 0.2}, reason="x", now=now
        )


@pytest.mark.parametrize(
    "changes",
    [{"holdout_share": 1.5}, {"no_such_setting": 1}, {"loyalty": {"discount_pct": -3}}],
)
def test_invalid_settings_are_refused_and_nothing_changes(session, admin, now, changes):
    with pytest.raises(InvalidInput, match="Invalid campaign settings"):
        campaign_config.update_config(
            session=session, actor=admin, changes=changes, reason="x", now=now
        )
    assert campaign_config.load_config(session) == CampaignConfig()
