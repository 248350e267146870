"""Per-customer features as of a date, from the marketplace's frames; nothing after `as_of` counts.

`build_features` is pure: it filters every frame to what was known on `as_of` itself, so a
caller may hand it more history than needed (training reuses one load for many snapshots).
Every source table may be empty or missing: the transaction log alone still yields the
recency, frequency, spend and cadence features.
"""

from __future__ import annotations

import logging
from datetime import date, timedelta

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
from sqlalchemy import select
from sqlalchemy.engine import Engine

from core import tables
from core.codes import positions
from core.reading import arrow_strings, reading_beside

log = logging.getLogger(__name__)

WINDOWS = (30, 90, 180, 365)
# Lines, returns, tickets, surveys and browsing count only within this many days of `as_of`.
DETAIL_DAYS = 365


# The columns each source frame needs; a missing frame is read as an empty one with these.
COLUMNS: dict[str, list[str]] = {
    "customers": ["customer_id", "signup_date", "consent_email", "consent_sms", "consent_post"],
    "orders": [
        "order_id",
        "customer_id",
        "ordered_date",
        "promised_date",
        "delivered_date",
        "status",
        "amount",
        "discount_amount",
    ],
    "order_lines": ["order_id", "sku", "quantity", "backordered"],
    "products": ["sku", "category", "is_consumable", "replenishment_days"],
    "returns": ["return_id", "order_id", "returned_date"],
    "support_tickets": ["ticket_id", "customer_id", "opened_date", "is_complaint"],
    "survey_responses": ["response_id", "customer_id", "responded_date", "score"],
    "browsing_events": ["customer_id", "event_date"],
}

FEATURES: list[str] = [
    "recency_days",
    *[f"orders_{w}d" for w in WINDOWS],
    "orders_total",
    *[f"spend_{w}d" for w in WINDOWS],
    "spend_total",
    "avg_order_value",
    "tenure_days",
    "mean_gap_days",
    "gap_std_days",
    "overdue_days",
    "overdue_ratio",
    "spend_trend",
    "orders_trend",
    "category_breadth_365d",
    "consumables_due",
    "consumables_overdue_days",
    "discount_share_365d",
    "returns_365d",
    "returns_rate_365d",
    "complaints_90d",
    "complaints_365d",
    "late_orders_90d",
    "late_orders_365d",
    "late_days_max_365d",
    "late_days_mean_365d",
    "open_late_days",
    "backordered_lines_365d",
    "survey_last",
    "survey_change",
    "survey_count",
    "browse_recency_days",
    "browse_events_30d",
    "consent_any",
    "season_month",
]

# Not model inputs: the BG/NBD summary (repeat purchases, last purchase time, age, mean
# repeat spend), carried along so that expected value needs no second pass over the orders.
SUMMARY = ["bg_x", "bg_t_x", "bg_T", "bg_m"]

# What a shop with only a transaction log can know.
TRANSACTION_FEATURES: list[str] = [
    "recency_days",
    *[f"orders_{w}d" for w in WINDOWS],
    "orders_total",
    *[f"spend_{w}d" for w in WINDOWS],
    "spend_total",
    "avg_order_value",
    "tenure_days",
    "mean_gap_days",
    "gap_std_days",
    "overdue_days",
    "overdue_ratio",
    "spend_trend",
    "orders_trend",
]

_DATE_COLUMNS = {
    "customers": "signup_date",
    "orders": "ordered_date",
    "returns": "returned_date",
    "support_tickets": "opened_date",
    "survey_responses": "responded_date",
    "browsing_events": "event_date",
}


def empty_frame(name: str) -> pd.DataFrame:
    """An empty frame with the columns a source table must have."""
    return pd.DataFrame({c: pd.Series([], dtype=object) for c in COLUMNS[name]})


def _day_numbers(series: pd.Series) -> np.ndarray:
    """Days since 1970-01-01 as float (NaN where missing): cheap to compare and subtract."""
    values = pd.to_datetime(series, errors="coerce")
    days = values.to_numpy(dtype="datetime64[ns]").astype("datetime64[D]")
    out = days.astype("int64").astype(float)
    out[np.isnat(days)] = np.nan
    return out


