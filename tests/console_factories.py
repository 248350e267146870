"""Small literal rows for the console's read tests, written through the ORM (defaults apply)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session

from core.campaigns import Campaign, Offer
from core.tables import Customer, Order, OrderLine, Product, StockLevel, Supplier

STAMP = datetime(2026, 6, 1, tzinfo=UTC)


def add(engine, rows) -> None:
    with Session(engine) as session:
        session.add_all(rows)
        session.commit()


def customers(engine, *ids: str) -> None:
    add(engine, [Customer(customer_id=c, name=f"Name {c}") for c in ids])


def order(
    engine,
    order_id,
    customer_id,
    ordered,
    *,
    promised=None,
    delivered=None,
    status="delivered",
    amount=20.0,
    sku=None,
    quantity=1,
) -> None:
    rows = [
        Order(
            order_id=order_id,
            customer_id=customer_id,
            ordered_date=ordered,
            promised_date=promised,
            delivered_date=delivered,
            status=status,
            amount=amount,
        )
    ]
    if sku:
        rows.append(
            OrderLine(order_id=order_id, line_no=1, sku=sku, quantity=quantity, unit_price=amount)
        )
    add(engine, rows)


def campaign(engine, campaign_id, *, week="2026-W22", campaign_type="win_back", status="proposed"):
    add(
        engine,
        [
            Campaign(
                id=campaign_id,
                week=week,
                campaign_type=campaign_type,
                status=status,
                as_of=date(2026, 5, 25),
                send_date=date(2026, 5, 27),
                audience_size=10,
                proposed_at=STAMP,
                updated_at=STAMP,
            )
        ],
    )


def offers(engine, campaign_id, rows, *, week="2026-W22", campaign_type="win_back"):
    """rows: (customer_id, holdout, converted, revenue, reviewed_by, review_reason)."""
    add(
        engine,
        [
            Offer(
                campaign_id=campaign_id,
                week=week,
                campaign_type=campaign_type,
                customer_id=customer,
                status="overridden" if reviewer else "sent",
                holdout=holdout,
                converted=converted,
                outcome_revenue=revenue,
                reviewed_by=reviewer,
                review_reason=reason,
                proposed_at=STAMP,
                updated_at=STAMP,
            )
            for customer, holdout, converted, revenue, reviewer, reason in rows
        ],
    )


def catalogue(engine) -> None:
    """PAINT-1 (supplier S1, ok, lead 14 days, 100 on hand); YARN-1 (S2, delayed, 30 days, 4)."""
    add(
        engine,
        [
            Supplier(supplier_id="S1", name="Pigment & Co", lead_time_days=14, status="ok"),
            Supplier(supplier_id="S2", name="Loom Works", lead_time_days=30, status="delayed"),
        ],
    )
    add(
        engine,
        [
            Product(
                sku="PAINT-1",
                name="Acrylic set",
                category="paints",
                supplier_id="S1",
                price=24.0,
                unit_cost=9.0,
                reorder_point=20,
            ),
            Product(
                sku="YARN-1",
                name="Merino yarn",
                category="yarn and textiles",
                supplier_id="S2",
                price=12.0,
                unit_cost=5.0,
                reorder_point=10,
            ),
        ],
    )
    add(
        engine,
        [
            StockLevel(sku="PAINT-1", on_hand=100, updated_at=STAMP),
            StockLevel(sku="YARN-1", on_hand=4, updated_at=STAMP),
        ],
    )
