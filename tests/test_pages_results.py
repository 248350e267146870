"""Results page: managers see results or a clear "not enough data yet"; planners are refused."""

import pytest

from core.roles import Actor, Role
from tests import console_factories as make
from tests import pages


@pytest.fixture
def console(engine, monkeypatch):
    pages.use_database(monkeypatch, engine)
    return engine


def test_planner_is_refused(console):
    test = pages.page("results", Actor("pat", Role.PLANNER))
    test.run()
    assert "does not give access" in test.error[0].value


def test_without_outcomes_it_says_not_enough_data_yet(console):
    test = pages.page("results", Actor("meg", Role.MANAGER))
    test.run()
    assert not test.exception
    assert "Not enough data yet" in test.info[0].value


def test_small_campaign_shows_its_row_and_says_not_enough(console):
    make.customers(console, "a", "b")
    make.campaign(console, 1, status="sent")
    make.offers(
        console, 1, [("a", False, True, 20.0, None, None), ("b", True, False, 0.0, None, None)]
    )
    test = pages.page("results", Actor("meg", Role.MANAGER))
    test.run()
    assert not test.exception
    assert "Not enough data yet" in test.warning[0].value
    assert test.dataframe[0].value["campaign"].tolist() == ["win_back"]
