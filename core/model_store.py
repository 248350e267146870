"""Model versions: the artifact with its metadata and metrics; exactly one is active at a time."""

from __future__ import annotations

import hashlib
import json
from datetime import date, datetime
from typing import Any

from sqlalchemy import update
from sqlalchemy.orm import defer
from sqlmodel import Session, col, select

from core import audit
from core.churn_model import ChurnModel
from core.errors import InvalidInput, NotFound
from core.model_versions import ModelVersion
from core.roles import Actor, Permission, require
from core.training import TrainingResult


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def save_version(
    session: Session,
    *,
    actor: Actor,
    result: TrainingResult,
    as_of: date,
    now: datetime,
    activate: bool = True,
) -> ModelVersion:
    """Store a trained model; by default it becomes the active one (audited either way)."""
    require(actor, Permission.MANAGE_MODEL)
    artifact = result.model.to_bytes()
    version = ModelVersion(
        created_at=now,
        created_by=actor.username,
        as_of=as_of,
        horizon_days=result.model.horizon_days,
        params=_json(result.params),
        library_versions=_json(result.library_versions),
        data_window=_json(result.window),
        metrics=_json(result.metrics),
        beats_baselines=result.beats_baselines,
        artifact_sha256=hashlib.sha256(artifact).hexdigest(),
        artifact=artifact,
    )
    session.add(version)
    session.flush()
    audit.record(
        session,
        actor=actor,
        action="model.train",
        entity_type="model_version",
        entity_id=version.id,
        after={
            "as_of": as_of,
            "horizon_days": version.horizon_days,
            "beats_baselines": version.beats_baselines,
        },
        now=now,
    )
    if activate:
        activate_version(
            session, actor=actor, version_id=version.id, now=now, reason="newly trained"
        )
    return version


def activate_version(
    session: Session,
    *,
    actor: Actor,
    version_id: int | None,
    now: datetime,
    reason: str | None = None,
) -> ModelVersion:
    """Make one version the active one; the previous one steps down in the same transaction."""
    require(actor, Permission.MANAGE_MODEL)
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"There is no model version {version_id}.")
    previous = active_version_id(session)
    session.exec(update(ModelVersion).where(col(ModelVersion.active)).values(active=False))  # type: ignore[call-overload]
    session.exec(update(ModelVersion).where(col(ModelVersion.id) == version_id).values(active=True))  # type: ignore[call-overload]
    session.expire_all()
    audit.record(
        session,
        actor=actor,
        action="model.activate",
        entity_type="model_version",
        entity_id=version_id,
        before={"active_version": previous},
        after={"active_version": version_id},
        reason=reason,
        now=now,
    )
    return session.get(ModelVersion, version_id)  # type: ignore[return-value]


def active_version_id(session: Session) -> int | None:
    return session.exec(select(ModelVersion.id).where(col(ModelVersion.active))).first()


def _without_artifact():
    return select(ModelVersion).options(defer(ModelVersion.artifact))  # type: ignore[arg-type]


def active_version(session: Session) -> ModelVersion | None:
    """The active version's metadata (the artifact is loaded only when asked for)."""
    return session.exec(_without_artifact().where(col(ModelVersion.active))).first()


def list_versions(session: Session, *, limit: int = 50) -> list[ModelVersion]:
    """Newest first, without their artifacts."""
    statement = _without_artifact().order_by(col(ModelVersion.id).desc()).limit(limit)
    return list(session.exec(statement))


def load_model(session: Session, version_id: int, *, nthread: int = 2) -> ChurnModel:
    """The fitted model of a version, after checking its artifact against the stored hash."""
    version = session.get(ModelVersion, version_id)
    if version is None:
        raise NotFound(f"There is no model version {version_id}.")
    if hashlib.sha256(version.artifact).hexdigest() != version.artifact_sha256:
        raise InvalidInput(
            f"Model version {version_id} is damaged: its artifact does not match its stored hash."
        )
    return ChurnModel.from_bytes(version.artifact, nthread=nthread)


def metrics_table(version: ModelVersion) -> list[dict[str, Any]]:
    """Rows of (split, model or baseline, AUC, PR-AUC, Brier) for a version, model first."""
    metrics = version.metrics_dict()
    rows = []
    for split in ("validation", "test"):
        for name, figures in metrics.get(split, {}).items():
            rows.append(
                {
                    "split": split,
                    "model": "XGBoost (this version)" if name == "model" else f"baseline: {name}",
                    "auc": figures.get("auc"),
                    "pr_auc": figures.get("pr_auc"),
                    "brier": figures.get("brier"),
                    "customers": figures.get("n"),
                }
            )
    return rows
