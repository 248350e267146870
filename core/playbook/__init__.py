"""The customer-lifecycle playbook: one module per campaign type, each with its rule and message."""

from __future__ import annotations

import pandas as pd

from core.campaign_config import CampaignConfig
from core.codes import positions, taken
from core.playbook import (
    cross_sell,
    first_to_repeat,
    loyalty,
    on_the_brink,
    replenishment,
    service_recovery,
    win_back,
)
from core.playbook.inputs import PlaybookInputs, build_facts, reasons_text

__all__ = ["CAMPAIGNS", "PlaybookInputs", "build_facts", "candidates", "message_template"]

CAMPAIGNS = {
    module.NAME: module
    for module in (
        service_recovery,
        replenishment,
        on_the_brink,
        win_back,
        first_to_repeat,
        cross_sell,
        loyalty,
    )
}

CANDIDATE_COLUMNS = [
    "customer_id",
    "campaign_type",
    "sku",
    "discount_pct",
    "credit_amount",
    "why_customer",
]


def message_template(campaign_type: str) -> str:
    return CAMPAIGNS[campaign_type].MESSAGE


def _eligible(name: str, inputs: PlaybookInputs, config: CampaignConfig) -> pd.DataFrame:
    params = config.campaign(name)
    if name == "on_the_brink":
        return on_the_brink.eligible(
            inputs, params, lapsed_after_days=config.win_back.min_days_since_last
        )
    return CAMPAIGNS[name].eligible(inputs, params)


def _score_words(inputs: PlaybookInputs, customer_ids: pd.Series) -> pd.Series:
    """'churn risk 64% (high), expected value 210: reasons' for customers with a score."""
    scores = inputs.scores
    if scores.empty:
        return pd.Series("", index=customer_ids.index)
    columns = [
        c
        for c in ("customer_id", "churn_probability", "risk_band", "expected_value", "reasons")
        if c in scores
    ]
    # Candidates repeat customers, scores are unique: each candidate's score row, found once.
    at = positions(customer_ids, scores["customer_id"])
    joined = pd.DataFrame(
        {c: taken(scores[c], at) for c in columns if c != "customer_id"},
        index=customer_ids.index,
    )
    probability = joined["churn_probability"]
    words = (
        "; churn risk "
        + (probability * 100).round().astype("Int64").astype(str)
        + "% ("
        + joined["risk_band"].astype(str)
        + "), expected value "
        + joined["expected_value"].round().astype("Int64").astype(str)
    )
    if "reasons" in joined:
        # Parse each distinct JSON list once.
        distinct = pd.Series(joined["reasons"].dropna().unique())
        texts = dict(zip(distinct, reasons_text(distinct), strict=True))
        reasons = joined["reasons"].map(texts).fillna("")
        words = words + (": " + reasons).where(reasons != "", "")
    return words.where(probability.notna(), "").fillna("")


def candidates(inputs: PlaybookInputs, config: CampaignConfig) -> pd.DataFrame:
    """Every (customer, campaign) the rules allow, with the SKU, offer and why this customer.

    A customer due a service recovery gets nothing else that week: never an upsell after a
    late or cancelled order.
    """
    parts = []
    for name in CAMPAIGNS:
        if not config.campaign(name).enabled:
            continue
        frame = _eligible(name, inputs, config)
        if frame.empty:
            continue
        frame = frame.assign(campaign_type=name)
        parts.append(frame.reindex(columns=CANDIDATE_COLUMNS))
    if not parts:
        return pd.DataFrame(columns=CANDIDATE_COLUMNS)
    result = pd.concat(parts, ignore_index=True)
    recovering = inputs.facts.loc[inputs.facts["late_order_id"].notna(), "customer_id"]
    upsell = result["campaign_type"] != service_recovery.NAME
    result = result[~(upsell & result["customer_id"].isin(recovering))]
    result = result.drop_duplicates(["customer_id", "campaign_type"]).reset_index(drop=True)
    result["sku"] = result["sku"].astype(object).where(result["sku"].notna(), None)
    result["why_customer"] = result["why_customer"].fillna("") + _score_words(
        inputs, result["customer_id"]
    )
    return result
