from datetime import date, timedelta

import pandas as pd
import pytest

from core import guardrails
from core.campaign_config import CampaignConfig
from core.pauses import PAUSE_COLUMNS

AS_OF = date(2026, 6, 14)
SEND = date(2026, 6, 15)
WINDOW_END = date(2026, 6, 21)

PRODUCTS = pd.DataFrame(
    {
        "sku": ["A1", "A2", "C1", "B1"],
        "category": ["paint", "paint", "canvas", "brushes"],
        "line": ["acrylic", "acrylic", "stretched", "synthetic"],
        "supplier_id": ["S1", "S1", "S2", "S2"],
        "price": [40.0, 60.0, 15.0, 12.0],
        "unit_cost": [20.0, 30.0, 6.0, 11.0],
        "active": [True, True, True, True],
    }
)
SUPPLIERS = pd.DataFrame({"supplier_id": ["S1", "S2"], "lead_time_days": [14, 7]})
INBOUND_COLUMNS = ["sku", "quantity", "expected_date", "received_date"]


def _pauses(*rows):
    return pd.DataFrame(
        [(i, s, t, r, None) for i, (s, t, r) in enumerate(rows)], columns=PAUSE_COLUMNS
    )


def _skus(on_hand=None, inbound=(), pauses=None, demand=1.0, watch=None):
    stock = {"A1": 500, "A2": 500, "C1": 500, "B1": 500}
    stock.update(on_hand or {})
    return guardrails.sku_status(
        watch=watch,
        products=PRODUCTS,
        suppliers=SUPPLIERS,
        stock=pd.DataFrame({"sku": list(stock), "on_hand": list(stock.values())}),
        inbound=pd.DataFrame(list(inbound), columns=INBOUND_COLUMNS),
        demand=pd.DataFrame({"sku": list(stock), "daily_demand": demand}),
        pauses=pauses if pauses is not None else _pauses(),
        as_of=AS_OF,
        send_date=SEND,
        window_end=WINDOW_END,
    )


def _candidates(*rows):
    frame = pd.DataFrame(rows, columns=["customer_id", "campaign_type", "sku", "discount_pct"])
    frame["credit_amount"] = 0.0
    frame["send_date"] = SEND
    frame["holdout"] = False
    return frame


CUSTOMERS = pd.DataFrame(
    {
        "customer_id": ["c1", "c2", "c3"],
        "consent_email": [True, False, False],
        "consent_sms": [False, True, False],
        "consent_post": [False, False, False],
    }
)


def _screen(candidates, skus=None, pauses=None, config=None):
    return guardrails.screen(
        candidates,
        skus=skus if skus is not None else _skus(pauses=pauses),
        customers=CUSTOMERS,
        pauses=pauses if pauses is not None else _pauses(),
        config=config or CampaignConfig(),
    )


def test_offer_on_well_stocked_sku_is_kept():
    kept, suppressed = _screen(_candidates(("c1", "cross_sell", "C1", 10.0)))
    assert kept["sku"].tolist() == ["C1"] and suppressed.empty
    assert kept["channel"].tolist() == ["email"]


def test_paused_sku_is_suppressed_with_its_reason():
    pauses = _pauses(("sku", "C1", "supplier delay"))
    kept, suppressed = _screen(_candidates(("c1", "cross_sell", "C1", 10.0)), pauses=pauses)
    assert kept.empty
    assert suppressed["reason"].tolist() == ["sku C1 is paused: supplier delay"]


@pytest.mark.parametrize(("scope", "target"), [("supplier", "S2"), ("category", "canvas")])
def test_paused_supplier_or_category_is_suppressed(scope, target):
    pauses = _pauses((scope, target, "disruption"))
    kept, suppressed = _screen(_candidates(("c1", "cross_sell", "C1", 10.0)), pauses=pauses)
    assert kept.empty and f"{scope} {target} is paused" in suppressed["reason"].iloc[0]


def test_paused_customer_gets_nothing():
    pauses = _pauses(("customer", "c1", "open complaint"))
    kept, suppressed = _screen(_candidates(("c1", "service_recovery", None, 0.0)), pauses=pauses)
    assert kept.empty and "customer c1 is paused" in suppressed["reason"].iloc[0]


def test_pause_all_stops_everything():
    pauses = _pauses(("all", "*", "stocktake"))
    kept, suppressed = _screen(
        _candidates(("c1", "cross_sell", "C1", 10.0), ("c2", "service_recovery", None, 0.0)),
        pauses=pauses,
    )
    assert kept.empty and set(suppressed["reason"]) == {"all offers are paused: stocktake"}


def test_no_consent_means_no_offer():
    kept, suppressed = _screen(_candidates(("c3", "cross_sell", "C1", 10.0)))
    assert kept.empty and "consented" in suppressed["reason"].iloc[0]


