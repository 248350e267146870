"""A tiny literal marketplace for the campaign tests: two suppliers, a few SKUs, a few customers."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session

from core.tables import Customer, InboundOrder, Order, OrderLine, Product, StockLevel, Supplier

STOCK_AT = datetime(2026, 6, 14, 6, 0, tzinfo=UTC)


def add_catalogue(session: Session) -> None:
    """Suppliers S1/S2, SKUs: acrylic sets A1/A2 (substitutes), canvas C1, brush B1."""
    session.add_all(
        [
            Supplier(supplier_id="S1", name="Pigment Co", lead_time_days=14),
            Supplier(supplier_id="S2", name="Frame Works", lead_time_days=7),
        ]
    )
    session.flush()
    session.add_all(
        [
            Product(
                sku="A1",
                name="Acrylic set 12",
                category="paint",
                line="acrylic",
                supplier_id="S1",
                price=40.0,
                unit_cost=20.0,
                is_consumable=True,
                replenishment_days=30,
            ),
            Product(
                sku="A2",
                name="Acrylic set 24",
                category="paint",
                line="acrylic",
                supplier_id="S1",
                price=60.0,
                unit_cost=30.0,
                is_consumable=True,
                replenishment_days=30,
            ),
            Product(
                sku="C1",
                name="Canvas 30x40",
                category="canvas",
                line="stretched",
                supplier_id="S2",
                price=15.0,
                unit_cost=6.0,
            ),
            Product(
                sku="B1",
                name="Brush trio",
                category="brushes",
                line="synthetic",
                supplier_id="S2",
                price=12.0,
                unit_cost=5.0,
            ),
        ]
    )
    session.flush()
    session.add_all(
        [
            StockLevel(sku=sku, on_hand=on_hand, updated_at=STOCK_AT)
            for sku, on_hand in {"A1": 500, "A2": 500, "C1": 500, "B1": 500}.items()
        ]
    )
    session.add(
        InboundOrder(
            po_id="PO1",
            sku="C1",
            quantity=100,
            ordered_date=date(2026, 6, 1),
            expected_date=date(2026, 7, 1),
        )
    )
    session.flush()


def add_customers(session: Session, ids=("c1", "c2", "c3")) -> None:
    session.add_all([Customer(customer_id=c, name=c, email=f"{c}@example.org") for c in ids])
    session.flush()


def add_order(
    session: Session,
    order_id: str,
    customer_id: str,
    ordered: date,
    lines,
    *,
    promised: date | None = None,
    delivered: date | None = None,
    status: str = "delivered",
) -> None:
    amount = sum(q * p for _, q, p in lines)
    session.add(
        Order(
            order_id=order_id,
            customer_id=customer_id,
            ordered_date=ordered,
            promised_date=promised,
            delivered_date=delivered,
            status=status,
            amount=amount,
        )
    )
    session.flush()
    session.add_all(
        [
            OrderLine(order_id=order_id, line_no=i, sku=sku, quantity=q, unit_price=p)
            for i, (sku, q, p) in enumerate(lines, start=1)
        ]
    )
    session.flush()
