"""Guardrails: which candidate offers may go out, and why each other one may not (pure frames).

`screen` applies the per-offer rules (pauses, stock and restock timing, substitutes, margin
floor, consent) before the bandit chooses; `limit` applies the rules over the chosen set
(contact cap, stock-impact audience cap, discount budget). Both return (kept, suppressed);
every suppressed row carries a `reason` in words. Holdout rows are screened exactly like
treatment rows so that the control group stays comparable; only the sums of units and money
count treatment rows, since nobody contacts the holdout.
"""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from core import forecast, substitutes
from core.campaign_config import CampaignConfig
from core.codes import by_id, encode

STOCK_CAP = "audience capped: expected pull would exceed the "
SUPPRESSED_COLUMNS = ["customer_id", "campaign_type", "sku", "holdout", "reason"]
CARRIED = ["why_customer"]  # kept with a suppressed row when the candidates have it


def _split(frame: pd.DataFrame, blocked: pd.Series, reasons):
    """Rows where `blocked` is True move to the suppressed frame with their reason.

    `reasons` is one string, a Series over the frame, or a function of the blocked rows.
    Frames are copied on write (pandas' copy-on-write), so nothing here copies them eagerly.
    """
    blocked = blocked.reindex(frame.index).fillna(False).astype(bool)
    columns = [c for c in SUPPRESSED_COLUMNS if c != "reason"]
    columns += [c for c in CARRIED if c in frame.columns]
    suppressed = frame.loc[blocked, columns]
    if not blocked.any():
        return frame, suppressed.assign(reason=pd.Series(dtype=object))
    if callable(reasons):
        reasons = reasons(frame.loc[blocked])
    if isinstance(reasons, pd.Series):
        suppressed["reason"] = reasons.reindex(suppressed.index).astype(str).to_numpy()
    else:
        suppressed["reason"] = reasons
    return frame.loc[~blocked], suppressed


def _pause_reasons(pauses: pd.DataFrame, scope: str) -> dict[str, str]:
    rows = pauses[pauses["scope"] == scope]
    return {
        str(t): f"{scope} {t} is paused: {r}"
        for t, r in zip(rows["target"], rows["reason"], strict=True)
    }


def sku_status(
    *,
    products: pd.DataFrame,
    suppliers: pd.DataFrame,
    stock: pd.DataFrame,
    inbound: pd.DataFrame,
    demand: pd.DataFrame,
    pauses: pd.DataFrame,
    as_of: date,
    send_date: date,
    window_end: date,
    watch: dict[str, str] | None = None,
) -> pd.DataFrame:
    """Per SKU: the SKU to feature instead (itself, a substitute, or none), its send date and why.

    `watch` (SKU -> why) adds the inventory watch's verdicts (core.inventory_watch.sku_problems),
    so that no proposal features a SKU the watch would pause and dispatch would refuse.

    Columns: sku, featured_sku, send_date, blocked_reason (None when usable), note, why_sku,
    spare_units, price, unit_cost, substitutes (a blocked SKU's usable stand-ins, best first).
    """
    base = forecast.coverage(
        products=products,
        suppliers=suppliers,
        stock=stock,
        inbound=inbound,
        demand=demand,
        as_of=as_of,
        send_date=send_date,
    ).set_index("sku")
    info = products.set_index("sku")
    paused = pd.Series(None, index=base.index, dtype=object)
    for scope, column in (("category", "category"), ("supplier", "supplier_id"), ("sku", None)):
        reasons = _pause_reasons(pauses, scope)
        keys = base.index.to_series() if column is None else info.loc[base.index, column]
        paused = paused.fillna(keys.map(reasons))
    inactive = ~info.loc[base.index, "active"].astype(bool) if "active" in info else None

    problem = pd.Series(None, index=base.index, dtype=object)
    problem[base["out_of_stock"]] = "out of stock"
    short = ~base["covered"] & ~base["out_of_stock"]
    problem[short] = (
        "stock will not cover demand until the next arrival plus lead time ("
        + base.loc[short, "available"].round().astype(int).astype(str)
        + " units for "
        + base.loc[short, "horizon_days"].astype(int).astype(str)
        + " days)"
    )

    if watch:
        problem = problem.fillna(base.index.to_series().map(watch))

    # Restock timing: a short SKU restocked within the window is offered after the arrival.
    arrival = pd.to_datetime(base["next_arrival"])
    restockable = problem.notna() & arrival.notna() & (arrival <= pd.Timestamp(window_end))
    later = forecast.coverage(
        products=products,
        suppliers=suppliers,
        stock=stock,
        inbound=inbound,
        demand=demand,
        as_of=as_of,
        send_date=arrival[restockable],
    ).set_index("sku")
    rescheduled = restockable & later.reindex(base.index)["covered"].fillna(False).astype(bool)

    status = pd.DataFrame(index=base.index)
    status["featured_sku"] = base.index
    status["send_date"] = base["send_date"]
    status["spare_units"] = base["spare_units"]
    status["why_sku"] = [forecast.describe_coverage(r) for r in base.reset_index().itertuples()]
    status.loc[rescheduled, "send_date"] = later.loc[rescheduled[rescheduled].index, "send_date"]
    status.loc[rescheduled, "spare_units"] = later.loc[
        rescheduled[rescheduled].index, "spare_units"
    ]
    status["note"] = None
    status.loc[rescheduled, "note"] = "timed after the restock on " + status.loc[
        rescheduled, "send_date"
    ].astype(str)
    problem[rescheduled] = None

    blocked = paused.fillna(problem)
    if inactive is not None:
        blocked = blocked.where(~inactive | blocked.notna(), "the SKU is no longer sold")
    usable = blocked.isna() & ~rescheduled

    # Substitutes: same category and line, usable at the send date; the most spare stock wins.
    keyed = info.loc[base.index, ["category", "line"]].copy()
    keyed["spare"] = base["spare_units"]
    donors = keyed[usable & keyed["line"].notna()].reset_index()
    needy = keyed[blocked.notna() & keyed["line"].notna()].reset_index()
    pairs = needy.merge(donors, on=["category", "line"], suffixes=("", "_sub"))
    pairs = pairs[pairs["sku"] != pairs["sku_sub"]].sort_values(
        ["sku", "spare_sub"], ascending=False
    )
    best = pairs.drop_duplicates("sku").set_index("sku")["sku_sub"]
    status["substitutes"] = pairs.groupby("sku", sort=False)["sku_sub"].agg(tuple)
    if not best.empty:
        idx = best.index
        status.loc[idx, "note"] = (
            "substitute " + best + " for " + idx.to_series() + " (" + blocked[idx] + ")"
        )
        status.loc[idx, "featured_sku"] = best
        status.loc[idx, "spare_units"] = base.loc[best.to_numpy(), "spare_units"].to_numpy()
        status.loc[idx, "why_sku"] = status.loc[best.to_numpy(), "why_sku"].to_numpy()
        blocked[idx] = None
    status["blocked_reason"] = blocked
    status["price"] = info.loc[status["featured_sku"], "price"].to_numpy(dtype=float)
    status["unit_cost"] = info.loc[status["featured_sku"], "unit_cost"].to_numpy(dtype=float)
    return status.rename_axis("sku").reset_index()


