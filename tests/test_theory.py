"""Tests of advsub.theory (the bounds and laws) and of the orthogonal gradient they describe."""
from __future__ import annotations

import inspect
import math

import numpy as np
import pytest
import torch
from scipy import stats

from advsub import Subspace, TwoLayerReLU, make_dataset, orthogonal_gradient, theory, train


# --- formulas ---------------------------------------------------------------------
def test_gradient_lower_bound_formula():
    k, ell, m, d = 25, 40, 50, 200
    assert theory.gradient_lower_bound(k, ell, m, d) == pytest.approx(math.sqrt(k * ell / (2 * m * d)), rel=1e-15)
    assert theory.gradient_lower_bound(k, ell, m, d, beta=0.01) == pytest.approx(0.01 * math.sqrt(k * ell / (2 * m)), rel=1e-15)
    # beta=1/√d is the standard initialisation.
    assert theory.gradient_lower_bound(k, ell, m, d, beta=1 / math.sqrt(d)) == pytest.approx(theory.gradient_lower_bound(k, ell, m, d), rel=1e-15)
    assert theory.gradient_lower_bound(0, ell, m, d) == 0.0


def test_failure_probabilities():
    assert theory.lower_bound_failure_probability(32) == pytest.approx(math.exp(-2), rel=1e-15)
    assert theory.upper_bound_failure_probability(3) == pytest.approx(math.exp(-3), rel=1e-15)
    # They bound the χ² tails they claim to bound (Laurent–Massart).
    for ell in (1, 5, 20, 100):
        assert stats.chi2(ell).cdf(ell / 2) <= theory.lower_bound_failure_probability(ell)
        assert stats.chi2(ell).sf(5 * ell) <= theory.upper_bound_failure_probability(ell)


def test_orthogonal_gradient_law():
    k, ell, m, beta = 12, 30, 40, 0.1
    law = theory.orthogonal_gradient_law(k, ell, m, beta)
    assert law.dist.name == "chi2"
    assert law.mean() == pytest.approx(k * ell * beta**2 / m, rel=1e-14)
    assert law.mean() == pytest.approx(theory.expected_orthogonal_gradient_sq(k, ell, m, beta), rel=1e-14)
    assert law.var() == pytest.approx(2 * ell * (k * beta**2 / m) ** 2, rel=1e-14)
    ref = stats.chi2(df=ell, scale=k * beta**2 / m)
    q = np.array([0.01, 0.5, 0.99])
    assert np.allclose(law.ppf(q), ref.ppf(q), rtol=1e-14)
    # The bounds are quantile statements about this law.
    lb = theory.gradient_lower_bound(k, ell, m, 1000, beta=beta)
    ub = theory.small_init_upper_bound(k, ell, m, beta)
    assert law.cdf(lb**2) <= theory.lower_bound_failure_probability(ell)
    assert law.sf(ub**2) <= theory.upper_bound_failure_probability(ell)


def test_small_init_upper_bound_and_operator_norm():
    assert theory.small_init_upper_bound(10, 20, 40, 0.5) == pytest.approx(0.5 * math.sqrt(5 * 10 * 20 / 40), rel=1e-15)
    assert theory.expected_orthogonal_operator_norm(49, 16, 0.1) == pytest.approx(0.1 * (7 + 4), rel=1e-15)


def test_expected_orthogonal_operator_norm_is_gordons_bound():
    """E‖G‖_op ≤ β(√m + √ℓ) for an m×ℓ Gaussian matrix (Gordon): the mean of 200 draws sits below it
    (the sample mean's standard error is < 0.05·β, the gap at m = 30, ℓ = 10 is about 0.4·β)."""
    m, ell, beta = 30, 10, 0.3
    g = torch.Generator().manual_seed(0)
    norms = torch.linalg.matrix_norm(beta * torch.randn(200, m, ell, generator=g, dtype=torch.float64), ord=2)
    bound = theory.expected_orthogonal_operator_norm(m, ell, beta)
    assert float(norms.mean()) < bound
    assert float(norms.mean()) > 0.8 * bound


