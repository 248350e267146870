"""The simulated world's stock: who gets the units, purchase orders in, the Sunday stock feed."""

from __future__ import annotations

from datetime import UTC, datetime, time
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, update
from sqlalchemy.engine import Connection

from core.bulk import write_frame
from core.tables import InboundOrder, StockLevel

if TYPE_CHECKING:
    from core.simulation_world import World

REORDER_DAYS = 42  # a new purchase order covers six weeks of demand


def allocate(sku: np.ndarray, quantity: np.ndarray, priority: np.ndarray, on_hand: np.ndarray):
    """Which lines get their units (in priority order per SKU, while stock lasts); draws stock."""
    order = np.lexsort((priority, sku))
    cum = pd.Series(quantity[order]).groupby(sku[order]).cumsum().to_numpy()
    filled = np.zeros(len(sku), dtype=bool)
    filled[order] = cum <= on_hand[sku[order]]
    np.subtract.at(on_hand, sku[filled], quantity[filled])
    return filled


def take_stock(world: World, lines: pd.DataFrame, responses: pd.DataFrame, priority: np.ndarray):
    """Draw stock for the week's responses, then for the organic lines: (SKU, back-ordered) per
    organic line and, per response, whether stock fell short of it (back-ordered)."""
    short = np.zeros(len(responses), dtype=bool)
    if len(responses):
        r_sku = world.sku_index(responses["sku"])
        known = r_sku >= 0
        r_qty = responses["quantity"].to_numpy().astype(np.int64)[known]
        r_sku = r_sku[known]
        # In order per SKU: a second response for a SKU gets what the first one left.
        order = np.argsort(r_sku, kind="stable")
        before = pd.Series(r_qty[order]).groupby(r_sku[order]).cumsum().to_numpy() - r_qty[order]
        left = np.maximum(world.on_hand[r_sku[order]], 0) - before
        take = np.empty(len(r_sku), dtype=np.int64)
        take[order] = np.clip(left, 0, r_qty[order])
        np.subtract.at(world.on_hand, r_sku, take)
        short[np.flatnonzero(known)] = take < r_qty
    sku, qty = lines["sku"].to_numpy(), lines["quantity"].to_numpy()
    filled = allocate(sku, qty, priority, world.on_hand)
    wants_swap = ~filled & lines["swap"].to_numpy()
    sub = lines["substitute"].to_numpy()
    swapped = np.zeros(len(lines), dtype=bool)
    if wants_swap.any():
        idx = np.flatnonzero(wants_swap)
        swapped[idx] = allocate(sub[idx], qty[idx], priority[idx], world.on_hand)
    sku = np.where(swapped, sub, sku)
    backordered = ~(filled | swapped)
    return sku, backordered, short


def replenish(
    conn: Connection, world: World, week: int, first_day: int, last_day: int
) -> tuple[int, int]:
    """Receive the purchase orders due this week, place new ones, write the stock feed."""
    inbound = world.inbound
    arrived = inbound[inbound["day"] <= last_day]
    np.add.at(world.on_hand, arrived["sku"].to_numpy(), arrived["quantity"].to_numpy())
    world.inbound = inbound[inbound["day"] > last_day]
    table = InboundOrder.__table__
    if len(arrived):
        conn.execute(
            update(table)
            .where(table.c.po_id == bindparam("b_id"))
            .values(received_date=bindparam("b_day")),
            [
                {"b_id": po, "b_day": world.day(int(min(max(d, first_day), last_day)))}
                for po, d in zip(arrived["po_id"], arrived["day"], strict=True)
            ],
        )
    n_sku = len(world.on_hand)
    on_order = np.bincount(
        world.inbound["sku"].to_numpy(), world.inbound["quantity"].to_numpy(), minlength=n_sku
    )
    rng = world.rng(week, 2)
    slip = np.floor(rng.random(n_sku) * world.slip_max).astype(np.int64)
    lead = world.shop.lead_time.astype(np.int64)
    daily = world.reorder_point / (lead + 7)
    short = np.flatnonzero(world.on_hand + on_order <= world.reorder_point)
    quantity = np.maximum(10, np.ceil(daily[short] * REORDER_DAYS / 10) * 10).astype(np.int64)
    ids = "PS" + pd.Series(
        np.arange(world.pos_written + 1, world.pos_written + len(short) + 1)
    ).astype(str).str.zfill(7)
    world.pos_written += len(short)
    expected = last_day + lead[short]
    placed = pd.DataFrame(
        {"po_id": ids, "sku": short, "quantity": quantity, "day": expected + slip[short]}
    )
    world.inbound = pd.concat([world.inbound, placed], ignore_index=True)
    write_frame(
        conn,
        table,
        pd.DataFrame(
            {
                "po_id": ids,
                "sku": world.skus.to_numpy()[short],
                "quantity": quantity,
                "ordered_date": world.days[last_day].date(),
                "expected_date": [world.day(int(d)) for d in expected],
                "received_date": None,
            }
        ),
        update=False,
    )
    stamp = datetime.combine(world.day(last_day), time(23, 0), tzinfo=UTC)
    write_frame(
        conn,
        StockLevel.__table__,
        pd.DataFrame({"sku": world.skus, "on_hand": world.on_hand.copy(), "updated_at": stamp}),
        update=True,
    )
    return int(arrived["quantity"].sum()), len(short)


def write_feed(conn: Connection, world: World, *, through_day: int, stamp: datetime) -> None:
    """The stock feed as a mid-week update would show it: on hand plus purchase orders arrived
    by `through_day` (sales are settled weekly, so the week's sales show on Sunday night)."""
    arrived = world.inbound[world.inbound["day"] <= through_day]
    on_hand = world.on_hand.copy()
    np.add.at(on_hand, arrived["sku"].to_numpy(), arrived["quantity"].to_numpy())
    write_frame(
        conn,
        StockLevel.__table__,
        pd.DataFrame({"sku": world.skus, "on_hand": on_hand, "updated_at": stamp}),
        update=True,
    )
