"""The simulated world on its first day, rebuilt from the demo generator's own history."""

from __future__ import annotations

from datetime import date

import numpy as np
import pandas as pd

from core import demo
from core.demo_customers import WINDOW_DAYS, seasonality
from core.demo_orders import simulate as simulate_history
from core.simulation_world import WORLD_STREAM, World


def start(
    frames: dict[str, pd.DataFrame], *, customers: int, seed: int, end_date: date, weeks: int
):
    """The world on the day after the demo's last day, rebuilt from the same seed."""
    horizon = WINDOW_DAYS + 7 * weeks + 400
    days = pd.date_range(start=demo.calendar(end_date)[0], periods=horizon, freq="D")
    season = seasonality(days)
    clock = np.r_[0.0, np.cumsum(season / season[:WINDOW_DAYS].mean())]
    shop = demo.catalogue(customers=customers, seed=seed, end_date=end_date)
    latent = demo.latent_traits(customers=customers, seed=seed, end_date=end_date)
    history = simulate_history(
        np.random.default_rng([seed, demo._HISTORY_STREAM]), latent, shop, days[:WINDOW_DAYS]
    )
    o = history.orders
    n = len(latent)
    left = np.bincount(o["customer"], o["left"].to_numpy(), minlength=n) > 0
    last = np.full(n, 0, dtype=np.int64)
    np.maximum.at(last, o["customer"].to_numpy(), o["day"].to_numpy().astype(np.int64))
    signup = latent["signup_day"].to_numpy().astype(np.int64)
    lifetime_end = signup + latent["lifetime_days"].to_numpy().astype(np.int64)
    alive = ~left & (lifetime_end >= WINDOW_DAYS)

    rng = np.random.default_rng([seed, WORLD_STREAM, 10**6])  # the start, apart from weeks
    products = frames["products"]
    suppliers = frames["suppliers"].set_index("supplier_id")["status"]
    status = suppliers.reindex(products["supplier_id"]).to_numpy()
    world = World(
        seed=seed,
        start_day=WINDOW_DAYS,
        days=days,
        clock=clock,
        latent=latent,
        shop=shop,
        customer_ids=frames["customers"]["customer_id"].reset_index(drop=True),
        skus=products["sku"].reset_index(drop=True),
        alive=alive,
        lifetime_end=lifetime_end,
        next_day=np.zeros(n, dtype=np.int64),
        on_hand=frames["stock_levels"]["on_hand"].to_numpy().astype(np.int64).copy(),
        reorder_point=products["reorder_point"].to_numpy().astype(np.int64),
        slip_max=np.select([status == "disrupted", status == "delayed"], [40, 15], 3),
        inbound=pd.DataFrame(),
    )
    everyone = np.arange(n)
    nxt = world.gap_days(everyone, rng.gamma(latent["regularity"].to_numpy(np.float64)), last)
    for _ in range(50):  # renewals that fell inside the window without an order: draw on
        behind = nxt < WINDOW_DAYS
        if not behind.any():
            break
        more = rng.gamma(latent["regularity"].to_numpy(np.float64))[behind]
        nxt[behind] = world.gap_days(everyone[behind], more, nxt[behind])
    world.next_day = np.maximum(nxt, WINDOW_DAYS)
    po = frames["inbound_orders"]
    open_po = po[po["received_date"].isna()]
    first = pd.Timestamp(days[0])
    world.inbound = pd.DataFrame(
        {
            "po_id": open_po["po_id"].to_numpy(),
            "sku": world.sku_index(open_po["sku"]),
            "quantity": open_po["quantity"].to_numpy().astype(np.int64),
            "day": ((pd.to_datetime(open_po["expected_date"]) - first).dt.days).to_numpy(),
        }
    )
    return world