def _as_day(as_of: date) -> float:
    return float(np.datetime64(as_of, "D").astype("int64"))


def load_frames(
    engine: Engine, as_of: date, *, detail_days: int | None = None
) -> dict[str, pd.DataFrame]:
    """Read the source tables, only rows dated on or before `as_of`; dates as datetime64.

    With `detail_days` (scoring uses DETAIL_DAYS), everything but the orders themselves is
    read for that many days only: the features never look further back, and a million
    customers' history of lines and events is the slowest part of scoring.
    """
    since = None if detail_days is None else as_of - timedelta(days=detail_days - 1)
    models = {
        "customers": tables.Customer,
        "orders": tables.Order,
        "products": tables.Product,
        "returns": tables.Return,
        "support_tickets": tables.SupportTicket,
        "survey_responses": tables.SurveyResponse,
        "browsing_events": tables.BrowsingEvent,
    }
    statements = {}
    for name, model in models.items():
        table = model.__table__
        statement = select(*[table.c[c] for c in COLUMNS[name]])
        date_column = _DATE_COLUMNS.get(name)
        if date_column and name != "customers":
            statement = statement.where(table.c[date_column] <= as_of)
            if since is not None and name != "orders":
                statement = statement.where(table.c[date_column] >= since)
        statements[name] = statement
    lines = tables.OrderLine.__table__
    orders = tables.Order.__table__
    statement = (
        select(*[lines.c[c] for c in COLUMNS["order_lines"]])
        .join(orders, orders.c.order_id == lines.c.order_id)
        .where(orders.c.ordered_date <= as_of)
    )
    if since is not None:
        statement = statement.where(orders.c.ordered_date >= since)
    statements["order_lines"] = statement
    with engine.connect() as conn, reading_beside(conn) as beside:
        reads = {name: beside(statement) for name, statement in statements.items()}
        frames = {name: read.result() for name, read in reads.items()}
    log.info("loaded %s orders as of %s", len(frames["orders"]), as_of)
    return frames


def _frame(frames: dict[str, pd.DataFrame], name: str) -> pd.DataFrame:
    frame = frames.get(name)
    if frame is None or len(frame) == 0:
        return empty_frame(name)
    missing = [c for c in COLUMNS[name] if c not in frame.columns]
    # A plain transaction log has no delivery or discount columns: they read as unknown.
    return frame.assign(**{c: None for c in missing}) if missing else frame


