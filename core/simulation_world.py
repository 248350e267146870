"""The demo marketplace moving forward one week at a time (for `easel simulate`).

A demo world, not the product. Its rules, in short:
- Customers keep the generator's renewal process: the gap to the next order is a gamma draw
  (the customer's regularity as shape, 365 / rate days as mean) in seasonal time, counted
  from their last order (organic or a response to an offer). A response to an offer is the
  customer's order of that week: it takes the place of an organic order due the same week
  (the offer pulled it forward). Nobody new signs up.
- A customer leaves for good when their hidden lifetime ends, or after an order with the
  generator's chance (core.demo_orders.leave_logit): higher after a back-ordered line and a
  poor experience. Responding to an offer whose SKU was in stock lowers that chance
  (RETENTION_EFFECT) and brings a departed customer back (with a fresh lifetime). An offer
  featuring an out-of-stock SKU is a let-down: one extra leave draw, as after a cancelled
  back-order.
- Orders take one to eight lines: the favourite SKU, the favourite category, now and then
  another one. A line takes stock if there is enough; otherwise 40% take a substitute from
  the same product line that has stock, and the rest are back-ordered (no stock taken, the
  order arrives late). Offer responses (written by core.response_simulation) take stock first.
  Organic orders pay list price: every discount in the run comes from the programme.
- Purchase orders arrive on their expected day (stock counts at the end of the week); when
  stock plus what is on order falls to the reorder point, a new one is placed for six weeks
  of demand, due after the supplier's lead time (troubled suppliers slip).
- Every random draw comes from a stream keyed by (seed, week) with one draw per customer (or
  SKU) whatever the state, so that the three policies share the same random numbers.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta

import numpy as np
import pandas as pd
from sqlalchemy import bindparam, select, update
from sqlalchemy.engine import Engine

from core import demo
from core.bulk import write_frame
from core.demo_catalogue import CATEGORIES, Catalogue, cumulative_within, sample_within
from core.demo_customers import WINDOW_DAYS, seasonality
from core.demo_orders import leave_logit
from core.demo_orders import simulate as simulate_history
from core.tables import InboundOrder, Order, OrderLine, StockLevel

RETENTION_EFFECT = 0.8  # logit off the leave chance after answering a well-stocked offer
MAX_LINES = 8
SUBSTITUTE_SHARE = 0.4
REORDER_DAYS = 42
_WORLD_STREAM = 7  # random streams of the forward world: [seed, 7, week, part]


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1.0 / (1.0 + np.exp(-x))


@dataclass
class Contacts:
    """This week's programme for the world: who answered an offer, who was let down."""

    responded: np.ndarray  # customer index with a response order this week
    responded_in_stock: np.ndarray  # of those, customer index whose offer's SKU was in stock
    let_down: np.ndarray  # customer index sent an offer featuring an out-of-stock SKU

    @classmethod
    def none(cls) -> Contacts:
        empty = np.array([], dtype=np.int64)
        return cls(empty, empty, empty)


@dataclass
class WeekResult:
    organic_orders: int
    organic_revenue: float
    backordered_lines: int
    departed: int
    returned: int
    received_units: int
    reorders: int


@dataclass
class World:
    """The hidden state of the demo shop's customers and stock, day 0 = the demo's first day."""

    seed: int
    start_day: int  # the first simulated day
    days: pd.DatetimeIndex
    clock: np.ndarray  # seasonal time at the start of each day
    latent: pd.DataFrame
    shop: Catalogue
    customer_ids: pd.Series
    skus: pd.Series
    alive: np.ndarray
    lifetime_end: np.ndarray  # day index when the customer drifts away
    next_day: np.ndarray  # day index of the next organic order
    on_hand: np.ndarray
    reorder_point: np.ndarray
    slip_max: np.ndarray  # per SKU, days a purchase order may slip
    inbound: pd.DataFrame  # open purchase orders: po_id, sku (index), quantity, day
    alive_at_start: np.ndarray = field(init=False)
    orders_written: int = 0
    pos_written: int = 0

    def __post_init__(self) -> None:
        self.alive_at_start = self.alive.copy()

    def day(self, index: int) -> date:
        return self.days[index].date()

    def week_start(self, week: int) -> date:
        return self.day(self.start_day + 7 * week)

    def rng(self, week: int, part: int) -> np.random.Generator:
        return np.random.default_rng([self.seed, _WORLD_STREAM, week, part])

    def customer_index(self, ids: pd.Series) -> np.ndarray:
        return pd.Index(self.customer_ids).get_indexer(ids)

    def sku_index(self, skus: pd.Series) -> np.ndarray:
        return pd.Index(self.skus).get_indexer(skus)

    def gap_days(self, customers: np.ndarray, gamma: np.ndarray, from_day: np.ndarray):
        """The day of the next order after `from_day`, one gamma draw per customer."""
        shape = self.latent["regularity"].to_numpy(np.float64)[customers]
        rate = self.latent["rate"].to_numpy(np.float64)[customers]
        moment = self.clock[from_day] + gamma / shape * (365.0 / rate)
        day = np.interp(moment, self.clock, np.arange(len(self.clock)))
        return np.maximum(np.floor(day).astype(np.int64), from_day + 1)


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

    rng = np.random.default_rng([seed, _WORLD_STREAM, 10**6])  # the start, apart from weeks
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


