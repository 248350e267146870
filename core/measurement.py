"""Did it work? Treatment against holdout per campaign, week and segment, with honest intervals.

Intervals: the difference in conversion uses the normal approximation for two independent
proportions (unpooled Wald); relative uplift uses the delta method on the log of the ratio;
revenue per customer uses Welch's t interval for two means with unequal variances (scipy's
t quantiles, Welch-Satterthwaite degrees of freedom). All are closed-form and vectorised, so a
year of campaigns is measured in one pass. Below `min_per_group` customers in either arm the
figures are withheld and the verdict says "not enough data yet".
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

OUTCOME_COLUMNS = ["campaign", "week", "segment", "holdout", "converted", "revenue"]
ALL_SEGMENTS = "all"
MIN_PER_GROUP = 100
NOT_ENOUGH = "not enough data yet"

RESULT_COLUMNS = [
    "campaign",
    "week",
    "segment",
    "treated",
    "holdout_customers",
    "conversion_treated",
    "conversion_holdout",
    "conversion_uplift",
    "conversion_uplift_low",
    "conversion_uplift_high",
    "relative_uplift",
    "relative_uplift_low",
    "relative_uplift_high",
    "revenue_per_customer_treated",
    "revenue_per_customer_holdout",
    "revenue_uplift",
    "revenue_uplift_low",
    "revenue_uplift_high",
    "incremental_revenue",
    "incremental_revenue_low",
    "incremental_revenue_high",
    "enough_data",
    "verdict",
]


def _arm_stats(frame: pd.DataFrame, keys: list[str], arm: str) -> pd.DataFrame:
    """Per group and arm: customers, conversion rate, revenue mean and variance."""
    grouped = frame.groupby([*keys, arm], observed=True, sort=True)
    summary = grouped.agg(
        n=("converted", "size"),
        conversion=("converted", "mean"),
        revenue_mean=("revenue", "mean"),
        revenue_var=("revenue", "var"),
    )
    summary["revenue_var"] = summary["revenue_var"].fillna(0.0)
    return summary


def _compare(
    a: pd.DataFrame, b: pd.DataFrame, *, confidence: float, min_per_group: int
) -> pd.DataFrame:
    """Arm a against arm b (aligned frames from _arm_stats): differences and intervals."""
    n_a, n_b = a["n"].astype(float), b["n"].astype(float)
    p_a, p_b = a["conversion"], b["conversion"]
    z = stats.norm.ppf(0.5 + confidence / 2)
    out = pd.DataFrame(index=a.index)
    out["treated"], out["holdout_customers"] = a["n"], b["n"]
    out["conversion_treated"], out["conversion_holdout"] = p_a, p_b
    diff = p_a - p_b
    se = np.sqrt(p_a * (1 - p_a) / n_a + p_b * (1 - p_b) / n_b)
    out["conversion_uplift"] = diff
    out["conversion_uplift_low"], out["conversion_uplift_high"] = diff - z * se, diff + z * se

    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = p_a / p_b
        se_log = np.sqrt((1 - p_a) / (n_a * p_a) + (1 - p_b) / (n_b * p_b))
        defined = (p_a > 0) & (p_b > 0)
        out["relative_uplift"] = np.where(p_b > 0, ratio - 1, np.nan)
        out["relative_uplift_low"] = np.where(defined, ratio * np.exp(-z * se_log) - 1, np.nan)
        out["relative_uplift_high"] = np.where(defined, ratio * np.exp(z * se_log) - 1, np.nan)

    m_a, m_b = a["revenue_mean"], b["revenue_mean"]
    va, vb = a["revenue_var"] / n_a, b["revenue_var"] / n_b
    se_rev = np.sqrt(va + vb)
    with np.errstate(divide="ignore", invalid="ignore"):
        dof = (va + vb) ** 2 / (va**2 / (n_a - 1) + vb**2 / (n_b - 1))
    t = np.where(np.isfinite(dof) & (dof > 0), stats.t.ppf(0.5 + confidence / 2, dof), z)
    rev_diff = m_a - m_b
    out["revenue_per_customer_treated"], out["revenue_per_customer_holdout"] = m_a, m_b
    out["revenue_uplift"] = rev_diff
    out["revenue_uplift_low"] = rev_diff - t * se_rev
    out["revenue_uplift_high"] = rev_diff + t * se_rev
    # What treating the treated group added, against not treating them.
    for suffix in ("", "_low", "_high"):
        out[f"incremental_revenue{suffix}"] = out[f"revenue_uplift{suffix}"] * n_a

    enough = (n_a >= min_per_group) & (n_b >= min_per_group)
    out["enough_data"] = enough
    interval_columns = [c for c in out.columns if c.endswith(("_low", "_high", "uplift"))]
    interval_columns += ["incremental_revenue"]
    out.loc[~enough, interval_columns] = np.nan
    out["verdict"] = _verdicts(out, enough, min_per_group)
    return out


def _verdicts(out: pd.DataFrame, enough: pd.Series, min_per_group: int) -> list[str]:
    verdicts = []
    for row, ok in zip(out.itertuples(index=False), enough, strict=True):
        if not ok:
            verdicts.append(
                f"{NOT_ENOUGH} (needs {min_per_group} per group; has "
                f"{row.treated} treated, {row.holdout_customers} holdout)"
            )
        elif row.revenue_uplift_low > 0:
            verdicts.append("more revenue than the holdout")
        elif row.revenue_uplift_high < 0:
            verdicts.append("less revenue than the holdout")
        elif row.conversion_uplift_low > 0:
            verdicts.append("more conversions; revenue effect unclear")
        else:
            verdicts.append("no clear effect yet")
    return verdicts


def measure(
    outcomes: pd.DataFrame,
    *,
    min_per_group: int = MIN_PER_GROUP,
    confidence: float = 0.95,
) -> pd.DataFrame:
    """Treatment against holdout per campaign, week and segment (plus segment "all")."""
    missing = [c for c in OUTCOME_COLUMNS if c not in outcomes.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(missing)} missing from the outcomes.")
    if outcomes.empty:
        return pd.DataFrame(columns=RESULT_COLUMNS)
    frame = outcomes[OUTCOME_COLUMNS].copy()
    frame["converted"] = frame["converted"].astype(float)
    frame["revenue"] = frame["revenue"].astype(float).fillna(0.0)
    frame["holdout"] = frame["holdout"].astype(bool)
    frame["segment"] = frame["segment"].astype(str)
    everyone = frame.assign(segment=ALL_SEGMENTS)
    if (frame["segment"] != ALL_SEGMENTS).any():
        frame = pd.concat([frame, everyone], ignore_index=True)
    keys = ["campaign", "week", "segment"]
    arms = _arm_stats(frame, keys, "holdout").unstack("holdout")
    treated = _arm(arms, False)
    holdout = _arm(arms, True)
    result = _compare(treated, holdout, confidence=confidence, min_per_group=min_per_group)
    return result.reset_index()[RESULT_COLUMNS]


def _arm(arms: pd.DataFrame, value: bool) -> pd.DataFrame:
    """One arm's columns; an arm nobody is in counts as zero customers."""
    columns = ["n", "conversion", "revenue_mean", "revenue_var"]
    if value not in arms.columns.get_level_values(1):
        return pd.DataFrame({c: 0.0 for c in columns}, index=arms.index).assign(n=0)
    part = arms.xs(value, axis=1, level=1)[columns].copy()
    part["n"] = part["n"].fillna(0).astype(int)
    return part.fillna(0.0)


