"""SKU cover against lead time, and customers whose orders were late or cancelled."""

from datetime import UTC, date, datetime, timedelta

from sqlmodel import Session

from core import inventory, pauses
from core.tables import InboundOrder
from tests import console_factories as make
from tests import factories

AS_OF = date(2026, 6, 15)
NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)


def _sales(engine, sku, units_per_week, weeks=8):
    """One customer buying `units_per_week` of a SKU every week before AS_OF."""
    make.customers(engine, f"buyer-{sku}")
    for week in range(weeks):
        ordered = AS_OF - timedelta(days=7 * week + 1)
        make.order(
            engine, f"{sku}-{week}", f"buyer-{sku}", ordered, sku=sku, quantity=units_per_week
        )


def test_sku_short_when_cover_is_below_lead_time(engine):
    make.catalogue(engine)  # PAINT-1: 100 on hand, lead 14; YARN-1: 4 on hand, lead 30
    _sales(engine, "PAINT-1", 7)  # 1 a day: 100 days of cover
    _sales(engine, "YARN-1", 7)  # 1 a day: 4 days of cover
    with Session(engine) as session:
        table = inventory.sku_table(session, as_of=AS_OF, now=NOW).set_index("sku")
    assert table.loc["PAINT-1", "days_of_cover"] == 100
    assert not table.loc["PAINT-1", "short"]
    assert table.loc["YARN-1", "days_of_cover"] == 4
    assert table.loc["YARN-1", "short"]
    assert table.loc["YARN-1", "supplier_status"] == "delayed"


def test_sku_without_demand_is_never_short(engine):
    make.catalogue(engine)
    with Session(engine) as session:
        table = inventory.sku_table(session, as_of=AS_OF, now=NOW)
    assert not table["short"].any()
    assert table["days_of_cover"].isna().all()


def test_next_inbound_arrival_and_quantity(engine):
    make.catalogue(engine)
    factories.write(
        engine,
        InboundOrder,
        [
            {
                "po_id": "PO1",
                "sku": "YARN-1",
                "quantity": 50,
                "ordered_date": date(2026, 6, 1),
                "expected_date": date(2026, 6, 20),
            },
            {
                "po_id": "PO2",
                "sku": "YARN-1",
                "quantity": 80,
                "ordered_date": date(2026, 6, 1),
                "expected_date": date(2026, 7, 20),
            },
        ],
    )
    with Session(engine) as session:
        row = inventory.sku_table(session, as_of=AS_OF, now=NOW).set_index("sku").loc["YARN-1"]
    assert row["next_arrival"] == date(2026, 6, 20)
    assert row["next_arrival_quantity"] == 50


def test_filters_and_paused_flag(engine, support):
    make.catalogue(engine)
    _sales(engine, "YARN-1", 7)
    with Session(engine) as session:
        pauses.pause(
            session=session, actor=support, scope="supplier", target="S2", reason="strike", now=NOW
        )
        session.commit()
        short = inventory.sku_table(
            session, as_of=AS_OF, now=NOW, filters=inventory.SkuFilter(short_only=True)
        )
        paints = inventory.sku_table(
            session, as_of=AS_OF, now=NOW, filters=inventory.SkuFilter(category="paints")
        )
    assert list(short["sku"]) == ["YARN-1"] and bool(short["paused"].iloc[0])
    assert list(paints["sku"]) == ["PAINT-1"] and not paints["paused"].iloc[0]


def test_delayed_customers_late_and_cancelled_worst_first(engine):
    make.customers(engine, "A", "B", "C", "D")
    make.order(
        engine, "O1", "A", date(2026, 6, 1), promised=date(2026, 6, 5), delivered=date(2026, 6, 8)
    )
    make.order(
        engine, "O2", "B", date(2026, 6, 1), promised=date(2026, 6, 5), delivered=date(2026, 6, 15)
    )
    make.order(
        engine, "O3", "C", date(2026, 6, 1), promised=date(2026, 6, 5), delivered=date(2026, 6, 5)
    )
    make.order(engine, "O4", "D", date(2026, 6, 2), promised=date(2026, 6, 6), status="cancelled")
    make.order(
        engine, "O5", "A", date(2026, 4, 1), promised=date(2026, 4, 5), delivered=date(2026, 5, 5)
    )
    with Session(engine) as session:
        page = inventory.delayed_customers(session, today=AS_OF, within_days=30)
    rows = page.rows.set_index("customer_id")
    assert list(page.rows["customer_id"]) == ["B", "A", "D"]
    assert page.total == 3
    assert rows.loc["B", "worst_days_late"] == 10
    assert rows.loc["A", "worst_days_late"] == 3  # the older, later order is outside the window
    assert rows.loc["D", "cancelled_orders"] == 1
    with Session(engine) as session:
        second = inventory.delayed_customers(
            session, today=AS_OF, within_days=30, page=2, page_size=2
        )
        past = inventory.delayed_customers(session, today=AS_OF, within_days=30, page=9)
    assert list(second.rows["customer_id"]) == ["D"] and second.total == 3
    assert past.rows.empty and past.total == 3


def test_undelivered_order_past_promise_counts_until_today(engine):
    make.customers(engine, "A")
    make.order(engine, "O1", "A", date(2026, 6, 1), promised=date(2026, 6, 10), status="shipped")
    with Session(engine) as session:
        page = inventory.delayed_customers(session, today=AS_OF, within_days=30, page_size=1)
    assert page.rows["worst_days_late"].tolist() == [5]
    assert page.pages == 1


def test_end_of_day():
    assert inventory.end_of_day(date(2026, 6, 20)) == datetime(2026, 6, 21, tzinfo=UTC)
