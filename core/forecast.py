"""Per-SKU demand forecast (recent rate with seasonality) and stock coverage against lead times."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pandas as pd

SEASON_MIN_HISTORY_DAYS = 365
# With few years of history a month's index is noisy; pull it towards 1 by this many years.
SEASON_SHRINK_YEARS = 1.0

DEMAND_COLUMNS = ["sku", "recent_rate", "season_now", "season_ahead", "daily_demand"]


def _category_of(lines: pd.DataFrame, products: pd.DataFrame | None) -> pd.Series:
    if products is None or "category" not in products:
        return pd.Series("all", index=lines.index)
    mapping = products.set_index("sku")["category"]
    return lines["sku"].map(mapping).fillna("all")


def seasonal_index(
    lines: pd.DataFrame, *, as_of: date, products: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Month-of-year demand index per category (1.0 = an average month), from history before as_of.

    Returns columns category, month, index; empty when there is under a year of history.
    """
    history = lines[pd.to_datetime(lines["ordered_date"]) < pd.Timestamp(as_of)]
    if history.empty:
        return pd.DataFrame(columns=["category", "month", "index"])
    dates = pd.to_datetime(history["ordered_date"])
    first, end = dates.min(), pd.Timestamp(as_of)
    span_days = (end - first).days
    if span_days < SEASON_MIN_HISTORY_DAYS:
        return pd.DataFrame(columns=["category", "month", "index"])
    calendar = pd.date_range(first, end - pd.Timedelta(days=1), freq="D")
    days_per_month = pd.Series(calendar.month).value_counts()
    frame = pd.DataFrame(
        {
            "category": _category_of(history, products).to_numpy(),
            "month": dates.dt.month.to_numpy(),
            "quantity": history["quantity"].to_numpy(dtype=float),
        }
    )
    units = frame.groupby(["category", "month"])["quantity"].sum().unstack(fill_value=0.0)
    units = units.reindex(columns=range(1, 13), fill_value=0.0)
    days = days_per_month.reindex(range(1, 13)).fillna(0).to_numpy()
    with np.errstate(divide="ignore", invalid="ignore"):
        monthly_rate = units.to_numpy() / np.where(days > 0, days, np.nan)
        average_rate = units.to_numpy().sum(axis=1, keepdims=True) / days.sum()
        raw = monthly_rate / average_rate
    years = span_days / 365.0
    weight = years / (years + SEASON_SHRINK_YEARS)
    index = np.where(np.isfinite(raw), 1.0 + (raw - 1.0) * weight, 1.0)
    result = pd.DataFrame(index, index=units.index, columns=range(1, 13))
    result.columns.name = "month"
    return result.stack().rename("index").reset_index()


def _season_for(skus: pd.DataFrame, index: pd.DataFrame, months: pd.Series) -> np.ndarray:
    """The seasonal index for each SKU's category in the given month (1.0 when unknown)."""
    if index.empty:
        return np.ones(len(skus))
    keyed = index.set_index(["category", "month"])["index"]
    keys = pd.MultiIndex.from_arrays([skus["category"].to_numpy(), months.to_numpy()])
    return keyed.reindex(keys).fillna(1.0).to_numpy()


