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
  order arrives late); 12% of back-ordered lines are cancelled, a lost sale (the generator's
  own extra cancellation chance of a back-ordered order). Offer responses (written by
  core.response_simulation) take stock first, and a response stock cannot serve is
  back-ordered and may be cancelled in the same way.
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
from sqlalchemy.engine import Engine

from core import simulation_orders, simulation_stock
from core.demo_catalogue import Catalogue
from core.demo_orders import leave_logit

RETENTION_EFFECT = 0.8  # logit off the leave chance after answering a well-stocked offer
WORLD_STREAM = 7  # random streams of the forward world: [seed, 7, week, part]


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
        return np.random.default_rng([self.seed, WORLD_STREAM, week, part])

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
    lines = simulation_orders.organic_lines(world, world.rng(week, 1), buyers)

    # Stock: responses first, then organic lines in a random order; substitutes; back-orders.
    responses = simulation_orders.response_lines(
        engine, world, world.day(first_day), world.day(last_day)
    )
    priority = u_priority[lines["customer"].to_numpy()] + lines["line_no"].to_numpy()
    sku, backordered, short = simulation_stock.take_stock(world, lines, responses, priority)
    order_day = first_day + order_offset[buyers]
    # Which back-ordered lines the customer cancels: a draw per customer and line (the last
    # column for a response's line), whatever the state.
    u_cancel = world.rng(week, 3).random((n, simulation_orders.MAX_LINES + 1))
    cancel = u_cancel < simulation_orders.BACKORDER_CANCEL_SHARE
    with engine.begin() as conn:
        gross, late = simulation_orders.write(
            conn,
            world,
            buyers,
            lines,
            sku,
            backordered,
            order_day,
            cancel[lines["customer"].to_numpy(), lines["line_no"].to_numpy()],
        )
        if len(responses):
            lost = short & cancel[world.customer_index(responses["customer_id"]), -1]
            simulation_orders.cancel_responses(conn, responses.loc[lost, "order_id"])
        received, reorders = simulation_stock.replenish(conn, world, week, first_day, last_day)

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


def end_of_week(world: World, week: int) -> datetime:
    """Sunday 23:00 UTC of simulated week `week`."""
    return datetime.combine(world.week_start(week) + timedelta(days=6), time(23), tzinfo=UTC)
