"""A tiny marketplace with approved campaigns, for the loop's jobs (watch, dispatch, outcomes)."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlmodel import Session

from core.campaigns import Campaign, Offer
from core.tables import Customer, Order, OrderLine, Product, StockLevel, Supplier

STAMP = datetime(2026, 6, 10, 8, 0, tzinfo=UTC)


def add(engine, rows) -> list:
    with Session(engine, expire_on_commit=False) as session:
        session.add_all(rows)
        session.commit()
    return rows


def catalogue(engine, *, stock=None, updated_at=STAMP) -> None:
    """S1 (ok, 14 days) makes PAINT-1 and PAINT-2; S2 (ok, 30 days) makes YARN-1."""
    stock = {"PAINT-1": 100, "PAINT-2": 80, "YARN-1": 50, **(stock or {})}
    add(
        engine,
        [
            Supplier(supplier_id="S1", name="Pigment & Co", lead_time_days=14),
            Supplier(supplier_id="S2", name="Loom Works", lead_time_days=30),
        ],
    )
    add(
        engine,
        [
            Product(
                sku="PAINT-1",
                name="Acrylic",
                category="paints",
                supplier_id="S1",
                price=24.0,
                unit_cost=9.0,
            ),
            Product(
                sku="PAINT-2",
                name="Gouache",
                category="paints",
                supplier_id="S1",
                price=18.0,
                unit_cost=7.0,
            ),
            Product(
                sku="YARN-1",
                name="Merino",
                category="yarn",
                supplier_id="S2",
                price=12.0,
                unit_cost=5.0,
            ),
        ],
    )
    add(engine, [StockLevel(sku=s, on_hand=n, updated_at=updated_at) for s, n in stock.items()])


def customers(engine, *ids: str, consent_email: bool = True) -> None:
    add(
        engine,
        [
            Customer(
                customer_id=c,
                name=f"Name {c}",
                email=f"{c}@example.org",
                consent_email=consent_email,
            )
            for c in ids
        ],
    )


def campaign(
    engine,
    campaign_id: int,
    *,
    status="approved",
    send_date=date(2026, 6, 15),
    reviewed_at=STAMP,
    campaign_type="win_back",
    week="2026-W25",
) -> None:
    add(
        engine,
        [
            Campaign(
                id=campaign_id,
                week=week,
                campaign_type=campaign_type,
                status=status,
                as_of=date(2026, 6, 7),
                send_date=send_date,
                discount_pct=10.0,
                proposed_at=STAMP,
                updated_at=STAMP,
                reviewed_by="pat" if status == "approved" else None,
                reviewed_at=reviewed_at if status == "approved" else None,
            )
        ],
    )


def offer(
    engine,
    campaign_id: int,
    customer_id: str,
    *,
    sku="PAINT-1",
    status="approved",
    holdout=False,
    send_date=date(2026, 6, 15),
    campaign_type="win_back",
    week="2026-W25",
    channel="email",
    **extra,
) -> Offer:
    [row] = add(
        engine,
        [
            Offer(
                campaign_id=campaign_id,
                week=week,
                campaign_type=campaign_type,
                customer_id=customer_id,
                status=status,
                holdout=holdout,
                sku=sku,
                discount_pct=10.0,
                channel=channel,
                send_date=send_date,
                context="regular|high|mid",
                propensity=0.5,
                expected_uptake=0.1,
                expected_revenue=20.0,
                proposed_at=STAMP,
                updated_at=STAMP,
                **extra,
            )
        ],
    )
    return row


def order(engine, order_id, customer_id, ordered: date, *, amount=30.0, sku="PAINT-1") -> None:
    add(
        engine,
        [Order(order_id=order_id, customer_id=customer_id, ordered_date=ordered, amount=amount)],
    )
    add(engine, [OrderLine(order_id=order_id, line_no=1, sku=sku, quantity=1, unit_price=amount)])
