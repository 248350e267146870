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


def test_values_weigh_the_draws_towards_net_value():
    # Loyalty converts a little better, but one win-back conversion brings four times as much.
    model = bandit.fit(_history({"win_back": 0.10, "loyalty": 0.12}), priors=PRIORS, strength=20)
    candidates = _candidates(2000, ["win_back", "loyalty"])
    by_rate = bandit.choose(candidates, model, rng=np.random.default_rng(6), exploration_floor=0.05)
    valued = candidates.assign(
        value=np.where(candidates["campaign_type"] == "win_back", 40.0, 10.0)
    )
    by_value = bandit.choose(valued, model, rng=np.random.default_rng(6), exploration_floor=0.05)
    assert (by_rate["campaign_type"] == "loyalty").mean() > 0.6
    assert (by_value["campaign_type"] == "win_back").mean() > 0.9
    # The propensity is still the probability of the logged choice.
    for _arm, group in by_value.groupby("campaign_type"):
        assert group["propensity"].iloc[0] == pytest.approx(len(group) / len(by_value), abs=0.03)


def test_equal_or_missing_values_leave_the_choice_to_conversion():
    model = bandit.fit(_history({"win_back": 0.02, "loyalty": 0.20}), priors=PRIORS, strength=20)
    candidates = _candidates(500, ["win_back", "loyalty"])
    plain = bandit.choose(candidates, model, rng=np.random.default_rng(7), exploration_floor=0.1)
    for value in (25.0, np.nan):
        same = bandit.choose(
            candidates.assign(value=value),
            model,
            rng=np.random.default_rng(7),
            exploration_floor=0.1,
        )
        pd.testing.assert_frame_equal(same.drop(columns="value"), plain)


def test_a_row_without_value_counts_as_the_customers_best():
    model = bandit.fit(_history({"win_back": 0.02, "loyalty": 0.20}), priors=PRIORS, strength=20)
    candidates = _candidates(1000, ["win_back", "loyalty"])
    # Loyalty has no price to go by; win-back's value does not make it the better offer.
    valued = candidates.assign(
        value=np.where(candidates["campaign_type"] == "win_back", 30.0, np.nan)
    )
    chosen = bandit.choose(valued, model, rng=np.random.default_rng(8), exploration_floor=0.1)
    assert (chosen["campaign_type"] == "loyalty").mean() > 0.85


def test_offer_choice_weighs_each_offer_by_its_net_value_per_conversion():
    from core import offer_choice
    from core.campaign_config import CampaignConfig

    config = CampaignConfig()
    rows = pd.DataFrame(
        {
            "sku": ["A", "B", None],
            "price": [40.0, 0.99, 0.0],
            "discount_pct": [20.0, 10.0, 0.0],
            "credit_amount": [0.0, 0.0, 10.0],
        }
    )
    value = offer_choice.conversion_value(rows, config)
    assert value.iloc[:2].tolist() == pytest.approx([32.0, 0.891])
    assert np.isnan(value.iloc[2])  # no featured product: no price to go by
    # A 99-cent SKU that converts better does not win over a 40.00 one.
    model = bandit.fit(_history({"win_back": 0.10, "loyalty": 0.14}), priors=PRIORS, strength=20)
    candidates = _candidates(1000, ["win_back", "loyalty"]).assign(
        sku=lambda f: np.where(f["campaign_type"] == "win_back", "A", "B"),
        price=lambda f: np.where(f["campaign_type"] == "win_back", 40.0, 0.99),
        discount_pct=lambda f: np.where(f["campaign_type"] == "win_back", 20.0, 10.0),
        credit_amount=0.0,
    )
    chosen = offer_choice.choose(
        candidates, model, config, np.random.default_rng(3), pd.Series(dtype=float)
    )
    assert "value" not in chosen and chosen["customer_id"].is_unique
    assert (chosen["campaign_type"] == "win_back").mean() > 0.9


@pytest.mark.parametrize("big_key", [False, True])
def test_packed_grouping_matches_numpy_unique_of_rows(big_key):
    rng = np.random.default_rng(3)
    key = rng.integers(0, 40, 5_000).astype(np.int64)
    if big_key:  # too wide to pack: the plain row-wise unique answers
        key += 1 << 40
    steps = rng.integers(0, bandit.VALUE_RANGE + 1, (5_000, 7)).astype(np.int64)
    steps[rng.random(steps.shape) < 0.7] = 0  # most rows alike, as in real groups
    rows, group = np.unique(np.c_[key, steps], axis=0, return_inverse=True)
    keys, steps_of, group_of = bandit._unique_rows(key, steps)
    np.testing.assert_array_equal(keys, rows[:, 0])
    np.testing.assert_array_equal(steps_of, rows[:, 1:])
    np.testing.assert_array_equal(group_of, group.ravel())


def test_no_arm_left_while_customers_hold_decided_offers_chooses_nothing():
    """Every candidate screened out, some customers already contacted this week: an empty
    choice, not an error (the empty ids would not subtract from the cap)."""
    from core import offer_choice
    from core.campaign_config import CampaignConfig

    model = bandit.fit(_history({"win_back": 0.10}), priors=PRIORS, strength=20)
    none_left = (
        _candidates(3, ["win_back"])
        .iloc[0:0]
        .assign(sku=pd.Series(dtype="str"), price=0.0, discount_pct=0.0, credit_amount=0.0)
    )
    contacted = pd.Series([1], index=pd.Index(["c04"], dtype="str"))
    chosen = offer_choice.choose(
        none_left, model, CampaignConfig(), np.random.default_rng(3), contacted
    )
    assert chosen.empty