def daily_demand(
    lines: pd.DataFrame,
    *,
    as_of: date,
    target: date,
    products: pd.DataFrame | None = None,
    window_days: int = 56,
) -> pd.DataFrame:
    """Forecast units per day per SKU around `target`: the recent rate, deseasonalised, reseasoned.

    `lines` has sku, ordered_date, quantity. SKUs in `products` without recent sales get 0.
    """
    start = pd.Timestamp(as_of - timedelta(days=window_days))
    dates = pd.to_datetime(lines["ordered_date"])
    recent = lines[(dates >= start) & (dates < pd.Timestamp(as_of))]
    rate = recent.groupby("sku")["quantity"].sum().astype(float) / float(window_days)
    skus = pd.Index(rate.index)
    if products is not None:
        skus = skus.union(pd.Index(products["sku"]))
    frame = pd.DataFrame({"sku": skus})
    frame["recent_rate"] = frame["sku"].map(rate).fillna(0.0).to_numpy()
    if products is not None and "category" in products:
        frame["category"] = frame["sku"].map(products.set_index("sku")["category"]).fillna("all")
    else:
        frame["category"] = "all"
    index = seasonal_index(lines, as_of=as_of, products=products)
    # The window's middle month stands for the window; the target's month for the horizon.
    middle = pd.Timestamp(as_of - timedelta(days=window_days // 2))
    frame["season_now"] = _season_for(frame, index, pd.Series(middle.month, index=frame.index))
    frame["season_ahead"] = _season_for(
        frame, index, pd.Series(pd.Timestamp(target).month, index=frame.index)
    )
    now_index = frame["season_now"].where(frame["season_now"] > 0, 1.0)
    frame["daily_demand"] = frame["recent_rate"] / now_index * frame["season_ahead"]
    return frame[DEMAND_COLUMNS]


COVERAGE_COLUMNS = [
    "sku",
    "send_date",
    "on_hand",
    "available",
    "daily_demand",
    "next_arrival",
    "next_arrival_quantity",
    "lead_time_days",
    "horizon_days",
    "coverage_days",
    "spare_units",
    "out_of_stock",
    "covered",
]


def coverage(
    *,
    products: pd.DataFrame,
    suppliers: pd.DataFrame,
    stock: pd.DataFrame,
    inbound: pd.DataFrame,
    demand: pd.DataFrame,
    as_of: date,
    send_date: date | pd.Series,
) -> pd.DataFrame:
    """Per SKU: what is available at the send date and whether it covers demand until restock.

    Available = on hand, less forecast demand between as_of and the send date, plus inbound
    expected on or before the send date. Demand must be covered until the next inbound arrival
    after the send date plus the supplier's lead time (the time a fresh order would take).
    `send_date` is one date or a Series indexed by SKU. Overdue inbound (expected before as_of,
    not received) is not counted: it is late, and nobody knows when it comes.
    """
    frame = products[["sku", "supplier_id"]].copy()
    lead = suppliers.set_index("supplier_id")["lead_time_days"]
    frame["lead_time_days"] = frame["supplier_id"].map(lead).fillna(0).astype(int)
    frame["on_hand"] = frame["sku"].map(stock.set_index("sku")["on_hand"]).fillna(0).astype(float)
    frame["daily_demand"] = (
        frame["sku"].map(demand.set_index("sku")["daily_demand"]).fillna(0.0).astype(float)
    )
    if isinstance(send_date, pd.Series):
        # reindex, not map: map trips over an empty Series of dates with string keys.
        sends = pd.to_datetime(send_date.reindex(frame["sku"].to_numpy())).set_axis(frame.index)
        sends = sends.fillna(pd.Timestamp(as_of))
    else:
        sends = pd.Series(pd.Timestamp(send_date), index=frame.index)
    frame["send_date"] = sends.dt.date
    days_to_send = (sends - pd.Timestamp(as_of)).dt.days.clip(lower=0).to_numpy()

    pending = inbound
    if "received_date" in pending:
        pending = pending[pending["received_date"].isna()]
    pending = pending.assign(expected=pd.to_datetime(pending["expected_date"]))
    pending = pending[pending["expected"] >= pd.Timestamp(as_of)]
    joined = pending.merge(frame[["sku", "send_date"]], on="sku")
    joined["send"] = pd.to_datetime(joined["send_date"])
    before = joined[joined["expected"] <= joined["send"]].groupby("sku")["quantity"].sum()
    after = joined[joined["expected"] > joined["send"]].sort_values("expected")
    first_after = after.groupby("sku").agg(
        next_arrival=("expected", "first"), next_arrival_quantity=("quantity", "first")
    )

    depleted = (frame["on_hand"] - frame["daily_demand"] * days_to_send).clip(lower=0.0)
    frame["available"] = depleted + frame["sku"].map(before).fillna(0.0)
    arrivals = frame[["sku"]].merge(first_after, left_on="sku", right_index=True, how="left")
    frame["next_arrival"] = pd.to_datetime(arrivals["next_arrival"].to_numpy())
    frame["next_arrival_quantity"] = (
        arrivals["next_arrival_quantity"].fillna(0).astype(int).to_numpy()
    )
    to_arrival = (frame["next_arrival"] - sends).dt.days.fillna(0).to_numpy()
    frame["horizon_days"] = to_arrival + frame["lead_time_days"].to_numpy()
    frame["next_arrival"] = frame["next_arrival"].dt.date
    need = frame["daily_demand"] * frame["horizon_days"]
    with np.errstate(divide="ignore", invalid="ignore"):
        frame["coverage_days"] = np.where(
            frame["daily_demand"] > 0, frame["available"] / frame["daily_demand"], np.inf
        )
    frame["spare_units"] = (frame["available"] - need).clip(lower=0.0)
    frame["out_of_stock"] = frame["available"] < 1.0
    frame["covered"] = ~frame["out_of_stock"] & (frame["available"] >= need)
    return frame[COVERAGE_COLUMNS].reset_index(drop=True)


def describe_coverage(row: pd.Series) -> str:
    """Why this SKU, in words: coverage days, lead time, next arrival."""
    cover = (
        "no recent demand"
        if not np.isfinite(row.coverage_days)
        else (f"{row.coverage_days:.0f} days of cover")
    )
    arrival = (
        f"next arrival {row.next_arrival:%Y-%m-%d} ({row.next_arrival_quantity} units)"
        if pd.notna(row.next_arrival)
        else "no inbound order"
    )
    return f"{row.available:.0f} units available, {cover}; lead time {row.lead_time_days} days; {arrival}"