SCORECARD_COLUMNS = ["campaign", "overridden", "converted", "revenue"]


def override_scorecard(
    offers: pd.DataFrame, *, min_per_group: int = MIN_PER_GROUP, confidence: float = 0.95
) -> pd.DataFrame:
    """Offers people changed against comparable unchanged ones, per campaign (treated only).

    The columns keep measure()'s names: "treated" means the changed offers and "holdout" the
    unchanged ones, so an uplift above zero says the people did better than the model.
    """
    missing = [c for c in SCORECARD_COLUMNS if c not in offers.columns]
    if missing:
        raise ValueError(f"Required column(s) {', '.join(missing)} missing from the offers.")
    frame = offers[SCORECARD_COLUMNS].copy()
    frame["converted"] = frame["converted"].astype(float)
    frame["revenue"] = frame["revenue"].astype(float).fillna(0.0)
    frame["unchanged"] = ~frame["overridden"].astype(bool)
    if frame.empty:
        return pd.DataFrame(columns=["campaign", *RESULT_COLUMNS[3:]])
    arms = _arm_stats(frame, ["campaign"], "unchanged").unstack("unchanged")
    result = _compare(
        _arm(arms, False), _arm(arms, True), confidence=confidence, min_per_group=min_per_group
    )
    return result.reset_index()
