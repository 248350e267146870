"""What every campaign rule reads: per-customer facts built set-based from orders and lines."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import date

import numpy as np
import pandas as pd

from core.codes import encode, grouped

FACT_COLUMNS = [
    "customer_id",
    "n_orders",
    "first_order",
    "last_order",
    "total_spend",
    "days_since_first",
    "days_since_last",
    "favourite_sku",
    "last_sku",
    "late_order_id",
    "late_days",
    "late_cancelled",
]


def _days(as_of: date, dates: pd.Series) -> np.ndarray:
    return (pd.Timestamp(as_of) - pd.to_datetime(dates)).dt.days.to_numpy()


def summarise_orders(orders: pd.DataFrame) -> pd.DataFrame:
    """Per customer: n_orders, first_order, last_order, total_spend over orders not cancelled."""
    kept = orders[orders["status"] != "cancelled"]
    return kept.groupby("customer_id", as_index=False).agg(
        n_orders=("order_id", "size"),
        first_order=("ordered_date", "min"),
        last_order=("ordered_date", "max"),
        total_spend=("amount", "sum"),
    )


def build_facts(
    orders: pd.DataFrame,
    lines: pd.DataFrame,
    *,
    as_of: date,
    late_lookback_days: int,
    min_late_days: int,
    summary: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per customer with orders before as_of: counts, dates, spend, favourite and last SKU,
    and the worst recent late or cancelled order (for service recovery).

    `orders`: order_id, customer_id, ordered_date, promised_date, delivered_date, status, amount
    (only the recent ones are needed when `summary` gives each customer's whole history).
    `lines`: customer_id, order_id, ordered_date, sku, quantity.
    """
    orders = orders[pd.to_datetime(orders["ordered_date"]) < pd.Timestamp(as_of)]
    if summary is None:
        summary = summarise_orders(orders)
    facts = summary.set_index("customer_id")[
        ["n_orders", "first_order", "last_order", "total_spend"]
    ].copy()
    facts["days_since_first"] = _days(as_of, facts["first_order"])
    facts["days_since_last"] = _days(as_of, facts["last_order"])

    usable = (pd.to_datetime(lines["ordered_date"]) < pd.Timestamp(as_of)) & lines["sku"].notna()
    history = lines if usable.all() else lines[usable]  # no copy of millions of rows for nothing
    favourite, last = _favourite_and_last(history)
    # Positions of the customers found once, through the facts' own hash of their ids.
    at = facts.index.get_indexer(favourite.index)
    facts["favourite_sku"] = _placed(favourite, at, len(facts))
    facts["last_sku"] = _placed(last, at, len(facts))

    recent = orders[_days(as_of, orders["ordered_date"]) <= late_lookback_days + 30]
    delivered = pd.to_datetime(recent["delivered_date"])
    promised = pd.to_datetime(recent["promised_date"])
    # Still undelivered past the promise counts as late up to as_of.
    arrived = delivered.fillna(pd.Timestamp(as_of))
    late_days = (arrived - promised).dt.days.fillna(0)
    cancelled = recent["status"].eq("cancelled")
    event_day = delivered.fillna(promised).fillna(pd.to_datetime(recent["ordered_date"]))
    within = (pd.Timestamp(as_of) - event_day).dt.days.between(0, late_lookback_days)
    bad = recent.assign(late_days=late_days.to_numpy(), late_cancelled=cancelled.to_numpy())
    bad = bad[within.to_numpy() & ((late_days >= max(min_late_days, 1)) | cancelled).to_numpy()]
    bad = bad.sort_values(
        ["customer_id", "late_cancelled", "late_days"], ascending=[True, False, False]
    )
    worst = bad.drop_duplicates("customer_id").set_index("customer_id")
    if not facts.index.is_monotonic_increasing or (facts.index.get_indexer(worst.index) < 0).any():
        # Customers whose only orders went wrong have no summary yet: facts in id order.
        facts = facts.reindex(facts.index.union(worst.index))
    late = worst[["order_id", "late_days", "late_cancelled"]].reindex(facts.index)
    facts["late_order_id"] = late["order_id"]
    facts["late_days"] = late["late_days"]
    facts["late_cancelled"] = late["late_cancelled"].eq(True)
    facts["n_orders"] = facts["n_orders"].fillna(0).astype(int)
    facts["total_spend"] = facts["total_spend"].fillna(0.0)
    return facts.rename_axis("customer_id").reset_index()[FACT_COLUMNS]