def test_channel_follows_consent_and_preference():
    kept, _ = _screen(_candidates(("c2", "cross_sell", "C1", 10.0)))
    assert kept["channel"].tolist() == ["sms"]


def test_out_of_stock_sku_without_substitute_is_suppressed():
    skus = _skus(on_hand={"C1": 0})
    kept, suppressed = _screen(_candidates(("c1", "cross_sell", "C1", 10.0)), skus=skus)
    assert kept.empty and suppressed["reason"].iloc[0] == "out of stock"


def test_under_covered_sku_is_suppressed():
    # C1: 5 units, 1 a day, lead time 7 days and no inbound: short.
    skus = _skus(on_hand={"C1": 5})
    kept, suppressed = _screen(_candidates(("c1", "cross_sell", "C1", 10.0)), skus=skus)
    assert kept.empty and "will not cover demand" in suppressed["reason"].iloc[0]


def test_short_sku_gets_its_approved_substitute():
    skus = _skus(on_hand={"A1": 3})
    kept, suppressed = _screen(_candidates(("c1", "replenishment", "A1", 5.0)), skus=skus)
    assert suppressed.empty
    row = kept.iloc[0]
    assert row["sku"] == "A2" and row["original_sku"] == "A1"
    assert row["stock_note"].startswith("substitute A2 for A1")


def test_short_sku_restocked_within_the_window_is_timed_after_the_arrival():
    arrival = date(2026, 6, 18)
    skus = _skus(on_hand={"C1": 2}, inbound=[("C1", 200, arrival, None)])
    kept, suppressed = _screen(_candidates(("c1", "cross_sell", "C1", 10.0)), skus=skus)
    assert suppressed.empty
    assert kept["send_date"].tolist() == [arrival]
    assert "after the restock" in kept["stock_note"].iloc[0]


def test_restock_after_the_window_does_not_save_the_offer():
    skus = _skus(on_hand={"C1": 2}, inbound=[("C1", 200, WINDOW_END + timedelta(days=5), None)])
    kept, _ = _screen(_candidates(("c1", "cross_sell", "C1", 10.0)), skus=skus)
    assert kept.empty


def test_discount_is_lowered_to_the_margin_floor():
    # A1: price 40, cost 20; floor 20% -> at most 37% off.
    kept, _ = _screen(_candidates(("c1", "win_back", "A1", 50.0)))
    assert kept["discount_pct"].tolist() == [37.0]
    assert "lowered from 50%" in kept["margin_note"].iloc[0]


def test_discount_on_thin_margin_sku_is_suppressed():
    # B1: price 12, cost 11: no discount keeps a 20% margin.
    kept, suppressed = _screen(_candidates(("c1", "loyalty", "B1", 10.0)))
    assert kept.empty and "margin below 20%" in suppressed["reason"].iloc[0]


def test_holdout_rows_are_screened_like_treatment():
    pauses = _pauses(("sku", "C1", "late"))
    candidates = _candidates(("c1", "cross_sell", "C1", 10.0), ("c2", "cross_sell", "C1", 10.0))
    candidates["holdout"] = [False, True]
    kept, suppressed = _screen(candidates, pauses=pauses)
    assert kept.empty and suppressed["holdout"].tolist() == [False, True]


def _chosen(rows):
    frame = pd.DataFrame(
        rows,
        columns=[
            "customer_id",
            "campaign_type",
            "sku",
            "holdout",
            "priority",
            "expected_units",
            "expected_cost",
        ],
    )
    return frame


def test_contact_cap_keeps_the_highest_priority_offer():
    chosen = _chosen(
        [
            ("c1", "win_back", "A1", False, 1.0, 0.1, 1.0),
            ("c1", "loyalty", "A2", False, 2.0, 0.1, 1.0),
        ]
    )
    kept, suppressed = guardrails.limit(
        chosen, spare_units=pd.Series(dtype=float), config=CampaignConfig()
    )
    assert kept["campaign_type"].tolist() == ["loyalty"]
    assert "contact cap" in suppressed["reason"].iloc[0]


def test_customers_already_contacted_this_week_get_nothing_more():
    chosen = _chosen([("c1", "win_back", "A1", False, 1.0, 0.1, 1.0)])
    kept, _ = guardrails.limit(
        chosen,
        spare_units=pd.Series(dtype=float),
        config=CampaignConfig(),
        already_contacted=pd.Series({"c1": 1}),
    )
    assert kept.empty


def test_stock_impact_caps_the_audience():
    chosen = _chosen([(f"c{i}", "cross_sell", "C1", False, 10.0 - i, 0.5, 1.0) for i in range(6)])
    kept, suppressed = guardrails.limit(
        chosen, spare_units=pd.Series({"C1": 2.0}), config=CampaignConfig()
    )
    assert kept["customer_id"].tolist() == ["c0", "c1", "c2", "c3"]
    assert "expected pull would exceed the 2 units C1 can spare" in suppressed["reason"].iloc[0]


