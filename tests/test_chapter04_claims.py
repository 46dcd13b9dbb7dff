"""The claims chapter 04 (L2 regularisation, Theorem D) prints, at its fast-mode sizes and seeds."""
from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import stats

import advsub
from advsub import theory
from advsub.regularisation import weight_decay_sweep

torch.set_num_threads(1)
D, ELL, M, LR, T = 100, 50, 50, 0.5, 3000
BUDGET = D**0.5
KW = dict(d=D, ell=ELL, m=M, n=100, n_test=100, lr=LR, max_steps=T)


@pytest.fixture(scope="module")
def sweep():
    return {p.weight_decay: p for p in weight_decay_sweep([0.0, 1e-3, 1e-2, 0.1, 1.0], ensemble=2, target_margin=1e9,
                                                          attack=True, **KW)}


def test_see_it_first_weight_decay_stops_the_universal_flips(sweep):
    """λ = 0: most held-out points flip within ‖z‖ ≤ √d after 3000 steps; λ = 1e-2: none, at the same accuracy."""
    a, b = sweep[0.0].sample, sweep[1e-2].sample
    assert a.flip_rate(BUDGET) > 0.5 and b.flip_rate(BUDGET) == 0.0
    assert abs(a.accuracy.mean() - b.accuracy.mean()) < 0.03
    shrink = np.median(b.orth_grad) / (np.median(a.orth_grad) * np.median(sweep[1e-2].factor))
    assert 1 / 3 < shrink < 3  # the orthogonal gradient is (1 − ηλ)^T ≈ 3e-7 times smaller


def test_robustness_grows_margin_shrinks_accuracy_holds(sweep):
    lams = [0.0, 1e-3, 1e-2]
    cert = [np.median(sweep[l].sample.certified) for l in lams]
    orth = [np.median(sweep[l].sample.orthogonal) for l in lams]
    flips = [sweep[l].sample.flip_rate(BUDGET) for l in lams]
    margin = [np.median(sweep[l].margin) for l in [0.0, 1e-3, 1e-2, 0.1, 1.0]]
    assert cert == sorted(cert) and orth == sorted(orth) and flips == sorted(flips, reverse=True)
    assert margin == sorted(margin, reverse=True) and margin[-1] < 0 < margin[-2]
    acc = [sweep[l].sample.accuracy.mean() for l in [0.0, 1e-3, 1e-2, 0.1, 1.0]]
    assert max(acc) - min(acc) < 0.05
    for l in lams:  # the certificate is Theorem D's, above the rounding floor
        assert np.allclose(sweep[l].sample.certified, sweep[l].predicted_certified, rtol=1e-9)


def test_stopping_rule_cliff():
    """With target margin 0.3: small λ stop within a few dozen steps and still flip; λ ≥ 0.2 never reach the margin."""
    pts = {p.weight_decay: p for p in weight_decay_sweep([0.0, 0.1, 0.2, 0.5], ensemble=2, target_margin=0.3,
                                                         attack=False, **KW)}
    assert pts[0.0].reached.all() and pts[0.1].reached.all() and pts[0.1].steps.max() < 100
    assert pts[0.0].sample.flip_rate(BUDGET) > 0.9
    assert not pts[0.2].reached.any() and not pts[0.5].reached.any()
    assert (pts[0.5].margin < 0).all()


def test_chi2_law_under_weight_decay():
    P = advsub.Subspace.random(D, ELL, seed=0)
    X, y = advsub.make_dataset(P, 200, seed=1, labels="linear")
    net = advsub.TwoLayerReLU(D, M, ensemble=100, seed=3)
    hist = advsub.train(net, X[:100], y[:100], lr=LR, weight_decay=3e-3, target_margin=1e9, max_steps=300,
                        progress=False)
    x0 = X[100:101]
    f = torch.as_tensor(theory.weight_decay_factor(LR, 3e-3, hist.steps.numpy()))
    k = net.active(x0)[:, 0, :].sum(-1).double()
    g2 = advsub.orthogonal_gradient(net, x0, P)[:, 0, :].pow(2).sum(-1)
    stat = (g2 * M / (k * net.beta**2 * f**2)).numpy()
    assert stats.kstest(stat, stats.chi2(df=ELL).cdf).pvalue > 1e-3
