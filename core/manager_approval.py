"""When a campaign needs a manager's approval: a large audience or a heavy pull on stock."""

from __future__ import annotations

import json

from core.campaigns import Campaign
from core.roles import Actor, Permission

# A campaign that would pull more than this share of what a SKU can spare needs a manager too.
STOCK_SHARE_FOR_MANAGER = 0.5


def stored_impact(campaign: Campaign) -> dict[str, dict]:
    """The proposal's per-SKU stock impact (expected units, spare units), as stored."""
    if not campaign.stock_impact:
        return {}
    try:
        value = json.loads(campaign.stock_impact)
    except ValueError:
        return {}
    return value if isinstance(value, dict) else {}


def stock_heavy_skus(impact: dict[str, dict], share: float = STOCK_SHARE_FOR_MANAGER) -> list[str]:
    """SKUs whose expected pull exceeds `share` of the units they can spare."""
    heavy = []
    for sku, figures in impact.items():
        pull = float(figures.get("expected_units") or 0.0)
        spare = float(figures.get("spare_units") or 0.0)
        if pull > 0 and pull > share * spare:
            heavy.append(sku)
    return sorted(heavy)


def needs_manager(campaign: Campaign) -> list[str]:
    """Why this campaign needs a manager's approval, in words (empty: a planner may approve)."""
    why = []
    if campaign.needs_manager_approval:
        why.append(f"its audience of {campaign.audience_size:,} is above the configured limit")
    heavy = stock_heavy_skus(stored_impact(campaign))
    if heavy:
        why.append(
            f"it would pull more than {STOCK_SHARE_FOR_MANAGER:.0%} of the spare stock of "
            + ", ".join(heavy)
        )
    return why


def may_approve(campaign: Campaign, actor: Actor) -> bool:
    """Whether this person's role suffices to approve this campaign (not its status)."""
    return actor.can(Permission.APPROVE_LARGE_CAMPAIGNS) or not needs_manager(campaign)
