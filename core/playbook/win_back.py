"""Win-back: customers lapsed beyond the churn horizon, with a stronger offer on their favourite."""

from __future__ import annotations

import pandas as pd

from core.campaign_config import WinBack
from core.playbook.inputs import PlaybookInputs

NAME = "win_back"
UPSELL = True
MESSAGE = "It's been a while, {name}! Come back to {product} with {discount}% off."


def eligible(inputs: PlaybookInputs, params: WinBack) -> pd.DataFrame:
    """Last order between `min_days_since_last` and `max_days_since_last` days ago."""
    facts = inputs.facts
    frame = facts[
        facts["days_since_last"].between(params.min_days_since_last, params.max_days_since_last)
        & facts["favourite_sku"].notna()
    ].copy()
    frame["sku"] = frame["favourite_sku"]
    frame["discount_pct"] = params.discount_pct
    frame["credit_amount"] = 0.0
    frame["why_customer"] = (
        "lapsed: last order " + frame["days_since_last"].astype(int).astype(str) + " days ago"
    )
    return frame
