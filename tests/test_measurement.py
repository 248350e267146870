"""Measurement on simulated outcomes with a known effect."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from core.measurement import NOT_ENOUGH, measure, override_scorecard

BASE, LIFT, SPEND = 0.10, 0.03, 40.0


def simulate(
    n_per_arm: int, *, seed: int, campaigns: int = 1, segments=("new",), lift: float = LIFT
) -> pd.DataFrame:
    """Holdout converts at BASE, treatment at BASE + lift; a buyer spends SPEND on average."""
    rng = np.random.default_rng(seed)
    size = 2 * n_per_arm * campaigns
    holdout = np.tile(np.repeat([False, True], n_per_arm), campaigns)
    converted = rng.random(size) < np.where(holdout, BASE, BASE + lift)
    revenue = np.where(converted, rng.gamma(2.0, SPEND / 2.0, size), 0.0)
    return pd.DataFrame(
        {
            "campaign": np.repeat(np.arange(campaigns), 2 * n_per_arm),
            "week": "2026-W24",
            "segment": rng.choice(list(segments), size),
            "holdout": holdout,
            "converted": converted,
            "revenue": revenue,
        }
    )


def overall(results: pd.DataFrame) -> pd.DataFrame:
    return results[results.segment == "all"]


def test_the_interval_covers_the_known_effect():
    [row] = overall(measure(simulate(20_000, seed=1))).itertuples()
    assert row.conversion_uplift_low < LIFT < row.conversion_uplift_high
    assert row.revenue_uplift_low < LIFT * SPEND < row.revenue_uplift_high
    assert row.relative_uplift_low < LIFT / BASE < row.relative_uplift_high
    assert row.conversion_uplift_low > 0  # 20,000 a side is enough to see a 3-point lift
    assert row.enough_data and row.verdict == "more revenue than the holdout"
    assert row.incremental_revenue == pytest.approx(row.revenue_uplift * row.treated)


def test_intervals_cover_the_truth_about_as_often_as_they_claim():
    results = overall(measure(simulate(1_000, seed=7, campaigns=200)))
    conversion = results.conversion_uplift_low.lt(LIFT) & results.conversion_uplift_high.gt(LIFT)
    revenue = results.revenue_uplift_low.lt(LIFT * SPEND) & results.revenue_uplift_high.gt(
        LIFT * SPEND
    )
    assert 0.90 <= conversion.mean() <= 0.99
    assert 0.90 <= revenue.mean() <= 0.99


def test_no_effect_is_reported_as_unclear():
    [row] = overall(measure(simulate(5_000, seed=3, lift=0.0))).itertuples()
    assert row.conversion_uplift_low < 0 < row.conversion_uplift_high
    assert row.verdict == "no clear effect yet"


def test_a_small_sample_says_not_enough_data_yet():
    [row] = overall(measure(simulate(30, seed=2), min_per_group=100)).itertuples()
    assert not row.enough_data
    assert row.verdict.startswith(NOT_ENOUGH) and "30 treated, 30 holdout" in row.verdict
    assert np.isnan(row.conversion_uplift_low) and np.isnan(row.incremental_revenue)


def test_each_segment_is_measured_and_all_segments_together():
    results = measure(simulate(3_000, seed=4, segments=("new", "loyal")))
    assert sorted(results.segment) == ["all", "loyal", "new"]
    by_segment = results.set_index("segment")
    assert by_segment.loc["all", "treated"] == 3_000
    assert by_segment.loc[["new", "loyal"], "treated"].sum() == 3_000


def test_a_campaign_without_holdout_has_not_enough_data():
    frame = simulate(500, seed=5).query("not holdout")
    [row] = overall(measure(frame)).itertuples()
    assert row.holdout_customers == 0 and not row.enough_data


def test_missing_columns_are_named():
    with pytest.raises(ValueError, match="revenue"):
        measure(pd.DataFrame({"campaign": [1], "week": ["w"], "segment": ["s"]}))


def test_the_override_scorecard_compares_changed_with_unchanged_offers():
    frame = simulate(5_000, seed=6)
    # The "holdout" arm of the simulation plays the unchanged offers here.
    offers = frame.assign(overridden=~frame.holdout)
    [row] = override_scorecard(offers).itertuples()
    assert row.treated == 5_000 and row.holdout_customers == 5_000
    assert row.conversion_uplift_low < LIFT < row.conversion_uplift_high
