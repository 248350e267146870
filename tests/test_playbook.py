from datetime import date, timedelta

import pandas as pd
import pytest

from core import cross_sell, playbook
from core.campaign_config import CampaignConfig
from core.playbook import PlaybookInputs, build_facts

AS_OF = date(2026, 6, 14)
SEND = date(2026, 6, 15)
PRODUCTS = pd.DataFrame(
    {
        "sku": ["A1", "C1", "B1"],
        "name": ["Acrylic set", "Canvas", "Brush"],
        "category": ["paint", "canvas", "brushes"],
        "price": [40.0, 15.0, 12.0],
        "is_consumable": [True, False, False],
        "replenishment_days": [30, None, None],
    }
)


def _ago(days):
    return AS_OF - timedelta(days=days)


class Shop:
    """Orders written as (customer, days ago, [skus]); one unit of each."""

    def __init__(self):
        self.orders, self.lines = [], []

    def order(self, customer, days_ago, skus, *, late_days=0, status="delivered"):
        order_id = f"o{len(self.orders) + 1}"
        ordered = _ago(days_ago)
        promised = ordered + timedelta(days=3)
        delivered = promised + timedelta(days=late_days) if status == "delivered" else None
        self.orders.append(
            (order_id, customer, ordered, promised, delivered, status, 20.0 * len(skus))
        )
        for sku in skus:
            self.lines.append((customer, order_id, ordered, sku, 1))
        return self

    def inputs(self, scores=None, config=None):
        config = config or CampaignConfig()
        orders = pd.DataFrame(
            self.orders,
            columns=[
                "order_id",
                "customer_id",
                "ordered_date",
                "promised_date",
                "delivered_date",
                "status",
                "amount",
            ],
        )
        lines = pd.DataFrame(
            self.lines, columns=["customer_id", "order_id", "ordered_date", "sku", "quantity"]
        )
        facts = build_facts(
            orders,
            lines,
            as_of=AS_OF,
            late_lookback_days=config.service_recovery.lookback_days,
            min_late_days=config.service_recovery.min_late_days,
        )
        rules = cross_sell.association_rules(lines, min_support=1)
        anchors = facts[["customer_id", "last_sku"]].rename(columns={"last_sku": "anchor"})
        recs = cross_sell.recommend(anchors, rules, bought=lines, k=1)
        return PlaybookInputs(
            as_of=AS_OF,
            send_date=SEND,
            facts=facts,
            scores=scores
            if scores is not None
            else pd.DataFrame(
                columns=[
                    "customer_id",
                    "churn_probability",
                    "risk_band",
                    "expected_value",
                    "reasons",
                ]
            ),
            lines=lines,
            products=PRODUCTS,
            recommendations=recs,
        )


def _campaigns(inputs, config=None):
    frame = playbook.candidates(inputs, config or CampaignConfig())
    return {(r.customer_id, r.campaign_type): r for r in frame.itertuples()}


def test_new_customer_gets_first_to_repeat():
    got = _campaigns(Shop().order("c1", 20, ["C1"]).inputs())
    assert ("c1", "first_to_repeat") in got
    assert "first order 20 days ago" in got["c1", "first_to_repeat"].why_customer


def test_very_new_customer_is_left_alone():
    assert ("c1", "first_to_repeat") not in _campaigns(Shop().order("c1", 2, ["C1"]).inputs())


def test_first_to_repeat_features_a_complement():
    shop = (
        Shop().order("x1", 300, ["A1", "C1"]).order("x2", 300, ["A1", "C1"]).order("c1", 20, ["A1"])
    )
    assert _campaigns(shop.inputs())["c1", "first_to_repeat"].sku == "C1"


def test_cross_sell_offers_the_complement_of_the_last_purchase():
    shop = Shop()
    for c in ("x1", "x2", "x3"):
        shop.order(c, 400, ["A1", "C1"])
    shop.order("x4", 400, ["B1"]).order("x5", 400, ["B1"])
    shop.order("c1", 60, ["B1"]).order("c1", 30, ["A1"])
    row = _campaigns(shop.inputs())["c1", "cross_sell"]
    assert row.sku == "C1" and "bought A1" in row.why_customer