def test_predicted_universal_size():
    m, d, ell = 50, 200, 50
    assert theory.predicted_universal_size(-0.4, 25, m, d, ell) == pytest.approx(0.4 * 2 * 2, rel=1e-15)
    arr = theory.predicted_universal_size(np.array([0.4, -1.0, 0.2]), np.array([25, 50, 0]), m, d, ell)
    assert isinstance(arr, np.ndarray) and arr.shape == (3,)
    assert np.allclose(arr[:2], [1.6, 2.0], rtol=1e-15) and arr[2] == np.inf
    # Broadcast: one k for several outputs.
    assert np.allclose(theory.predicted_universal_size([0.1, 0.2], 25, m, d, ell), [0.4, 0.8], rtol=1e-15)
    # Torch inputs work too.
    assert theory.predicted_universal_size(torch.tensor([0.4]), torch.tensor([25]), m, d, ell) == pytest.approx([1.6])


def test_predicted_universal_size_zero_active_is_inf():
    """The docstring promises inf for k = 0, also when the output is 0 (no neuron active ⇒ N(x0) = 0)."""
    assert theory.predicted_universal_size(0.0, 0, 10, 20, 5) == math.inf


def test_weight_decay_factor():
    assert theory.weight_decay_factor(0.5, 0.01, 100) == pytest.approx(0.995**100, rel=1e-14)
    assert theory.weight_decay_factor(0.5, 0.0, 100) == 1.0
    assert theory.weight_decay_factor(0.5, 0.01, 0) == 1.0
    arr = theory.weight_decay_factor(0.5, 0.01, np.array([0, 1, 2]))
    assert np.allclose(arr, [1, 0.995, 0.995**2], rtol=1e-15)
    # history.steps (an int64 tensor) can be passed directly.
    arr = theory.weight_decay_factor(0.5, 0.01, torch.tensor([3, 4]))
    assert np.allclose(arr, [0.995**3, 0.995**4], rtol=1e-15)


