"""The simple models the churn model must beat: recency alone, RFM score, logistic regression, BG/NBD.

Each baseline is fitted once on the training snapshots and returns churn probabilities for
every frame it is asked about, so that it is judged by the same AUC, PR-AUC and Brier score
as the model on the same validation and test snapshots.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sklearn.impute import SimpleImputer
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import FunctionTransformer, StandardScaler

from core import bgnbd

BASELINES = ("recency", "rfm", "logistic", "bgnbd")


def _signed_log(values: np.ndarray) -> np.ndarray:
    return np.sign(values) * np.log1p(np.abs(values))


Frames = list[pd.DataFrame]


def recency(train: pd.DataFrame, y: np.ndarray, evaluate: Frames, *, seed: int) -> list[np.ndarray]:
    """A one-feature logistic curve on log days since the last order."""
    model = LogisticRegression(random_state=seed)
    model.fit(np.log1p(train[["recency_days"]].to_numpy(float)), y)
    return [
        model.predict_proba(np.log1p(f[["recency_days"]].to_numpy(float)))[:, 1] for f in evaluate
    ]


def _quintile(values: np.ndarray, edges: np.ndarray) -> np.ndarray:
    return np.searchsorted(edges, values, side="right") + 1


def rfm(train: pd.DataFrame, y: np.ndarray, evaluate: Frames, *, seed: int) -> list[np.ndarray]:
    """Classic R+F+M quintile score (3-15), mapped to the churn rate of that score in training."""
    columns = {"recency_days": -1.0, "orders_365d": 1.0, "spend_365d": 1.0}

    def score(frame: pd.DataFrame, edges: dict[str, np.ndarray]) -> np.ndarray:
        total = np.zeros(len(frame), dtype=int)
        for column, sign in columns.items():
            total += _quintile(sign * frame[column].to_numpy(float), edges[column])
        return total

    edges = {
        c: np.unique(np.quantile(s * train[c].to_numpy(float), [0.2, 0.4, 0.6, 0.8]))
        for c, s in columns.items()
    }
    train_score = score(train, edges)
    prior = float(np.mean(y))
    # Smoothed towards the overall rate so that a rare score gets a sensible probability.
    counts = np.bincount(train_score, minlength=17).astype(float)
    churned = np.bincount(train_score, weights=y, minlength=17)
    rate = (churned + 10 * prior) / (counts + 10)
    return [rate[np.clip(score(f, edges), 0, 16)] for f in evaluate]


def logistic(
    train: pd.DataFrame, y: np.ndarray, evaluate: Frames, *, seed: int
) -> list[np.ndarray]:
    """Logistic regression on every feature (log-scaled, imputed, standardised)."""
    usable = [c for c in train.columns if train[c].notna().any()]
    model = make_pipeline(
        FunctionTransformer(_signed_log),
        SimpleImputer(strategy="median", add_indicator=True),
        StandardScaler(),
        LogisticRegression(max_iter=500, C=1.0, random_state=seed),
    )
    model.fit(train[usable].to_numpy(float), y)
    return [model.predict_proba(f[usable].to_numpy(float))[:, 1] for f in evaluate]


def bgnbd_churn(
    fit_summary: pd.DataFrame, evaluate: Frames, *, horizon_days: int, seed: int
) -> list[np.ndarray]:
    """BG/NBD's probability of no purchase within the horizon, fitted on a training snapshot."""
    sample = fit_summary
    if len(sample) > 50_000:
        sample = sample.sample(50_000, random_state=seed)
    model = bgnbd.fit_bgnbd(sample["x"], sample["t_x"], sample["T"])
    return [
        bgnbd.probability_no_purchase(model, f["x"], f["t_x"], f["T"], horizon_days)
        for f in evaluate
    ]
