"""The statistical claims of chapter 01 (Theorem A), asserted at package level with fixed seeds.

Tolerances come from the exact laws, never tuned: a KS test at level 0.01 on independent values
(one held-out point per network) and binomial margins of 3 standard errors.
"""

from __future__ import annotations

import math

import pytest
from scipy import stats

import advsub
from advsub import theory

LEVEL = 0.01


def test_chi2_law_is_not_rejected_on_independent_networks():
    """‖Π∇N(x0)‖²·m/(kβ²) ~ χ²_ℓ exactly: 2000 networks, one point each."""
    s = advsub.gradient_law_experiment(40, 20, 50, ensemble=2000, n=20, seed=0)
    assert s.valid.sum() >= 2000 - 5
    law = theory.orthogonal_gradient_law(1, 20, 1, 1.0)  # χ²_20
    p = stats.kstest(s.statistic, law.cdf).pvalue
    assert p > LEVEL, p


def test_pooling_points_of_one_network_is_rejected():
    """The values at many points of a few networks are dependent: the pooled sample is not χ²_ℓ."""
    P = advsub.Subspace.random(40, 20, seed=20)
    X, y = advsub.make_dataset(P, 20, seed=21)
    net = advsub.TwoLayerReLU(40, 50, ensemble=4, seed=22)
    advsub.train(net, X, y, lr=0.5, max_steps=2000, progress=False)
    xs, _ = advsub.make_dataset(P, 500, seed=23)
    g2 = (advsub.orthogonal_gradient(net, xs, P) ** 2).sum(-1)
    k = net.active(xs).sum(-1)
    pooled = (g2 * net.m / (k * net.beta**2))[k > 0].numpy()
    assert stats.kstest(pooled, stats.chi2(20).cdf).pvalue < LEVEL


@pytest.mark.parametrize("ell", [4, 16, 48])
def test_lower_bound_success_rate(ell):
    """P(‖Π∇N(x0)‖ ≥ √(kℓβ²/(2m))) ≥ 1 − e^{−ℓ/16}, measured on 1000 independent networks."""
    s = advsub.gradient_law_experiment(64, ell, 50, ensemble=1000, n=20, seed=100 + ell)
    holds = s.lower_bound_holds()
    rate, trials = holds.mean(), holds.size
    guarantee = 1 - theory.lower_bound_failure_probability(ell)
    margin = 3 * math.sqrt(guarantee * (1 - guarantee) / trials)
    assert rate >= guarantee - margin, (rate, guarantee)
    # and it matches the exact probability P(χ²_ℓ ≥ ℓ/2) within 3 binomial standard errors
    exact = stats.chi2(ell).sf(ell / 2)
    assert (
        abs(rate - exact) <= 3 * math.sqrt(exact * (1 - exact) / trials) + 1 / trials
    ), (rate, exact)


def test_mean_norm_matches_expectation_across_widths():
    """E‖Π∇N(x0)‖ = β√(k/m)·Eχ_ℓ: the mean over 300 networks is within 3 standard errors, for m = 20 and 200."""
    for m in (20, 200):
        s = advsub.gradient_law_experiment(60, 30, m, ensemble=300, n=20, seed=m)
        expected = advsub.expected_orthogonal_gradient_norm(
            s.k, s.ell, s.m, s.beta
        ).mean()
        sem = s.norm.std(ddof=1) / math.sqrt(len(s))
        assert abs(s.norm.mean() - expected) <= 3 * sem, (
            m,
            s.norm.mean(),
            expected,
            sem,
        )


def test_adam_breaks_the_law_on_a_random_subspace_only():
    """Chapter 01's "Breaking it": Adam keeps the χ²_ℓ law on an axis-aligned P, loses it on a random P."""
    p = {}
    for sub in ("axis", "random"):
        s = advsub.gradient_law_experiment(
            40,
            20,
            50,
            ensemble=1000,
            n=20,
            optimizer="adam",
            lr=0.05,
            subspace=sub,
            seed=7,
        )
        p[sub] = stats.kstest(s.statistic, stats.chi2(20).cdf).pvalue
    assert p["axis"] > LEVEL and p["random"] < LEVEL, p


def test_scaling_means_sit_on_the_exact_mean():
    """Chapter 01's scaling sweep on its own configurations: the mean of ‖Π∇N(x0)‖ over
    150 networks is within 4 standard errors of β√(k/m)·Eχ_ℓ at every point (a z-score
    under the exact law; |z| > 4 has probability 6e-5), so the fitted slopes follow:
    1/2 in ℓ, −1/2 in d, 0 in m."""
    configs = [
        dict(d=80, ell=10, m=50, seed=1),
        dict(d=80, ell=40, m=50, seed=2),
        dict(d=80, ell=40, m=200, seed=3),
        dict(d=320, ell=10, m=50, seed=4),
    ]
    for s in advsub.gradient_law_sweep(configs, ensemble=150, n=20, progress=False):
        expected = advsub.expected_orthogonal_gradient_norm(s.k, s.ell, s.m, s.beta)
        sem = s.norm.std(ddof=1) / math.sqrt(len(s))
        assert abs(s.norm.mean() - expected.mean()) <= 4 * sem, (s.d, s.ell, s.m)


def test_orthogonal_component_is_of_the_order_of_the_parallel_one():
    """ "See it first" on other seeds: the mean orthogonal component is between half and
    twice the mean component along the data (the chapter measures 0.74; the law's
    prediction √(kℓ/(md)) ≈ 0.5 against ‖(I−Π)∇N‖ ≈ 0.67 in that configuration)."""
    d, ell, m = 100, 50, 100
    P = advsub.Subspace.random(d, ell, seed=40)
    X, y = advsub.make_dataset(P, 50, seed=41)
    net = advsub.TwoLayerReLU(d, m, ensemble=60, seed=42)
    history = advsub.train(net, X, y, lr=0.5, max_steps=2000, progress=False)
    assert bool(history.reached.all())
    x0, _ = advsub.make_dataset(P, 60, seed=43)
    grad = net.input_gradient(x0[:, None, :])[:, 0, :]
    ratio = float(
        P.orth_coords(grad).norm(dim=-1).mean() / P.coords(grad).norm(dim=-1).mean()
    )
    assert 0.5 <= ratio <= 2.0, ratio
