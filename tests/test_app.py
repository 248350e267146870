"""The console's front door: sign-in, navigation by role, the overview."""

from datetime import date

import pandas as pd
import pytest
from sqlmodel import Session

from core import bulk, users
from core.roles import SYSTEM, Actor, Role
from core.tables import Customer, Order, Product, StockLevel, Supplier
from tests import pages


@pytest.fixture
def console(engine, monkeypatch, now):
    pages.use_database(monkeypatch, engine)
    with Session(engine) as session:
        for role in ("planner", "support", "manager", "admin"):
            users.add_user(
                session, actor=SYSTEM, username=role, role=role, password=f"{role}-secret", now=now
            )
        session.commit()
    return engine


def _sign_in(test, username, password):
    test.run()
    test.text_input[0].input(username)
    test.text_input[1].input(password)
    test.button[0].click()
    test.run()
    return test


def test_wrong_password_is_refused(console):
    test = _sign_in(pages.app(), "planner", "wrong")
    assert "wrong password" in test.error[0].value
    assert "actor" not in test.session_state


@pytest.mark.parametrize(
    ("role", "visible", "hidden"),
    [
        ("planner", "Campaign approval", "Audit trail"),
        ("support", "Inventory and suppliers", "Campaign approval"),
        ("manager", "Audit trail", "Users"),
        ("admin", "Users", "Campaign approval"),
    ],
)
def test_each_role_sees_its_own_pages(console, role, visible, hidden):
    test = _sign_in(pages.app(), role, f"{role}-secret")
    assert not test.exception
    assert test.session_state["actor"] == Actor(role, Role(role))
    assert test.title[0].value == "Overview"
    # The navigation lists only what the role may open.
    from ui.navigation import pages_for

    titles = [p.title for p in pages_for(Actor(role, Role(role)))]
    assert visible in titles and hidden not in titles


def test_overview_shows_real_figures(console, now):
    today = date.today()
    frames = {
        Supplier: pd.DataFrame(
            [{"supplier_id": "S1", "name": "Brushworks", "lead_time_days": 21, "status": "delayed"}]
        ),
        Product: pd.DataFrame(
            [
                {
                    "sku": "P1",
                    "name": "Acrylic set",
                    "category": "paints",
                    "supplier_id": "S1",
                    "price": 20.0,
                    "unit_cost": 8.0,
                    "reorder_point": 10,
                }
            ]
        ),
        StockLevel: pd.DataFrame([{"sku": "P1", "on_hand": 3, "updated_at": now}]),
        Customer: pd.DataFrame([{"customer_id": c} for c in ("C1", "C2", "C3")]),
        Order: pd.DataFrame(
            [
                {"order_id": "O1", "customer_id": "C1", "ordered_date": today, "amount": 40.0},
                {"order_id": "O2", "customer_id": "C1", "ordered_date": today, "amount": 10.0},
                {
                    "order_id": "O3",
                    "customer_id": "C2",
                    "ordered_date": date(2020, 1, 1),
                    "amount": 5.0,
                },
            ]
        ),
    }
    with console.begin() as conn:
        for model, frame in frames.items():
            bulk.write_frame(conn, model.__table__, frame, update=False)
    test = pages.page("overview", Actor("pat", Role.PLANNER))
    test.run()
    assert not test.exception
    metrics = {m.label: m.value for m in test.metric}
    assert metrics["Customers"] == "3"
    assert metrics["Orders, last 30 days"] == "2"
    assert metrics["Repeat-purchase rate"] == "50.0%"
    assert metrics["SKUs below reorder point"] == "1"
    assert metrics["Suppliers with issues"] == "1"


def test_page_refuses_a_role_without_permission(console):
    test = pages.page("users", Actor("pat", Role.PLANNER))
    test.run()
    assert "does not give access" in test.error[0].value
    assert not test.dataframe


def test_page_refuses_anyone_not_signed_in(console):
    test = pages.page("overview", None)
    test.run()
    assert "sign in" in test.warning[0].value
