"""BG/NBD and Gamma-Gamma recover the parameters they were simulated from (FHL 2005, CDNOW)."""

from __future__ import annotations

import numpy as np
import pytest

from core import bgnbd

CDNOW = bgnbd.BgNbd(r=0.243, alpha=4.414, a=0.793, b=2.426)


def simulate(model: bgnbd.BgNbd, customers: int, seed: int):
    """Purchases by the BG/NBD story over 27-39 weeks (CDNOW's calibration period)."""
    rng = np.random.default_rng(seed)
    rate = rng.gamma(model.r, 1 / model.alpha, customers)
    dropout = rng.beta(model.a, model.b, customers)
    T = rng.uniform(27, 39, customers)
    x, t_x, clock = np.zeros(customers), np.zeros(customers), np.zeros(customers)
    active = np.ones(customers, bool)
    while active.any():
        i = np.flatnonzero(active)
        clock[i] += rng.exponential(1 / rate[i])
        bought = clock[i] <= T[i]
        j = i[bought]
        x[j] += 1
        t_x[j] = clock[j]
        active[i[~bought]] = False
        active[j[rng.random(len(j)) < dropout[j]]] = False
    return x, t_x, T


@pytest.fixture(scope="module")
def cdnow_like():
    return simulate(CDNOW, 150_000, seed=2005)


@pytest.fixture(scope="module")
def fitted(cdnow_like):
    return bgnbd.fit_bgnbd(*cdnow_like)


def test_fit_recovers_the_published_cdnow_parameters(fitted):
    assert fitted.r == pytest.approx(CDNOW.r, abs=0.01)
    assert fitted.alpha == pytest.approx(CDNOW.alpha, rel=0.03)
    # a and b are identified mostly through their ratio (the mean dropout chance): with this
    # much data each lands within about 8% and the mean dropout within 2%.
    assert fitted.a == pytest.approx(CDNOW.a, rel=0.08)
    assert fitted.b == pytest.approx(CDNOW.b, rel=0.10)
    mean_dropout = CDNOW.a / (CDNOW.a + CDNOW.b)
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(mean_dropout, rel=0.02)


def test_fitted_likelihood_is_at_least_that_of_the_true_parameters(cdnow_like, fitted):
    assert bgnbd.bgnbd_loglik(fitted, *cdnow_like) >= bgnbd.bgnbd_loglik(CDNOW, *cdnow_like) - 1e-6


def test_expected_purchases_follow_recency_and_frequency():
    busy = bgnbd.expected_purchases(CDNOW, [10], [38], [39], 39)[0]
    silent = bgnbd.expected_purchases(CDNOW, [10], [5], [39], 39)[0]
    newcomer = bgnbd.expected_purchases(CDNOW, [0], [0], [39], 39)[0]
    assert busy > silent > 0
    assert busy > newcomer > 0


def test_churn_probability_is_a_probability_and_follows_recency():
    p = bgnbd.probability_no_purchase(CDNOW, [0, 5, 5], [0, 38, 10], [39, 39, 39], 39)
    assert np.all((p >= 0) & (p <= 1))
    assert p[1] < p[2]  # same frequency: the recent buyer is less likely to stay silent


def test_gamma_gamma_recovers_its_parameters():
    rng = np.random.default_rng(4)
    p, q, gamma = 6.25, 3.74, 15.44  # FHL's CDNOW spend parameters
    x = rng.integers(1, 15, 40_000).astype(float)
    nu = rng.gamma(q, 1 / gamma, len(x))
    mean_spend = rng.gamma(p * x, 1 / (nu * x))
    fitted = bgnbd.fit_gamma_gamma(x, mean_spend)
    assert fitted.p == pytest.approx(p, rel=0.1)
    assert fitted.q == pytest.approx(q, rel=0.1)
    assert fitted.gamma == pytest.approx(gamma, rel=0.15)
    assert bgnbd.expected_spend(fitted, [1.0, 20.0], [50.0, 50.0])[1] == pytest.approx(50, rel=0.05)
