"""First-to-repeat: new customers a while after their first order get a nudge towards a second."""

from __future__ import annotations

import pandas as pd

from core.campaign_config import FirstToRepeat
from core.playbook.inputs import PlaybookInputs

NAME = "first_to_repeat"
UPSELL = True
MESSAGE = (
    "Thank you for your first order, {name}! Here is {discount}% off {product}, "
    "which goes well with what you bought."
)


def eligible(inputs: PlaybookInputs, params: FirstToRepeat) -> pd.DataFrame:
    """One order so far, placed between the minimum and maximum days ago."""
    facts = inputs.facts
    new = facts[
        (facts["n_orders"] == 1)
        & facts["days_since_first"].between(
            params.min_days_since_first, params.max_days_since_first
        )
    ]
    recs = inputs.recommendations
    best = (
        recs[recs["rank"] == 1].set_index("customer_id")["sku"] if not recs.empty else pd.Series()
    )
    frame = new[["customer_id", "days_since_first", "last_sku"]].copy()
    # A complement of the first purchase, else the same item again.
    frame["sku"] = frame["customer_id"].map(best).fillna(frame["last_sku"])
    frame = frame[frame["sku"].notna()]
    frame["discount_pct"] = params.discount_pct
    frame["credit_amount"] = 0.0
    frame["why_customer"] = (
        "first order " + frame["days_since_first"].astype(int).astype(str) + " days ago, none since"
    )
    return frame
