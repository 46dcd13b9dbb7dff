"""The experiments of chapters 06-07 (advsub.experiments.depth, norms, library_check,
manifolds_digits): shapes, seeds, validation and the exact facts they must respect."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import advsub
from advsub.experiments.depth import (
    deep_law_sample,
    depth_run,
    mean_and_spread,
)
from advsub.experiments.library_check import cold_fmn_attack, library_crosscheck
from advsub.experiments.manifolds_digits import curve_sweep, digits_runs, one_vs_rest
from advsub.experiments.norms import norm_ratio_sweep


# --- depth -----------------------------------------------------------------------
def test_deep_law_sample_is_exact():
    """The statistic is exactly chi2_ell (KS at level 0.001) and Pi W1 never moves."""
    s = deep_law_sample(d=12, ell=6, widths=[8, 8], n=10, ensemble=300, max_steps=200)
    assert s.drift < 1e-13
    assert s.statistic.shape[0] > 250 and s.ell == 6
    assert s.ks_pvalue > 1e-3


def test_depth_run_shapes_seeds_and_certificate():
    kw = dict(d=20, ell=10, n=12, n_test=5, ensemble=2, max_steps=500)
    r = depth_run([8, 8], seeds=[0, 1], **kw)
    assert r.depth == 3 and r.seeds == [0, 1]
    assert r.grad.shape == (2, 10) and r.reached.shape == (2,)
    assert r.seed_medians("flip/out").shape == (2,)
    assert np.all(r.drift < 1e-13)
    # the certificate is a guarantee: no flip in P-perp is smaller than it
    assert np.all(r.cert <= r.size * (1 + 1e-9))
    # a seed's numbers do not depend on which other seeds run with it
    r0 = depth_run([8, 8], seeds=[0], **kw)
    np.testing.assert_array_equal(r0.grad[0], r.grad[0])
    assert not np.array_equal(r.grad[0], r.grad[1])


@pytest.mark.parametrize(
    ("args", "kwargs", "exc", "match"),
    [
        ((40,), {}, TypeError, "widths"),
        (([8, 0],), {}, ValueError, r"widths\[1\]"),
        (([8],), dict(seeds=3), TypeError, "seeds"),
        (([8],), dict(seeds=[1, 1]), ValueError, "seeds"),
        (([8],), dict(d=10, ell=10), ValueError, "ell"),
        (([8],), dict(ensemble=2.0), TypeError, "ensemble"),
    ],
)
def test_depth_run_validates(args, kwargs, exc, match):
    with pytest.raises(exc, match=match):
        depth_run(*args, **kwargs)


def test_mean_and_spread():
    assert mean_and_spread([1.0, 3.0]) == (2.0, pytest.approx(math.sqrt(2)))
    with pytest.raises(ValueError, match="values"):
        mean_and_spread([1.0])


# --- norms -----------------------------------------------------------------------
def test_norm_ratio_sweep_matches_a_direct_run():
    (r,) = norm_ratio_sweep([(30, 10)], seeds=[0, 2], ensemble=2, n_test=4, n=15)
    assert r.linf.shape == (2, 8) and r.flipped.shape == (2,)
    # seed 0 is the draw the function documents: redo it by hand
    P = advsub.Subspace.axis_aligned(30, 10)
    X, y = advsub.make_dataset(P, 15, seed=1)
    Xt, _ = advsub.make_dataset(P, 4, seed=2)
    net = advsub.TwoLayerReLU(30, 50, ensemble=2, seed=3)
    advsub.train(net, X, y, lr=0.5, max_steps=3000, progress=False)
    _, s2 = advsub.orthogonal_attack(net, Xt, P)
    _, sinf = advsub.orthogonal_attack(net, Xt, P, norm="linf")
    ok = np.isfinite(r.linf[0])
    np.testing.assert_allclose(
        r.linf[0][ok], (sinf / s2).flatten().numpy()[ok], rtol=1e-9
    )
    assert r.seed_medians("l1").shape == (2,)
    with pytest.raises(ValueError, match="key"):
        r.seed_medians("l3")


@pytest.mark.parametrize(
    ("configs", "exc"),
    [
        ([(30, 30)], ValueError),
        ([(30,)], TypeError),
        ([(30.0, 5)], TypeError),
        ([], ValueError),
    ],
)
def test_norm_ratio_sweep_validates(configs, exc):
    with pytest.raises(exc):
        norm_ratio_sweep(configs)


# --- library check ---------------------------------------------------------------
@pytest.fixture(scope="module")
def trained_pair():
    pytest.importorskip("foolbox")
    P = advsub.Subspace.random(16, 8, seed=0)
    X, y = advsub.make_dataset(P, 12, seed=1)
    Xt, _ = advsub.make_dataset(P, 6, seed=2)
    net = advsub.TwoLayerReLU(16, 12, ensemble=2, seed=3)
    advsub.train(net, X, y, lr=0.5, max_steps=2000, progress=False)
    return net, P, Xt


def test_cold_fmn_attack_flips_and_respects_the_certificate(trained_pair):
    net, P, Xt = trained_pair
    z, size = cold_fmn_attack(net, Xt, P, steps=50)
    found = torch.isfinite(size)
    assert bool(found.any())
    s = torch.sign(net(Xt))
    assert bool((s * net(Xt + z) < 0)[found].all())  # every reported z flips
    assert float(P.project(z).abs().max()) < 1e-12  # and lies in P-perp
    torch.testing.assert_close(z.norm(dim=-1)[found], size[found])
    # no flip in P-perp is smaller than the certified radius (an exact bound)
    cert = advsub.certified_orthogonal_radius(net, Xt, P)
    assert bool((size[found] >= cert[found] * (1 - 1e-9)).all())


def test_library_crosscheck_fields(trained_pair):
    net, P, Xt = trained_pair
    c = library_crosscheck(net, Xt, P, steps=30)
    assert c.book.shape == c.cold.shape == c.orth_share.shape == (12,)
    finite = np.isfinite(c.free)
    assert np.all((c.orth_share[finite] >= 0) & (c.orth_share[finite] <= 1 + 1e-12))
    assert c.in_orth < 1e-12 and c.ell == 8 and c.d == 16
    assert np.all(c.free <= c.book_free) and np.all(c.free <= c.cold_free)
    assert 0.0 <= c.weak("cold") <= 1.0
    with pytest.raises(ValueError, match="other"):
        c.weak("lukewarm")


def test_library_check_validates(trained_pair):
    net, P, Xt = trained_pair
    with pytest.raises(TypeError, match="net"):
        cold_fmn_attack("net", Xt, P)
    with pytest.raises(TypeError, match="subspace"):
        cold_fmn_attack(net, Xt, "P")
    with pytest.raises(ValueError, match="x must have shape"):
        cold_fmn_attack(net, Xt[:, :3], P)
    with pytest.raises(ValueError, match="step_scales"):
        cold_fmn_attack(net, Xt, P, step_scales=(0.1, -1.0))
    with pytest.raises(TypeError, match="steps"):
        cold_fmn_attack(net, Xt, P, steps=1.5)


# --- manifolds and digits ------------------------------------------------------------
def test_curve_sweep_shapes_and_invariance():
    runs = curve_sweep(
        [1, 3],
        init_scales=("standard", "small"),
        seeds=[0, 1],
        d=12,
        m=10,
        n=16,
        n_test=5,
        ensemble=2,
        max_steps=2000,
    )
    assert set(runs) == {(i, F) for i in ("standard", "small") for F in (1, 3)}
    r = runs[("standard", 3)]
    assert r.normal.shape == (2, 10) and r.accuracy.shape == (2,)
    assert r.seed_medians("g_span_perp").shape == (2,)
    # small init scales the frozen S-perp part by beta_small / beta_std = 1/sqrt(d) only
    # on average; it must be smaller on every seed at this size
    small = runs[("small", 3)].seed_medians("g_span_perp")
    assert np.all(small < r.seed_medians("g_span_perp"))
    with pytest.raises(ValueError, match="2F"):
        curve_sweep([7], d=12)
    with pytest.raises(TypeError, match="init_scales"):
        curve_sweep([1], init_scales="small")


def test_digits_runs_weight_decay_factor():
    (decay,) = digits_runs([dict(view="pca", k=10, weight_decay=1e-2)], ensemble=2)
    assert decay.ell == 54 and decay.size.shape == decay.grad.shape == (
        2,
        decay.Xt.shape[0],
    )
    assert decay.net_medians("grad").shape == (2,) and decay.flip_rate().shape == (2,)
    # with decay Pi W is exactly (1 - lr*lambda)^2000 Pi W0
    factor = advsub.theory.weight_decay_factor(0.5, 1e-2, 2000)
    P = decay.subspace
    torch.testing.assert_close(
        P.project_orth(decay.net.W),
        factor * P.project_orth(decay.net.W0),
        rtol=1e-9,
        atol=1e-15,  # rounding of entries near 0
    )
    with pytest.raises(ValueError, match="unknown"):
        digits_runs([dict(view="pca", depth=3)])


def test_one_vs_rest_shapes():
    r = one_vs_rest(n_train=40, n_test=6, ensemble=1, max_steps=20, m=8)
    assert r.size.shape == (10, 1, 6) and r.reached.shape == (10, 1) and r.ell == 44
    with pytest.raises(ValueError, match="n_train"):
        one_vs_rest(n_train=10**6)
