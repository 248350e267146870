"""Property tests: whatever the stock, pauses, consents and scores, the guardrails hold."""

from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from core import forecast, guardrails, holdout, proposal_data, proposals
from core.campaign_config import CampaignConfig
from core.pauses import PAUSE_COLUMNS

AS_OF = date(2026, 6, 14)
WEEK, _, SEND, WINDOW_END = proposals.week_bounds("2026-W25", AS_OF, today=AS_OF)
SKUS = ["A1", "A2", "A3", "C1", "C2", "B1"]
PRODUCTS = pd.DataFrame(
    {
        "sku": SKUS,
        "name": SKUS,
        "category": ["paint", "paint", "paint", "canvas", "canvas", "brushes"],
        "line": ["acrylic", "acrylic", "oil", "stretched", "stretched", "synthetic"],
        "supplier_id": ["S1", "S1", "S2", "S2", "S3", "S3"],
        "price": [40.0, 60.0, 30.0, 15.0, 18.0, 12.0],
        "unit_cost": [20.0, 30.0, 25.0, 6.0, 7.0, 11.0],
        "is_consumable": [True, True, True, False, False, False],
        "replenishment_days": [30, 30, 45, None, None, None],
        "active": [True] * 6,
    }
)
SUPPLIERS = pd.DataFrame(
    {"supplier_id": ["S1", "S2", "S3"], "lead_time_days": [14, 7, 21], "status": ["ok"] * 3}
)
CUSTOMERS = [f"c{i}" for i in range(40)]