def test_replenishment_when_the_own_cycle_is_due():
    # Bought A1 every 20 days; the last 19 days ago: due tomorrow.
    shop = Shop().order("c1", 59, ["A1"]).order("c1", 39, ["A1"]).order("c1", 19, ["A1"])
    row = _campaigns(shop.inputs())["c1", "replenishment"]
    assert row.sku == "A1" and "20-day own cycle" in row.why_customer


def test_replenishment_uses_the_skus_cycle_after_one_purchase():
    row = _campaigns(Shop().order("c1", 29, ["A1"]).inputs())["c1", "replenishment"]
    assert "30-day usual cycle" in row.why_customer


def test_no_replenishment_long_before_due():
    shop = Shop().order("c1", 3, ["A1"]).order("c1", 63, ["A1"])
    assert ("c1", "replenishment") not in _campaigns(shop.inputs())


def test_non_consumables_get_no_reminder():
    assert ("c1", "replenishment") not in _campaigns(Shop().order("c1", 29, ["C1"]).inputs())


def _scores(rows):
    return pd.DataFrame(
        rows, columns=["customer_id", "churn_probability", "risk_band", "expected_value", "reasons"]
    )


def test_on_the_brink_needs_high_risk_and_value():
    shop = Shop().order("c1", 50, ["A1"]).order("c1", 40, ["C1"]).order("c2", 50, ["A1"])
    shop.order("c2", 40, ["A1"])
    scores = _scores(
        [("c1", 0.7, "high", 300.0, '["no order for 40 days"]'), ("c2", 0.7, "high", 20.0, None)]
    )
    got = _campaigns(shop.inputs(scores))
    assert ("c1", "on_the_brink") in got and ("c2", "on_the_brink") not in got
    assert "churn risk 70% (high)" in got["c1", "on_the_brink"].why_customer
    assert "no order for 40 days" in got["c1", "on_the_brink"].why_customer


def test_win_back_after_the_horizon():
    shop = Shop().order("c1", 200, ["A1"]).order("c1", 120, ["A1"]).order("c2", 500, ["A1"])
    got = _campaigns(shop.inputs())
    assert got["c1", "win_back"].sku == "A1" and ("c2", "win_back") not in got
    assert got["c1", "win_back"].discount_pct == pytest.approx(20)


def test_loyalty_for_frequent_low_risk_big_spenders():
    shop = Shop()
    for days in (100, 80, 60, 40, 20):
        shop.order("c1", days, ["A1", "C1", "B1"])
    scores = _scores([("c1", 0.05, "low", 500.0, None)])
    config = CampaignConfig(loyalty={"min_spend": 250})
    got = _campaigns(shop.inputs(scores, config), config)
    assert ("c1", "loyalty") in got


def test_late_order_gets_service_recovery_and_no_upsell():
    shop = Shop().order("c1", 20, ["C1"], late_days=6)
    got = _campaigns(shop.inputs())
    assert set(got) == {("c1", "service_recovery")}
    row = got["c1", "service_recovery"]
    assert row.sku is None and row.discount_pct == 0 and row.credit_amount > 0
    assert "arrived 6 days late" in row.why_customer


def test_cancelled_order_gets_service_recovery():
    shop = Shop().order("c1", 200, ["A1"]).order("c1", 10, ["C1"], status="cancelled")
    got = _campaigns(shop.inputs())
    assert set(got) == {("c1", "service_recovery")}
    assert "was cancelled" in got["c1", "service_recovery"].why_customer


def test_disabled_campaign_proposes_nothing():
    config = CampaignConfig(first_to_repeat={"enabled": False})
    assert _campaigns(Shop().order("c1", 20, ["C1"]).inputs(), config) == {}


def test_every_campaign_has_a_message_template():
    for name in playbook.CAMPAIGNS:
        assert "{name}" in playbook.message_template(name)
