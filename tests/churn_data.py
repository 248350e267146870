"""Small generated histories for the churn tests: a plain transaction log, or one with service data."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

START = date(2023, 1, 1)
END = date(2025, 6, 30)


def generate(customers: int = 2000, *, seed: int = 7, rich: bool = False, end: date = END) -> dict:
    """Customers buy at their own regular cadence and drop out after a purchase, more often after
    a late delivery; with `rich`, orders carry promised/delivered dates and surveys follow them."""
    rng = np.random.default_rng(seed)
    span = (end - START).days
    first = rng.integers(0, int(span * 0.8), customers).astype(float)
    cadence = np.exp(rng.normal(np.log(35), 0.5, customers))
    dropout = rng.beta(1.2, 10, customers)
    basket = np.exp(rng.normal(np.log(30), 0.4, customers))
    rows = []
    now = first.copy()
    active = np.ones(customers, bool)
    while active.any():
        idx = np.flatnonzero(active)
        late = np.where(rng.random(len(idx)) < 0.15, rng.integers(1, 12, len(idx)), 0)
        rows.append(
            pd.DataFrame(
                {
                    "c": idx,
                    "day": now[idx].astype(int),
                    "amount": np.round(basket[idx] * rng.lognormal(0, 0.3, len(idx)), 2),
                    "late": late,
                }
            )
        )
        quits = rng.random(len(idx)) < dropout[idx] + (0.2 * (late > 3) if rich else 0)
        active[idx[quits]] = False
        # Regular cadence (gamma gaps of shape 4): unlike BG/NBD's Poisson purchases.
        now[idx] += rng.gamma(4.0, cadence[idx] / 4.0)
        active &= now < span
    orders = pd.concat(rows, ignore_index=True).sort_values(["day", "c"], kind="stable")
    orders["order_id"] = [f"o{i}" for i in range(len(orders))]
    orders["customer_id"] = [f"c{i:05d}" for i in orders["c"]]
    ordered = pd.Timestamp(START) + pd.to_timedelta(orders["day"], unit="D")
    orders["ordered_date"] = ordered.dt.date
    frames = {
        "orders": orders[["order_id", "customer_id", "ordered_date", "amount"]].reset_index(
            drop=True
        )
    }
    if rich:
        frames["orders"]["promised_date"] = (ordered + pd.Timedelta(days=5)).dt.date.to_numpy()
        frames["orders"]["delivered_date"] = (
            ordered + pd.to_timedelta(5 + orders["late"], unit="D")
        ).dt.date.to_numpy()
        frames["orders"]["status"] = "delivered"
        frames["orders"]["discount_amount"] = 0.0
        surveyed = orders[rng.random(len(orders)) < 0.5]
        frames["survey_responses"] = pd.DataFrame(
            {
                "response_id": [f"s{i}" for i in range(len(surveyed))],
                "customer_id": surveyed["customer_id"].to_numpy(),
                "responded_date": (
                    pd.Timestamp(START)
                    + pd.to_timedelta(surveyed["day"] + 7 + surveyed["late"], unit="D")
                ).dt.date.to_numpy(),
                "score": np.clip(
                    9 - surveyed["late"].to_numpy() // 2 + rng.integers(-1, 2, len(surveyed)), 0, 10
                ),
            }
        )
    return frames


def add_days(day: date, days: int) -> date:
    return day + timedelta(days=days)
