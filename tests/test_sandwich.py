"""advsub.experiments.sandwich: bad input, and the experiment equals attack_experiment."""

from __future__ import annotations

import numpy as np
import pytest

import advsub
from advsub.experiments.sandwich import deepfool_orthogonal, sandwich_experiment


@pytest.fixture(scope="module")
def small():
    P = advsub.Subspace.random(20, 10, seed=0)
    X, _ = advsub.make_dataset(P, 5, seed=1)
    return advsub.TwoLayerReLU(20, 8, ensemble=2, seed=2), X, P


def test_deepfool_refuses_bad_input(small):
    net, X, P = small
    with pytest.raises(TypeError, match="net"):
        deepfool_orthogonal("net", X, P)
    with pytest.raises(ValueError, match="steps"):
        deepfool_orthogonal(net, X, P, steps=0)
    with pytest.raises(ValueError, match="overshoot"):
        deepfool_orthogonal(net, X, P, overshoot=-1.0)


def test_sandwich_experiment_equals_attack_experiment():
    """Same seeds, same training: the universal step, certificate and the library's
    attack (= min(DeepFool, universal)) agree with advsub.attack_experiment."""
    kw = dict(ensemble=3, n=40, n_test=20, seed=5)
    w = sandwich_experiment(60, 40, 15, **kw)
    ref = advsub.attack_experiment(60, 40, 15, **kw)
    np.testing.assert_allclose(w.sample.universal, ref.universal, rtol=1e-9)
    np.testing.assert_allclose(w.sample.certified, ref.certified, rtol=1e-9)
    np.testing.assert_allclose(w.sample.orthogonal, ref.orthogonal, rtol=1e-9)
    assert w.deepfool.shape == ref.universal.shape
    assert np.all(w.deepfool >= w.sample.certified * (1 - 1e-9))
