import numpy as np
import pandas as pd
import pytest

from core import bandit

PRIORS = {"win_back": 0.05, "loyalty": 0.05, "cross_sell": 0.05}


def _candidates(n, arms, context="regular|high|mid"):
    return pd.DataFrame(
        [(f"c{i}", arm, context) for i in range(n) for arm in arms],
        columns=["customer_id", "campaign_type", "context"],
    )


def _history(rates, n=400, context="regular|high|mid"):
    rows = []
    for arm, rate in rates.items():
        conversions = int(rate * n)
        rows += [(arm, context, True)] * conversions + [(arm, context, False)] * (n - conversions)
    return pd.DataFrame(rows, columns=bandit.HISTORY_COLUMNS)


def test_contexts_combine_segment_band_and_value():
    facts = pd.DataFrame(
        {
            "n_orders": [1, 3, 8],
            "risk_band": ["high", None, "low"],
            "expected_value": [10.0, 100.0, 900.0],
        }
    )
    assert bandit.contexts(facts).tolist() == [
        "new|high|low",
        "regular|unscored|mid",
        "loyal|low|high",
    ]


def test_one_choice_per_customer_among_its_own_arms():
    candidates = pd.concat(
        [
            _candidates(50, ["win_back", "loyalty"]),
            _candidates(1, ["cross_sell"]).assign(customer_id="solo"),
        ]
    )
    model = bandit.cold_start(priors=PRIORS, strength=20)
    chosen = bandit.choose(candidates, model, rng=np.random.default_rng(1), exploration_floor=0.1)
    assert chosen["customer_id"].is_unique and len(chosen) == 51
    allowed = set(zip(candidates["customer_id"], candidates["campaign_type"], strict=True))
    assert set(zip(chosen["customer_id"], chosen["campaign_type"], strict=True)) <= allowed
    solo = chosen.set_index("customer_id").loc["solo"]
    assert solo["campaign_type"] == "cross_sell" and solo["propensity"] == 1.0


def test_cold_start_explores_evenly():
    model = bandit.cold_start(priors=PRIORS, strength=20)
    chosen = bandit.choose(
        _candidates(2000, ["win_back", "loyalty"]),
        model,
        rng=np.random.default_rng(2),
        exploration_floor=0.05,
    )
    share = (chosen["campaign_type"] == "loyalty").mean()
    assert 0.35 < share < 0.65


def test_learns_the_better_arm_but_keeps_exploring():
    model = bandit.fit(_history({"win_back": 0.02, "loyalty": 0.20}), priors=PRIORS, strength=20)
    chosen = bandit.choose(
        _candidates(2000, ["win_back", "loyalty"]),
        model,
        rng=np.random.default_rng(3),
        exploration_floor=0.1,
    )
    share = (chosen["campaign_type"] == "loyalty").mean()
    assert 0.9 < share < 0.99
    assert chosen.loc[chosen["campaign_type"] == "win_back", "propensity"].min() >= 0.05


def test_propensity_matches_the_observed_choice_rate():
    model = bandit.fit(
        _history({"win_back": 0.08, "loyalty": 0.10}, n=100), priors=PRIORS, strength=20
    )
    chosen = bandit.choose(
        _candidates(5000, ["win_back", "loyalty"]),
        model,
        rng=np.random.default_rng(4),
        exploration_floor=0.05,
    )
    for _arm, group in chosen.groupby("campaign_type"):
        assert group["propensity"].iloc[0] == pytest.approx(len(group) / len(chosen), abs=0.03)


def test_unseen_context_borrows_the_arms_pooled_rate():
    model = bandit.fit(_history({"loyalty": 0.30}), priors=PRIORS, strength=20)
    mean = model.mean(pd.Series(["loyalty", "win_back"]), pd.Series(["new|low|low"] * 2))
    assert mean[0] == pytest.approx((0.05 * 20 + 120) / 420)
    assert mean[1] == pytest.approx(0.05)


def test_same_seed_same_choices():
    model = bandit.cold_start(priors=PRIORS, strength=20)
    candidates = _candidates(300, ["win_back", "loyalty", "cross_sell"])
    a = bandit.choose(candidates, model, rng=np.random.default_rng(9), exploration_floor=0.05)
    b = bandit.choose(candidates, model, rng=np.random.default_rng(9), exploration_floor=0.05)
    pd.testing.assert_frame_equal(a, b)


def test_alternatives_name_the_other_arms():
    model = bandit.cold_start(priors=PRIORS, strength=20)
    chosen = bandit.choose(
        _candidates(1, ["win_back", "loyalty"]),
        model,
        rng=np.random.default_rng(5),
        exploration_floor=0.05,
    )
    row = chosen.iloc[0]
    assert row["alternatives"] == ({"win_back", "loyalty"} - {row["campaign_type"]}).pop()
