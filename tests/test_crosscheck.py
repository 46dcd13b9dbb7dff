"""The independent attack check: foolbox's minimum-norm ℓ2 attacks against the book's attacks.

Restricted to P⊥ (foolbox attacks the ℓ orthogonal coordinates), foolbox must not find a
flipping perturbation more than 1% smaller than :func:`advsub.orthogonal_attack` on more
than 1% of the (member, point) pairs; unconstrained, its points must really flip.
"""
from __future__ import annotations

import functools

import pytest
import torch

import advsub
from advsub.crosscheck import library_attack
from advsub.deep import DeepReLU

pytest.importorskip("foolbox")


@functools.lru_cache(maxsize=None)
def trained(deep=False, d=60, ell=30, m=40, E=4, seed=0):
    P = advsub.Subspace.random(d, ell, seed=seed)
    X, y = advsub.make_dataset(P, 50, seed=seed + 1)
    net = DeepReLU(d, [m, m], ensemble=E, seed=seed + 2) if deep else advsub.TwoLayerReLU(d, m, ensemble=E, seed=seed + 2)
    assert advsub.train(net, X, y, lr=0.3, max_steps=3000, progress=False).all_reached
    Xt, _ = advsub.make_dataset(P, 50, seed=seed + 3)
    return net, P, Xt


@pytest.mark.parametrize("deep", [False, True])
def test_book_orthogonal_attack_is_not_weak(deep):
    net, P, Xt = trained(deep=deep)
    _, book = advsub.orthogonal_attack(net, Xt, P)
    z, lib, flipped = library_attack(net, Xt, P, attack="fmn")
    assert float(P.project(z).abs().max()) < 1e-10  # foolbox moved in P⊥ only
    assert float(flipped.float().mean()) > 0.95
    weak = (lib < 0.99 * book).float().mean()
    assert float(weak) <= 0.01, f"foolbox beat the book's attack by more than 1% on {float(weak):.1%} of the points"


def test_unconstrained_library_points_flip_and_are_no_smaller():
    net, P, Xt = trained()
    z, lib, flipped = library_attack(net, Xt)
    assert bool(flipped.all())
    s = torch.sign(net(Xt))
    assert bool((s * net(Xt + z) < 0).all())
    _, book = advsub.unconstrained_attack(net, Xt)
    _, orth = advsub.orthogonal_attack(net, Xt, P)
    assert float((lib < 0.99 * book).float().mean()) <= 0.01
    # R^d ⊃ P⊥, so the smallest unconstrained flip is never larger than the smallest orthogonal one;
    # the attacks find it so on (almost) every point
    assert float((book <= orth * 1.01).float().mean()) >= 0.95
    assert float((lib <= orth * 1.01).float().mean()) >= 0.95


def test_validation():
    net, P, Xt = trained()
    with pytest.raises(ValueError, match="attack"):
        library_attack(net, Xt, P, attack="cw")
    with pytest.raises(TypeError, match="subspace"):
        library_attack(net, Xt, "P")
    with pytest.raises(ValueError, match="data subspace"):
        library_attack(net, Xt + P.orth_basis[:, 0], P)
    with pytest.raises(ValueError, match=r"\(n, d\)"):
        library_attack(net, Xt.expand(net.ensemble, -1, -1), P)
    with pytest.raises(TypeError, match="net"):
        library_attack("net", Xt)
