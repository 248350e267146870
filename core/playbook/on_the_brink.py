"""On the brink: valuable customers whose churn risk is high, before they lapse."""

from __future__ import annotations

import pandas as pd

from core.campaign_config import OnTheBrink
from core.playbook.inputs import PlaybookInputs

NAME = "on_the_brink"
UPSELL = True
MESSAGE = "We'd love to see you again, {name}: {discount}% off {product}, just for you."


def eligible(inputs: PlaybookInputs, params: OnTheBrink, *, lapsed_after_days: int) -> pd.DataFrame:
    """Churn probability and expected value at or above their thresholds, not yet lapsed."""
    facts = inputs.scored_facts()
    frame = facts[
        (facts["churn_probability"] >= params.min_churn_probability)
        & (facts["expected_value"] >= params.min_expected_value)
        & (facts["days_since_last"] < lapsed_after_days)
        & facts["favourite_sku"].notna()
    ].copy()
    frame["sku"] = frame["favourite_sku"]
    frame["discount_pct"] = params.discount_pct
    frame["credit_amount"] = 0.0
    frame["why_customer"] = (
        "churn risk "
        + (frame["churn_probability"] * 100).round().astype(int).astype(str)
        + "% with expected value "
        + frame["expected_value"].round().astype(int).astype(str)
    )
    return frame
