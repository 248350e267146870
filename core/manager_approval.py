"""When a campaign needs a manager's approval: a large audience or a heavy pull on stock.

Both limits are campaign settings (`manager_approval_audience`, `manager_approval_stock_share`).
"""

from __future__ import annotations

import json

from sqlalchemy.orm import object_session

from core.campaign_config import CampaignConfig, load_config
from core.campaigns import Campaign
from core.roles import Actor, Permission

DEFAULT_STOCK_SHARE = CampaignConfig().manager_approval_stock_share


def large_audience(audience, config: CampaignConfig):
    """Whether a treated audience this large needs a manager's approval; `audience` may be a
    number or a SQL expression (an audience updated in place)."""
    return audience > config.manager_approval_audience


def configured_stock_share(campaign: Campaign) -> float:
    """The configured stock share, read through the session the campaign was loaded in (the
    shipped default for a campaign no longer attached to one)."""
    session = object_session(campaign)
    if session is None:
        return DEFAULT_STOCK_SHARE
    with session.no_autoflush:  # a read: pending changes of the caller stay unsent
        return load_config(session).manager_approval_stock_share


def stored_impact(campaign: Campaign) -> dict[str, dict]:
    """The proposal's per-SKU stock impact (expected units, spare units), as stored."""
    if not campaign.stock_impact:
        return {}
    try:
        value = json.loads(campaign.stock_impact)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def stock_heavy_skus(impact: dict[str, dict], share: float = DEFAULT_STOCK_SHARE) -> list[str]:
    """SKUs whose expected pull exceeds `share` of the units they can spare."""
    heavy = []
    for sku, figures in impact.items():
        pull = float(figures.get("expected_units") or 0.0)
        spare = float(figures.get("spare_units") or 0.0)
        if pull > 0 and pull > share * spare:
            heavy.append(sku)
    return sorted(heavy)


def needs_manager(campaign: Campaign, *, stock_share: float | None = None) -> list[str]:
    """Why this campaign needs a manager's approval, in words (empty: a planner may approve).

    `stock_share` defaults to the configured one (see `configured_stock_share`)."""
    why = []
    if campaign.needs_manager_approval:
        why.append(f"its audience of {campaign.audience_size:,} is above the configured limit")
    impact = stored_impact(campaign)
    if not impact:
        return why
    share = configured_stock_share(campaign) if stock_share is None else stock_share
    heavy = stock_heavy_skus(impact, share)
    if heavy:
        why.append(f"it would pull more than {share:.0%} of the spare stock of " + ", ".join(heavy))
    return why


def may_approve(campaign: Campaign, actor: Actor, *, stock_share: float | None = None) -> bool:
    """Whether this person's role suffices to approve this campaign (not its status)."""
    if actor.can(Permission.APPROVE_LARGE_CAMPAIGNS):
        return True
    return not needs_manager(campaign, stock_share=stock_share)
