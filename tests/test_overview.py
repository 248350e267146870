"""The week at a glance: risk by band, the approval queue, the monthly trend."""

import json
from datetime import UTC, date, datetime

from sqlmodel import Session

from core import overview
from core.scores import CustomerScore
from tests import console_factories as make

STAMP = datetime(2026, 6, 1, tzinfo=UTC)


def _score(customer, as_of, band, value_at_risk):
    return CustomerScore(
        as_of=as_of,
        customer_id=customer,
        churn_probability=0.5,
        risk_band=band,
        expected_value=2 * value_at_risk,
        value_at_risk=value_at_risk,
        reasons=json.dumps([]),
        scored_at=STAMP,
    )


def test_risk_by_band_reads_only_the_newest_scores(engine):
    make.customers(engine, "A", "B", "C")
    old, new = date(2026, 5, 1), date(2026, 6, 1)
    make.add(
        engine,
        [
            _score("A", old, "high", 999.0),
            _score("A", new, "high", 10.0),
            _score("B", new, "high", 5.0),
            _score("C", new, "low", 1.0),
        ],
    )
    with Session(engine) as session:
        bands = overview.risk_by_band(session)
    assert list(bands["risk_band"]) == ["high", "low"]
    assert list(bands["customers"]) == [2, 1]
    assert list(bands["value_at_risk"]) == [15.0, 1.0]


def test_risk_by_band_is_empty_before_scoring(engine):
    with Session(engine) as session:
        assert overview.risk_by_band(session).empty


def test_awaiting_approval_lists_proposed_and_edited_only(engine):
    make.campaign(engine, 1, campaign_type="win_back", status="proposed")
    make.campaign(engine, 2, campaign_type="loyalty", status="edited")
    make.campaign(engine, 3, campaign_type="cross_sell", status="approved")
    with Session(engine) as session:
        waiting = overview.awaiting_approval(session)
    assert sorted(waiting["campaign_type"]) == ["loyalty", "win_back"]


def test_monthly_trend_repeat_and_lapse(engine):
    make.customers(engine, "A", "B")
    # A buys in January and February; B only in January.
    make.order(engine, "A1", "A", date(2026, 1, 10))
    make.order(engine, "A2", "A", date(2026, 2, 10))
    make.order(engine, "B1", "B", date(2026, 1, 12))
    make.order(engine, "B2", "B", date(2026, 1, 20), status="cancelled")
    with Session(engine) as session:
        trend = overview.monthly_trend(session, as_of=date(2026, 6, 15), months=6).set_index(
            "month"
        )
    january, february = trend.loc[date(2026, 1, 1)], trend.loc[date(2026, 2, 1)]
    assert january["buyers"] == 2 and january["repeat_purchase_rate"] == 0.0
    assert january["lapse_rate"] == 0.5  # B did not come back within three months
    assert february["buyers"] == 1 and february["repeat_purchase_rate"] == 1.0
    assert february["lapse_rate"] == 1.0


def test_monthly_trend_leaves_recent_lapse_unknown(engine):
    make.customers(engine, "A")
    make.order(engine, "A1", "A", date(2026, 5, 10))
    with Session(engine) as session:
        trend = overview.monthly_trend(session, as_of=date(2026, 6, 15), months=3)
    assert trend["lapse_rate"].isna().all()
    assert trend["buyers"].tolist() == [1]
