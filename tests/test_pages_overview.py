"""Overview page: every role sees the week; waiting campaigns, pauses and short SKUs show up."""

from datetime import UTC, datetime, timedelta

import pytest
from sqlmodel import Session

from core import pauses, summaries
from core.roles import SYSTEM, Actor, Role
from tests import console_factories as make
from tests import pages


@pytest.fixture
def console(engine, monkeypatch):
    pages.use_database(monkeypatch, engine)
    return engine


@pytest.mark.parametrize("role", [Role.PLANNER, Role.SUPPORT, Role.MANAGER, Role.ADMIN])
def test_every_role_sees_the_overview_on_an_empty_shop(console, role):
    test = pages.page("overview", Actor("x", role))
    test.run()
    assert not test.exception
    assert "No data yet" in test.info[0].value


def test_waiting_campaigns_and_active_pauses_are_listed(console):
    make.catalogue(console)
    make.campaign(console, 1, campaign_type="win_back", status="proposed")
    with Session(console) as session:
        pauses.pause(
            session=session,
            actor=Actor("sam", Role.SUPPORT),
            scope="sku",
            target="YARN-1",
            reason="late shipment",
            now=datetime(2026, 1, 1, tzinfo=UTC),
        )
        session.commit()
    test = pages.page("overview", Actor("pat", Role.PLANNER))
    test.run()
    assert not test.exception
    assert test.dataframe[0].value["campaign_type"].tolist() == ["win_back"]
    assert any("paused sku YARN-1" in m.value for m in test.markdown)


def test_figures_say_when_the_orders_were_summarised(console):
    make.customers(console, "A")
    make.order(console, "A1", "A", datetime.now(UTC).date() - timedelta(days=3))
    make.order(console, "A2", "A", datetime.now(UTC).date() - timedelta(days=2))
    test = pages.page("overview", Actor("pat", Role.PLANNER))
    test.run()
    assert "computed from the orders just now" in test.caption[0].value
    refreshed = datetime(2026, 1, 2, 3, 4, tzinfo=UTC)
    with Session(console) as session:
        summaries.refresh(session, actor=SYSTEM, now=refreshed)
        session.commit()
    test.run()
    assert not test.exception
    captions = [c.value for c in test.caption]
    assert any("orders summarised 02 Jan 2026 03:04 UTC" in c for c in captions)
    assert any("more than a day ago" in c for c in captions)
    assert any(c.startswith("Monthly figures: orders summarised") for c in captions)
