"""Replenishment: a reminder when a consumable is near the end of the customer's own cycle."""

from __future__ import annotations

import pandas as pd

from core.campaign_config import Replenishment
from core.playbook.inputs import PlaybookInputs

NAME = "replenishment"
UPSELL = False
MESSAGE = "Running low on {product}, {name}? Restock now with {discount}% off."


def due_dates(inputs: PlaybookInputs, params: Replenishment) -> pd.DataFrame:
    """Per customer and consumable SKU: last purchase, cycle (their own, else the SKU's) and due date."""
    consumables = inputs.products.loc[
        inputs.products["is_consumable"].astype(bool), ["sku", "replenishment_days"]
    ]
    lines = inputs.lines.merge(consumables, on="sku")
    lines = lines[pd.to_datetime(lines["ordered_date"]) < pd.Timestamp(inputs.as_of)]
    if lines.empty:
        return pd.DataFrame(
            columns=["customer_id", "sku", "last_bought", "cycle_days", "due", "purchases"]
        )
    bought = (
        lines.groupby(["customer_id", "sku"])
        .agg(
            first_bought=("ordered_date", "min"),
            last_bought=("ordered_date", "max"),
            purchases=("order_id", "nunique"),
            default_cycle=("replenishment_days", "first"),
        )
        .reset_index()
    )
    span = (pd.to_datetime(bought["last_bought"]) - pd.to_datetime(bought["first_bought"])).dt.days
    own = span / (bought["purchases"] - 1).where(bought["purchases"] > 1)
    use_own = (bought["purchases"] >= params.min_purchases_for_own_cycle) & (own > 0)
    bought["cycle_days"] = own.where(use_own, bought["default_cycle"]).round()
    bought["own_cycle"] = use_own
    bought = bought[bought["cycle_days"] > 0]
    bought["due"] = pd.to_datetime(bought["last_bought"]) + pd.to_timedelta(
        bought["cycle_days"], unit="D"
    )
    return bought


def eligible(inputs: PlaybookInputs, params: Replenishment) -> pd.DataFrame:
    """Due between `days_after_due` ago and `days_before_due` ahead of the send date."""
    bought = due_dates(inputs, params)
    if bought.empty:
        return pd.DataFrame(columns=["customer_id", "sku", "discount_pct", "credit_amount"])
    until_due = (bought["due"] - pd.Timestamp(inputs.send_date)).dt.days
    frame = bought[until_due.between(-params.days_after_due, params.days_before_due)].copy()
    frame["until_due"] = until_due[frame.index]
    # One reminder per customer: the SKU most nearly due.
    frame = frame.assign(distance=frame["until_due"].abs()).sort_values(
        ["customer_id", "distance", "sku"]
    )
    frame = frame.drop_duplicates("customer_id")
    frame["discount_pct"] = params.discount_pct
    frame["credit_amount"] = 0.0
    cycle = (
        frame["cycle_days"].astype(int).astype(str)
        + "-day "
        + frame["own_cycle"].map({True: "own cycle", False: "usual cycle"})
    )
    frame["why_customer"] = (
        "buys "
        + frame["sku"].astype(str)
        + " on a "
        + cycle
        + "; last bought "
        + pd.to_datetime(frame["last_bought"]).dt.strftime("%Y-%m-%d")
    )
    return frame
