"""Model versions: stored with metrics, one active at a time, audited, checked on load."""

from __future__ import annotations

import json

import numpy as np
import pytest
from sqlmodel import select

from core import model_store, training
from core.audit import AuditEvent
from core.errors import InvalidInput, PermissionDenied
from core.model_versions import ModelVersion
from core.roles import SYSTEM
from tests.churn_data import END, generate


@pytest.fixture(scope="module")
def result():
    return training.train(generate(1200, seed=5), as_of=END, seed=1, nthread=1)


def test_a_saved_version_keeps_its_metrics_window_and_libraries(session, result, now):
    version = model_store.save_version(session, actor=SYSTEM, result=result, as_of=END, now=now)
    session.commit()
    stored = model_store.active_version(session)
    assert stored.id == version.id and stored.horizon_days == 90
    assert set(stored.metrics_dict()["test"]) == {"model", "recency", "rfm", "logistic", "bgnbd"}
    assert stored.window_dict()["test_origin"] == result.window["test_origin"]
    assert "xgboost" in json.loads(stored.library_versions)
    assert stored.beats_baselines == result.beats_baselines


def test_only_one_version_is_active_and_each_activation_is_audited(session, result, now, admin):
    first = model_store.save_version(session, actor=SYSTEM, result=result, as_of=END, now=now)
    second = model_store.save_version(session, actor=SYSTEM, result=result, as_of=END, now=now)
    model_store.activate_version(
        session, actor=admin, version_id=first.id, now=now, reason="rollback"
    )
    session.commit()
    active = session.exec(select(ModelVersion.id).where(ModelVersion.active)).all()
    assert active == [first.id]
    events = session.exec(select(AuditEvent).where(AuditEvent.action == "model.activate")).all()
    assert [e.entity_id for e in events] == [str(first.id), str(second.id), str(first.id)]
    assert events[-1].reason == "rollback" and events[-1].actor == "ada"
    assert [v.id for v in model_store.list_versions(session)] == [second.id, first.id]


def test_activating_needs_the_manage_model_permission(session, result, now, planner):
    version = model_store.save_version(session, actor=SYSTEM, result=result, as_of=END, now=now)
    with pytest.raises(PermissionDenied):
        model_store.activate_version(session, actor=planner, version_id=version.id, now=now)
    with pytest.raises(PermissionDenied):
        model_store.save_version(session, actor=planner, result=result, as_of=END, now=now)


def test_a_loaded_model_predicts_exactly_like_the_trained_one(session, result, now):
    version = model_store.save_version(session, actor=SYSTEM, result=result, as_of=END, now=now)
    session.commit()
    loaded = model_store.load_model(session, version.id)
    features = training.make_snapshot(generate(300, seed=9), END, 90).features
    assert np.allclose(loaded.churn_probability(features), result.model.churn_probability(features))
    assert np.allclose(loaded.expected_value(features), result.model.expected_value(features))


def test_a_tampered_artifact_is_refused_on_load(session, result, now):
    version = model_store.save_version(session, actor=SYSTEM, result=result, as_of=END, now=now)
    version.artifact = version.artifact[:-1] + bytes([version.artifact[-1] ^ 1])
    session.add(version)
    session.commit()
    with pytest.raises(InvalidInput, match="damaged"):
        model_store.load_model(session, version.id)
