"""Results: treated against holdout per campaign and week, from offer outcomes."""

from sqlmodel import Session

from core import measurement, results
from tests import console_factories as make


def _campaign_with_outcomes(engine, treated_rate, holdout_rate, size):
    ids = [f"c{i}" for i in range(2 * size)]
    make.customers(engine, *ids)
    make.campaign(engine, 1, status="sent")
    rows = []
    for i, customer in enumerate(ids):
        holdout = i >= size
        position = i - size if holdout else i
        converted = position < (holdout_rate if holdout else treated_rate) * size
        rows.append((customer, holdout, converted, 30.0 if converted else 0.0, None, None))
    make.offers(engine, 1, rows)


def test_no_outcomes_means_no_results(engine):
    with Session(engine) as session:
        found = results.campaign_results(session)
    assert not found.has_outcomes and found.table.empty


def test_small_groups_say_not_enough_data_yet(engine):
    _campaign_with_outcomes(engine, 0.5, 0.2, size=10)
    with Session(engine) as session:
        found = results.campaign_results(session)
    row = found.table.iloc[0]
    assert found.measured_offers == 20
    assert not row["enough_data"]
    assert measurement.NOT_ENOUGH in row["verdict"]


def test_uplift_per_campaign_and_week(engine):
    _campaign_with_outcomes(engine, 0.5, 0.2, size=10)
    with Session(engine) as session:
        found = results.campaign_results(session, min_per_group=5)
    row = found.table.iloc[0]
    assert (row["campaign"], row["week"]) == ("win_back", "2026-W22")
    assert row["treated"] == 10 and row["holdout_customers"] == 10
    assert row["conversion_uplift"] == 0.5 - 0.2
    assert row["incremental_revenue"] == (15.0 - 6.0) * 10
    assert row["conversion_uplift_low"] < row["conversion_uplift"] < row["conversion_uplift_high"]
    with Session(engine) as session:
        assert results.campaign_types(session) == ["win_back"]
