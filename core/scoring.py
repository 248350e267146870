"""Scoring every customer as of a date with the active model, and writing the scores.

Per customer: churn probability (calibrated), risk band, expected value (BG/NBD purchases
times Gamma-Gamma spend over the horizon), value at risk and the top reasons.
Value at risk = churn probability x the customer's own run rate over the horizon (the last
year's spend scaled to the horizon): what is lost if the churn happens. It is not churn
probability x expected value, because the expected value already discounts for churn.
"""

from __future__ import annotations

import gc
import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np
import pandas as pd
from sqlalchemy import delete, func, select
from sqlalchemy.engine import Engine

from core import audit, model_store, reasons
from core.bulk import large_cache, write_frame
from core.churn_model import ChurnModel
from core.db import session_scope
from core.errors import InvalidInput
from core.features import DETAIL_DAYS, build_features, load_frames
from core.roles import Actor, Permission, require
from core.scores import CustomerScore
from core.training import train

log = logging.getLogger(__name__)

Progress = Callable[[str], None]


@dataclass(frozen=True)
class RiskBands:
    """Churn probability at which a customer counts as medium and as high risk."""

    medium: float = 0.4
    high: float = 0.7

    def __post_init__(self) -> None:
        if not 0 < self.medium < self.high < 1:
            raise InvalidInput(
                f"Risk thresholds must satisfy 0 < medium < high < 1, got {self.medium} and {self.high}."
            )

    def band(self, probability: np.ndarray) -> np.ndarray:
        return np.where(
            probability >= self.high, "high", np.where(probability >= self.medium, "medium", "low")
        )


def score_frame(
    features: pd.DataFrame, model: ChurnModel, *, bands: RiskBands = RiskBands()
) -> pd.DataFrame:
    """Scores for every row of the feature frame; reasons only for the medium and high risk ones."""
    probability = model.churn_probability(features).astype(float)
    band = bands.band(probability)
    expected = model.expected_value(features)
    run_rate = features["spend_365d"].to_numpy(float) * model.horizon_days / 365.0
    out = pd.DataFrame(
        {
            "customer_id": features.index.astype(str),
            "churn_probability": np.round(probability, 5),
            "risk_band": band,
            "expected_value": np.round(expected, 2),
            "value_at_risk": np.round(probability * run_rate, 2),
            "reasons": None,
        }
    )
    at_risk = band != "low"
    if at_risk.any():
        subset = features.loc[at_risk]
        contributions = model.contributions(subset)
        out.loc[at_risk, "reasons"] = reasons.explain(
            subset, contributions, model.features
        ).to_numpy()
    return out


@dataclass(frozen=True)
class ScoringSummary:
    as_of: date
    model_version_id: int
    customers: int
    by_band: dict[str, int]
    trained: bool
    beats_baselines: bool


def score_customers(
    engine: Engine,
    *,
    actor: Actor,
    as_of: date,
    now: datetime,
    horizon_days: int = 90,
    retrain: bool = False,
    bands: RiskBands = RiskBands(),
    seed: int = 0,
    progress: Progress | None = None,
    write_progress: Callable[[int], None] | None = None,
) -> ScoringSummary:
    """Score every customer with an order by `as_of`, training first if asked or if no model fits."""
    require(actor, Permission.RUN_JOBS)
    step = progress or (lambda _message: None)
    step("loading the model")
    trained = False
    with session_scope(engine) as session:
        version = model_store.active_version(session)
        if retrain or version is None or version.horizon_days != horizon_days:
            step("training the model on past snapshots")
            history = load_frames(engine, as_of)
            result = train(history, as_of=as_of, horizon_days=horizon_days, seed=seed)
            del history
            version = model_store.save_version(
                session, actor=actor, result=result, as_of=as_of, now=now
            )
            trained = True
        version_id = int(version.id)  # type: ignore[arg-type]
        beats = version.beats_baselines
        model = model_store.load_model(session, version_id)
    step("reading orders and service history")
    frames = load_frames(engine, as_of, detail_days=DETAIL_DAYS)
    step("computing features")
    features = build_features(frames, as_of)
    del frames
    gc.collect()  # the frames are several GB at a million customers: free them before predicting
    if features.empty:
        raise InvalidInput(f"No customer has an order on or before {as_of}: nothing to score.")
    step("scoring and explaining")
    scores = score_frame(features, model, bands=bands)
    scores["as_of"] = as_of
    scores["model_version_id"] = version_id
    scores["scored_at"] = now
    step("writing scores")
    table = CustomerScore.__table__  # type: ignore[attr-defined]
    with session_scope(engine) as session:
        conn = session.connection()
        with large_cache(conn):
            conn.execute(delete(table).where(table.c.as_of == as_of))
            write_frame(conn, table, scores, update=False, progress=write_progress)
        by_band = {
            band: int((scores["risk_band"] == band).sum()) for band in ("low", "medium", "high")
        }
        audit.record(
            session,
            actor=actor,
            action="scores.write",
            entity_type="customer_scores",
            entity_id=as_of.isoformat(),
            after={"model_version_id": version_id, "customers": len(scores), **by_band},
            now=now,
        )
    log.info("scored %s customers as of %s with model %s", len(scores), as_of, version_id)
    return ScoringSummary(as_of, version_id, len(scores), by_band, trained, beats)


def export_frame(engine: Engine, *, as_of: date | None = None) -> pd.DataFrame:
    """The scores of one date (the newest by default) in the export's columns and order."""
    table = CustomerScore.__table__  # type: ignore[attr-defined]
    with engine.connect() as conn:
        if as_of is None:
            as_of = conn.execute(select(func.max(table.c.as_of))).scalar()
        if as_of is None:
            raise InvalidInput("There are no scores yet: run `easel score` first.")
        statement = (
            select(
                table.c.customer_id,
                table.c.churn_probability,
                table.c.risk_band,
                table.c.expected_value,
                table.c.reasons,
            )
            .where(table.c.as_of == as_of)
            .order_by(table.c.churn_probability.desc(), table.c.customer_id)
        )
        frame = pd.read_sql(statement, conn)
    frame["reasons"] = frame["reasons"].map(_reasons_text)
    return frame


def _reasons_text(value: object) -> str:
    """The JSON list as one readable cell: reasons joined with '; '."""
    if not isinstance(value, str) or not value:
        return ""
    return "; ".join(json.loads(value))
