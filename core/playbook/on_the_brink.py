"""On the brink: valuable customers whose churn risk is high, before they lapse."""

from __future__ import annotations

import pandas as pd

from core.campaign_config import OnTheBrink
from core.playbook.inputs import PlaybookInputs

NAME = "on_the_brink"
UPSELL = True
MESSAGE = "We'd love to see you again, {name}: {discount}% off {product}, just for you."


def eligible(inputs: PlaybookInputs, params: OnTheBrink, *, lapsed_after_days: int) -> pd.DataFrame:
    """High churn probability, value in the top quantile of scored customers, not yet lapsed."""
    facts = inputs.scored_facts()
    values = inputs.scores["expected_value"].dropna()
    quantile = float(values.quantile(params.min_value_quantile)) if len(values) else 0.0
    threshold = max(quantile, params.min_expected_value)
    frame = facts[
        (facts["churn_probability"] >= params.min_churn_probability)
        & (facts["expected_value"] >= threshold)
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