BAD_THEORY = [
    (theory.gradient_lower_bound, (5, 0, 10, 20), {}, ValueError, r"ell must be >= 1, got ell=0"),
    (theory.gradient_lower_bound, (11, 3, 10, 20), {}, ValueError, r"k must be <= 10, got k=11"),
    (theory.gradient_lower_bound, (-1, 3, 10, 20), {}, ValueError, r"k must be >= 0, got k=-1"),
    (theory.gradient_lower_bound, (5, 3, 0, 20), {}, ValueError, r"m must be >= 1, got m=0"),
    (theory.gradient_lower_bound, (5, 20, 10, 20), {}, ValueError, r"d must be >= 21, got d=20"),
    (theory.gradient_lower_bound, (5, 3, 10, 20), {"beta": 0.0}, ValueError, r"beta must be > 0.0, got beta=0.0"),
    (theory.gradient_lower_bound, (5, 3, 10, 20), {"beta": -1.0}, ValueError, r"beta must be > 0.0, got beta=-1.0"),
    (theory.gradient_lower_bound, (5, 3, 10, 20), {"beta": float("nan")}, ValueError, r"beta must be finite"),
    (theory.gradient_lower_bound, (5.5, 3, 10, 20), {}, ValueError, r"k must hold whole numbers, got k=5.5"),
    (theory.gradient_lower_bound, (np.array([2.0, 2.5]), 3, 10, 20), {}, ValueError,
     r"k must hold whole numbers, got k=.* \(entry 2.5\)"),
    (theory.gradient_lower_bound, (True, 3, 10, 20), {}, TypeError, r"k must hold real numbers, got True"),
    (theory.gradient_lower_bound, (5, 3, 10, "20"), {}, TypeError, r"d must hold real numbers, got '20'"),
    (theory.gradient_lower_bound, (5, 3, 10, None), {}, TypeError, r"d must hold real numbers, got None"),
    (theory.gradient_lower_bound, (np.array([5, 11]), 3, 10, 20), {}, ValueError,
     r"k must be <= 10, got k=.* \(entry 11\)"),
    (theory.gradient_lower_bound, (5, 3, np.array([10, 4]), 20), {}, ValueError,
     r"k must be <= m \(elementwise\), got k=5"),
    (theory.gradient_lower_bound, (5, np.array([3, 30]), 10, 20), {}, ValueError,
     r"d must be >= ell \+ 1 \(elementwise\), got d=20"),
    (theory.gradient_lower_bound, (np.ones(2), np.ones(3), 10, 20), {}, ValueError, r"do not broadcast"),
    (theory.lower_bound_failure_probability, (0,), {}, ValueError, r"ell must be >= 1, got ell=0"),
    (theory.upper_bound_failure_probability, (1.5,), {}, ValueError, r"ell must hold whole numbers, got ell=1.5"),
    (theory.orthogonal_gradient_law, (0, 3, 10, 0.1), {}, ValueError, r"k must be >= 1, got k=0"),
    (theory.orthogonal_gradient_law, (2, 3, 10, None), {}, TypeError, r"beta must hold real numbers, got None"),
    (theory.orthogonal_gradient_law, (2, 3, 10, -0.1), {}, ValueError, r"beta must be > 0.0, got beta=-0.1"),
    (theory.expected_orthogonal_gradient_sq, (2, 3, 10, float("inf")), {}, ValueError, r"beta must be finite"),
    (theory.small_init_upper_bound, (2, 3, 1, 0.1), {}, ValueError, r"k must be <= 1, got k=2"),
    (theory.predicted_universal_size, (0.5, 11, 10, 20, 5), {}, ValueError, r"k must be <= 10.0, got k=11.0"),
    (theory.predicted_universal_size, (0.5, -1, 10, 20, 5), {}, ValueError, r"k must be >= 0.0, got k=-1.0"),
    (theory.predicted_universal_size, (0.5, 3, 10, 20, 20), {}, ValueError, r"ell must be <= 19, got ell=20"),
    (theory.predicted_universal_size, (0.5, 3, 10, 20, 0), {}, ValueError, r"ell must be >= 1, got ell=0"),
    (theory.predicted_universal_size, (0.5, 3, 0, 20, 5), {}, ValueError, r"m must be >= 1, got m=0"),
    (theory.predicted_universal_size, (float("nan"), 3, 10, 20, 5), {}, ValueError, r"output .*(NaN|finite)"),
    (theory.predicted_universal_size, ("a", 3, 10, 20, 5), {}, TypeError, r"output must hold real numbers"),
    (theory.predicted_universal_size, (0.5, "a", 10, 20, 5), {}, TypeError, r"k must hold real numbers"),
    (theory.predicted_universal_size, (0.5, float("nan"), 10, 20, 5), {}, ValueError, r"k .*(NaN|finite)"),
    (theory.weight_decay_factor, (0.0, 0.1, 3), {}, ValueError, r"lr must be > 0.0, got lr=0.0"),
    (theory.weight_decay_factor, (-0.5, 0.1, 3), {}, ValueError, r"lr must be > 0.0, got lr=-0.5"),
    (theory.weight_decay_factor, (0.5, -0.1, 3), {}, ValueError, r"weight_decay must be >= 0.0, got weight_decay=-0.1"),
    (theory.weight_decay_factor, (0.5, 2.0, 3), {}, ValueError, r"lr \* weight_decay must be < 1, got lr=0.5, weight_decay=2.0"),
    (theory.weight_decay_factor, (0.5, 0.1, -1), {}, ValueError, r"t must be >= 0"),
    (theory.weight_decay_factor, (0.5, 0.1, "abc"), {}, TypeError, r"t must hold real numbers"),
    (theory.weight_decay_factor, (0.5, 0.1, float("nan")), {}, ValueError, r"t .*(NaN|finite)"),
    (theory.weight_decay_factor, (True, 0.1, 3), {}, TypeError, r"lr must hold real numbers, got True"),
    (theory.expected_orthogonal_operator_norm, (0, 3, 0.1), {}, ValueError, r"m must be >= 1, got m=0"),
    (theory.expected_orthogonal_operator_norm, (3, 0, 0.1), {}, ValueError, r"ell must be >= 1, got ell=0"),
    (theory.expected_orthogonal_operator_norm, (3, 3, 0), {}, ValueError, r"beta must be > 0.0, got beta=0.0"),
]


