"""Overview page: every role sees the week; waiting campaigns, pauses and short SKUs show up."""

from datetime import UTC, datetime

import pytest
from sqlmodel import Session

from core import pauses
from core.roles import Actor, Role
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
