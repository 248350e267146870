"""Loyalty reward: frequent, high-spending, low-risk customers get a thank-you on their favourite."""

from __future__ import annotations

import pandas as pd

from core.campaign_config import Loyalty
from core.playbook.inputs import PlaybookInputs

NAME = "loyalty"
UPSELL = True
MESSAGE = "Thank you for being one of our best customers, {name}: {discount}% off {product}."


def eligible(inputs: PlaybookInputs, params: Loyalty) -> pd.DataFrame:
    """Enough orders and spend, a recent order, and churn risk at or below the maximum."""
    facts = inputs.scored_facts()
    frame = facts[
        (facts["n_orders"] >= params.min_orders)
        & (facts["total_spend"] >= params.min_spend)
        & (facts["days_since_last"] <= params.recent_days)
        & (facts["churn_probability"] <= params.max_churn_probability)
        & facts["favourite_sku"].notna()
    ].copy()
    frame["sku"] = frame["favourite_sku"]
    frame["discount_pct"] = params.discount_pct
    frame["credit_amount"] = 0.0
    frame["why_customer"] = (
        frame["n_orders"].astype(str)
        + " orders, "
        + frame["total_spend"].round().astype(int).astype(str)
        + " spent, low churn risk"
    )
    return frame
