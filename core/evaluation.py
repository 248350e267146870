"""How good a churn probability is: ranking, precision, Brier score and calibration."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score


def calibration_table(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> list[dict]:
    """Per probability bin: how many customers, the mean predicted and the observed churn rate."""
    y, p = np.asarray(y, dtype=float), np.asarray(p, dtype=float)
    edges = np.linspace(0.0, 1.0, bins + 1)
    which = np.clip(np.digitize(p, edges[1:-1]), 0, bins - 1)
    rows = []
    for b in range(bins):
        mask = which == b
        if not mask.any():
            continue
        rows.append(
            {
                "bin": f"{edges[b]:.1f}-{edges[b + 1]:.1f}",
                "count": int(mask.sum()),
                "predicted": round(float(p[mask].mean()), 4),
                "observed": round(float(y[mask].mean()), 4),
            }
        )
    return rows


def scores(y: np.ndarray, p: np.ndarray) -> dict[str, float]:
    """AUC, PR-AUC (average precision) and Brier score of probabilities against 0/1 labels."""
    y, p = np.asarray(y, dtype=int), np.clip(np.asarray(p, dtype=float), 0.0, 1.0)
    both = 0 < y.sum() < len(y)
    return {
        "auc": round(float(roc_auc_score(y, p)), 4) if both else float("nan"),
        "pr_auc": round(float(average_precision_score(y, p)), 4) if both else float("nan"),
        "brier": round(float(brier_score_loss(y, p)), 4),
        "n": len(y),
        "churn_rate": round(float(y.mean()), 4) if len(y) else float("nan"),
    }


def calibration_error(y: np.ndarray, p: np.ndarray, *, bins: int = 10) -> float:
    """Expected calibration error: the count-weighted gap between predicted and observed."""
    table = calibration_table(y, p, bins=bins)
    total = sum(row["count"] for row in table) or 1
    return round(
        sum(row["count"] * abs(row["predicted"] - row["observed"]) for row in table) / total, 4
    )
