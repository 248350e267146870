"""Console summaries: a refresh gives the same figures as computing from the orders directly."""

from datetime import UTC, date, datetime, timedelta

import pandas as pd
import pytest
from sqlmodel import Session, select

from core import inventory, overview, summaries
from core.audit import AuditEvent
from core.errors import PermissionDenied
from core.roles import SYSTEM
from jobs import registry
from tests import console_factories as make

NOW = datetime(2026, 6, 15, 9, tzinfo=UTC)
AS_OF = date(2026, 6, 15)


def _orders(engine) -> None:
    """Four customers over a year: repeaters, a lapser, a cancellation, two SKUs."""
    make.catalogue(engine)
    make.customers(engine, "A", "B", "C", "D")
    rows = [
        ("A1", "A", date(2025, 9, 3), "delivered", "PAINT-1", 2),
        ("A2", "A", date(2025, 11, 20), "delivered", "YARN-1", 1),
        ("A3", "A", date(2026, 5, 2), "delivered", "PAINT-1", 3),
        ("A4", "A", date(2026, 6, 10), "shipped", "PAINT-1", 1),
        ("B1", "B", date(2026, 1, 5), "delivered", "YARN-1", 4),
        ("B2", "B", date(2026, 1, 5), "delivered", "PAINT-1", 1),
        ("C1", "C", date(2026, 5, 20), "cancelled", "PAINT-1", 9),
        ("C2", "C", date(2026, 6, 1), "delivered", "YARN-1", 2),
        ("D1", "D", date(2026, 6, 14), "placed", None, 1),
    ]
    for order_id, customer, day, status, sku, quantity in rows:
        make.order(
            engine,
            order_id,
            customer,
            day,
            status=status,
            amount=10.0 * quantity,
            sku=sku,
            quantity=quantity,
        )


def _figures(engine, as_of: date):
    with Session(engine) as session:
        headline = overview.marketplace_summary(session, as_of=as_of)
        trend = overview.monthly_trend(session, as_of=as_of)
        demand = inventory.recent_demand(session.connection(), as_of=as_of)
    demand = demand.sort_values("sku").reset_index(drop=True)
    return headline, trend, demand


def _refresh(engine, now=NOW) -> summaries.SummaryRefresh:
    with Session(engine, expire_on_commit=False) as session:
        state = summaries.refresh(session, actor=SYSTEM, now=now)
        session.commit()
        return state


@pytest.mark.parametrize("as_of", [AS_OF, date(2026, 5, 25), date(2026, 1, 31)])
def test_summaries_give_the_direct_figures(engine, as_of):
    _orders(engine)
    direct = _figures(engine, as_of)
    assert direct[0].summarised_at is None
    _refresh(engine)
    summarised = _figures(engine, as_of)
    for field in ("customers", "buyers", "orders_last_30_days", "repeat_purchase_rate"):
        assert getattr(summarised[0], field) == getattr(direct[0], field)
    assert summarised[0].revenue_last_30_days == pytest.approx(direct[0].revenue_last_30_days)
    assert summarised[0].summarised_at == NOW
    pd.testing.assert_frame_equal(summarised[1], direct[1])
    pd.testing.assert_frame_equal(summarised[2], direct[2], check_dtype=False)


def test_daily_activity_counts_first_and_second_orders(engine):
    _orders(engine)
    state = _refresh(engine)
    assert state.data_through == date(2026, 6, 14)
    with Session(engine) as session:
        days = {d.day: d for d in session.exec(select(summaries.DailyActivity))}
    # B's two orders on one day make B a buyer and a repeat buyer that day.
    assert (days[date(2026, 1, 5)].first_orders, days[date(2026, 1, 5)].second_orders) == (1, 1)
    assert days[date(2026, 1, 5)].orders == 2
    assert date(2026, 5, 20) not in days  # only a cancelled order
    assert days[date(2026, 11, 20) - timedelta(days=365)].second_orders == 1


def test_demand_adds_orders_placed_after_the_refresh(engine):
    _orders(engine)
    _refresh(engine)
    make.order(engine, "E1", "D", date(2026, 6, 15), amount=5.0, sku="YARN-1", quantity=6)
    make.order(engine, "E2", "D", date(2026, 6, 16), amount=5.0, sku="YARN-1", quantity=1)
    with Session(engine) as session:
        demand = inventory.recent_demand(session.connection(), as_of=date(2026, 6, 17))
    units = dict(zip(demand["sku"], demand["quantity"], strict=True))
    assert units == {"PAINT-1": 4, "YARN-1": 2 + 6 + 1}


def test_a_rerun_replaces_the_summaries_and_is_audited(engine):
    _orders(engine)
    _refresh(engine)
    make.order(engine, "E1", "D", date(2026, 6, 15), amount=5.0)
    later = NOW + timedelta(hours=1)
    state = _refresh(engine, now=later)
    assert state.data_through == date(2026, 6, 15)
    with Session(engine) as session:
        assert summaries.refreshed(session).refreshed_at == later
        assert overview.marketplace_summary(session, as_of=AS_OF).buyers == 4
        events = session.exec(
            select(AuditEvent).where(AuditEvent.action == "summaries.refreshed")
        ).all()
    assert [e.actor for e in events] == ["system", "system"]


def test_refresh_needs_the_right_to_run_jobs(engine, support):
    _orders(engine)
    with Session(engine) as session, pytest.raises(PermissionDenied):
        summaries.refresh(session, actor=support, now=NOW)


def test_refresh_of_an_empty_marketplace(engine):
    state = _refresh(engine)
    assert state.data_through is None
    with Session(engine) as session:
        assert overview.monthly_trend(session, as_of=AS_OF).empty
        assert overview.marketplace_summary(session, as_of=AS_OF).buyers == 0