def _allocate(sku: np.ndarray, quantity: np.ndarray, priority: np.ndarray, on_hand: np.ndarray):
    """Which lines get their units (in priority order per SKU, while stock lasts); draws stock."""
    order = np.lexsort((priority, sku))
    cum = pd.Series(quantity[order]).groupby(sku[order]).cumsum().to_numpy()
    filled = np.zeros(len(sku), dtype=bool)
    filled[order] = cum <= on_hand[sku[order]]
    np.subtract.at(on_hand, sku[filled], quantity[filled])
    return filled


def _organic_lines(world: World, rng: np.random.Generator, buyers: np.ndarray):
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


def _response_lines(engine: Engine, world: World, first: date, last: date) -> pd.DataFrame:
    """Offer-response orders (core.response_simulation) dated within the week: their lines."""
    o, line = Order.__table__, OrderLine.__table__
    statement = (
        select(o.c.customer_id, o.c.ordered_date, line.c.sku, line.c.quantity)
        .select_from(o.join(line, line.c.order_id == o.c.order_id))
        .where(o.c.order_id.like("R%"), o.c.ordered_date >= first, o.c.ordered_date <= last)
    )
    with engine.connect() as conn:
        rows = conn.execute(statement).all()
    return pd.DataFrame(rows, columns=["customer_id", "ordered_date", "sku", "quantity"])


