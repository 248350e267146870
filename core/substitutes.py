"""Substitutes a customer does not own: when a short SKU's best stand-in is already theirs."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.codes import encode_together, member, positions

_PREFIX = "substitute "


def _owns(customers: pd.Series, skus: pd.Series, owned: pd.DataFrame) -> np.ndarray:
    """True where the customer bought the SKU (a row of `owned`)."""
    if all(isinstance(owned[c].dtype, pd.CategoricalDtype) for c in ("customer_id", "sku")):
        # The order lines' categories are the code space: look the ids up, hash nothing new.
        who, what = owned["customer_id"].cat, owned["sku"].cat
        customer = positions(customers, who.categories)
        sku = positions(skus, what.categories)
        width = np.int64(len(what.categories))
        owner, owned_sku = who.codes.to_numpy(), what.codes.to_numpy()
        known = (owner >= 0) & (owned_sku >= 0)
        found = member(
            customer.astype(np.int64) * width + sku,
            owner[known].astype(np.int64) * width + owned_sku[known],
        )
        return found & (customer >= 0) & (sku >= 0)
    (customer, owner), _ = encode_together(customers, owned["customer_id"])
    (sku, owned_sku), names = encode_together(skus, owned["sku"])
    width = np.int64(len(names) + 1)
    known = (owner >= 0) & (owned_sku >= 0)
    return member(
        customer.astype(np.int64) * width + sku,
        owner[known].astype(np.int64) * width + owned_sku[known],
    )


def prefer_unowned(frame: pd.DataFrame, status: pd.DataFrame, owned: pd.DataFrame) -> pd.DataFrame:
    """Rows featuring a substitute the customer owns switch to the best one they do not own.

    `frame`: screened candidates with customer_id, sku (featured), original_sku, send_date,
    stock_note, why_sku, price, unit_cost. `status`: `sku_status` indexed by SKU, with each
    blocked SKU's `substitutes` best first. `owned`: customer_id, sku. A customer who owns
    every substitute keeps the best one.
    """
    substituted = frame["original_sku"].notna() & (frame["sku"] != frame["original_sku"])
    if not substituted.any() or owned.empty:
        return frame
    options = status["substitutes"].dropna()
    owned = owned[owned["sku"].isin({s for stand_ins in options for s in stand_ins})]
    if owned.empty:
        return frame
    rows = frame.loc[substituted]
    rows = rows[_owns(rows["customer_id"], rows["sku"], owned)]
    if rows.empty:
        return frame
    tried = pd.DataFrame(
        {
            "customer_id": rows["customer_id"].to_numpy(),
            "sku": options.reindex(rows["original_sku"].to_numpy()).to_numpy(),
        },
        index=rows.index,
    ).explode("sku")
    tried = tried[tried["sku"].notna()]
    free = tried[~_owns(tried["customer_id"], tried["sku"], owned)]
    switch = free[~free.index.duplicated()]  # the best stand-in this customer does not own
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