def _placed(values: pd.Series, at: np.ndarray, size: int) -> np.ndarray:
    """`values` at positions `at` (-1: not placed) of an array of `size`, None elsewhere."""
    out = np.full(size, None, dtype=object)
    found = at >= 0
    out[at[found]] = values.to_numpy(dtype=object)[found]
    return out


def _favourite_and_last(history: pd.DataFrame) -> tuple[pd.Series, pd.Series]:
    """Per customer: the SKU bought in most units (ties: the first id) and the SKU of the latest
    order (ties: the last id). Sorted integer codes stand in for the id strings."""
    customer_code, customers = encode(history["customer_id"], sort=True)
    sku_code, skus = encode(history["sku"], sort=True)
    if len(history) == 0:
        empty = pd.Series(skus[:0], index=customers[:0])
        return empty, empty
    width = np.int64(len(skus))
    # Units per (customer, SKU), the pairs in customer then SKU order (their int64 keys sorted).
    inverse, pair = grouped(customer_code.astype(np.int64) * width + sku_code)
    quantity = history["quantity"].fillna(0).to_numpy(dtype=float)
    units = np.bincount(inverse, weights=quantity, minlength=len(pair))
    pair_customer, pair_sku = pair // width, pair % width
    # Each customer's first pair (lowest SKU id) among those with the most units.
    starts = _group_starts(pair_customer)
    most = np.repeat(np.maximum.reduceat(units, starts), np.diff(np.r_[starts, len(pair)]))
    best = np.flatnonzero(units == most)
    firsts = best[_group_starts(pair_customer[best])]
    favourite = pd.Series(skus[pair_sku[firsts]], index=customers[pair_customer[firsts]])
    # The latest day, then the highest SKU id on it: one maximum of (day, SKU) per customer.
    days = pd.to_datetime(history["ordered_date"]).to_numpy(dtype="datetime64[D]")
    day = days.astype(np.int64) - days.min().astype(np.int64)  # 0 for the first day
    latest = np.full(len(customers), -1, dtype=np.int64)
    np.maximum.at(latest, customer_code, day * width + sku_code)
    last = pd.Series(skus[latest % width], index=customers)
    return favourite, last


def _group_starts(codes: np.ndarray) -> np.ndarray:
    """Positions where a run of equal codes begins."""
    return np.flatnonzero(np.r_[True, codes[1:] != codes[:-1]]) if len(codes) else codes[:0]


def reasons_text(reasons: pd.Series) -> pd.Series:
    """The score's JSON list of reasons as one line of words."""

    def one(value) -> str:
        if not isinstance(value, str) or not value:
            return ""
        try:
            items = json.loads(value)
        except ValueError:
            return value
        words = [
            i if isinstance(i, str) else str(i.get("text") or i.get("reason") or i) for i in items
        ]
        return "; ".join(words[:3])

    return reasons.map(one)


@dataclass
class PlaybookInputs:
    """Frames the campaign rules read; every frame is keyed by natural ids."""

    as_of: date
    send_date: date
    facts: pd.DataFrame  # build_facts
    scores: pd.DataFrame  # customer_id, churn_probability, risk_band, expected_value, reasons
    lines: pd.DataFrame  # customer_id, order_id, ordered_date, sku, quantity
    products: pd.DataFrame  # sku, name, category, price, is_consumable, replenishment_days
    recommendations: pd.DataFrame = field(default_factory=pd.DataFrame)  # anchor, sku, rank, lift
    _scored: pd.DataFrame | None = field(default=None, init=False, repr=False, compare=False)

    def scored_facts(self) -> pd.DataFrame:
        """Facts with the score columns (NaN where a customer has no score); joined once."""
        if self._scored is None:
            columns = ["customer_id", "churn_probability", "risk_band", "expected_value", "reasons"]
            scores = self.scores.reindex(columns=columns)
            self._scored = self.facts.merge(scores, on="customer_id", how="left")
        return self._scored