@pytest.mark.parametrize("fn, args, kwargs, exc, match", BAD_THEORY, ids=[f"{b[0].__name__}-{i}" for i, b in enumerate(BAD_THEORY)])
def test_theory_bad_inputs(fn, args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        fn(*args, **kwargs)


# --- the orthogonal gradient and Theorem A --------------------------------------------
# Both training loops when train offers a choice (default: reduced where exact; full-space).
PATHS = [pytest.param({}, id="default")]
if "reduced" in inspect.signature(train).parameters:
    PATHS.append(pytest.param({"reduced": False}, id="full"))


def _trained(optimizer="gd", weight_decay=0.0, seed=0, d=20, ell=8, n=20, m=30, E=4, **kw):
    S = Subspace.random(d, ell, seed=seed)
    X, y = make_dataset(S, n, seed=seed + 1)
    net = TwoLayerReLU(d, m, ensemble=E, seed=seed + 2)
    lr = {"gd": 0.5, "sgd": 0.5, "momentum": 0.1, "adam": 0.01}[optimizer]
    h = train(net, X, y, optimizer=optimizer, lr=lr, weight_decay=weight_decay, max_steps=2000, progress=False,
              **({"batch_size": 8, "seed": 1} if optimizer == "sgd" else {}), **kw)
    assert h.all_reached
    return S, X, y, net


def test_orthogonal_gradient_shape_and_definition():
    S, X, y, net = _trained()
    x = make_dataset(S, 6, seed=99)[0]
    g = orthogonal_gradient(net, x, S)
    assert g.shape == (4, 6, 8) and g.dtype == torch.float64
    # Definition: the P⊥ coordinates Cᵀ∇N(x) of the input gradient.
    assert torch.allclose(g, net.input_gradient(x) @ S.orth_basis, rtol=0, atol=1e-15)
    # In R^d: C g = Π ∇N.
    assert torch.allclose(g @ S.orth_basis.T, S.project_orth(net.input_gradient(x)), rtol=0, atol=1e-14)
    # (E, n, d) input: one set of points per member.
    xs = torch.stack([make_dataset(S, 6, seed=100 + e)[0] for e in range(4)])
    g3 = orthogonal_gradient(net, xs, S)
    for e in range(4):
        assert torch.allclose(g3[e], orthogonal_gradient(net, xs[e], S)[e], rtol=0, atol=0)


@pytest.mark.parametrize("optimizer", ["gd", "sgd", "momentum"])
@pytest.mark.parametrize("train_second_layer", [False, True])
@pytest.mark.parametrize("path", PATHS)
def test_theorem_a_identity(optimizer, train_second_layer, path):
    """After (S)GD/momentum without decay, Π∇N(x0) = Σ_{i active at x0} u_i Π w_i(0) (to 1e-12)."""
    S, X, y, net = _trained(optimizer, train_second_layer=train_second_layer, **path)
    x = torch.cat([X, make_dataset(S, 10, seed=77)[0]])  # training points and fresh points of P
    g = orthogonal_gradient(net, x, S)
    act = net.active(x).to(torch.float64)  # (E, n, m), with the *trained* weights
    want = torch.einsum("enm,em,emd->end", act, net.u, net.W0) @ S.orth_basis
    assert torch.allclose(g, want, rtol=0, atol=1e-12)
    assert float(g.norm(dim=-1).min()) > 0.05  # not trivially zero


def test_theorem_a_identity_with_weight_decay():
    """With decay λ, each member's Π∇N is scaled by its own (1 − ηλ)^{steps}."""
    S = Subspace.random(20, 8, seed=0)
    X, y = make_dataset(S, 20, seed=1)
    net = TwoLayerReLU(20, 30, ensemble=4, seed=2)
    h = train(net, X, y, lr=0.5, weight_decay=0.02, max_steps=2000, progress=False)
    g = orthogonal_gradient(net, X, S)
    f = torch.as_tensor(theory.weight_decay_factor(0.5, 0.02, h.steps))
    want = f[:, None, None] * (torch.einsum("enm,em,emd->end", net.active(X).double(), net.u, net.W0) @ S.orth_basis)
    assert torch.allclose(g, want, rtol=0, atol=1e-12)


def test_orthogonal_gradient_law_at_init_ks():
    """Theorem A's law, one point per network, for E = 300 fresh networks: ‖Π∇N(x0)‖²·m/(kβ²) ~ χ²_ℓ exactly
    (at initialisation the active set depends only on the P-part of W, independent of ΠW).
    Kolmogorov–Smirnov at level 1e-4."""
    d, ell, m, E = 30, 12, 20, 300
    S = Subspace.random(d, ell, seed=1)
    x0 = make_dataset(S, 1, seed=2)[0]
    net = TwoLayerReLU(d, m, ensemble=E, seed=3)
    g = orthogonal_gradient(net, x0, S)[:, 0]  # (E, ℓ)
    k = net.active(x0)[:, 0].sum(dim=1).to(torch.float64)  # (E,)
    keep = k > 0
    q = (g[keep] ** 2).sum(dim=1) * m / (k[keep] * net.beta**2)
    assert stats.kstest(q.numpy(), stats.chi2(ell).cdf).pvalue > 1e-4
    # The same through orthogonal_gradient_law, member by member (probability integral transform).
    u = [theory.orthogonal_gradient_law(int(k[e]), ell, m, net.beta).cdf(float((g[e] ** 2).sum())) for e in range(E) if k[e] > 0]
    assert stats.kstest(u, "uniform").pvalue > 1e-4


def test_orthogonal_gradient_law_after_training_ks():
    """The law holds after training too (the lemma makes the active set independent of ΠW(0)),
    after any number of steps. Fresh network per sample, one test point each: E = 200 members,
    300 GD steps (almost all reach the margin), KS at level 1e-4."""
    d, ell, m, E = 20, 10, 20, 200
    S = Subspace.random(d, ell, seed=4)
    X, y = make_dataset(S, 10, seed=5)
    x0 = make_dataset(S, 1, seed=6)[0]
    net = TwoLayerReLU(d, m, ensemble=E, seed=7)
    h = train(net, X, y, lr=0.5, max_steps=300, progress=False)
    assert float(h.reached.double().mean()) > 0.9
    g = orthogonal_gradient(net, x0, S)[:, 0]
    k = net.active(x0)[:, 0].sum(dim=1).to(torch.float64)
    keep = k > 0
    q = (g[keep] ** 2).sum(dim=1) * m / (k[keep] * net.beta**2)
    assert stats.kstest(q.numpy(), stats.chi2(ell).cdf).pvalue > 1e-4


def test_orthogonal_gradient_rejects_points_outside_P():
    S, X, y, net = _trained()
    off = X + 1e-3 * S.orth_basis[:, 0]
    with pytest.raises(ValueError, match=r"x must lie in the data subspace P .*rows \[0, 1, 2, 3, 4\]"):
        orthogonal_gradient(net, off, S)
    # Within the relative tolerance it is accepted; a looser tol accepts the perturbed points.
    orthogonal_gradient(net, X + 1e-12 * S.orth_basis[:, 0], S)
    orthogonal_gradient(net, off, S, tol=1e-3)
    with pytest.raises(ValueError, match=r"x must lie in the data subspace P .*rows \[0\]"):
        orthogonal_gradient(net, torch.cat([S.orth_basis[:, :1].T, X[:2]]), S)