def test_the_job_refreshes_the_summaries(engine, admin):
    _orders(engine)
    outcome = registry.run(engine, "console_summaries", slot=NOW, actor=admin, clock=lambda: NOW)
    assert outcome.status == "succeeded", outcome.describe()
    with Session(engine) as session:
        assert summaries.refreshed(session).data_through == date(2026, 6, 14)


def _tables(engine) -> dict[str, pd.DataFrame]:
    models = {
        "daily": (summaries.DailyActivity, ["day"]),
        "monthly": (summaries.MonthlyActivity, ["month"]),
        "units": (summaries.SkuDailyUnits, ["day", "sku"]),
        "categories": (summaries.CustomerCategory, ["category", "customer_id"]),
    }
    with Session(engine) as session:
        return {
            name: pd.DataFrame([row.model_dump() for row in session.exec(select(model))])
            .sort_values(keys)
            .reset_index(drop=True)
            for name, (model, keys) in models.items()
        }


def test_a_refresh_from_a_day_on_equals_a_full_one(engine):
    _orders(engine)
    _refresh(engine)
    # New days: D's second order, C's first paint, a new customer E.
    make.customers(engine, "E")
    make.order(engine, "E1", "D", date(2026, 6, 20), sku="PAINT-1", quantity=2)
    make.order(engine, "E2", "C", date(2026, 6, 21), sku="PAINT-1", quantity=1)
    make.order(engine, "E3", "E", date(2026, 6, 21), sku="YARN-1", quantity=5)
    with Session(engine, expire_on_commit=False) as session:
        since = summaries.nightly_since(session)
        assert since == date(2026, 6, 14) - timedelta(days=summaries.OVERLAP_DAYS)
        summaries.refresh(session, actor=SYSTEM, now=NOW, since=since)
        session.commit()
    partial = _tables(engine)
    _refresh(engine)
    full = _tables(engine)
    for name in full:
        pd.testing.assert_frame_equal(partial[name], full[name], check_dtype=False)
    with Session(engine) as session:
        assert summaries.nightly_since(session) == date(2026, 6, 21) - timedelta(days=35)


def _scores(engine, as_of: date, scored_at: datetime, values: dict[str, tuple[str, float]]):
    import json

    from core.scores import CustomerScore

    make.add(
        engine,
        [
            CustomerScore(
                as_of=as_of,
                customer_id=customer,
                churn_probability=0.5,
                risk_band=band,
                expected_value=2 * value,
                value_at_risk=value,
                reasons=json.dumps([]),
                scored_at=scored_at,
            )
            for customer, (band, value) in values.items()
        ],
    )


def _bands(engine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Risk by band as the overview reads it, and the band summary rows it may read."""
    with Session(engine) as session:
        shown = overview.risk_by_band(session)
        summary = pd.read_sql(summaries.score_bands_statement(), session.connection())
    return shown, summary


def test_risk_by_band_reads_the_band_summary_of_the_newest_scores(engine):
    _orders(engine)
    _scores(engine, date(2026, 5, 1), NOW, {"A": ("high", 999.0)})
    values = {"A": ("high", 10.0), "B": ("high", 5.0), "C": ("low", 1.0)}
    _scores(engine, AS_OF, NOW, values)
    live, _ = _bands(engine)
    summaries.refresh_now(engine, now=NOW)
    shown, summary = _bands(engine)
    pd.testing.assert_frame_equal(shown, live)
    assert list(summary["customers"]) and summary["customers"].sum() == 3
    assert list(shown["risk_band"]) == ["high", "low"]
    assert list(shown["customers"]) == [2, 1]
    assert list(shown["value_at_risk"]) == [15.0, 1.0]


def test_scores_written_after_the_refresh_are_counted_afresh(engine):
    from core.scores import CustomerScore

    _orders(engine)
    _scores(engine, AS_OF, NOW, {"A": ("high", 10.0), "B": ("high", 5.0)})
    summaries.refresh_now(engine, now=NOW)
    # Rescored the same day: the rows are replaced and carry the new write time.
    with Session(engine) as session:
        for score in session.exec(select(CustomerScore)):
            session.delete(score)
        session.commit()
    later = NOW + timedelta(hours=1)
    _scores(engine, AS_OF, later, {"A": ("low", 1.0), "B": ("high", 5.0), "C": ("high", 2.0)})
    shown, summary = _bands(engine)
    assert summary.empty
    assert list(shown["risk_band"]) == ["high", "low"]
    assert list(shown["customers"]) == [2, 1]
    assert list(shown["value_at_risk"]) == [7.0, 1.0]
    # A newer scoring date is not in the summary either, until the next refresh.
    _scores(engine, AS_OF + timedelta(days=1), later, {"D": ("medium", 3.0)})
    shown, summary = _bands(engine)
    assert summary.empty and list(shown["customers"]) == [1]
    summaries.refresh_now(engine, now=later)
    shown, summary = _bands(engine)
    assert list(summary["risk_band"]) == ["medium"] and list(shown["value_at_risk"]) == [3.0]


def test_a_refresh_gathers_the_planner_statistics_on_postgresql(engine):
    if engine.dialect.name != "postgresql":
        pytest.skip("SQLite plans without gathered statistics")
    _orders(engine)
    summaries.refresh_now(engine, now=NOW)
    with engine.connect() as conn:
        analysed = set(
            conn.exec_driver_sql(
                "SELECT relname FROM pg_stat_user_tables WHERE last_analyze IS NOT NULL"
            ).scalars()
        )
    assert set(summaries.PLANNED_TABLES) <= analysed
