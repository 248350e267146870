"""Service recovery: after a late or cancelled order, an apology and a credit, never an upsell."""

from __future__ import annotations

import pandas as pd

from core.campaign_config import ServiceRecovery
from core.playbook.inputs import PlaybookInputs

NAME = "service_recovery"
UPSELL = False
MESSAGE = (
    "We're sorry your order {order} did not arrive as promised, {name}. "
    "We've added a credit of {credit} to your account."
)


def eligible(inputs: PlaybookInputs, params: ServiceRecovery) -> pd.DataFrame:
    """A late (by `min_late_days` or more) or cancelled order within the lookback (see facts)."""
    facts = inputs.facts
    frame = facts[facts["late_order_id"].notna()].copy()
    frame["sku"] = None
    frame["discount_pct"] = 0.0
    frame["credit_amount"] = params.credit_amount
    late = (
        "order "
        + frame["late_order_id"].astype(str)
        + " arrived "
        + frame["late_days"].fillna(0).astype(int).astype(str)
        + " days late"
    )
    cancelled = "order " + frame["late_order_id"].astype(str) + " was cancelled"
    frame["why_customer"] = cancelled.where(frame["late_cancelled"], late)
    return frame
