"""What follows the demo's orders: returns, support tickets, survey answers and browsing."""

from __future__ import annotations

import numpy as np
import pandas as pd

from core.demo_customers import as_dates, ids, pick
from core.demo_orders import TOPICS, History

_COMMENTS = {
    "low": np.array(
        [
            "Arrived far too late for my project.",
            "Still waiting on part of my order.",
            "Item was out of stock and nobody told me.",
            "Disappointed with the delivery.",
            "Had to chase support twice.",
        ],
        dtype=object,
    ),
    "mid": np.array(
        [
            "Fine, but delivery could be quicker.",
            "Good products, packaging could be better.",
            "OK overall.",
            "Colours not quite as pictured.",
        ],
        dtype=object,
    ),
    "high": np.array(
        [
            "Lovely paints, fast delivery.",
            "Great quality, will order again.",
            "Exactly what I needed for my class.",
            "Brilliant service.",
            "Well packed and quick.",
        ],
        dtype=object,
    ),
}


class Keys:
    """The string ids and the first day that turn integer codes into table rows."""

    def __init__(self, *, start: np.datetime64, days: int, customer_ids, order_ids, skus):
        self.start, self.days = start, days
        self.customer_ids, self.order_ids, self.skus = customer_ids, order_ids, skus


def _line_of_order(rng, history: History, orders: np.ndarray) -> np.ndarray:
    """A random line position for each given order."""
    counts = np.bincount(history.lines["order"], minlength=len(history.orders))
    starts = np.r_[0, np.cumsum(counts)[:-1]]
    return starts[orders] + np.floor(rng.random(len(orders)) * counts[orders]).astype(np.int64)


def returns(rng, history: History, keys: Keys) -> pd.DataFrame:
    """Damaged or wrong items go back; so do a few changes of mind."""
    o = history.orders
    delivered = o["status"].to_numpy() == 2
    chosen = np.flatnonzero(delivered & (o["defect"].to_numpy() | o["change_of_mind"].to_numpy()))
    line = _line_of_order(rng, history, chosen)
    returned = o["delivered"].to_numpy()[chosen] + rng.integers(2, 21, len(chosen))
    keep = returned < keys.days
    chosen, line, returned = chosen[keep], line[keep], returned[keep]
    topic = o["topic"].to_numpy()[chosen]
    reason = np.where(
        topic == 1,
        "damaged",
        np.where(
            topic == 2,
            "wrong_item",
            np.where(rng.random(len(chosen)) < 0.6, "changed_mind", "not_as_described"),
        ),
    )
    defect = o["defect"].to_numpy()[chosen]
    quantity = np.where(defect, history.lines["quantity"].to_numpy()[line], 1)
    return pd.DataFrame(
        {
            "return_id": ids("R", np.arange(1, len(chosen) + 1), 7),
            "order_id": pick(keys.order_ids, chosen),
            "sku": pick(keys.skus, history.lines["sku"].to_numpy()[line]),
            "quantity": quantity.astype(np.int64),
            "returned_date": as_dates(keys.start, returned),
            "reason": pd.Series(reason, dtype="str"),
        }
    )


def support_tickets(rng, history: History, keys: Keys) -> pd.DataFrame:
    """Tickets raised about orders: late deliveries, damage, billing; most late ones complain."""
    o = history.orders
    chosen = np.flatnonzero(o["topic"].to_numpy() >= 0)
    topic = o["topic"].to_numpy()[chosen]
    n = len(chosen)
    opened = np.select(
        [topic == 0, np.isin(topic, [1, 2]), topic == 3],
        [
            o["promised"].to_numpy()[chosen] + rng.integers(1, 4, n),
            o["delivered"].to_numpy()[chosen] + rng.integers(1, 5, n),
            o["day"].to_numpy()[chosen] + rng.integers(1, 6, n),
        ],
        o["day"].to_numpy()[chosen] + rng.integers(1, 31, n),
    )
    keep = opened < keys.days
    chosen, topic, opened = chosen[keep], topic[keep], opened[keep]
    n = len(chosen)
    resolved = opened + rng.integers(0, 11, n)
    # General questions are often not about one order.
    linked = (topic != 4) | (rng.random(n) < 0.5)
    order_id = pick(keys.order_ids, chosen).where(linked, None)
    return pd.DataFrame(
        {
            "ticket_id": ids("T", np.arange(1, n + 1), 7),
            "customer_id": pick(keys.customer_ids, o["customer"].to_numpy()[chosen]),
            "order_id": order_id,
            "opened_date": as_dates(keys.start, opened),
            "topic": pd.Series(TOPICS[topic], dtype="str"),
            "is_complaint": o["complaint"].to_numpy()[chosen],
            "resolved_date": as_dates(keys.start, resolved, resolved < keys.days),
        }
    )