@st.composite
def marketplaces(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n_orders = 160
    customers = rng.choice(CUSTOMERS, n_orders)
    days_ago = rng.integers(1, 400, n_orders)
    ordered = pd.to_datetime([AS_OF - timedelta(days=int(d)) for d in days_ago])
    promised = ordered + pd.Timedelta(days=3)
    late = pd.to_timedelta(
        np.where(rng.random(n_orders) < 0.1, rng.integers(2, 15, n_orders), 0), unit="D"
    )
    status = np.where(rng.random(n_orders) < 0.03, "cancelled", "delivered")
    orders = pd.DataFrame(
        {
            "order_id": [f"o{i}" for i in range(n_orders)],
            "customer_id": customers,
            "ordered_date": ordered,
            "promised_date": promised,
            "delivered_date": (promised + late).where(status == "delivered"),
            "status": status,
            "amount": rng.uniform(10, 120, n_orders).round(2),
        }
    )
    lines = pd.DataFrame(
        {
            "customer_id": customers,
            "order_id": orders["order_id"],
            "ordered_date": ordered,
            "sku": rng.choice(SKUS, n_orders),
            "quantity": rng.integers(1, 3, n_orders),
        }
    )
    lines = lines[orders["status"] != "cancelled"]
    # Shrinks towards well-stocked SKUs, so that simple examples still propose offers.
    shortfall = draw(st.lists(st.integers(0, 400), min_size=len(SKUS), max_size=len(SKUS)))
    on_hand = [400 - x for x in shortfall]
    arrivals = draw(
        st.lists(st.one_of(st.none(), st.integers(-2, 25)), min_size=len(SKUS), max_size=len(SKUS))
    )
    inbound = pd.DataFrame(
        [
            (s, 80, AS_OF + timedelta(days=d), None)
            for s, d in zip(SKUS, arrivals, strict=True)
            if d is not None
        ],
        columns=["sku", "quantity", "expected_date", "received_date"],
    )
    consent_rate = draw(st.sampled_from([0.9, 0.5, 0.0]))
    customer_frame = pd.DataFrame(
        {
            "customer_id": CUSTOMERS,
            "consent_email": rng.random(len(CUSTOMERS)) < consent_rate,
            "consent_sms": rng.random(len(CUSTOMERS)) < consent_rate / 2,
            "consent_post": False,
        }
    )
    probability = rng.random(len(CUSTOMERS))
    scores = pd.DataFrame(
        {
            "customer_id": CUSTOMERS,
            "churn_probability": probability,
            "risk_band": np.select(
                [probability < 0.3, probability < 0.6], ["low", "medium"], "high"
            ),
            "expected_value": rng.uniform(0, 400, len(CUSTOMERS)),
            "reasons": None,
        }
    )
    targets = {
        "sku": SKUS,
        "supplier": ["S1", "S2", "S3"],
        "category": ["paint", "canvas", "brushes"],
        "customer": CUSTOMERS[:10],
        "all": ["*"],
    }
    pairs = [(scope, t) for scope, ts in targets.items() if scope != "all" for t in ts]
    chosen = draw(st.lists(st.sampled_from(pairs), max_size=3, unique=True))
    # Rarely everything is paused (the last value shrinks away from it).
    if draw(st.integers(0, 9)) == 9:
        chosen.append(("all", "*"))
    pause_frame = pd.DataFrame(
        [(i, scope, target, "test", None) for i, (scope, target) in enumerate(chosen)],
        columns=PAUSE_COLUMNS,
    )
    data = proposal_data.ProposalData(
        customers=customer_frame,
        products=PRODUCTS,
        suppliers=SUPPLIERS,
        stock=pd.DataFrame({"sku": SKUS, "on_hand": on_hand}),
        inbound=inbound,
        orders=orders,
        lines=lines,
        scores=scores,
        outcomes=pd.DataFrame(columns=["campaign_type", "context", "converted"]),
    )
    config = CampaignConfig(
        contact_cap_per_week=draw(st.integers(1, 2)),
        weekly_discount_budget=draw(st.sampled_from([10_000.0, 15.0, 3.0, 0.0])),
        holdout_share=draw(st.sampled_from([0.0, 0.1, 0.3])),
        cross_sell={"min_support": 1, "min_lift": 0.0},
    )
    return data, pause_frame, config


NO_SETTLED = pd.DataFrame(
    columns=[
        "campaign_id",
        "customer_id",
        "campaign_type",
        "holdout",
        "expected_cost",
        "sku",
        "expected_units",
    ]
)


def _plan(data, pause_frame, config):
    return proposals.plan(
        data,
        week=WEEK,
        as_of=AS_OF,
        send_date=SEND,
        window_end=WINDOW_END,
        config=config,
        active_pauses=pause_frame,
        settled=NO_SETTLED,
    )


def _no_offer_features_a_paused_sku_supplier_category_or_customer(case, result):
    _data, pause_frame, _config = case
    offers = result.offers
    if (pause_frame["scope"] == "all").any():
        assert offers.empty
        return
    paused = {
        scope: set(pause_frame.loc[pause_frame["scope"] == scope, "target"])
        for scope in ("sku", "supplier", "category", "customer")
    }
    info = PRODUCTS.set_index("sku")
    assert not offers["customer_id"].isin(paused["customer"]).any()
    featured = offers["sku"].dropna()
    assert not featured.isin(paused["sku"]).any()
    assert not featured.map(info["supplier_id"]).isin(paused["supplier"]).any()
    assert not featured.map(info["category"]).isin(paused["category"]).any()


def _no_offer_features_an_out_of_stock_or_under_covered_sku(case, result):
    data, _pause_frame, config = case
    offers = result.offers
    featured = offers[offers["sku"].notna()]
    demand = forecast.daily_demand(
        data.lines,
        as_of=AS_OF,
        target=SEND,
        products=PRODUCTS,
        window_days=config.forecast_window_days,
    )
    for send_date, group in featured.groupby("send_date"):
        cover = forecast.coverage(
            products=PRODUCTS,
            suppliers=SUPPLIERS,
            stock=data.stock,
            inbound=data.inbound,
            demand=demand,
            as_of=AS_OF,
            send_date=send_date,
        ).set_index("sku")
        used = cover.loc[group["sku"].unique()]
        assert used["covered"].all() and not used["out_of_stock"].any()
        # Treated offers never expect to pull more than the SKU can spare.
        treated = group[~group["holdout"]]
        pull = treated.groupby("sku")["expected_units"].sum()
        assert (pull <= cover.loc[pull.index, "spare_units"] + 1e-6).all()


def _contact_cap_budget_margin_and_consent_always_hold(case, result):
    data, _pause_frame, config = case
    offers = result.offers
    assert (offers.groupby("customer_id").size() <= config.contact_cap_per_week).all()
    treated = offers[~offers["holdout"]]
    assert treated["expected_cost"].sum() <= config.weekly_discount_budget + 1e-6
    with_sku = offers[offers["sku"].notna() & (offers["discount_pct"] > 0)]
    info = PRODUCTS.set_index("sku")
    ceiling = guardrails.max_discount_pct(
        with_sku["sku"].map(info["price"]),
        with_sku["sku"].map(info["unit_cost"]),
        config.margin_floor,
    )
    assert (with_sku["discount_pct"] <= ceiling).all()
    consent = data.customers.set_index("customer_id")
    for channel, group in offers.groupby("channel"):
        assert consent.loc[group["customer_id"], f"consent_{channel}"].all()


def _service_recovery_never_receives_an_upsell(case, result):
    _data, _pause_frame, _config = case
    recovery = result.candidates.loc[
        result.candidates["campaign_type"] == "service_recovery", "customer_id"
    ]
    theirs = result.offers[result.offers["customer_id"].isin(recovery)]
    assert (theirs["campaign_type"] == "service_recovery").all()
    sr = result.offers[result.offers["campaign_type"] == "service_recovery"]
    assert sr["sku"].isna().all() and (sr["discount_pct"] == 0).all()


def _holdout_is_the_stable_hash_and_reruns_give_the_same_plan(case, result):
    data, pause_frame, config = case
    first = result
    again = _plan(data, pause_frame, config)
    pd.testing.assert_frame_equal(
        first.offers.reset_index(drop=True), again.offers.reset_index(drop=True)
    )
    for frame in (first.offers, first.suppressed):
        if frame.empty:
            continue
        expected = holdout.is_holdout(
            frame["campaign_type"] + f":{WEEK}", frame["customer_id"], share=config.holdout_share
        )
        assert (frame["holdout"].astype(bool).to_numpy() == expected).all()


def _every_suppression_has_a_reason_in_words(case, result):
    _data, _pause_frame, _config = case
    suppressed = result.suppressed
    assert suppressed["reason"].map(lambda r: isinstance(r, str) and len(r) > 5).all()


PROPERTY = settings(max_examples=6, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@PROPERTY
@given(marketplaces())
def test_no_offer_features_a_paused_sku_supplier_category_or_customer(case):
    _no_offer_features_a_paused_sku_supplier_category_or_customer(case, _plan(*case))


@PROPERTY
@given(marketplaces())
def test_no_offer_features_an_out_of_stock_or_under_covered_sku(case):
    _no_offer_features_an_out_of_stock_or_under_covered_sku(case, _plan(*case))


@PROPERTY
@given(marketplaces())
def test_contact_cap_budget_margin_and_consent_always_hold(case):
    _contact_cap_budget_margin_and_consent_always_hold(case, _plan(*case))


@PROPERTY
@given(marketplaces())
def test_service_recovery_never_receives_an_upsell(case):
    _service_recovery_never_receives_an_upsell(case, _plan(*case))


@PROPERTY
@given(marketplaces())
def test_holdout_is_the_stable_hash_and_reruns_give_the_same_plan(case):
    _holdout_is_the_stable_hash_and_reruns_give_the_same_plan(case, _plan(*case))


@PROPERTY
@given(marketplaces())
def test_every_suppression_has_a_reason_in_words(case):
    _every_suppression_has_a_reason_in_words(case, _plan(*case))


@pytest.mark.slow
@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(marketplaces())
def test_every_guardrail_holds_on_many_marketplaces(case):
    result = _plan(*case)
    _no_offer_features_a_paused_sku_supplier_category_or_customer(case, result)
    _no_offer_features_an_out_of_stock_or_under_covered_sku(case, result)
    _contact_cap_budget_margin_and_consent_always_hold(case, result)
    _service_recovery_never_receives_an_upsell(case, result)
    _holdout_is_the_stable_hash_and_reruns_give_the_same_plan(case, result)
    _every_suppression_has_a_reason_in_words(case, result)
