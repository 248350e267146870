"""The demo's stock on hand at the end date, reorder points and purchase orders from suppliers."""

from __future__ import annotations

from datetime import UTC, datetime, time

import numpy as np
import pandas as pd

from core.demo_catalogue import Catalogue
from core.demo_customers import as_dates, ids
from core.demo_orders import History


def daily_demand(
    history: History, catalogue: Catalogue, *, days: int, window: int = 90
) -> np.ndarray:
    """Units sold per day per SKU over the last `window` days."""
    lines = history.lines
    recent = history.orders["day"].to_numpy()[lines["order"].to_numpy()] >= days - window
    units = np.bincount(
        lines["sku"].to_numpy()[recent],
        lines["quantity"].to_numpy()[recent],
        minlength=len(catalogue.lead_time),
    )
    return units / window


def reorder_points(demand: np.ndarray, catalogue: Catalogue) -> np.ndarray:
    """Enough to cover the supplier's lead time plus a week of safety."""
    return np.ceil(demand * (catalogue.lead_time + 7)).astype(np.int64)


def stock_levels(rng, catalogue: Catalogue, demand: np.ndarray, *, end_date) -> pd.DataFrame:
    """On hand at the end date: zero where the SKU is out, else a few days to two months of cover."""
    n = len(demand)
    out_now = catalogue.out_of_stock[:, -1]
    cover_days = rng.uniform(3, 60, n)
    on_hand = np.where(out_now, 0, np.round(demand * cover_days) + rng.integers(0, 15, n))
    updated = datetime.combine(end_date, time(0), tzinfo=UTC)
    return pd.DataFrame(
        {
            "sku": catalogue.products["sku"],
            "on_hand": on_hand.astype(np.int64),
            "updated_at": pd.Series(pd.Timestamp(updated), index=range(n)),
        }
    )


def inbound_orders(
    rng, catalogue: Catalogue, demand: np.ndarray, *, start, days: int
) -> pd.DataFrame:
    """Purchase orders every four to eight weeks per SKU; troubled suppliers deliver late."""
    n = len(demand)
    period = rng.integers(28, 57, n)
    per_sku = days // 28 + 2
    k = np.arange(per_sku)
    ordered = rng.integers(-28, 0, n)[:, None] + k[None, :] * period[:, None]
    exists = ordered < days
    lead = catalogue.lead_time.astype(np.int64)[:, None]
    expected = ordered + lead
    status = (
        catalogue.suppliers.set_index("supplier_id")["status"]
        .reindex(catalogue.products["supplier_id"])
        .to_numpy()
    )
    slip_max = np.select([status == "disrupted", status == "delayed"], [40, 15], 3)[:, None]
    slip = np.floor(rng.random(ordered.shape) * slip_max).astype(np.int64)
    # Today's disruption: open orders of troubled suppliers are expected later than planned.
    expected = np.where((ordered >= days - 60) & (slip_max > 3), expected + slip // 2, expected)
    received = expected + slip
    exists &= ordered >= 0
    sku_index = np.broadcast_to(np.arange(n)[:, None], ordered.shape)[exists]
    ordered, expected, received = ordered[exists], expected[exists], received[exists]
    quantity = np.maximum(
        10,
        np.round(demand[sku_index] * period[sku_index] * rng.uniform(0.8, 1.3, len(sku_index)), -1),
    )
    return pd.DataFrame(
        {
            "po_id": ids("PO", np.arange(1, len(sku_index) + 1), 7),
            "sku": pd.Series(catalogue.products["sku"].array.take(sku_index)),
            "quantity": quantity.astype(np.int64),
            "ordered_date": as_dates(start, ordered),
            "expected_date": as_dates(start, expected),
            "received_date": as_dates(start, received, received < days),
        }
    )
