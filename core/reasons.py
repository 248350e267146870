"""Reason codes in plain words from the model's own per-customer feature contributions.

Related features are summed into one concept (e.g. recency, cadence and overdue-ness are one
story: "62 days overdue against a 21-day cadence"), the concepts that push a customer's churn
risk up the most are named, each with the customer's own figures.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

Text = Callable[[pd.DataFrame], tuple[pd.Series, pd.Series]]
MIN_CONTRIBUTION = 0.02  # log-odds; smaller pushes are noise, not reasons


def _n(values: pd.Series) -> pd.Series:
    return values.fillna(0).round().astype("int64").astype(str)


def _plural(values: pd.Series, one: str, many: str) -> pd.Series:
    return pd.Series(np.where(values.round() == 1, one, many), index=values.index)


def _overdue(f: pd.DataFrame):
    gap, overdue, recency = f["mean_gap_days"], f["overdue_days"], f["recency_days"]
    text = pd.Series("no order for " + _n(recency) + " days", index=f.index)
    cadence = gap.notna()
    late = cadence & (overdue >= 1)
    text[cadence] = ("last order " + _n(recency) + " days ago, usually every " + _n(gap) + " days")[
        cadence
    ]
    text[late] = (_n(overdue) + " days overdue against a " + _n(gap) + "-day cadence")[late]
    single = f["orders_total"].round() == 1
    text[single] = ("one order so far, " + _n(recency) + " days ago")[single]
    return text, pd.Series(True, index=f.index)


def _frequency(f: pd.DataFrame):
    n = f["orders_365d"]
    text = _n(n) + _plural(n, " order", " orders") + " in the last year"
    text[n <= 0] = "no order in the last year"
    return text, pd.Series(True, index=f.index)


def _spend(f: pd.DataFrame):
    spend = f["spend_365d"]
    text = "spent " + _n(spend) + " in the last year"
    text[spend <= 0] = "no purchase in the last year"
    return text, pd.Series(True, index=f.index)


def _trend(f: pd.DataFrame):
    trend = f["spend_trend"]
    # (recent - earlier) / (recent + earlier) back to the percentage change on the earlier half-year.
    change = (2 * trend / (1 - trend).where(trend < 1)).mul(100)
    text = "spending down " + _n(-change.clip(upper=0)) + "% on the half-year before"
    return text, (trend < 0) & (trend > -1)


def _tenure(f: pd.DataFrame):
    return "a customer for only " + _n(f["tenure_days"]) + " days", f["tenure_days"] < 365


def _breadth(f: pd.DataFrame):
    n = f["category_breadth_365d"]
    text = "bought from " + _n(n) + _plural(n, " category", " categories") + " in the last year"
    return text, n.notna()


def _consumables(f: pd.DataFrame):
    n = f["consumables_due"]
    text = (
        _n(n)
        + _plural(n, " consumable", " consumables")
        + " due for replenishment, up to "
        + _n(f["consumables_overdue_days"])
        + " days past due"
    )
    return text, n > 0


def _discount(f: pd.DataFrame):
    share = f["discount_share_365d"]
    return _n(share * 100) + "% of the last year's spend was discounted", share > 0


def _returns(f: pd.DataFrame):
    n = f["returns_365d"]
    return _n(n) + _plural(n, " return", " returns") + " in the last year", n > 0


def _complaints(f: pd.DataFrame):
    recent, year = f["complaints_90d"], f["complaints_365d"]
    text = _n(year) + _plural(year, " complaint", " complaints") + " in the last year"
    text[recent > 0] = (_n(recent) + _plural(recent, " complaint", " complaints") + " in 90 days")[
        recent > 0
    ]
    return text, year > 0


def _late(f: pd.DataFrame):
    recent, year, worst = f["late_orders_90d"], f["late_orders_365d"], f["late_days_max_365d"]
    text = _n(year) + _plural(year, " late delivery", " late deliveries") + " in the last year"
    text[recent > 0] = (
        _n(recent) + _plural(recent, " late delivery", " late deliveries") + " in 90 days"
    )[recent > 0]
    text = text + ", up to " + _n(worst) + " days late"
    still_open = f["open_late_days"] > 0
    text[still_open] = (
        "an order is " + _n(f["open_late_days"]) + " days late and not yet delivered"
    )[still_open]
    return text, year > 0


def _stockouts(f: pd.DataFrame):
    n = f["backordered_lines_365d"]
    return _n(n) + _plural(
        n, " item", " items"
    ) + " out of stock when ordered in the last year", n > 0


def _survey(f: pd.DataFrame):
    last, change = f["survey_last"], f["survey_change"]
    text = "last survey score " + _n(last) + " of 10"
    fell = change < 0
    text[fell] = ("survey score fell from " + _n(last - change) + " to " + _n(last))[fell]
    return text, last.notna()


def _browsing(f: pd.DataFrame):
    recency = f["browse_recency_days"]
    return "last visit to the shop " + _n(recency) + " days ago", recency.notna()


def _consent(f: pd.DataFrame):
    return pd.Series("no marketing consent", index=f.index), f["consent_any"] == 0


CONCEPTS: dict[str, tuple[list[str], Text]] = {
    "overdue": (
        ["recency_days", "mean_gap_days", "gap_std_days", "overdue_days", "overdue_ratio"],
        _overdue,
    ),
    "frequency": (
        ["orders_30d", "orders_90d", "orders_180d", "orders_365d", "orders_total"],
        _frequency,
    ),
    "spend": (
        ["spend_30d", "spend_90d", "spend_180d", "spend_365d", "spend_total", "avg_order_value"],
        _spend,
    ),
    "trend": (["spend_trend", "orders_trend"], _trend),
    "tenure": (["tenure_days"], _tenure),
    "breadth": (["category_breadth_365d"], _breadth),
    "consumables": (["consumables_due", "consumables_overdue_days"], _consumables),
    "discount": (["discount_share_365d"], _discount),
    "returns": (["returns_365d", "returns_rate_365d"], _returns),
    "complaints": (["complaints_90d", "complaints_365d"], _complaints),
    "late": (
        [
            "late_orders_90d",
            "late_orders_365d",
            "late_days_max_365d",
            "late_days_mean_365d",
            "open_late_days",
        ],
        _late,
    ),
    "stockouts": (["backordered_lines_365d"], _stockouts),
    "survey": (["survey_last", "survey_change", "survey_count"], _survey),
    "browsing": (["browse_recency_days", "browse_events_30d"], _browsing),
    "consent": (["consent_any"], _consent),
}


# When a concept can be a reason at all (cheap, for every row); its words are built only for
# the rows where it is among the top reasons.
ALWAYS = lambda f: pd.Series(True, index=f.index)  # noqa: E731
VALID: dict[str, Callable[[pd.DataFrame], pd.Series]] = {
    "overdue": ALWAYS,
    "frequency": ALWAYS,
    "spend": ALWAYS,
    "trend": lambda f: (f["spend_trend"] < 0) & (f["spend_trend"] > -1),
    "tenure": lambda f: f["tenure_days"] < 365,
    "breadth": lambda f: f["category_breadth_365d"].notna(),
    "consumables": lambda f: f["consumables_due"] > 0,
    "discount": lambda f: f["discount_share_365d"] > 0,
    "returns": lambda f: f["returns_365d"] > 0,
    "complaints": lambda f: f["complaints_365d"] > 0,
    "late": lambda f: f["late_orders_365d"] > 0,
    "stockouts": lambda f: f["backordered_lines_365d"] > 0,
    "survey": lambda f: f["survey_last"].notna(),
    "browsing": lambda f: f["browse_recency_days"].notna(),
    "consent": lambda f: f["consent_any"] == 0,
}


def explain(
    features: pd.DataFrame, contributions: np.ndarray, feature_names: list[str], *, top: int = 3
) -> pd.Series:
    """Per customer, a JSON list of up to `top` plain-word reasons that raise the churn risk most."""
    names = list(CONCEPTS)
    membership = np.zeros((len(feature_names), len(names)), dtype=np.float32)
    for j, concept in enumerate(names):
        for feature in CONCEPTS[concept][0]:
            if feature in feature_names:
                membership[feature_names.index(feature), j] = 1.0
    by_concept = contributions[:, : len(feature_names)] @ membership
    for j, concept in enumerate(names):
        by_concept[~VALID[concept](features).to_numpy(bool), j] = -np.inf
    order = np.argsort(-by_concept, axis=1, kind="stable")[:, :top]
    chosen = np.take_along_axis(by_concept, order, axis=1)
    # The strongest push is always named when it raises the risk at all; the rest must matter.
    floor = np.array([1e-6] + [MIN_CONTRIBUTION] * (order.shape[1] - 1))
    named = chosen >= floor
    rows = np.arange(len(features))
    columns = [np.full(len(features), None, dtype=object) for _ in range(order.shape[1])]
    for j, concept in enumerate(names):
        where = (order == j) & named
        hit = where.any(axis=1)
        if not hit.any():
            continue
        text = CONCEPTS[concept][1](features.iloc[np.flatnonzero(hit)])[0].to_numpy(dtype=object)
        position = np.full(len(features), -1)
        position[hit] = np.arange(hit.sum())
        for rank in range(order.shape[1]):
            mask = where[:, rank]
            columns[rank][mask] = text[position[mask]]
    out = _json_lists(columns, len(rows)) if columns else np.array([], dtype=object)
    return pd.Series(out if len(rows) else [], index=features.index, dtype=object)


# Characters json.dumps would escape: with none of them, quoting and joining is the same text.
_ESCAPED = r"[^ !#-\[\]-~]"  # anything but printable ASCII other than " and \\


def _json_lists(columns: list[np.ndarray], size: int) -> np.ndarray:
    """Per row, `json.dumps` of the list of its texts that are not None, built column-wise."""
    text = pa.array([""] * size, type=pa.string())
    started = pa.array(np.zeros(size, dtype=bool))
    special = np.zeros(size, dtype=bool)
    for column in columns:
        values = pa.array(column, type=pa.string(), from_pandas=True)
        present = values.is_valid()
        special |= (
            pc.match_substring_regex(values, _ESCAPED)
            .fill_null(False)
            .to_numpy(zero_copy_only=False)
        )
        separator = pc.if_else(started, ', "', '"')
        quoted = pc.binary_join_element_wise(separator, values, '"', "")
        text = pc.binary_join_element_wise(text, pc.if_else(present, quoted, ""), "")
        started = pc.or_(started, present)
    out = pc.binary_join_element_wise("[", text, "]", "").to_numpy(zero_copy_only=False)
    out = np.array(out, dtype=object)
    for i in np.flatnonzero(special):
        out[i] = json.dumps([c[i] for c in columns if c[i] is not None])
    return out


def contribution_summary(contributions: np.ndarray, feature_names: list[str]) -> dict[str, float]:
    """Mean absolute contribution per concept: how much each story moves the scores overall."""
    mean_abs = np.abs(contributions[:, : len(feature_names)]).mean(axis=0)
    out = {}
    for concept, (members, _) in CONCEPTS.items():
        out[concept] = round(
            float(sum(mean_abs[feature_names.index(m)] for m in members if m in feature_names)), 4
        )
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))
