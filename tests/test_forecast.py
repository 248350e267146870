from datetime import date, timedelta

import numpy as np
import pandas as pd
import pytest

from core import forecast

AS_OF = date(2026, 6, 15)


def _daily_lines(sku, start, end, per_day):
    days = pd.date_range(start, end - timedelta(days=1), freq="D")
    return pd.DataFrame({"sku": sku, "ordered_date": days.date, "quantity": per_day})


def _catalogue():
    products = pd.DataFrame(
        {"sku": ["A1", "C1"], "supplier_id": ["S1", "S2"], "category": ["paint", "canvas"]}
    )
    suppliers = pd.DataFrame({"supplier_id": ["S1", "S2"], "lead_time_days": [14, 7]})
    return products, suppliers


def test_recent_rate_is_units_per_day_in_the_window():
    lines = _daily_lines("A1", AS_OF - timedelta(days=56), AS_OF, 2)
    demand = forecast.daily_demand(lines, as_of=AS_OF, target=AS_OF)
    assert demand.set_index("sku").loc["A1", "daily_demand"] == pytest.approx(2.0)


def test_sales_on_or_after_as_of_are_ignored():
    lines = _daily_lines("A1", AS_OF, AS_OF + timedelta(days=30), 5)
    demand = forecast.daily_demand(lines, as_of=AS_OF, target=AS_OF)
    assert demand["daily_demand"].sum() == 0


def test_sku_without_sales_gets_zero_demand():
    products, _ = _catalogue()
    lines = _daily_lines("A1", AS_OF - timedelta(days=56), AS_OF, 1)
    demand = forecast.daily_demand(lines, as_of=AS_OF, target=AS_OF, products=products)
    assert demand.set_index("sku").loc["C1", "daily_demand"] == 0


def test_seasonality_raises_demand_ahead_of_a_busy_month():
    # Two years: December sells three times as much as any other month.
    days = pd.date_range("2024-06-15", "2026-06-14", freq="D")
    quantity = np.where(days.month == 12, 3, 1)
    lines = pd.DataFrame({"sku": "A1", "ordered_date": days.date, "quantity": quantity})
    as_of = date(2026, 6, 15)
    flat = forecast.daily_demand(lines, as_of=as_of, target=date(2026, 7, 1))
    busy = forecast.daily_demand(lines, as_of=as_of, target=date(2026, 12, 10))
    assert busy["daily_demand"].iloc[0] > 2 * flat["daily_demand"].iloc[0]
    assert flat["daily_demand"].iloc[0] == pytest.approx(1.0, rel=0.2)


def test_short_history_has_no_seasonality():
    lines = _daily_lines("A1", AS_OF - timedelta(days=100), AS_OF, 1)
    assert forecast.seasonal_index(lines, as_of=AS_OF).empty


def _coverage(on_hand, inbound_rows, daily, send=AS_OF):
    products, suppliers = _catalogue()
    stock = pd.DataFrame({"sku": ["A1", "C1"], "on_hand": on_hand})
    inbound = pd.DataFrame(
        inbound_rows, columns=["sku", "quantity", "expected_date", "received_date"]
    )
    demand = pd.DataFrame({"sku": ["A1", "C1"], "daily_demand": daily})
    return forecast.coverage(
        products=products,
        suppliers=suppliers,
        stock=stock,
        inbound=inbound,
        demand=demand,
        as_of=AS_OF,
        send_date=send,
    ).set_index("sku")


def test_stock_covering_lead_time_is_covered():
    cover = _coverage([100, 100], [], [5.0, 5.0])
    # A1: 14 days lead * 5 = 70 needed; C1: 7 * 5 = 35 needed.
    assert cover.loc["A1", "covered"] and cover.loc["C1", "covered"]
    assert cover.loc["A1", "spare_units"] == pytest.approx(30)
    assert cover.loc["A1", "coverage_days"] == pytest.approx(20)


def test_stock_short_of_lead_time_is_not_covered():
    cover = _coverage([60, 100], [], [5.0, 5.0])
    assert not cover.loc["A1", "covered"] and not cover.loc["A1", "out_of_stock"]


def test_far_inbound_lengthens_the_horizon():
    inbound = [("A1", 500, AS_OF + timedelta(days=10), None)]
    cover = _coverage([100, 100], inbound, [5.0, 5.0])
    assert cover.loc["A1", "horizon_days"] == 24
    assert cover.loc["A1", "next_arrival"] == AS_OF + timedelta(days=10)
    assert not cover.loc["A1", "covered"]


def test_inbound_before_send_date_counts_as_available():
    inbound = [("A1", 50, AS_OF + timedelta(days=2), None)]
    cover = _coverage([0, 100], inbound, [1.0, 1.0], send=AS_OF + timedelta(days=3))
    assert cover.loc["A1", "available"] == pytest.approx(50)
    assert cover.loc["A1", "covered"]


def test_received_or_overdue_inbound_is_not_counted():
    inbound = [
        ("A1", 50, AS_OF - timedelta(days=2), None),
        ("A1", 70, AS_OF + timedelta(days=1), AS_OF),
    ]
    cover = _coverage([0, 100], inbound, [1.0, 1.0], send=AS_OF + timedelta(days=3))
    assert cover.loc["A1", "out_of_stock"] and not cover.loc["A1", "covered"]


def test_stock_depletes_until_a_later_send_date():
    cover = _coverage([100, 100], [], [5.0, 5.0], send=AS_OF + timedelta(days=10))
    assert cover.loc["A1", "available"] == pytest.approx(50)


def test_per_sku_send_dates():
    sends = pd.Series({"A1": AS_OF + timedelta(days=4)})
    cover = _coverage([100, 100], [], [5.0, 5.0], send=sends)
    assert cover.loc["A1", "send_date"] == AS_OF + timedelta(days=4)
    assert cover.loc["C1", "send_date"] == AS_OF


def test_zero_stock_is_out_of_stock():
    cover = _coverage([0, 100], [], [0.0, 1.0])
    assert cover.loc["A1", "out_of_stock"] and not cover.loc["A1", "covered"]


def test_describe_coverage_mentions_lead_time_and_arrival():
    inbound = [("A1", 500, AS_OF + timedelta(days=10), None)]
    cover = _coverage([100, 100], inbound, [5.0, 5.0]).reset_index()
    text = forecast.describe_coverage(cover.iloc[0])
    assert "lead time 14 days" in text and "next arrival 2026-06-25" in text