def advance(engine: Engine, world: World, week: int, contacts: Contacts) -> WeekResult:
    """Move the world through simulated week `week` (Monday to Sunday) and write what happened."""
    first_day = world.start_day + 7 * week
    last_day = first_day + 6
    n = len(world.latent)
    rng = world.rng(week, 0)
    gamma = rng.gamma(world.latent["regularity"].to_numpy(np.float64))
    u_leave, u_letdown, u_priority = rng.random(n), rng.random(n), rng.random(n)
    mood_noise = rng.normal(0.0, 1.1, n)
    new_lifetime = rng.exponential(1100.0, n).astype(np.int64)
    order_offset = rng.integers(0, 7, n)

    # Who answered an offer is back (a departed customer with a fresh lifetime).
    returned = contacts.responded[~world.alive[contacts.responded]]
    world.alive[returned] = True
    world.lifetime_end[returned] = first_day + new_lifetime[returned]

    # Lifetimes that end this week, then who orders (an offer's response was that order).
    drift = world.alive & (world.lifetime_end <= last_day)
    answered = np.zeros(n, dtype=bool)
    answered[contacts.responded] = True
    due = world.alive & ~drift & ~answered & (world.next_day <= last_day)
    world.alive[drift] = False
    buyers = np.flatnonzero(due)
    lines = _organic_lines(world, world.rng(week, 1), buyers)

    # Stock: responses first, then organic lines in a random order; substitutes; back-orders.
    responses = _response_lines(engine, world, world.day(first_day), world.day(last_day))
    if len(responses):
        r_sku = world.sku_index(responses["sku"])
        known = r_sku >= 0
        r_qty = responses["quantity"].to_numpy().astype(np.int64)[known]
        r_sku = r_sku[known]
        take = np.minimum(r_qty, np.maximum(world.on_hand[r_sku], 0))
        np.subtract.at(world.on_hand, r_sku, take)
    priority = u_priority[lines["customer"].to_numpy()] + lines["line_no"].to_numpy()
    sku, qty = lines["sku"].to_numpy(), lines["quantity"].to_numpy()
    filled = _allocate(sku, qty, priority, world.on_hand)
    wants_swap = ~filled & lines["swap"].to_numpy()
    sub = lines["substitute"].to_numpy()
    swapped = np.zeros(len(lines), dtype=bool)
    if wants_swap.any():
        idx = np.flatnonzero(wants_swap)
        swapped[idx] = _allocate(sub[idx], qty[idx], priority[idx], world.on_hand)
    sku = np.where(swapped, sub, sku)
    backordered = ~(filled | swapped)

    # Orders and lines into the normal tables.
    customer = lines["customer"].to_numpy()
    order_day = first_day + order_offset[buyers]
    per_buyer = np.full(n, -1, dtype=np.int64)
    per_buyer[buyers] = np.arange(len(buyers))
    order_no = per_buyer[customer]
    price = world.shop.products["price"].to_numpy()[sku]
    gross = np.round(qty * price, 2)
    amount = np.bincount(order_no, gross, minlength=len(buyers))
    late = np.bincount(order_no, backordered, minlength=len(buyers)) > 0
    wait = np.zeros(len(buyers), dtype=np.int64)
    np.maximum.at(wait, order_no, np.where(backordered, world.shop.lead_time[sku], 0))
    order_ids = "W" + pd.Series(
        np.arange(world.orders_written + 1, world.orders_written + len(buyers) + 1)
    ).astype(str).str.zfill(9)
    world.orders_written += len(buyers)
    start = np.datetime64(world.days[0].date(), "D")
    placed = start + order_day.astype("timedelta64[D]")
    promised = placed + np.timedelta64(3, "D")
    with engine.begin() as conn:
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
                    "status": "delivered",
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
            ),
            update=False,
        )
        received, reorders = _replenish(conn, world, week, first_day, last_day)

    # Who leaves: after an order (answering a well-stocked offer helps), and after a let-down.
    ordered = np.zeros(n, dtype=bool)
    ordered[buyers] = True
    ordered[contacts.responded] = True
    had_backorder = np.zeros(n, dtype=bool)
    had_backorder[buyers] = late
    helped = np.zeros(n, dtype=bool)
    helped[contacts.responded_in_stock] = True
    everyone = np.arange(n)
    mood = world.latent["satisfaction"].to_numpy() + mood_noise - 2.0 * had_backorder
    common = dict(first=False, late=had_backorder, days_late=0, complaint=False)
    logit = leave_logit(
        world.latent, everyone, satisfaction=mood, cancelled_backorder=had_backorder, **common
    )
    leaves = ordered & (u_leave < _sigmoid(logit - RETENTION_EFFECT * helped))
    let_down = np.zeros(n, dtype=bool)
    let_down[contacts.let_down] = True
    sad = leave_logit(
        world.latent,
        everyone,
        first=False,
        late=False,
        days_late=0,
        complaint=False,
        satisfaction=world.latent["satisfaction"].to_numpy(),
        cancelled_backorder=True,
    )
    leaves |= let_down & (u_letdown < _sigmoid(sad))
    departed = int((world.alive & leaves).sum())
    world.alive[leaves] = False

    # The next renewal counts from the last order of the week.
    renew = ordered & world.alive
    answer_day = np.full(n, last_day, dtype=np.int64)
    if len(responses):
        placed_on = pd.to_datetime(responses["ordered_date"]) - pd.Timestamp(world.days[0])
        answer_day[world.customer_index(responses["customer_id"])] = placed_on.dt.days.to_numpy()
    from_day = np.where(due, first_day + order_offset, answer_day)
    world.next_day[renew] = world.gap_days(everyone[renew], gamma[renew], from_day[renew])
    return WeekResult(
        organic_orders=len(buyers),
        organic_revenue=float(gross.sum()),
        backordered_lines=int(backordered.sum()),
        departed=departed + int(drift.sum()),
        returned=len(returned),
        received_units=received,
        reorders=reorders,
    )


def _replenish(conn, world: World, week: int, first_day: int, last_day: int) -> tuple[int, int]:
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


def end_of_week(world: World, week: int) -> datetime:
    """Sunday 23:00 UTC of simulated week `week`."""
    return datetime.combine(world.week_start(week) + timedelta(days=6), time(23), tzinfo=UTC)
