"""The simulated world's orders: what customers want, what stock lets them have, the rows."""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import select, update
from sqlalchemy.engine import Connection, Engine

from core.bulk import write_frame
from core.demo_catalogue import CATEGORIES, cumulative_within, sample_within
from core.tables import Order, OrderLine

if TYPE_CHECKING:
    from core.simulation_world import World

MAX_LINES = 8
SUBSTITUTE_SHARE = 0.4  # who takes a substitute from the same line when a SKU is short
# A back-ordered line is cancelled (a lost sale) with the demo generator's own extra chance of
# cancelling an order with a back-order (core.demo_orders: 1.5% + 12% when back-ordered).
BACKORDER_CANCEL_SHARE = 0.12


def organic_lines(world: World, rng: np.random.Generator, buyers: np.ndarray):
    """Every customer's wished-for lines this week (drawn for all, kept for the buyers)."""
    n, shop, latent = len(world.latent), world.shop, world.latent
    breadth = latent["breadth"].to_numpy()
    n_lines = 1 + np.minimum(rng.poisson(0.5 + 1.8 * breadth), MAX_LINES - 1)
    n_cat = len(CATEGORIES)
    cat_share = np.bincount(shop.category, minlength=n_cat) / len(shop.category)
    shape = (n, MAX_LINES)
    other_cat = rng.choice(n_cat, shape, p=cat_share)
    u_cat, u_sku, u_fav = rng.random(shape), rng.random(shape), rng.random(shape)
    u_swap, u_sub = rng.random(shape), rng.random(shape)
    fav_cat = latent["favourite_category"].to_numpy().astype(np.int64)[:, None]
    fav_sku = latent["favourite_sku"].to_numpy()[:, None]
    category = np.where(u_cat < breadth[:, None], other_cat, fav_cat)
    cum_cat = cumulative_within(shop.category.astype(np.int64), shop.popularity)
    sku = sample_within(cum_cat, category, u_sku)
    consumable = shop.consumable
    first = np.arange(MAX_LINES)[None, :] == 0
    sku = np.where(first & (u_fav < np.where(consumable[fav_sku], 0.75, 0.25)), fav_sku, sku)
    quantity = 1 + np.minimum(rng.poisson(np.where(consumable[sku], 0.9, 0.15)), 9)
    line_id = shop.line.astype(np.int64)
    substitute = sample_within(cumulative_within(line_id, shop.popularity), line_id[sku], u_sub)
    take = np.zeros(n, dtype=bool)
    take[buyers] = True
    keep = take[:, None] & (np.arange(MAX_LINES)[None, :] < n_lines[:, None])
    customer, line_no = np.nonzero(keep)
    return pd.DataFrame(
        {
            "customer": customer,
            "line_no": line_no,
            "sku": sku[keep].astype(np.int64),
            "substitute": substitute[keep].astype(np.int64),
            "swap": u_swap[keep] < SUBSTITUTE_SHARE,
            "quantity": quantity[keep].astype(np.int64),
        }
    )


def response_lines(engine: Engine, world: World, first: date, last: date) -> pd.DataFrame:
    """Offer-response orders (core.response_simulation) dated within the week: their lines."""
    o, line = Order.__table__, OrderLine.__table__
    statement = (
        select(o.c.order_id, o.c.customer_id, o.c.ordered_date, line.c.sku, line.c.quantity)
        .select_from(o.join(line, line.c.order_id == o.c.order_id))
        .where(o.c.order_id.like("R%"), o.c.ordered_date >= first, o.c.ordered_date <= last)
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return pd.DataFrame(
        rows, columns=["order_id", "customer_id", "ordered_date", "sku", "quantity"]
    )


def cancel_responses(conn: Connection, order_ids: pd.Series) -> None:
    """Response orders whose only line was back-ordered and then cancelled: a lost sale."""
    if len(order_ids):
        conn.execute(
            update(Order.__table__)
            .where(Order.__table__.c.order_id.in_(order_ids.tolist()))
            .values(status="cancelled")
        )


def write(conn: Connection, world: World, buyers, lines, sku, backordered, order_day, cancel):
    """The organic orders and lines at list price; returns (gross per line, late per buyer).

    A back-ordered line is cancelled where `cancel` (per line) says so: it is not written and
    its value leaves the order's amount; an order left with no line is cancelled."""
    n = len(world.latent)
    qty = lines["quantity"].to_numpy()
    customer = lines["customer"].to_numpy()
    per_buyer = np.full(n, -1, dtype=np.int64)
    per_buyer[buyers] = np.arange(len(buyers))
    order_no = per_buyer[customer]
    price = world.shop.products["price"].to_numpy()[sku]
    gross = np.round(qty * price, 2)
    lost = backordered & cancel
    amount = np.bincount(order_no, np.where(lost, 0.0, gross), minlength=len(buyers))
    kept = np.bincount(order_no, ~lost, minlength=len(buyers)) > 0
    # Late for the customer's mood either way: a cancelled back-order is a let-down too.
    late = np.bincount(order_no, backordered, minlength=len(buyers)) > 0
    wait = np.zeros(len(buyers), dtype=np.int64)
    np.maximum.at(wait, order_no, np.where(backordered & ~lost, world.shop.lead_time[sku], 0))
    order_ids = "W" + pd.Series(
        np.arange(world.orders_written + 1, world.orders_written + len(buyers) + 1)
    ).astype(str).str.zfill(9)
    world.orders_written += len(buyers)
    start = np.datetime64(world.days[0].date(), "D")
    placed = start + order_day.astype("timedelta64[D]")
    promised = placed + np.timedelta64(3, "D")
    write_frame(
        conn,
        Order.__table__,
        pd.DataFrame(
            {
                "order_id": order_ids,
                "customer_id": world.customer_ids.to_numpy()[buyers],
                "ordered_date": placed.astype("datetime64[s]"),
                "promised_date": promised.astype("datetime64[s]"),
                "delivered_date": (promised + np.minimum(wait, 21)).astype("datetime64[s]"),
                "status": np.where(kept, "delivered", "cancelled"),
                "amount": np.round(amount, 2),
                "discount_amount": 0.0,
            }
        ),
        update=False,
    )
    write_frame(
        conn,
        OrderLine.__table__,
        pd.DataFrame(
            {
                "order_id": order_ids.to_numpy()[order_no],
                "line_no": lines["line_no"].to_numpy() + 1,
                "sku": world.skus.to_numpy()[sku],
                "quantity": qty,
                "unit_price": price,
                "discount_amount": 0.0,
                "backordered": backordered,
            }
        )[~lost],
        update=False,
    )
    return gross, late
