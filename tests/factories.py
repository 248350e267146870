"""Small literal marketplaces for tests: a few rows each, written through the bulk writer."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime

import pandas as pd

from core import bulk
from core.scores import CustomerScore
from core.tables import Customer, Order, OrderLine, Product, StockLevel, Supplier, SurveyResponse

STAMP = datetime(2026, 6, 1, tzinfo=UTC)


def write(engine, model, rows: list[dict]) -> None:
    with engine.begin() as conn:
        bulk.write_frame(conn, model.__table__, pd.DataFrame(rows), update=False)


def small_catalogue(engine) -> None:
    write(
        engine,
        Supplier,
        [
            {"supplier_id": "S1", "name": "Pigment & Co", "lead_time_days": 14, "status": "ok"},
            {"supplier_id": "S2", "name": "Loom Works", "lead_time_days": 30, "status": "delayed"},
        ],
    )
    write(
        engine,
        Product,
        [
            {
                "sku": "PAINT-1",
                "name": "Acrylic set",
                "category": "paints",
                "line": "acrylic",
                "supplier_id": "S1",
                "price": 24.0,
                "unit_cost": 9.0,
                "is_consumable": True,
                "replenishment_days": 45,
                "reorder_point": 20,
            },
            {
                "sku": "YARN-1",
                "name": "Merino yarn",
                "category": "yarn and textiles",
                "line": "wool",
                "supplier_id": "S2",
                "price": 12.0,
                "unit_cost": 5.0,
                "is_consumable": True,
                "replenishment_days": 60,
                "reorder_point": 10,
            },
        ],
    )
    write(
        engine,
        StockLevel,
        [
            {"sku": "PAINT-1", "on_hand": 100, "updated_at": STAMP},
            {"sku": "YARN-1", "on_hand": 4, "updated_at": STAMP},
        ],
    )


def scored_customers(
    engine, as_of: date, scores: list[tuple[str, str, float, float]], region="north"
) -> None:
    """Customers with scores: (customer_id, risk_band, churn_probability, expected_value)."""
    write(
        engine,
        Customer,
        [{"customer_id": c, "name": f"Name {c}", "region": region} for c, *_ in scores],
    )
    write(
        engine,
        CustomerScore,
        [
            {
                "as_of": as_of,
                "customer_id": c,
                "churn_probability": p,
                "risk_band": band,
                "expected_value": v,
                "value_at_risk": p * v,
                "reasons": json.dumps([f"reason for {c}"]),
                "scored_at": STAMP,
            }
            for c, band, p, v in scores
        ],
    )


def order(
    engine, order_id, customer_id, ordered, promised=None, delivered=None, amount=20.0, sku=None
):
    write(
        engine,
        Order,
        [
            {
                "order_id": order_id,
                "customer_id": customer_id,
                "ordered_date": ordered,
                "promised_date": promised,
                "delivered_date": delivered,
                "amount": amount,
            }
        ],
    )
    if sku:
        write(
            engine,
            OrderLine,
            [{"order_id": order_id, "line_no": 1, "sku": sku, "quantity": 1, "unit_price": amount}],
        )


def survey(engine, response_id, customer_id, responded, score):
    write(
        engine,
        SurveyResponse,
        [
            {
                "response_id": response_id,
                "customer_id": customer_id,
                "responded_date": responded,
                "score": score,
            }
        ],
    )