def survey_responses(rng, history: History, keys: Keys) -> pd.DataFrame:
    """Post-delivery surveys: angry customers answer more often; late orders score lower."""
    o = history.orders
    late = o["late"].to_numpy()
    answered = (o["status"].to_numpy() == 2) & (rng.random(len(o)) < 0.28 + 0.12 * late)
    chosen = np.flatnonzero(answered)
    responded = o["delivered"].to_numpy()[chosen] + rng.integers(1, 11, len(chosen))
    keep = responded < keys.days
    chosen, responded = chosen[keep], responded[keep]
    n = len(chosen)
    score = np.clip(np.round(o["satisfaction"].to_numpy()[chosen]), 0, 10).astype(np.int64)
    comment = np.full(n, None, dtype=object)
    for band, mask in (
        ("low", score <= 5),
        ("mid", (score > 5) & (score <= 7)),
        ("high", score > 7),
    ):
        with_comment = mask & (rng.random(n) < 0.4)
        words = _COMMENTS[band]
        comment[with_comment] = words[rng.integers(0, len(words), int(with_comment.sum()))]
    return pd.DataFrame(
        {
            "response_id": ids("S", np.arange(1, n + 1), 7),
            "customer_id": pick(keys.customer_ids, o["customer"].to_numpy()[chosen]),
            "order_id": pick(keys.order_ids, chosen),
            "responded_date": as_dates(keys.start, responded),
            "score": score,
            "comment": pd.Series(comment, dtype="str"),
        }
    )


def browsing_events(rng, history: History, keys: Keys, signup: np.ndarray) -> pd.DataFrame:
    """Views in the days before an order, a cart event on some, the odd search."""
    o = history.orders
    n_orders = len(o)
    first_line = np.r_[0, np.cumsum(np.bincount(history.lines["order"], minlength=n_orders))[:-1]]
    first_sku = history.lines["sku"].to_numpy()[first_line]
    views = rng.poisson(0.6, n_orders)
    carts = rng.random(n_orders) < 0.3
    searches = rng.random(n_orders) < 0.1
    order = np.r_[
        np.repeat(np.arange(n_orders), views), np.flatnonzero(carts), np.flatnonzero(searches)
    ]
    kind = np.r_[
        np.zeros(int(views.sum()), np.int8),
        np.ones(int(carts.sum()), np.int8),
        np.full(int(searches.sum()), 2, np.int8),
    ]
    customer = o["customer"].to_numpy()[order]
    day = o["day"].to_numpy()[order] - np.where(kind == 1, 0, rng.integers(0, 11, len(order)))
    day = np.maximum(day, signup[customer])
    # A view is of the ordered product or a neighbour in the catalogue (same category mostly).
    sku = first_sku[order] + np.where(kind == 0, rng.integers(-3, 4, len(order)), 0)
    sku = np.clip(sku, 0, len(keys.skus) - 1)
    sequence = np.lexsort((customer, day))
    customer, day, sku, kind = customer[sequence], day[sequence], sku[sequence], kind[sequence]
    return pd.DataFrame(
        {
            "event_id": ids("E", np.arange(1, len(order) + 1), 8),
            "customer_id": pick(keys.customer_ids, customer),
            "sku": pick(keys.skus, sku).where(kind != 2, None),
            "event_date": as_dates(keys.start, day),
            "event_type": pd.Series(
                np.array(["view", "cart", "search"], dtype=object)[kind], dtype="str"
            ),
        }
    )