def test_budget_holds_and_holdout_costs_nothing():
    config = CampaignConfig(weekly_discount_budget=2.5)
    chosen = _chosen(
        [
            ("c1", "win_back", "A1", False, 3.0, 0.1, 1.0),
            ("c2", "win_back", "A1", True, 2.5, 0.1, 1.0),
            ("c3", "win_back", "A1", False, 2.0, 0.1, 1.0),
            ("c4", "win_back", "A1", False, 1.0, 0.1, 1.0),
        ]
    )
    kept, suppressed = guardrails.limit(chosen, spare_units=pd.Series({"A1": 100.0}), config=config)
    assert kept["customer_id"].tolist() == ["c1", "c2", "c3"]
    assert "budget" in suppressed["reason"].iloc[0]


def test_max_discount_pct():
    result = guardrails.max_discount_pct(pd.Series([40.0, 12.0]), pd.Series([20.0, 11.0]), 0.2)
    assert result.tolist() == [37.0, 0.0]


def _three_paints(on_hand):
    products = pd.concat(
        [
            PRODUCTS,
            pd.DataFrame(
                {
                    "sku": ["A3"],
                    "category": ["paint"],
                    "line": ["acrylic"],
                    "supplier_id": ["S1"],
                    "price": [50.0],
                    "unit_cost": [25.0],
                    "active": [True],
                }
            ),
        ],
        ignore_index=True,
    )
    stock = {"A1": 500, "A2": 500, "A3": 300, "C1": 500, "B1": 500, **on_hand}
    return guardrails.sku_status(
        products=products,
        suppliers=SUPPLIERS,
        stock=pd.DataFrame({"sku": list(stock), "on_hand": list(stock.values())}),
        inbound=pd.DataFrame([], columns=INBOUND_COLUMNS),
        demand=pd.DataFrame({"sku": list(stock), "daily_demand": 1.0}),
        pauses=_pauses(),
        as_of=AS_OF,
        send_date=SEND,
        window_end=WINDOW_END,
    )


def test_substitute_the_customer_already_owns_gives_way_to_one_they_do_not():
    skus = _three_paints({"A1": 3})  # A2 has the most spare stock, then A3
    candidates = _candidates(("c1", "replenishment", "A1", 5.0), ("c2", "replenishment", "A1", 5.0))
    owned = pd.DataFrame({"customer_id": ["c1", "c2"], "sku": ["A2", "B1"]})
    kept, _ = guardrails.screen(
        candidates,
        skus=skus,
        customers=CUSTOMERS,
        pauses=_pauses(),
        config=CampaignConfig(),
        owned=owned,
    )
    by_customer = kept.set_index("customer_id")
    assert by_customer.loc["c1", "sku"] == "A3"
    assert by_customer.loc["c1", "price"] == 50.0
    assert by_customer.loc["c1", "stock_note"].startswith("substitute A3 for A1 (")
    assert by_customer.loc["c1", "stock_note"].endswith("the customer already has A2")
    assert by_customer.loc["c2", "sku"] == "A2"  # owns something else: the best substitute


def test_customer_owning_every_substitute_keeps_the_best_one():
    skus = _three_paints({"A1": 3})
    owned = pd.DataFrame({"customer_id": ["c1", "c1"], "sku": ["A2", "A3"]})
    kept, _ = guardrails.screen(
        _candidates(("c1", "replenishment", "A1", 5.0)),
        skus=skus,
        customers=CUSTOMERS,
        pauses=_pauses(),
        config=CampaignConfig(),
        owned=owned,
    )
    assert kept.iloc[0]["sku"] == "A2"


def test_substitute_preference_reads_categorical_purchases_alike():
    skus = _three_paints({"A1": 3})
    owned = pd.DataFrame({"customer_id": ["c1", "c9"], "sku": ["A2", "B1"]}).astype("category")
    kept, _ = guardrails.screen(
        _candidates(("c1", "replenishment", "A1", 5.0), ("c2", "replenishment", "A1", 5.0)),
        skus=skus,
        customers=CUSTOMERS,
        pauses=_pauses(),
        config=CampaignConfig(),
        owned=owned,
    )
    assert kept.set_index("customer_id")["sku"].to_dict() == {"c1": "A3", "c2": "A2"}


def test_a_sku_the_inventory_watch_would_pause_is_not_offered_its_substitute_is():
    why = "SKU A1 has 9.0 days of cover, fewer than its supplier's 14-day lead time (9 on hand)"
    skus = _skus(watch={"A1": why}).set_index("sku")
    assert skus.loc["A1", "featured_sku"] == "A2"
    assert why in skus.loc["A1", "note"]
    assert _skus().set_index("sku").loc["A1", "featured_sku"] == "A1"
