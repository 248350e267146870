"""Substitutes a customer does not own: when a short SKU's best stand-in is already theirs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.codes import encode_together, member

_PREFIX = "substitute "


def prefer_unowned(frame: pd.DataFrame, status: pd.DataFrame, owned: pd.DataFrame) -> pd.DataFrame:
    """Rows featuring a substitute the customer owns switch to the best one they do not own.

    `frame`: screened candidates with customer_id, sku (featured), original_sku, send_date,
    stock_note, why_sku, price, unit_cost. `status`: `sku_status` indexed by SKU, with each
    blocked SKU's `substitutes` best first. `owned`: customer_id, sku. A customer who owns
    every substitute keeps the best one.
    """
    has_options = frame["original_sku"].notna() & (frame["sku"] != frame["original_sku"])
    if not has_options.any() or owned.empty:
        return frame
    options = status["substitutes"].reindex(frame.loc[has_options, "original_sku"].to_numpy())
    rows = pd.DataFrame(
        {
            "customer_id": frame.loc[has_options, "customer_id"].to_numpy(),
            "sku": options.to_numpy(),
        },
        index=frame.index[has_options],
    ).explode("sku")
    rows = rows[rows["sku"].notna()]
    rows["rank"] = rows.groupby(level=0).cumcount()
    (customer, owner), _ = encode_together(rows["customer_id"], owned["customer_id"])
    (sku, owned_sku), skus = encode_together(rows["sku"], owned["sku"])
    width = np.int64(len(skus) + 1)
    known = (owner >= 0) & (owned_sku >= 0)
    has = member(
        customer.astype(np.int64) * width + sku,
        owner[known].astype(np.int64) * width + owned_sku[known],
    )
    free = rows[~has]
    first_free = free[~free.index.duplicated()]
    switch = first_free[first_free["rank"] > 0]
    if switch.empty:
        return frame
    frame = frame.copy(deep=False)
    idx, chosen = switch.index, switch["sku"].to_numpy()
    new = status.loc[chosen]
    previous = frame.loc[idx, "sku"].astype(str).to_numpy()
    notes = frame.loc[idx, "stock_note"].astype(str).to_numpy()
    frame.loc[idx, "stock_note"] = [
        f"{_PREFIX}{sku}{note[len(_PREFIX) + len(old) :]}; the customer already has {old}"
        for sku, old, note in zip(chosen, previous, notes, strict=True)
    ]
    frame.loc[idx, "sku"] = chosen
    for column in ("send_date", "why_sku", "price", "unit_cost"):
        frame.loc[idx, column] = new[column].to_numpy()
    return frame
