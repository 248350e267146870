"""Which campaign each customer gets among those that passed the guardrails (the bandit, up to
the contact cap), what each chosen offer is expected to bring, and why, in words.

The bandit weighs each campaign's conversion by what one conversion is worth net of the
offer's own discount and credit (`conversion_value`): the programme's goal is net revenue, so
a 99-cent SKU that converts slightly better does not beat a 40.00 one, and a larger discount
has to earn its cost in extra response."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core import bandit, guardrails
from core.campaign_config import CampaignConfig
from core.codes import by_id

SERVICE_RECOVERY_PRIORITY = 1e6  # an apology goes before any promotion when money or stock is short


def economics(chosen: pd.DataFrame, facts: pd.DataFrame, config: CampaignConfig) -> pd.DataFrame:
    """Expected units, revenue, cost and priority of each chosen offer (`words` says why)."""
    if chosen.empty:
        columns = ["expected_units", "expected_revenue", "expected_cost", "priority", "why_offer"]
        return chosen.assign(**{c: pd.Series(dtype=float) for c in columns})
    frame = chosen.copy(deep=False)
    uptake = frame["expected_uptake"].to_numpy()
    has_sku = frame["sku"].notna().to_numpy()
    discount = frame["discount_pct"].to_numpy(dtype=float) / 100.0
    price = frame["price"].to_numpy(dtype=float)
    per_order = facts["total_spend"] / facts["n_orders"].where(facts["n_orders"] > 0)
    avg_order = by_id(frame["customer_id"], facts["customer_id"], per_order.to_numpy(dtype=float))
    avg_order = np.where(np.isnan(avg_order), 0.0, avg_order)
    units = np.where(has_sku, uptake * config.units_per_conversion, 0.0)
    frame["expected_units"] = units
    frame["expected_revenue"] = np.where(
        has_sku, units * price * (1 - discount), uptake * avg_order
    )
    credit = frame["credit_amount"].fillna(0.0).to_numpy(dtype=float)
    frame["expected_cost"] = units * price * discount + credit
    priority = frame["expected_revenue"] - frame["expected_cost"]
    frame["priority"] = priority + np.where(
        frame["campaign_type"] == "service_recovery", SERVICE_RECOVERY_PRIORITY, 0
    )
    return frame


def words(offers: pd.DataFrame) -> pd.DataFrame:
    """Why this offer, and the SKU's stock and margin notes, in words.

    Written for the offers that pass the limits only: at a million customers most chosen
    offers stop at the budget, and a suppressed row keeps its reason, not these words.
    """
    if offers.empty or "why_offer" in offers:
        return offers
    frame = offers.copy(deep=False)
    frame["why_offer"] = (
        "expected response "
        + (frame["expected_uptake"] * 100).round(1).astype(str)
        + "% for customers like this (chosen with probability "
        + frame["propensity"].round(2).astype(str)
        + _prefixed(" over ", frame["alternatives"])
        + ")"
    )
    notes = frame["stock_note"].fillna("").astype(str) + _prefixed("; ", frame["margin_note"])
    notes = notes.str.strip("; ")
    frame["why_sku"] = frame["why_sku"].fillna("") + (" (" + notes + ")").where(notes != "", "")
    columns = list(offers.columns)
    columns.insert(columns.index("priority") + 1, "why_offer")
    return frame[columns]


def _prefixed(prefix: str, texts: pd.Series) -> pd.Series:
    """prefix + text where there is a text, else an empty string (column-wise)."""
    texts = texts.fillna("").astype(str)
    return (prefix + texts).where(texts != "", "")


def conversion_value(frame: pd.DataFrame, config: CampaignConfig) -> pd.Series:
    """Net value of one conversion per row: the featured units at the discounted price, less a
    credit. Rows without a featured product have no price to go by (NaN): the bandit then
    weighs them as the customer's best featured offer, so their response rate alone decides."""
    discount = frame["discount_pct"].fillna(0.0).astype(float) / 100.0
    price = frame["price"].astype(float).where(frame["sku"].notna())
    credit = frame["credit_amount"].fillna(0.0).astype(float)
    return price * (1 - discount) * config.units_per_conversion - credit


def choose(
    kept: pd.DataFrame, model, config: CampaignConfig, rng, contacted: pd.Series
) -> pd.DataFrame:
    """Up to the contact cap of campaigns per customer, one bandit draw per free slot, each
    maximising the conversion's net value (`conversion_value`)."""
    remaining = kept.assign(value=conversion_value(kept, config)) if len(kept) else kept
    if not contacted.empty and not remaining.empty:
        room = config.contact_cap_per_week - remaining["customer_id"].map(contacted).fillna(0)
        remaining = remaining[room > 0]
    picks = []
    for slot in range(config.contact_cap_per_week):
        if remaining.empty:
            break
        chosen = bandit.choose(
            remaining, model, rng=rng, exploration_floor=config.exploration_floor
        )
        picks.append(chosen)
        if slot + 1 == config.contact_cap_per_week:
            break  # no further draw: nothing to take out
        taken = pd.MultiIndex.from_arrays([chosen["customer_id"], chosen["campaign_type"]])
        pairs = pd.MultiIndex.from_arrays([remaining["customer_id"], remaining["campaign_type"]])
        remaining = remaining[~pairs.isin(taken)]
    if not picks:
        return kept.iloc[0:0].assign(propensity=[], expected_uptake=[], alternatives=[])
    return pd.concat(picks, ignore_index=True).drop(columns="value", errors="ignore")


def second_choice(kept, offers, limited_out, model, config, rng, facts, spare, budget, contacted):
    """Customers whose chosen offer was capped by a SKU's spare stock choose again among their
    other arms that passed the guardrails, without the SKUs whose spare stock is now taken:
    a short SKU stock-masks an arm; it does not cost the customer the week's contact."""
    capped = limited_out[limited_out["reason"].astype(str).str.startswith(guardrails.STOCK_CAP)]
    if capped.empty:
        return offers.iloc[0:0], limited_out.iloc[0:0]
    taken = set(capped["sku"].dropna())
    retry = kept[
        kept["customer_id"].isin(capped["customer_id"].unique()) & ~kept["sku"].isin(taken)
    ]
    tried = pd.concat([offers, capped])[["customer_id", "campaign_type"]].assign(_tried=True)
    retry = retry.merge(tried, on=["customer_id", "campaign_type"], how="left")
    retry = retry[retry["_tried"].isna()].drop(columns="_tried")
    if retry.empty:
        return offers.iloc[0:0], limited_out.iloc[0:0]
    treated = offers[~offers["holdout"].astype(bool)]
    left = spare.sub(treated.groupby("sku")["expected_units"].sum(), fill_value=0).clip(lower=0)
    rest = budget.model_copy(
        update={
            "weekly_discount_budget": max(
                budget.weekly_discount_budget - treated["expected_cost"].sum(), 0.0
            )
        }
    )
    counts = offers.groupby("customer_id").size()
    counts = counts.add(contacted, fill_value=0) if not contacted.empty else counts
    chosen = economics(choose(retry, model, config, rng, counts), facts, config)
    return guardrails.limit(chosen, spare_units=left, config=rest, already_contacted=counts)
