"""Scoring: risk bands, reasons in plain words, the written scores and the CSV export."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from sqlmodel import select
from typer.testing import CliRunner

from cli import context
from cli.main import app
from core import model_store, reasons, tables
from core.audit import AuditEvent
from core.bulk import write_frame
from core.errors import InvalidInput, PermissionDenied
from core.features import FEATURES
from core.roles import SYSTEM
from core.scores import CustomerScore
from core.scoring import RiskBands, export_frame, score_customers
from core.training import train
from tests.churn_data import END, generate


def _features(**values) -> pd.DataFrame:
    row = dict.fromkeys(FEATURES, np.nan)
    row.update(values)
    return pd.DataFrame([row], index=pd.Index(["c1"], name="customer_id"))


def _reasons_for(features: pd.DataFrame, pushes: dict[str, float]) -> list[str]:
    contributions = np.zeros((1, len(FEATURES) + 1), dtype=np.float32)
    for name, value in pushes.items():
        contributions[0, FEATURES.index(name)] = value
    return json.loads(reasons.explain(features, contributions, FEATURES).iloc[0])


def test_overdue_against_own_cadence_reads_in_days():
    features = _features(recency_days=83, mean_gap_days=21, overdue_days=62, orders_total=5)
    assert _reasons_for(features, {"overdue_days": 1.2}) == [
        "62 days overdue against a 21-day cadence"
    ]


def test_late_deliveries_and_a_falling_survey_score_read_in_words():
    features = _features(
        late_orders_90d=2,
        late_orders_365d=3,
        late_days_max_365d=6,
        open_late_days=0,
        survey_last=4,
        survey_change=-5,
        orders_total=3,
    )
    texts = _reasons_for(features, {"late_orders_90d": 0.5, "survey_change": 0.9})
    assert texts == [
        "survey score fell from 9 to 4",
        "2 late deliveries in 90 days, up to 6 days late",
    ]


def test_reasons_are_the_strongest_pushes_towards_churn_only():
    features = _features(
        recency_days=10,
        mean_gap_days=30,
        overdue_days=-20,
        orders_total=4,
        complaints_90d=1,
        complaints_365d=1,
        consent_any=0,
    )
    texts = _reasons_for(
        features, {"recency_days": -2.0, "complaints_90d": 0.3, "consent_any": 0.01}
    )
    assert texts == ["1 complaint in 90 days"]


def test_a_concept_without_data_is_never_a_reason():
    features = _features(recency_days=40, orders_total=1, late_orders_365d=0)
    assert _reasons_for(features, {"late_orders_365d": 3.0, "recency_days": 0.2}) == [
        "one order so far, 40 days ago"
    ]


def test_risk_band_thresholds_are_configurable_and_checked():
    bands = RiskBands(medium=0.2, high=0.5)
    assert list(bands.band(np.array([0.1, 0.2, 0.49, 0.5]))) == ["low", "medium", "medium", "high"]
    with pytest.raises(InvalidInput):
        RiskBands(medium=0.8, high=0.5)


def _load(engine, frames: dict) -> None:
    orders = frames["orders"]
    ids = orders["customer_id"].unique()
    customers = pd.DataFrame(
        {"customer_id": ids, "consent_email": True, "consent_sms": False, "consent_post": False}
    )
    orders = orders.assign(status="delivered", discount_amount=0.0)
    with engine.begin() as conn:
        write_frame(conn, tables.Customer.__table__, customers, update=False)
        write_frame(conn, tables.Order.__table__, orders, update=False)


@pytest.fixture(scope="module")
def history():
    return generate(1200, seed=21)


@pytest.fixture(scope="module")
def trained(history):
    return train(history, as_of=END, seed=1, nthread=1)


@pytest.fixture
def scored(engine, session, now, history, trained):
    _load(engine, history)
    model_store.save_version(session, actor=SYSTEM, result=trained, as_of=END, now=now)
    session.commit()
    return score_customers(engine, actor=SYSTEM, as_of=END, now=now, seed=1)


def test_every_customer_with_an_order_is_scored_with_a_band_and_value(engine, session, scored):
    rows = session.exec(select(CustomerScore).where(CustomerScore.as_of == END)).all()
    assert len(rows) == scored.customers == 1200
    assert not scored.trained and sum(scored.by_band.values()) == 1200
    assert all(0 <= r.churn_probability <= 1 and r.expected_value >= 0 for r in rows)
    at_risk = [r for r in rows if r.risk_band != "low"]
    explained = [r for r in at_risk if json.loads(r.reasons)]
    assert len(explained) >= 0.95 * len(at_risk) > 0
    assert session.exec(select(AuditEvent).where(AuditEvent.action == "scores.write")).one()


def test_scoring_again_replaces_that_days_scores_with_the_active_model(
    engine, session, scored, now
):
    from core.roles import SYSTEM

    again = score_customers(engine, actor=SYSTEM, as_of=END, now=now, seed=1)
    assert not again.trained and again.model_version_id == scored.model_version_id
    assert len(session.exec(select(CustomerScore)).all()) == 1200


def test_scoring_needs_the_run_jobs_permission(engine, now, planner):
    with pytest.raises(PermissionDenied):
        score_customers(engine, actor=planner, as_of=END, now=now)


def test_export_writes_the_agreed_columns(engine, scored, tmp_path, monkeypatch):
    monkeypatch.setattr(context, "engine", lambda: engine)
    path = tmp_path / "scores.csv"
    result = CliRunner().invoke(app, ["export", "scores", str(path)])
    assert result.exit_code == 0, result.output
    frame = pd.read_csv(path, dtype={"customer_id": str})
    assert list(frame.columns) == [
        "customer_id",
        "churn_probability",
        "risk_band",
        "expected_value",
        "reasons",
    ]
    assert len(frame) == 1200 and frame["customer_id"].str.startswith("c").all()
    assert set(frame["risk_band"]) <= {"low", "medium", "high"}
    assert frame["churn_probability"].is_monotonic_decreasing


def test_export_without_scores_says_so(engine):
    with pytest.raises(InvalidInput, match="no scores"):
        export_frame(engine)
