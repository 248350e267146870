"""The BG/NBD purchase model and the Gamma-Gamma spend model, fitted by maximum likelihood.

Fader, Hardie and Lee (2005), "Counting your customers the easy way", and "RFM and CLV:
using iso-value curves". Time is in whatever unit the caller uses (days here; weeks in the
published CDNOW example); `x` counts repeat purchases, `t_x` is the time of the last
purchase and `T` the age, both measured from the first purchase.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import betaln, gammaln, hyp2f1

from core.errors import InvalidInput


@dataclass(frozen=True)
class BgNbd:
    r: float
    alpha: float
    a: float
    b: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class GammaGamma:
    p: float
    q: float
    gamma: float

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


def _bgnbd_loglik(params: np.ndarray, x, t_x, T, weights) -> float:
    r, alpha, a, b = np.exp(params)
    common = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    alive = betaln(a, b + x) - betaln(a, b) - (r + x) * np.log(alpha + T)
    with np.errstate(divide="ignore", invalid="ignore"):
        dead = betaln(a + 1, b + x - 1) - betaln(a, b) - (r + x) * np.log(alpha + t_x)
    dead = np.where(x > 0, dead, -np.inf)
    return float(np.sum(weights * (common + np.logaddexp(alive, dead))))


def fit_bgnbd(x, t_x, T, *, weights=None) -> BgNbd:
    """Maximum-likelihood BG/NBD parameters for the given summaries."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    if len(x) == 0:
        raise InvalidInput("BG/NBD needs at least one customer to fit.")
    weights = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
    scale = max(float(np.mean(T)), 1e-9)
    start = np.log([1.0, scale, 1.0, 1.0])
    result = minimize(
        lambda p: -_bgnbd_loglik(p, x, t_x, T, weights) / weights.sum(),
        start,
        method="L-BFGS-B",
        bounds=[(-10, 10), (-10, 15), (-10, 10), (-10, 10)],
    )
    r, alpha, a, b = np.exp(result.x)
    return BgNbd(float(r), float(alpha), float(a), float(b))


def bgnbd_loglik(model: BgNbd, x, t_x, T) -> float:
    """The log-likelihood of the summaries under the given parameters."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    params = np.log([model.r, model.alpha, model.a, model.b])
    return _bgnbd_loglik(params, x, t_x, T, np.ones_like(x))


def probability_alive(model: BgNbd, x, t_x, T) -> np.ndarray:
    """P(the customer is still active at T | history)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_odds = (
            np.log(a)
            - np.log(np.maximum(b + x - 1, 1e-12))
            + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        )
        return np.where(x > 0, 1.0 / (1.0 + np.exp(log_odds)), 1.0)


def probability_no_purchase(model: BgNbd, x, t_x, T, horizon: float) -> np.ndarray:
    """P(no purchase in (T, T + horizon] | history): BG/NBD's own churn probability.

    Dropout happens only right after a purchase, so an active customer makes no purchase in
    the horizon with probability E[exp(-lambda*horizon)] under the Gamma(r+x, alpha+T) posterior.
    """
    x, T = np.asarray(x, dtype=float), np.asarray(T, dtype=float)
    alive = probability_alive(model, x, t_x, T)
    silent = np.exp((model.r + x) * (np.log(model.alpha + T) - np.log(model.alpha + T + horizon)))
    return 1.0 - alive * (1.0 - silent)


def expected_purchases(model: BgNbd, x, t_x, T, horizon: float) -> np.ndarray:
    """E[number of purchases in (T, T + horizon] | history] (FHL 2005, equation 10)."""
    x, t_x, T = (np.asarray(v, dtype=float) for v in (x, t_x, T))
    r, alpha, a, b = model.r, model.alpha, model.a, model.b
    if abs(a - 1.0) < 1e-6:
        a = 1.0 + 1e-6  # the closed form divides by a - 1
    z = horizon / (alpha + T + horizon)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        head = (a + b + x - 1) / (a - 1)
        ratio = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + horizon)))
        body = 1.0 - ratio * hyp2f1(r + x, b + x, a + b + x - 1, z)
        odds = np.where(
            x > 0,
            a
            / np.maximum(b + x - 1, 1e-12)
            * np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + t_x))),
            0.0,
        )
        out = head * body / (1.0 + odds)
    return np.nan_to_num(np.maximum(out, 0.0))


def _gg_loglik(params, x, m):
    p, q, gamma = np.exp(params)
    return float(
        np.sum(
            gammaln(p * x + q)
            - gammaln(p * x)
            - gammaln(q)
            + q * np.log(gamma)
            + (p * x - 1) * np.log(m)
            + p * x * np.log(x)
            - (p * x + q) * np.log(gamma + m * x)
        )
    )


def fit_gamma_gamma(x, mean_spend) -> GammaGamma:
    """Gamma-Gamma spend parameters from customers with repeat purchases and positive spend."""
    x, m = np.asarray(x, dtype=float), np.asarray(mean_spend, dtype=float)
    keep = (x > 0) & (m > 0)
    if keep.sum() < 3:
        mean = float(np.mean(m[m > 0])) if (m > 0).any() else 0.0
        # Too little data: a degenerate model that predicts the overall mean spend.
        return GammaGamma(p=1e6, q=1e6 + 1, gamma=max(mean, 1e-9) * 1e6)
    x, m = x[keep], m[keep]
    result = minimize(
        lambda p: -_gg_loglik(p, x, m) / len(x),
        np.log([1.0, 2.0, float(np.mean(m))]),
        method="L-BFGS-B",
        bounds=[(-8, 12), (-8, 12), (-8, 20)],
    )
    p, q, gamma = np.exp(result.x)
    return GammaGamma(float(p), float(q), float(gamma))


def expected_spend(model: GammaGamma, x, mean_spend) -> np.ndarray:
    """E[spend per purchase | history]: a weighted mean of the population and own average."""
    x, m = np.asarray(x, dtype=float), np.nan_to_num(np.asarray(mean_spend, dtype=float))
    p, q, gamma = model.p, model.q, model.gamma
    population = p * gamma / max(q - 1, 1e-9)
    weight = p * x / (p * x + q - 1)
    return (1 - weight) * population + weight * m


def summarise(orders: pd.DataFrame, as_of_day: float) -> pd.DataFrame:
    """Per-customer x, t_x, T (days) and mean repeat spend from columns c, d (day number), amount."""
    daily = orders.groupby(["c", "d"], sort=True, as_index=False)["amount"].sum()
    grouped = daily.groupby("c", sort=True)
    first = grouped["d"].min()
    last = grouped["d"].max()
    count = grouped["d"].size()
    total = grouped["amount"].sum()
    first_amount = daily.drop_duplicates("c", keep="first").set_index("c")["amount"]
    x = (count - 1).astype(float)
    repeat_spend = (total - first_amount).clip(lower=0)
    mean_spend = np.where(x > 0, repeat_spend / x.where(x > 0, 1), 0.0)
    return pd.DataFrame(
        {"x": x, "t_x": (last - first).astype(float), "T": as_of_day - first, "m": mean_spend},
        index=first.index,
    )
