"""The declarative validation spec (advsub._validation): one declaration per parameter,
one error type per kind of mistake (TypeError for a type, ValueError for a value), and a
message that names the parameter, the value and what was expected."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch

import advsub
from advsub import Subspace, TwoLayerReLU, make_dataset
from advsub._validation import (
    Boolean,
    Check,
    Choice,
    InstanceOf,
    Integer,
    Optional,
    Real,
    RealArray,
    Seed,
    Tensor,
    check_int,
    check_params,
    validate_params,
)


@validate_params(
    {
        "d": Integer(low=2),
        "ell": Integer(low=1, high=lambda p: p["d"] - 1),
        "lr": Real(low=0.0, closed="neither"),
        "radius": Real(low=0.0, closed="neither", allow_inf=True),
        "mode": Choice({"a", "b"}),
        "flag": Boolean(),
        "seed": Optional(Seed()),
        "x": Optional(Tensor(ndim=2, last_dim=lambda p: p["d"])),
        "k": RealArray(low=0, high=lambda p: p["d"], integral=True),
        "n": Check(lambda name, v: check_int(name, v, low=3)),
    }
)
def f(
    d,
    ell,
    *,
    lr=0.5,
    radius=math.inf,
    mode="a",
    flag=False,
    seed=None,
    x=None,
    k=0,
    n=3,
):
    return dict(
        d=d,
        ell=ell,
        lr=lr,
        radius=radius,
        mode=mode,
        flag=flag,
        seed=seed,
        x=x,
        k=k,
        n=n,
    )


X = np.zeros((2, 5))


def test_values_are_converted():
    out = f(np.int64(5), np.int32(2), lr=1, seed=np.uint64(7), x=X, k=[1.0, 4.0])
    assert (
        type(out["d"]) is int and type(out["ell"]) is int and type(out["lr"]) is float
    )
    assert out["seed"] == 7 and out["radius"] == math.inf
    assert isinstance(out["x"], torch.Tensor) and out["x"].dtype == torch.float64
    assert isinstance(out["k"], np.ndarray)


@pytest.mark.parametrize(
    "kwargs, exc, match",
    [
        (dict(d=5.0, ell=2), TypeError, r"d must be an integer, got 5.0"),
        (dict(d=True, ell=2), TypeError, r"d must be an integer, got True"),
        (dict(d=1, ell=2), ValueError, r"d must be >= 2, got d=1"),
        (
            dict(d=5, ell=5),
            ValueError,
            r"ell must be <= 4, got ell=5",
        ),  # a limit from d
        (dict(d=5, ell=2, lr=0.0), ValueError, r"lr must be > 0.0, got lr=0.0"),
        (dict(d=5, ell=2, lr="1"), TypeError, r"lr must be a real number, got '1'"),
        (dict(d=5, ell=2, lr=math.inf), ValueError, r"lr must be finite, got lr=inf"),
        (
            dict(d=5, ell=2, radius=-1.0),
            ValueError,
            r"radius must be > 0.0, got radius=-1.0",
        ),
        (
            dict(d=5, ell=2, mode="c"),
            ValueError,
            r"mode must be one of \['a', 'b'\], got mode='c'",
        ),
        (
            dict(d=5, ell=2, flag=1),
            TypeError,
            r"flag must be True or False, got flag=1",
        ),
        (dict(d=5, ell=2, seed=-1), ValueError, r"seed must be >= 0, got seed=-1"),
        (dict(d=5, ell=2, seed=1.0), TypeError, r"seed must be an integer, got 1.0"),
        (
            dict(d=5, ell=2, x=np.zeros((2, 4))),
            ValueError,
            r"x must have last dimension 5, got shape \(2, 4\)",
        ),
        (
            dict(d=5, ell=2, x="x"),
            TypeError,
            r"x must be a torch.Tensor or numpy array, got str",
        ),
        (
            dict(d=5, ell=2, k=[1, 6]),
            ValueError,
            r"k must be <= 5, got k=\[1, 6\] \(entry 6\)",
        ),
        (
            dict(d=5, ell=2, k=[0.5]),
            ValueError,
            r"k must hold whole numbers, got k=\[0.5\] \(entry 0.5\)",
        ),
        (dict(d=5, ell=2, k="3"), TypeError, r"k must hold real numbers, got '3'"),
        (dict(d=5, ell=2, n=2), ValueError, r"n must be >= 3, got n=2"),
    ],
)
def test_one_error_type_per_kind_of_mistake(kwargs, exc, match):
    with pytest.raises(exc, match=match):
        f(**kwargs)


def test_spec_is_kept_and_names_are_checked():
    assert set(f.__validation__) >= {"d", "ell", "lr"}
    with pytest.raises(TypeError, match="has no parameters"):
        validate_params({"nope": Integer()})(lambda a: a)


def test_check_params_without_a_decorator():
    out = check_params(
        {"n": Integer(low=1), "s": InstanceOf(str)},
        {"n": np.int8(3), "s": "x", "other": 1.5},
    )
    assert out == {"n": 3, "s": "x", "other": 1.5}
    with pytest.raises(TypeError, match="s must be str, got int"):
        check_params({"s": InstanceOf(str)}, {"s": 3})


# --- the public boundary of the attacks is declared with the spec ---------------------
S = Subspace.random(6, 2, seed=0)
NET = TwoLayerReLU(6, 5, ensemble=2, seed=1)
XS, _ = make_dataset(S, 4, seed=2)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: advsub.flip_along(NET, XS, S.orth_basis[:, 0], rtol=0.0),
            ValueError,
            r"rtol must be > 0.0, got rtol=0.0",
        ),
        (
            lambda: advsub.flip_along(NET, XS, S.orth_basis[:, 0], max_norm=0),
            ValueError,
            r"max_norm must be > 0.0",
        ),
        (
            lambda: advsub.universal_perturbation("net", XS, S),
            TypeError,
            r"net must be a TwoLayerReLU, got str",
        ),
        (
            lambda: advsub.orthogonal_attack(NET, XS, S, norm="l3"),
            ValueError,
            r"norm must be one of \['l2', 'linf'\]",
        ),
        (
            lambda: advsub.orthogonal_attack(NET, XS, S, steps=0),
            ValueError,
            r"steps must be >= 1, got steps=0",
        ),
        (
            lambda: advsub.unconstrained_attack(NET, XS, overshoot=20.0),
            ValueError,
            r"overshoot must be <= 10.0",
        ),
        (
            lambda: advsub.attacks.restricted_attack(NET, XS, S.orth_basis, norm="l0"),
            ValueError,
            r"norm must be one of \['l1', 'l2', 'linf'\], got norm='l0'",
        ),
        (
            lambda: advsub.attacks.deep_certified_orthogonal_radius(NET, XS, S),
            TypeError,
            r"net must be a DeepReLU, got TwoLayerReLU",
        ),
        (
            lambda: advsub.certified_orthogonal_radius(NET, XS, "P"),
            TypeError,
            r"subspace must be a Subspace, got str",
        ),
        (
            lambda: advsub.orthogonal_gradient(NET, XS, Subspace.random(7, 2, seed=0)),
            ValueError,
            r"subspace.d=7 does not match net.d=6",
        ),
    ],
)
def test_attacks_boundary(call, exc, match):
    with pytest.raises(exc, match=match):
        call()


def test_attacks_accept_unbounded_and_numpy_numbers():
    size, flipped = advsub.flip_along(
        NET,
        XS,
        S.orth_basis[:, 0],
        max_norm=np.float64(math.inf),
        rtol=np.float32(1e-3),
    )
    assert size.shape == (2, 4)


def test_attacks_refuse_a_network_with_non_finite_weights():
    """A diverged network (NaN weights) would give attack sizes of inf, as if robust:
    refused."""
    bad = NET.clone()
    bad.W[1, 0, 0] = float("nan")
    calls = [
        lambda: advsub.orthogonal_gradient(bad, XS, S),
        lambda: advsub.universal_perturbation(bad, XS, S),
        lambda: advsub.orthogonal_attack(bad, XS, S),
        lambda: advsub.unconstrained_attack(bad, XS),
        lambda: advsub.certified_orthogonal_radius(bad, XS, S),
        lambda: advsub.orthogonal_lipschitz_constant(bad, S),
        lambda: advsub.flip_along(bad, XS, S.orth_basis[:, 0]),
        lambda: advsub.attack_sample(bad, XS, S),
    ]
    for call in calls:
        with pytest.raises(
            ValueError, match=r"net has NaN or infinite weights in members \[1\]"
        ):
            call()
    advsub.orthogonal_attack(NET, XS, S)  # the finite original still passes