def _join(right: pd.Series, *lefts: pd.Series) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per left key column, the row positions of its inner join with `right`, like a merge."""
    table = arrow_strings(right)
    if len(table) and table.null_count == 0:
        # One dictionary over all the columns: a right key's code is its position when the
        # right's keys are distinct (codes then run 0, 1, 2, ...), a left key's code is where
        # it sits. One hashing pass over the strings, no merge of string columns.
        keys = [arrow_strings(left) for left in lefts]
        both = pc.dictionary_encode(pa.chunked_array([table, *keys], type=pa.large_string()))
        codes = _chunk_codes(both, [len(table), *map(len, keys)])
        if np.array_equal(codes[0], np.arange(len(table))):
            out = []
            for found in codes[1:]:
                found[found >= len(table)] = -1
                rows = np.flatnonzero(found >= 0)
                out.append((rows, found[rows]))
            return out
    # Duplicate or missing keys on the right: the general merge (one row per matching pair).
    other = pd.DataFrame({"k": right.astype(str), "b": np.arange(len(right))})
    out = []
    for left in lefts:
        merged = pd.DataFrame({"k": left.astype(str), "a": np.arange(len(left))}).merge(
            other, on="k"
        )
        out.append((merged["a"].to_numpy(), merged["b"].to_numpy()))
    return out


def _chunk_codes(encoded: pa.ChunkedArray, sizes: list[int]) -> list[np.ndarray]:
    """The dictionary codes of a chunked dictionary array, split back into the given sizes."""
    indices = [c.indices.fill_null(-1).to_numpy(zero_copy_only=False) for c in encoded.chunks]
    flat = np.concatenate([np.empty(0, np.int64), *indices]).astype(np.int64)
    return np.split(flat, np.cumsum(sizes)[:-1])


class _Index:
    """Maps customer ids to row positions of the feature frame."""

    def __init__(self, ids: pd.Index) -> None:
        self.ids = ids
        self.size = len(ids)
        self._table = arrow_strings(ids.to_series())

    def codes(self, customer_ids: pd.Series) -> np.ndarray:
        return positions(customer_ids, self._table)

    def count(self, codes: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
        keep = codes >= 0 if mask is None else (codes >= 0) & mask
        return np.bincount(codes[keep], minlength=self.size).astype(float)

    def total(self, codes: np.ndarray, values: np.ndarray, mask: np.ndarray | None = None):
        keep = (codes >= 0) & ~np.isnan(values)
        if mask is not None:
            keep &= mask
        return np.bincount(codes[keep], weights=values[keep], minlength=self.size)

    def extreme(self, codes: np.ndarray, values: np.ndarray, how: str, mask=None) -> np.ndarray:
        keep = (codes >= 0) & ~np.isnan(values)
        if mask is not None:
            keep &= mask
        out = np.full(self.size, np.nan)
        if keep.any():
            func = np.fmax if how == "max" else np.fmin
            start = -np.inf if how == "max" else np.inf
            acc = np.full(self.size, start)
            func.at(acc, codes[keep], values[keep])
            seen = self.count(codes, keep) > 0
            out[seen] = acc[seen]
        return out


def _ratio(numerator: np.ndarray, denominator: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(denominator > 0, numerator / denominator, np.nan)


def build_features(frames: dict[str, pd.DataFrame], as_of: date) -> pd.DataFrame:
    """One row per customer with an order on or before `as_of`: FEATURES + SUMMARY columns."""
    today = _as_day(as_of)
    orders = _frame(frames, "orders")
    order_day = _day_numbers(orders["ordered_date"])
    status = orders["status"].astype(object).fillna("delivered").to_numpy()
    valid = (order_day <= today) & (status != "cancelled")
    orders = orders.loc[valid]
    order_day = order_day[valid]
    # Sorted distinct ids and each order's position among them, in one hashing pass.
    codes, distinct = pd.factorize(orders["customer_id"].astype(str), sort=True)
    ids = pd.Index(distinct, name="customer_id")
    index = _Index(ids)
    out: dict[str, np.ndarray] = {}
    amount = pd.to_numeric(orders["amount"], errors="coerce").fillna(0.0).to_numpy(float)
    age = today - order_day

    last = index.extreme(codes, order_day, "max")
    first = index.extreme(codes, order_day, "min")
    out["recency_days"] = today - last
    for window in WINDOWS:
        recent = age < window
        out[f"orders_{window}d"] = index.count(codes, recent)
        out[f"spend_{window}d"] = index.total(codes, amount, recent)
    # Several orders on one day are one purchase occasion for cadence.
    occasions = _occasions(codes, order_day)
    n_occasions = index.count(occasions[0])
    out["orders_total"] = index.count(codes)
    out["spend_total"] = index.total(codes, amount)
    out["avg_order_value"] = _ratio(out["spend_total"], out["orders_total"])
    customers = _frame(frames, "customers")
    signup = np.full(index.size, np.nan)
    if len(customers):
        positions = index.codes(customers["customer_id"])
        days = _day_numbers(customers["signup_date"])
        keep = positions >= 0
        signup[positions[keep]] = days[keep]
    start = np.fmin(first, np.where(signup <= today, signup, np.nan))
    out["tenure_days"] = today - start
    out["mean_gap_days"] = _ratio(last - first, n_occasions - 1)
    out["gap_std_days"] = _gap_std(occasions, index)
    out["overdue_days"] = out["recency_days"] - out["mean_gap_days"]
    out["overdue_ratio"] = _ratio(out["recency_days"], out["mean_gap_days"])
    earlier_spend = index.total(codes, amount, (age >= 180) & (age < 360))
    recent_spend = index.total(codes, amount, age < 180)
    out["spend_trend"] = _ratio(recent_spend - earlier_spend, recent_spend + earlier_spend)
    earlier_orders = index.count(codes, (age >= 180) & (age < 360))
    recent_orders = index.count(codes, age < 180)
    out["orders_trend"] = _ratio(recent_orders - earlier_orders, recent_orders + earlier_orders)

    out.update(_line_features(frames, orders, order_day, codes, index, today))
    out.update(_order_service_features(orders, order_day, codes, index, today, amount))
    out.update(_event_features(frames, index, today))
    out["consent_any"] = _consent(customers, index)
    # The month of the snapshot: churn over the next months differs by season (gift seasons).
    out["season_month"] = np.full(index.size, float(as_of.month))
    first_day_spend = index.total(codes, amount, order_day == first[np.maximum(codes, 0)])
    out["bg_x"] = n_occasions - 1
    out["bg_t_x"] = last - first
    out["bg_T"] = today - first
    out["bg_m"] = np.where(
        out["bg_x"] > 0, _ratio(out["spend_total"] - first_day_spend, out["bg_x"]), 0
    )
    # One float32 block, filled column by column (no float64 frame to consolidate and cast).
    names = FEATURES + SUMMARY
    block = np.empty((index.size, len(names)), dtype=np.float32, order="F")
    for j, name in enumerate(names):
        block[:, j] = out[name]
    return pd.DataFrame(block, index=ids, columns=names)


def _occasions(codes: np.ndarray, days: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Distinct (customer, day) pairs sorted by customer then day, as two arrays."""
    if not len(codes):
        return codes.astype(np.int64), days.astype(float)
    low = int(days.min())
    span = int(days.max()) - low + 1
    keys = _distinct(codes.astype(np.int64) * span + (days.astype(np.int64) - low))
    return keys // span, (keys % span + low).astype(float)


