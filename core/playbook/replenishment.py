"""Replenishment: a reminder when a consumable is near the end of the customer's own cycle."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.campaign_config import Replenishment
from core.codes import distinct, encode
from core.playbook.inputs import PlaybookInputs

NAME = "replenishment"
UPSELL = False
MESSAGE = "Running low on {product}, {name}? Restock now with {discount}% off."


def due_dates(inputs: PlaybookInputs, params: Replenishment) -> pd.DataFrame:
    """Per customer and consumable SKU: last purchase, cycle (their own, else the SKU's) and due date."""
    consumables = inputs.products.loc[
        inputs.products["is_consumable"].astype(bool), ["sku", "replenishment_days"]
    ]
    lines = inputs.lines
    lines = lines[
        lines["sku"].isin(consumables["sku"])
        & (pd.to_datetime(lines["ordered_date"]) < pd.Timestamp(inputs.as_of))
    ]
    if lines.empty:
        return pd.DataFrame(
            columns=["customer_id", "sku", "last_bought", "cycle_days", "due", "purchases"]
        )
    usual = consumables.drop_duplicates("sku").set_index("sku")["replenishment_days"]
    bought = _per_customer_and_sku(lines, usual)
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


def _per_customer_and_sku(lines: pd.DataFrame, usual: pd.Series) -> pd.DataFrame:
    """first_bought, last_bought, purchases (distinct orders) and the SKU's usual cycle
    (`usual`, by SKU) per (customer_id, sku), in id order; sorted integer codes stand in for
    the id strings."""
    customer_code, customers = encode(lines["customer_id"], sort=True)
    sku_code, skus = encode(lines["sku"], sort=True)
    key = customer_code.astype(np.int64) * np.int64(len(skus)) + sku_code
    dates = lines["ordered_date"]
    days = pd.to_datetime(dates).to_numpy(dtype="datetime64[ns]")
    order = np.lexsort((days, key))
    starts = np.flatnonzero(np.r_[True, key[order][1:] != key[order][:-1]])
    ends = np.r_[starts[1:], len(order)] - 1
    order_code = pd.factorize(lines["order_id"])[0].astype(np.int64)
    orders = np.int64(order_code.max() + 1) if len(order_code) else np.int64(1)
    if key.max() < np.iinfo(np.int64).max // orders:
        bought = distinct(key * orders + order_code) // orders
    else:
        bought = np.unique(np.stack([key, order_code], axis=1), axis=0)[:, 0]
    first_rows, last_rows = order[starts], order[ends]
    group_sku = sku_code[first_rows]
    # `bought` is sorted: each pair's purchases are the length of its run.
    runs = np.flatnonzero(np.r_[True, bought[1:] != bought[:-1], True])
    return pd.DataFrame(
        {
            "customer_id": customers[customer_code[first_rows]],
            "sku": skus[group_sku],
            "first_bought": dates.to_numpy()[first_rows],
            "last_bought": dates.to_numpy()[last_rows],
            "purchases": np.diff(runs).astype(np.int64),
            "default_cycle": usual.reindex(skus).to_numpy()[group_sku],
        }
    )


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
