"""Training on rolling-origin snapshots: XGBoost with early stopping, calibration and baselines.

Origins, newest first: the test origin is `as_of - horizon` (its labels end on `as_of`), the
validation origin one horizon earlier, and the training origins one horizon before that and
then every `step_days` back. Each split's labels end before the next split's origin, so
validation and test are truly out of time and no label looks past `as_of`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, timedelta

import numpy as np
import pandas as pd
import scipy
import sklearn
import xgboost as xgb
from sklearn.isotonic import IsotonicRegression

from core import baselines, bgnbd, evaluation, reasons
from core.churn_model import ChurnModel
from core.errors import InvalidInput
from core.features import FEATURES, build_features

log = logging.getLogger(__name__)

XGB_PARAMS = {
    "objective": "binary:logistic",
    "eval_metric": "logloss",
    "tree_method": "hist",
    "max_depth": 6,
    "eta": 0.08,
    "min_child_weight": 5,
    "subsample": 0.8,
    "colsample_bytree": 0.8,
    "lambda": 1.0,
    "max_bin": 256,
}
MIN_HISTORY_DAYS = 60
BGNBD_SAMPLE = 50_000
# Beyond this many customers a seeded sample of them trains the model: the snapshots of a
# million customers would take most of an hour on two cores for little gain in accuracy.
MAX_TRAIN_CUSTOMERS = 200_000


@dataclass(frozen=True)
class Plan:
    """Which origins train, validate and test a model."""

    train: list[date]
    validation: date
    test: date


@dataclass
class Snapshot:
    origin: date
    features: pd.DataFrame
    label: np.ndarray  # 1 = no purchase within the horizon after the origin


@dataclass
class TrainingResult:
    model: ChurnModel
    metrics: dict
    params: dict
    window: dict
    beats_baselines: bool
    library_versions: dict = field(default_factory=dict)


def plan_origins(
    first_order: date,
    as_of: date,
    *,
    horizon_days: int,
    train_snapshots: int = 12,
    step_days: int = 30,
) -> Plan:
    """Rolling origins that fit inside the history; raises when there is too little of it."""
    horizon = timedelta(days=horizon_days)
    test = as_of - horizon
    validation = test - horizon
    earliest = first_order + timedelta(days=MIN_HISTORY_DAYS)
    train = [validation - horizon - timedelta(days=i * step_days) for i in range(train_snapshots)]
    train = [origin for origin in train if origin >= earliest]
    if not train:
        needed = 3 * horizon_days + MIN_HISTORY_DAYS
        raise InvalidInput(
            f"Not enough order history to train: need about {needed} days before {as_of} "
            f"for a {horizon_days}-day horizon, the first order is on {first_order}."
        )
    return Plan(train=sorted(train), validation=validation, test=test)


def _order_days(orders: pd.DataFrame) -> pd.DataFrame:
    day = pd.to_datetime(orders["ordered_date"]).to_numpy(dtype="datetime64[D]")
    status = orders["status"] if "status" in orders.columns else pd.Series(None, index=orders.index)
    keep = status.astype(object).fillna("delivered").to_numpy() != "cancelled"
    return pd.DataFrame({"customer_id": orders["customer_id"].astype(str).to_numpy(), "day": day})[
        keep
    ]


def make_snapshot(frames: dict[str, pd.DataFrame], origin: date, horizon_days: int) -> Snapshot:
    """Features as of the origin and, per customer, whether they bought within the horizon."""
    features = build_features(frames, origin)
    days = _order_days(frames["orders"])
    start, end = (
        np.datetime64(origin, "D"),
        np.datetime64(origin + timedelta(days=horizon_days), "D"),
    )
    buyers = days.loc[(days["day"] > start) & (days["day"] <= end), "customer_id"].unique()
    label = (~features.index.isin(buyers)).astype(int)
    return Snapshot(origin=origin, features=features, label=label)


def _stack(snapshots: list[Snapshot]) -> tuple[pd.DataFrame, np.ndarray]:
    return (
        pd.concat([s.features for s in snapshots], ignore_index=True),
        np.concatenate([s.label for s in snapshots]),
    )


def _fit_booster(train, y_train, valid, y_valid, *, seed, nthread, rounds):
    params = {**XGB_PARAMS, "seed": seed, "nthread": nthread}
    dtrain = xgb.DMatrix(
        train[FEATURES].to_numpy(np.float32), label=y_train, feature_names=FEATURES, nthread=nthread
    )
    dvalid = xgb.DMatrix(
        valid[FEATURES].to_numpy(np.float32), label=y_valid, feature_names=FEATURES, nthread=nthread
    )
    booster = xgb.train(
        params,
        dtrain,
        num_boost_round=rounds,
        evals=[(dvalid, "validation")],
        early_stopping_rounds=30,
        verbose_eval=False,
    )
    # Keep only the trees up to the best round so that predict and pred_contribs agree.
    return booster[: booster.best_iteration + 1], params


def choose_calibration(y: np.ndarray, raw: np.ndarray, *, seed: int) -> tuple[dict | None, dict]:
    """Isotonic calibration when it lowers the Brier score out of fold on validation, else none."""
    rng = np.random.default_rng(seed)
    fold = rng.random(len(y)) < 0.5
    crossed = np.empty_like(raw, dtype=float)
    for part in (fold, ~fold):
        iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0)
        iso.fit(raw[~part], y[~part])
        crossed[part] = iso.predict(raw[part])
    raw_brier = float(np.mean((raw - y) ** 2))
    iso_brier = float(np.mean((crossed - y) ** 2))
    check = {
        "raw_brier": round(raw_brier, 5),
        "isotonic_brier_out_of_fold": round(iso_brier, 5),
        "raw_calibration_error": evaluation.calibration_error(y, raw),
        "isotonic_calibration_error": evaluation.calibration_error(y, crossed),
    }
    if iso_brier >= raw_brier - 1e-4:
        check["method"] = "none"
        return None, check
    iso = IsotonicRegression(out_of_bounds="clip", y_min=0.0, y_max=1.0).fit(raw, y)
    check["method"] = "isotonic"
    return {
        "method": "isotonic",
        "x": iso.X_thresholds_.tolist(),
        "y": iso.y_thresholds_.tolist(),
    }, check


def _baseline_probabilities(
    x_train, y_train, last_train: Snapshot, splits: list[Snapshot], *, horizon, seed
):
    """Per baseline, its probabilities on each of the splits (each baseline fitted once)."""
    frames = [s.features for s in splits]
    out = {
        "recency": baselines.recency(x_train, y_train, frames, seed=seed),
        "rfm": baselines.rfm(x_train, y_train, frames, seed=seed),
        "logistic": baselines.logistic(
            x_train[FEATURES], y_train, [f[FEATURES] for f in frames], seed=seed
        ),
    }
    names = {"bg_x": "x", "bg_t_x": "t_x", "bg_T": "T"}

    def summary(frame: pd.DataFrame) -> pd.DataFrame:
        return frame[list(names)].rename(columns=names)

    # BG/NBD is fitted on the newest training snapshot: it models one history, not a stack.
    out["bgnbd"] = baselines.bgnbd_churn(
        summary(last_train.features), [summary(f) for f in frames], horizon_days=horizon, seed=seed
    )
    return out


def _value_models(features: pd.DataFrame, *, seed: int) -> tuple[bgnbd.BgNbd, bgnbd.GammaGamma]:
    sample = (
        features
        if len(features) <= BGNBD_SAMPLE
        else features.sample(BGNBD_SAMPLE, random_state=seed)
    )
    purchases = bgnbd.fit_bgnbd(sample["bg_x"], sample["bg_t_x"], sample["bg_T"])
    spend = bgnbd.fit_gamma_gamma(sample["bg_x"], sample["bg_m"])
    return purchases, spend


def train(
    frames: dict[str, pd.DataFrame],
    *,
    as_of: date,
    horizon_days: int = 90,
    train_snapshots: int = 12,
    step_days: int = 30,
    seed: int = 0,
    nthread: int = 2,
    max_rounds: int = 600,
    max_customers: int = MAX_TRAIN_CUSTOMERS,
) -> TrainingResult:
    """Fit the churn model and every baseline on the same rolling-origin split; return metrics."""
    orders = frames.get("orders")
    if orders is None or not len(orders):
        raise InvalidInput("There are no orders to train on.")
    frames = sample_customers(frames, max_customers, seed=seed)
    orders = frames["orders"]
    first_order = pd.to_datetime(orders["ordered_date"]).min().date()
    plan = plan_origins(
        first_order,
        as_of,
        horizon_days=horizon_days,
        train_snapshots=train_snapshots,
        step_days=step_days,
    )
    log.info("training origins %s, validation %s, test %s", plan.train, plan.validation, plan.test)
    train_snaps = [make_snapshot(frames, origin, horizon_days) for origin in plan.train]
    valid = make_snapshot(frames, plan.validation, horizon_days)
    test = make_snapshot(frames, plan.test, horizon_days)
    x_train, y_train = _stack(train_snaps)
    if len(np.unique(y_train)) < 2 or len(np.unique(valid.label)) < 2:
        raise InvalidInput(
            "Every customer in the training window churned (or none did): nothing to learn."
        )
    booster, params = _fit_booster(
        x_train, y_train, valid.features, valid.label, seed=seed, nthread=nthread, rounds=max_rounds
    )
    purchases, spend = _value_models(build_features(frames, as_of), seed=seed)
    model = ChurnModel(booster, list(FEATURES), horizon_days, purchases, spend, None, nthread)
    raw_valid = model.raw_probability(valid.features)
    model.calibration, calibration_check = choose_calibration(valid.label, raw_valid, seed=seed)
    metrics: dict = {
        "calibration_check": calibration_check,
        "best_iteration": int(booster.num_boosted_rounds()),
    }
    splits = {"validation": valid, "test": test}
    others = _baseline_probabilities(
        x_train, y_train, train_snaps[-1], list(splits.values()), horizon=horizon_days, seed=seed
    )
    for position, (name, split) in enumerate(splits.items()):
        probabilities = {"model": model.churn_probability(split.features)}
        probabilities.update({key: values[position] for key, values in others.items()})
        metrics[name] = {key: evaluation.scores(split.label, p) for key, p in probabilities.items()}
        metrics[f"{name}_calibration"] = evaluation.calibration_table(
            split.label, probabilities["model"]
        )
    metrics["feature_importance"] = _importance(booster)
    # How much each story moves the validation scores, from the per-customer contributions.
    metrics["contribution_summary"] = reasons.contribution_summary(
        model.contributions(valid.features), model.features
    )
    beats = beats_every_baseline(metrics["validation"])
    return TrainingResult(
        model=model,
        metrics=metrics,
        params={
            **params,
            "horizon_days": horizon_days,
            "train_snapshots": train_snapshots,
            "step_days": step_days,
        },
        window={
            "first_order": first_order.isoformat(),
            "train_origins": [o.isoformat() for o in plan.train],
            "validation_origin": plan.validation.isoformat(),
            "test_origin": plan.test.isoformat(),
            "as_of": as_of.isoformat(),
            "train_rows": len(y_train),
            "customers_sampled": int(orders["customer_id"].nunique()),
        },
        beats_baselines=beats,
        library_versions={
            "xgboost": xgb.__version__,
            "scikit-learn": sklearn.__version__,
            "scipy": scipy.__version__,
            "pandas": pd.__version__,
            "numpy": np.__version__,
        },
    )


def sample_customers(frames: dict[str, pd.DataFrame], limit: int, *, seed: int) -> dict:
    """The frames restricted to a seeded sample of `limit` customers (all of them if fewer)."""
    ids = frames["orders"]["customer_id"].astype(str).unique()
    if len(ids) <= limit:
        return frames
    chosen = pd.Index(np.random.default_rng(seed).choice(ids, limit, replace=False))
    out = {}
    for name, frame in frames.items():
        if "customer_id" in frame.columns:
            out[name] = frame[frame["customer_id"].astype(str).isin(chosen)]
        else:
            out[name] = frame
    order_ids = out["orders"]["order_id"].astype(str)
    for name in ("order_lines", "returns"):
        if name in out and len(out[name]):
            out[name] = out[name][out[name]["order_id"].astype(str).isin(order_ids)]
    log.info("training on a sample of %s of %s customers", limit, len(ids))
    return out


def beats_every_baseline(split_metrics: dict) -> bool:
    """True when the model has a higher AUC and a lower Brier score than every baseline."""
    model = split_metrics["model"]
    others = [v for k, v in split_metrics.items() if k != "model"]
    return all(model["auc"] > o["auc"] and model["brier"] < o["brier"] for o in others)


def _importance(booster: xgb.Booster) -> dict[str, float]:
    gain = booster.get_score(importance_type="total_gain")
    total = sum(gain.values()) or 1.0
    return {k: round(v / total, 4) for k, v in sorted(gain.items(), key=lambda kv: -kv[1])}
