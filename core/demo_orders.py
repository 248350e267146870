"""The demo's purchase history: who orders what and when, what went wrong, who stopped buying.

Every customer follows a renewal process in "seasonal time" (gaps drawn from a gamma with the
customer's rate and regularity), so that orders bunch at back-to-school and the holidays.
After each order the customer may leave for good; the chance rises with late deliveries,
complaints, low satisfaction and a first order, and falls with frequency and breadth.
Everything is computed on whole arrays: one row per potential order, one per line.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from core.demo_catalogue import CATEGORIES, Catalogue, cumulative_within, sample_within
from core.demo_customers import seasonality

MAX_ORDERS_PER_CUSTOMER = 150


@dataclass(frozen=True)
class History:
    """Orders and lines as integer-coded arrays (days count from the window's first day)."""

    orders: pd.DataFrame  # customer, day, promised, delivered, status, late, complaint, ...
    lines: pd.DataFrame  # order, line_no, sku, quantity, unit_price, discount, backordered


def _group_starts(counts: np.ndarray) -> np.ndarray:
    return np.r_[0, np.cumsum(counts)[:-1]]


def _position(counts: np.ndarray) -> np.ndarray:
    """0, 1, 2, ... within each group of a flat array laid out by `counts`."""
    total = int(counts.sum())
    return np.arange(total) - np.repeat(_group_starts(counts), counts)


def _potential_orders(rng: np.random.Generator, latent: pd.DataFrame, calendar: pd.DatetimeIndex):
    """Order days per customer had nobody left: (customer, position, day) arrays."""
    days = len(calendar)
    season = seasonality(calendar)
    clock = np.r_[0.0, np.cumsum(season / season.mean())]  # seasonal time at the start of each day
    signup = latent["signup_day"].to_numpy()
    rate = latent["rate"].to_numpy(np.float64)
    shape = latent["regularity"].to_numpy(np.float64)
    remaining = clock[days] - clock[signup]
    expected = rate * remaining / 365.0
    counts = np.minimum(np.ceil(expected * 1.6 + 4), MAX_ORDERS_PER_CUSTOMER).astype(np.int64)
    customer = np.repeat(np.arange(len(latent), dtype=np.int32), counts)
    position = _position(counts)
    gaps = rng.gamma(shape[customer], 1.0) / shape[customer] * (365.0 / rate[customer])
    gaps[position == 0] = 0.0  # the first order is placed on the day of sign-up
    elapsed = np.cumsum(gaps)
    elapsed -= np.repeat(elapsed[_group_starts(counts)], counts)
    moment = clock[signup][customer] + elapsed
    day = np.floor(np.interp(moment, clock, np.arange(days + 1))).astype(np.int32)
    alive = latent["lifetime_days"].to_numpy()[customer]
    keep = (day < days) & ((day - signup[customer] <= alive) | (position == 0))
    return customer[keep], position[keep].astype(np.int16), day[keep]


def _lines(rng, latent, catalogue: Catalogue, customer, day):
    """The lines of each potential order: favourite SKU, favourite category, the odd other."""
    n_orders = len(customer)
    breadth = latent["breadth"].to_numpy()[customer]
    n_lines = 1 + np.minimum(rng.poisson(0.5 + 1.8 * breadth), 7)
    order = np.repeat(np.arange(n_orders, dtype=np.int32), n_lines)
    line_no = _position(n_lines).astype(np.int16)
    cust = customer[order]
    fav_sku = latent["favourite_sku"].to_numpy()[cust]
    fav_cat = latent["favourite_category"].to_numpy().astype(np.int64)[cust]
    consumable = catalogue.consumable
    n_cat = len(CATEGORIES)
    cat_share = np.bincount(catalogue.category, minlength=n_cat) / len(catalogue.category)
    other_cat = rng.choice(n_cat, len(order), p=cat_share)
    category = np.where(
        rng.random(len(order)) < latent["breadth"].to_numpy()[cust], other_cat, fav_cat
    )
    cum_cat = cumulative_within(catalogue.category.astype(np.int64), catalogue.popularity)
    sku = sample_within(cum_cat, category, rng.random(len(order)))
    repeat_fav = (line_no == 0) & (
        rng.random(len(order)) < np.where(consumable[fav_sku], 0.75, 0.25)
    )
    sku = np.where(repeat_fav, fav_sku, sku)

    week = np.minimum(day[order] // 7, catalogue.out_of_stock.shape[1] - 1)
    out = catalogue.out_of_stock[sku, week]
    # Some customers take a substitute from the same product line when their pick is out.
    line_id = catalogue.line.astype(np.int64)
    cum_line = cumulative_within(line_id, catalogue.popularity)
    swap = out & (rng.random(len(order)) < 0.4)
    substitute = sample_within(cum_line, line_id[sku], rng.random(len(order)))
    sku = np.where(swap, substitute, sku).astype(np.int32)
    out = catalogue.out_of_stock[sku, week]
    quantity = 1 + np.minimum(rng.poisson(np.where(consumable[sku], 0.9, 0.15)), 9)
    price = catalogue.products["price"].to_numpy()[sku]
    return pd.DataFrame(
        {
            "order": order,
            "line_no": line_no,
            "sku": sku,
            "quantity": quantity.astype(np.int16),
            "unit_price": price,
            "backordered": out,
        }
    )


def leave_logit(
    latent: pd.DataFrame,
    customer: np.ndarray,
    *,
    first,
    late,
    days_late,
    complaint,
    satisfaction,
    cancelled_backorder,
) -> np.ndarray:
    """Log-odds that a customer leaves for good after an order, from the order's experience."""
    rate = latent["rate"].to_numpy()[customer]
    return (
        -2.9
        + 0.75 * latent["churn_propensity"].to_numpy()[customer]
        + 1.0 * first
        + 0.8 * late
        + 0.05 * np.minimum(days_late, 20)
        + 0.7 * complaint
        + 0.4 * np.clip(7.5 - satisfaction, 0, None)
        + 0.6 * cancelled_backorder
        - 0.45 * np.log(rate / 3.0)
        - 1.2 * latent["breadth"].to_numpy()[customer]
    )


def simulate(
    rng: np.random.Generator, latent: pd.DataFrame, catalogue: Catalogue, calendar: pd.DatetimeIndex
) -> History:
    """Two years of orders, with delays, complaints, satisfaction and departures."""
    days = len(calendar)
    customer, position, day = _potential_orders(rng, latent, calendar)
    n = len(customer)
    lines = _lines(rng, latent, catalogue, customer, day)
    starts = np.r_[0, np.flatnonzero(np.diff(lines["order"].to_numpy())) + 1]
    backordered = np.maximum.reduceat(lines["backordered"].to_numpy(), starts)
    wait = np.where(lines["backordered"], catalogue.lead_time[lines["sku"]], 0)
    restock_wait = np.maximum.reduceat(wait, starts)

    promised = day + 2 + rng.integers(0, 4, n)
    delivered = promised - (rng.random(n) < 0.35)
    carrier_late = rng.random(n) < 0.05
    delivered = delivered + carrier_late * rng.integers(1, 6, n)
    delivered = delivered + backordered * rng.integers(3, 4 + np.maximum(restock_wait, 1))
    cancelled = rng.random(n) < 0.015 + 0.12 * backordered
    days_late = np.where(cancelled, 0, np.maximum(delivered - promised, 0))
    late = days_late > 0

    # At most one ticket per order, the most pressing reason first.
    r = rng.random(n)
    defect = ~cancelled & (rng.random(n) < 0.025)
    ticket_late = late & (r < np.minimum(0.25 + 0.03 * days_late, 0.7))
    ticket_cancel = cancelled & (r < 0.3)
    ticket_other = rng.random(n) < 0.02
    topic = np.full(n, -1, dtype=np.int8)  # index into TOPICS; -1 = no ticket
    topic[ticket_other] = np.where(rng.random(int(ticket_other.sum())) < 0.4, 3, 4)
    topic[ticket_cancel] = 3
    topic[defect] = np.where(rng.random(int(defect.sum())) < 0.6, 1, 2)
    topic[ticket_late] = 0
    complaint = np.where(topic == 0, rng.random(n) < 0.7, np.isin(topic, [1, 2]))
    complaint |= (topic == 3) & (rng.random(n) < 0.3)
    change_of_mind = ~cancelled & ~defect & (rng.random(n) < 0.03)

    mood = latent["satisfaction"].to_numpy()[customer]
    satisfaction = (
        mood
        + rng.normal(0.0, 1.1, n)
        - 1.0 * late
        - 0.25 * np.minimum(days_late, 12)
        - 1.5 * complaint
        - 1.0 * defect
        - 2.0 * (cancelled & backordered)
    )
    logit = leave_logit(
        latent,
        customer,
        first=position == 0,
        late=late,
        days_late=days_late,
        complaint=complaint,
        satisfaction=satisfaction,
        cancelled_backorder=cancelled & backordered,
    )
    leaves = rng.random(n) < 1.0 / (1.0 + np.exp(-logit))
    # Keep orders up to and including the one after which the customer left.
    counts = np.bincount(customer, minlength=len(latent))
    left_before = np.cumsum(leaves) - leaves
    left_before -= np.repeat(left_before[_group_starts(counts)], counts)
    kept = left_before == 0

    discount_rate = np.where(
        rng.random(n)
        < 0.06 + 0.15 * np.minimum(latent["offer_sensitivity"].to_numpy()[customer], 1.0),
        rng.choice([0.05, 0.1, 0.15, 0.2], n),
        0.0,
    )
    future = delivered >= days  # not delivered by the end of the window
    status = np.where(cancelled, 3, np.where(future, np.where(day >= days - 1, 0, 1), 2))
    orders = pd.DataFrame(
        {
            "customer": customer,
            "position": position,
            "day": day,
            "promised": promised.astype(np.int32),
            "delivered": delivered.astype(np.int32),
            "status": status.astype(np.int8),  # STATUSES
            "late": late,
            "days_late": days_late.astype(np.int16),
            "backordered": backordered,
            "topic": topic,
            "complaint": complaint,
            "defect": defect,
            "change_of_mind": change_of_mind,
            "satisfaction": satisfaction.astype(np.float32),
            "discount_rate": discount_rate,
            "left": leaves,
        }
    )
    return _renumber(orders[kept], lines[kept[lines["order"].to_numpy()]])


STATUSES = np.array(["placed", "shipped", "delivered", "cancelled"], dtype=object)
TOPICS = np.array(["late_delivery", "damaged", "wrong_item", "billing", "other"], dtype=object)


def _renumber(orders: pd.DataFrame, lines: pd.DataFrame) -> History:
    """Order numbers in time order; lines follow their order; amounts and discounts in cents."""
    chronological = np.lexsort((orders["customer"].to_numpy(), orders["day"].to_numpy()))
    new_index = np.empty(len(orders.index), dtype=np.int32)
    new_index[chronological] = np.arange(len(orders), dtype=np.int32)
    old_to_new = np.full(int(orders.index.max()) + 1 if len(orders) else 0, -1, dtype=np.int32)
    old_to_new[orders.index.to_numpy()] = new_index
    orders = orders.iloc[chronological].reset_index(drop=True)
    lines = lines.assign(order=old_to_new[lines["order"].to_numpy()])
    lines = lines.iloc[np.lexsort((lines["line_no"].to_numpy(), lines["order"].to_numpy()))]
    lines = lines.reset_index(drop=True)

    rate = orders["discount_rate"].to_numpy()[lines["order"].to_numpy()]
    gross = np.round(lines["quantity"].to_numpy() * lines["unit_price"].to_numpy(), 2)
    discount = np.round(gross * rate, 2)
    lines["discount_amount"] = discount
    per_order = np.bincount(lines["order"], gross, minlength=len(orders))
    off = np.bincount(lines["order"], discount, minlength=len(orders))
    orders["discount_amount"] = np.round(off, 2)
    orders["amount"] = np.round(per_order - off, 2)
    return History(orders, lines)