def _distinct(keys: np.ndarray) -> np.ndarray:
    """The distinct integers, sorted (np.unique, without its slower general path)."""
    keys = np.sort(keys)
    return keys[np.r_[True, keys[1:] != keys[:-1]]] if len(keys) else keys


def _group_max(keys: np.ndarray, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Per distinct integer key (sorted), the largest value."""
    if not len(keys):
        return keys, values
    order = np.argsort(keys, kind="stable")
    keys, values = keys[order], values[order]
    starts = np.flatnonzero(np.r_[True, keys[1:] != keys[:-1]])
    return keys[starts], np.maximum.reduceat(values, starts)


def _gap_std(occasions: tuple[np.ndarray, np.ndarray], index: _Index) -> np.ndarray:
    c, d = occasions
    same = np.r_[False, c[1:] == c[:-1]]
    gaps = np.where(same, d - np.r_[np.nan, d[:-1]], np.nan)
    n = index.count(c, same)
    s1 = index.total(c, gaps)
    s2 = index.total(c, gaps * gaps)
    mean = _ratio(s1, n)
    with np.errstate(invalid="ignore"):
        return np.where(n > 1, np.sqrt(np.maximum(s2 / np.maximum(n, 1) - mean * mean, 0)), np.nan)


def _line_features(frames, orders, order_day, codes, index, today) -> dict[str, np.ndarray]:
    lines = _frame(frames, "order_lines")
    products = _frame(frames, "products")
    out = {
        "category_breadth_365d": np.full(index.size, np.nan),
        "consumables_due": np.full(index.size, np.nan),
        "consumables_overdue_days": np.full(index.size, np.nan),
        "backordered_lines_365d": np.full(index.size, np.nan),
        "returns_365d": np.full(index.size, np.nan),
        "returns_rate_365d": np.full(index.size, np.nan),
    }
    returns = _frame(frames, "returns")
    fresh_returns = np.zeros(len(returns), dtype=bool)
    if len(returns):
        returned_day = _day_numbers(returns["returned_date"])
        fresh_returns = (returned_day <= today) & (today - returned_day < 365)
    returned = returns.loc[fresh_returns, "order_id"].astype(str).drop_duplicates()
    keys = [frame for frame in (lines["order_id"], returned) if len(frame)]
    # Lines and returns find their orders in one pass over the order ids.
    joined = _join(orders["order_id"], *keys) if keys else []
    if len(lines):
        # Each line's order (and so its customer and day): positions, not a merge of strings.
        rows, at = joined.pop(0)
        c, d = codes[at], order_day[at]
        recent = (today - d) < 365
        backordered = lines["backordered"].fillna(False).astype(bool).to_numpy()[rows]
        out["backordered_lines_365d"] = index.count(c, recent & backordered)
        if len(products):
            product = _product_frame(products)
            ((line_at, product_at),) = _join(product["sku"], lines["sku"].iloc[rows])
            c, d, recent = c[line_at], d[line_at], recent[line_at]
            # (customer, category) and (customer, product) pairs as single integers.
            category, names = pd.factorize(product["category"])
            category = category[product_at]
            keep = recent & (category >= 0)
            pairs = _distinct(c[keep] * max(len(names), 1) + category[keep])
            out["category_breadth_365d"] = index.count(pairs // max(len(names), 1))
            consumable = product["is_consumable"].to_numpy(bool)[product_at] & recent
            width = len(product)
            pair, last_day = _group_max(
                c[consumable] * width + product_at[consumable], d[consumable]
            )
            c = pair // width
            every = product["replenishment_days"].to_numpy(float)[pair % width]
            overdue = today - (last_day + every)
            # Due: the replenishment date has passed within the last cycle (not long abandoned).
            due = (overdue >= 0) & (overdue <= every)
            out["consumables_due"] = index.count(c, due)
            out["consumables_overdue_days"] = index.extreme(
                c, np.where(due, overdue, np.nan), "max"
            )
            out["consumables_overdue_days"][np.isnan(out["consumables_overdue_days"])] = 0.0
    if len(returns):
        at = joined.pop(0)[1] if len(returned) else np.array([], dtype=np.int64)
        out["returns_365d"] = index.count(codes[at])
        orders_365 = index.count(codes, (today - order_day) < 365)
        out["returns_rate_365d"] = np.where(
            orders_365 > 0, _ratio(out["returns_365d"], orders_365), 0
        )
    return out


def _product_frame(products: pd.DataFrame) -> pd.DataFrame:
    frame = products[["sku", "category", "is_consumable", "replenishment_days"]].copy()
    frame["is_consumable"] = frame["is_consumable"].fillna(False).astype(bool)
    frame["replenishment_days"] = pd.to_numeric(frame["replenishment_days"], errors="coerce")
    frame["is_consumable"] &= frame["replenishment_days"].notna()
    return frame


def _order_service_features(orders, order_day, codes, index, today, amount) -> dict:
    """Discounts and deliveries, judged only by what was known on `as_of`."""
    out: dict[str, np.ndarray] = {}
    age = today - order_day
    recent = age < 365
    discount = pd.to_numeric(orders["discount_amount"], errors="coerce").fillna(0.0).to_numpy(float)
    gross = index.total(codes, amount + discount, recent)
    out["discount_share_365d"] = _ratio(index.total(codes, discount, recent), gross)
    promised = _day_numbers(orders["promised_date"])
    delivered = _day_numbers(orders["delivered_date"])
    known_delivered = np.where(delivered <= today, delivered, np.nan)
    # An undelivered order past its promise on `as_of` is late by the days so far.
    late_by = np.where(
        np.isnan(known_delivered),
        np.where(promised < today, today - promised, np.nan),
        known_delivered - promised,
    )
    if np.isnan(promised).all():
        for name in ("late_orders_90d", "late_orders_365d", "late_days_max_365d"):
            out[name] = np.full(index.size, np.nan)
        out["late_days_mean_365d"] = np.full(index.size, np.nan)
        out["open_late_days"] = np.full(index.size, np.nan)
        return out
    late = late_by > 0
    out["late_orders_90d"] = index.count(codes, late & (age < 90))
    out["late_orders_365d"] = index.count(codes, late & recent)
    late_days = np.where(late & recent, late_by, np.nan)
    out["late_days_max_365d"] = np.nan_to_num(index.extreme(codes, late_days, "max"))
    out["late_days_mean_365d"] = np.nan_to_num(
        _ratio(index.total(codes, late_days), out["late_orders_365d"])
    )
    still_open = late & np.isnan(known_delivered)
    out["open_late_days"] = np.nan_to_num(
        index.extreme(codes, np.where(still_open, late_by, np.nan), "max")
    )
    return out


def _event_features(frames, index, today) -> dict[str, np.ndarray]:
    out: dict[str, np.ndarray] = {}
    tickets = _frame(frames, "support_tickets")
    if len(tickets):
        day = _day_numbers(tickets["opened_date"])
        c = index.codes(tickets["customer_id"])
        complaint = tickets["is_complaint"].fillna(False).astype(bool).to_numpy() & (day <= today)
        out["complaints_90d"] = index.count(c, complaint & (today - day < 90))
        out["complaints_365d"] = index.count(c, complaint & (today - day < 365))
    else:
        out["complaints_90d"] = out["complaints_365d"] = np.full(index.size, np.nan)
    out.update(_survey_features(_frame(frames, "survey_responses"), index, today))
    events = _frame(frames, "browsing_events")
    if len(events):
        day = _day_numbers(events["event_date"])
        c = index.codes(events["customer_id"])
        seen = (day <= today) & (today - day < DETAIL_DAYS)
        out["browse_recency_days"] = today - index.extreme(c, day, "max", seen)
        out["browse_events_30d"] = index.count(c, seen & (today - day < 30))
    else:
        out["browse_recency_days"] = out["browse_events_30d"] = np.full(index.size, np.nan)
    return out


def _survey_features(surveys: pd.DataFrame, index: _Index, today: float) -> dict[str, np.ndarray]:
    out = {name: np.full(index.size, np.nan) for name in ("survey_last", "survey_change")}
    out["survey_count"] = np.full(index.size, np.nan)
    if not len(surveys):
        return out
    frame = pd.DataFrame(
        {
            "c": index.codes(surveys["customer_id"]),
            "d": _day_numbers(surveys["responded_date"]),
            "s": pd.to_numeric(surveys["score"], errors="coerce").to_numpy(float),
            "r": surveys["response_id"].astype(str).to_numpy(),
        }
    )
    recent = (frame["d"] <= today) & (today - frame["d"] < DETAIL_DAYS)
    frame = frame[(frame["c"] >= 0) & recent & frame["s"].notna()]
    out["survey_count"] = index.count(frame["c"].to_numpy())
    ordered = frame.sort_values(["c", "d", "r"], kind="stable")
    tail = ordered.groupby("c", sort=False).tail(2)
    newest = tail.groupby("c", sort=False).nth(-1)
    out["survey_last"][newest["c"].to_numpy()] = newest["s"].to_numpy()
    has_two = tail["c"].duplicated(keep=False).to_numpy()
    previous = tail.loc[has_two].groupby("c", sort=False).nth(0)
    change = out["survey_last"][previous["c"].to_numpy()] - previous["s"].to_numpy()
    out["survey_change"][previous["c"].to_numpy()] = change
    return out


def _consent(customers: pd.DataFrame, index: _Index) -> np.ndarray:
    out = np.full(index.size, np.nan)
    if not len(customers):
        return out
    positions = index.codes(customers["customer_id"])
    flags = customers[["consent_email", "consent_sms", "consent_post"]].astype("boolean")
    any_consent = flags.fillna(False).any(axis=1).to_numpy(float)
    keep = positions >= 0
    out[positions[keep]] = any_consent[keep]
    return out
