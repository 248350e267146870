"""Training: rolling origins that never look past as_of, determinism, baselines, a plain log."""

from __future__ import annotations

from datetime import date, timedelta

import numpy as np
import pytest

from core import training
from core.errors import InvalidInput
from tests.churn_data import END, generate


@pytest.fixture(scope="module")
def plain_log():
    return generate(3000, seed=11)


@pytest.fixture(scope="module")
def trained(plain_log):
    return training.train(plain_log, as_of=END, seed=3, nthread=1)


def test_no_label_looks_past_as_of():
    plan = training.plan_origins(
        date(2023, 1, 1), END, horizon_days=90, train_snapshots=4, step_days=30
    )
    assert plan.test + timedelta(days=90) <= END
    assert plan.validation + timedelta(days=90) <= plan.test
    assert all(origin + timedelta(days=90) <= plan.validation for origin in plan.train)


def test_too_short_a_history_is_refused_in_plain_words():
    with pytest.raises(InvalidInput, match="Not enough order history"):
        training.plan_origins(date(2025, 3, 1), END, horizon_days=90)


def test_labels_mark_customers_without_a_purchase_in_the_horizon(plain_log):
    snapshot = training.make_snapshot(plain_log, date(2024, 6, 1), 90)
    orders = plain_log["orders"]
    window = orders[
        (orders["ordered_date"] > date(2024, 6, 1)) & (orders["ordered_date"] <= date(2024, 8, 30))
    ]
    bought = snapshot.features.index.isin(window["customer_id"])
    assert np.array_equal(snapshot.label, (~bought).astype(int))


def test_the_same_seed_gives_the_same_model(plain_log, trained):
    again = training.train(plain_log, as_of=END, seed=3, nthread=1)
    assert again.metrics == trained.metrics
    features = training.make_snapshot(plain_log, END - timedelta(days=90), 90).features
    assert np.array_equal(
        again.model.churn_probability(features), trained.model.churn_probability(features)
    )


def test_every_baseline_is_scored_on_validation_and_test(trained):
    for split in ("validation", "test"):
        assert set(trained.metrics[split]) == {"model", "recency", "rfm", "logistic", "bgnbd"}
        for figures in trained.metrics[split].values():
            assert {"auc", "pr_auc", "brier"} <= set(figures)
    assert trained.metrics["validation_calibration"]
    assert trained.metrics["calibration_check"]["method"] in {"none", "isotonic"}


def test_on_a_plain_transaction_log_the_model_is_no_worse_than_bgnbd(trained):
    test = trained.metrics["test"]
    assert test["model"]["auc"] >= test["bgnbd"]["auc"]
    assert test["model"]["brier"] <= test["bgnbd"]["brier"]


def test_beats_baselines_needs_a_better_auc_and_brier_than_each():
    figures = {"model": {"auc": 0.8, "brier": 0.15}, "recency": {"auc": 0.7, "brier": 0.2}}
    assert training.beats_every_baseline(figures)
    figures["rfm"] = {"auc": 0.7, "brier": 0.14}
    assert not training.beats_every_baseline(figures)


def test_isotonic_calibration_is_chosen_only_when_it_helps_out_of_fold():
    rng = np.random.default_rng(0)
    truth = rng.random(4000)
    y = (rng.random(4000) < truth).astype(int)
    calibration, check = training.choose_calibration(y, truth, seed=0)
    assert calibration is None and check["method"] == "none"
    calibration, check = training.choose_calibration(y, truth**3, seed=0)
    assert calibration is not None and check["method"] == "isotonic"


def test_a_large_history_trains_on_a_seeded_sample_of_customers(plain_log):
    sample = training.sample_customers(plain_log, 500, seed=2)
    again = training.sample_customers(plain_log, 500, seed=2)
    assert sample["orders"]["customer_id"].nunique() == 500
    assert sample["orders"].equals(again["orders"])
    assert training.sample_customers(plain_log, 10_000, seed=2) is plain_log
