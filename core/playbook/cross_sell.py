"""Cross-sell: recent repeat customers are offered a complement of what they bought last."""

from __future__ import annotations

import pandas as pd

from core.campaign_config import CrossSell
from core.playbook.inputs import PlaybookInputs

NAME = "cross_sell"
UPSELL = True
MESSAGE = "{name}, customers who bought what you did love {product}: {discount}% off this week."


def eligible(inputs: PlaybookInputs, params: CrossSell) -> pd.DataFrame:
    """Two or more orders, the last within `recent_days`, with a complement of lift >= min_lift."""
    facts = inputs.facts
    active = facts[(facts["n_orders"] >= 2) & (facts["days_since_last"] <= params.recent_days)]
    recs = inputs.recommendations
    if recs.empty:
        return pd.DataFrame(columns=["customer_id", "sku", "discount_pct", "credit_amount"])
    best = recs[(recs["rank"] == 1) & (recs["lift"] >= params.min_lift)]
    frame = active[["customer_id"]].merge(
        best[["customer_id", "anchor", "sku", "lift"]], on="customer_id"
    )
    frame["discount_pct"] = params.discount_pct
    frame["credit_amount"] = 0.0
    frame["why_customer"] = (
        "bought "
        + frame["anchor"].astype(str)
        + "; customers who buy it are "
        + frame["lift"].round(1).astype(str)
        + "x as likely to buy "
        + frame["sku"].astype(str)
    )
    return frame