def max_discount_pct(price: pd.Series, unit_cost: pd.Series, floor: float) -> pd.Series:
    """The largest whole-percent discount that keeps (price - cost) / price at or above floor."""
    with np.errstate(divide="ignore", invalid="ignore"):
        limit = 1.0 - unit_cost / (price * (1.0 - floor))
    return np.floor((limit * 100).clip(lower=0).fillna(0) + 1e-9)


def choose_channel(customers: pd.DataFrame, channels: list[str]) -> pd.Series:
    """The first channel in the preferred order that the customer consented to (None if none)."""
    channel = pd.Series(None, index=customers.index, dtype=object)
    for name in reversed(channels):
        column = f"consent_{name}"
        if column in customers:
            channel = channel.mask(customers[column].fillna(False).astype(bool), name)
    return channel


def screen(
    candidates: pd.DataFrame,
    *,
    skus: pd.DataFrame,
    customers: pd.DataFrame,
    pauses: pd.DataFrame,
    config: CampaignConfig,
    owned: pd.DataFrame | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Per-offer rules. `candidates`: customer_id, campaign_type, sku (or None), discount_pct,
    credit_amount, send_date, holdout. `skus` comes from `sku_status`; `customers` has
    customer_id and consent_<channel> columns; `owned` (customer_id, sku) is what customers
    bought lately: a substitute they do not own yet is preferred."""
    frame = candidates.copy(deep=False)
    suppressed = []

    everything = pauses[pauses["scope"] == "all"]
    if not everything.empty:
        reason = f"all offers are paused: {everything['reason'].iloc[0]}"
        frame, out = _split(frame, pd.Series(True, index=frame.index), reason)
        suppressed.append(out)

    by_customer = _pause_reasons(pauses, "customer")
    if by_customer:
        reasons = frame["customer_id"].astype(str).map(by_customer)
        frame, out = _split(frame, reasons.notna(), reasons)
        suppressed.append(out)

    consent = customers.set_index("customer_id")
    channel = choose_channel(consent, config.channels)
    frame["channel"] = by_id(frame["customer_id"], consent.index, channel.to_numpy(dtype=object))
    no_channel = "the customer has not consented to any channel"
    frame, out = _split(frame, frame["channel"].isna(), no_channel)
    suppressed.append(out)

    status = skus.set_index("sku")
    has_sku = frame["sku"].notna()
    looked_up = status.reindex(frame["sku"].where(has_sku))
    looked_up.index = frame.index
    frame["original_sku"] = frame["sku"]
    frame.loc[has_sku, "sku"] = looked_up.loc[has_sku, "featured_sku"]
    frame.loc[has_sku, "send_date"] = looked_up.loc[has_sku, "send_date"]
    frame["stock_note"] = looked_up["note"]
    frame["why_sku"] = looked_up["why_sku"].where(has_sku, "no product featured")
    frame["price"] = looked_up["price"].fillna(0.0)
    frame["unit_cost"] = looked_up["unit_cost"].fillna(0.0)
    unknown = has_sku & looked_up["featured_sku"].isna()
    blocked = looked_up["blocked_reason"].where(~unknown, "unknown SKU")
    frame, out = _split(frame, has_sku & blocked.notna(), blocked)
    suppressed.append(out)
    if owned is not None and "substitutes" in status:
        frame = substitutes.prefer_unowned(frame, status, owned)

    # Margin floor: lower the discount to the floor, or drop the offer when too little is left.
    has_sku = frame["sku"].notna() & (frame["discount_pct"] > 0)
    ceiling = max_discount_pct(frame["price"], frame["unit_cost"], config.margin_floor)
    over = has_sku & (frame["discount_pct"] > ceiling)
    too_thin = over & (ceiling < config.min_discount_pct)
    floor_pct = f"{config.margin_floor:.0%}"
    thin = (
        f"any discount of {config.min_discount_pct:.0f}% or more takes the margin below {floor_pct}"
    )
    frame, out = _split(frame, too_thin, thin)
    suppressed.append(out)
    over = over[frame.index] & ~too_thin[frame.index]
    note = (
        "discount lowered from "
        + frame.loc[over, "discount_pct"].round().astype(int).astype(str)
        + f"% to keep margin at {floor_pct}"
    )
    frame.loc[over, "discount_pct"] = ceiling[frame.index][over]
    frame["margin_note"] = None
    frame.loc[over, "margin_note"] = note
    return frame, _concat(suppressed)


def _concat(parts: list[pd.DataFrame]) -> pd.DataFrame:
    parts = [p for p in parts if not p.empty]
    if not parts:
        return pd.DataFrame(columns=SUPPRESSED_COLUMNS)
    carried = [c for c in CARRIED if all(c in p.columns for p in parts)]
    return pd.concat(parts, ignore_index=True)[SUPPRESSED_COLUMNS + carried]


def _treated(frame: pd.DataFrame) -> np.ndarray:
    return ~frame["holdout"].astype(bool).to_numpy()


def limit(
    chosen: pd.DataFrame,
    *,
    spare_units: pd.Series,
    config: CampaignConfig,
    already_contacted: pd.Series | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rules over the chosen set. `chosen` has customer_id, campaign_type, sku, holdout, priority,
    expected_units, expected_cost; `spare_units` is indexed by SKU; `already_contacted` counts
    offers a customer already has this week (approved earlier)."""
    # By priority (highest first), then customer id: sorted codes stand in for the id strings.
    customer, _ = encode(chosen["customer_id"], sort=True)
    order = np.lexsort((customer, -chosen["priority"].to_numpy(dtype=float)))
    frame, customer = chosen.take(order), customer[order]
    suppressed = []

    contacted = 0
    if already_contacted is not None and not already_contacted.empty:
        counts = already_contacted.astype(float).reindex(frame["customer_id"].to_numpy())
        contacted = counts.fillna(0).to_numpy()
    rank = frame.groupby(customer).cumcount() + contacted
    cap_reason = (
        f"contact cap: at most {config.contact_cap_per_week} offer(s) per customer per week"
    )
    frame, out = _split(frame, rank >= config.contact_cap_per_week, cap_reason)
    suppressed.append(out)

    if config.max_audience_per_campaign is not None:
        position = frame.groupby("campaign_type").cumcount()
        reason = f"audience capped at {config.max_audience_per_campaign} per campaign"
        frame, out = _split(frame, position >= config.max_audience_per_campaign, reason)
        suppressed.append(out)

    # Stock impact: the expected pull of treated offers per SKU stays within what it can spare.
    pull = frame["expected_units"].where(frame["sku"].notna() & _treated(frame), 0.0)
    cumulative = pull.groupby(frame["sku"].fillna("")).cumsum()
    spare = spare_units.astype(float).reindex(frame["sku"].to_numpy()).set_axis(frame.index)
    spare = spare.fillna(np.inf)
    over_stock = frame["sku"].notna() & (cumulative > spare + 1e-9)

    def stock_reason(rows: pd.DataFrame) -> pd.Series:
        units = spare[rows.index].round().astype(int).astype(str)
        return STOCK_CAP + units + " units " + rows["sku"] + " can spare"

    frame, out = _split(frame, over_stock, stock_reason)
    suppressed.append(out)

    cost = frame["expected_cost"].where(_treated(frame), 0.0).cumsum()
    budget_reason = f"weekly discount budget of {config.weekly_discount_budget:,.0f} reached"
    frame, out = _split(frame, cost > config.weekly_discount_budget + 1e-9, budget_reason)
    suppressed.append(out)
    return frame, _concat(suppressed)
