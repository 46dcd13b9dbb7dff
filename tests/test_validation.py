"""Bad input at the public boundary: every kind raises ValueError/TypeError naming the parameter.

Each case is (callable, expected exception, regex the message must match); the regex
names the parameter and, where there is one, the offending value.
"""
from __future__ import annotations

import math

import numpy as np
import pytest
import torch

from advsub import Subspace, TwoLayerReLU, init_beta, make_dataset, orthogonal_gradient, train


D, ELL, N, M, E = 6, 2, 10, 5, 2
S = Subspace.random(D, ELL, seed=0)
X, Y = make_dataset(S, N, seed=1)
NET = TwoLayerReLU(D, M, ensemble=E, seed=2)
NAN = float("nan")
INF = float("inf")


def _with(t, index, value):
    t = t.clone()
    t[index] = value
    return t


def _meta(t):
    return t.to("meta")


def case(id_, fn, exc, match):
    return pytest.param(fn, exc, match, id=id_)


# --- geometry ----------------------------------------------------------------------
GEOMETRY = [
    case("random-ell0", lambda: Subspace.random(5, 0, seed=0), ValueError, r"ell must be >= 1, got ell=0"),
    case("random-ell-neg", lambda: Subspace.random(5, -1, seed=0), ValueError, r"ell must be >= 1, got ell=-1"),
    case("random-ell=d", lambda: Subspace.random(5, 5, seed=0), ValueError, r"ell must be <= 4, got ell=5"),
    case("random-ell>d", lambda: Subspace.random(5, 9, seed=0), ValueError, r"ell must be <= 4, got ell=9"),
    case("random-d1", lambda: Subspace.random(1, 1, seed=0), ValueError, r"d must be >= 2, got d=1"),
    case("random-d-bool", lambda: Subspace.random(True, 1, seed=0), TypeError, r"d must be an integer, got True"),
    case("random-ell-bool", lambda: Subspace.random(5, True, seed=0), TypeError, r"ell must be an integer, got True"),
    case("random-ell-float", lambda: Subspace.random(5, 2.0, seed=0), TypeError, r"ell must be an integer, got 2.0"),
    case("random-d-str", lambda: Subspace.random("5", 2, seed=0), TypeError, r"d must be an integer, got '5'"),
    case("random-seed-none", lambda: Subspace.random(5, 2, seed=None), TypeError, r"seed must be an integer, got None"),
    case("random-seed-float", lambda: Subspace.random(5, 2, seed=1.5), TypeError, r"seed must be an integer, got 1.5"),
    case("random-seed-str", lambda: Subspace.random(5, 2, seed="1"), TypeError, r"seed must be an integer, got '1'"),
    case("random-seed-bool", lambda: Subspace.random(5, 2, seed=True), TypeError, r"seed must be an integer, got True"),
    case("random-seed-neg", lambda: Subspace.random(5, 2, seed=-1), ValueError, r"seed must be >= 0, got seed=-1"),
    case("random-seed-huge", lambda: Subspace.random(5, 2, seed=2**64), ValueError, r"seed must be <= 18446744073709551615, got seed=18446744073709551616"),
    case("axis-ell0", lambda: Subspace.axis_aligned(5, 0), ValueError, r"ell must be >= 1, got ell=0"),
    case("axis-ell=d", lambda: Subspace.axis_aligned(5, 5), ValueError, r"ell must be <= 4, got ell=5"),
    case("axis-d-bool", lambda: Subspace.axis_aligned(True, 1), TypeError, r"d must be an integer, got True"),
    case("basis-rank", lambda: Subspace.from_basis(torch.ones(5, 2, dtype=torch.float64)), ValueError, r"basis must have full column rank"),
    case("basis-zero", lambda: Subspace.from_basis(torch.zeros(5, 2, dtype=torch.float64)), ValueError, r"basis must have full column rank"),
    case("basis-square", lambda: Subspace.from_basis(torch.eye(4, dtype=torch.float64)), ValueError, r"basis must have between 1 and d-1=3 columns.*\(4, 4\)"),
    case("basis-wide", lambda: Subspace.from_basis(torch.ones(3, 5, dtype=torch.float64)), ValueError, r"basis must have between 1 and d-1=2 columns.*\(3, 5\)"),
    case("basis-empty", lambda: Subspace.from_basis(torch.ones(3, 0, dtype=torch.float64)), ValueError, r"basis must have between 1 and d-1=2 columns.*\(3, 0\)"),
    case("basis-1d", lambda: Subspace.from_basis(torch.ones(5, dtype=torch.float64)), ValueError, r"basis must have 2 dimensions, got shape \(5,\)"),
    case("basis-float32", lambda: Subspace.from_basis(torch.randn(5, 2)), TypeError, r"basis must have dtype torch.float64, got basis.dtype=torch.float32"),
    case("basis-int", lambda: Subspace.from_basis(torch.ones(5, 2, dtype=torch.int64)), TypeError, r"basis must be a floating-point tensor, got dtype torch.int64"),
    case("basis-nan", lambda: Subspace.from_basis(_with(S.basis, (0, 0), NAN)), ValueError, r"basis contains NaN or infinite entries"),
    case("basis-inf", lambda: Subspace.from_basis(_with(S.basis, (0, 0), INF)), ValueError, r"basis contains NaN or infinite entries"),
    case("basis-meta", lambda: Subspace.from_basis(_meta(S.basis)), ValueError, r"basis is on the 'meta' device"),
    case("basis-str", lambda: Subspace.from_basis("abc"), TypeError, r"basis must be a torch.Tensor or numpy array, got str"),
    case("basis-obj", lambda: Subspace.from_basis(np.array([["a", "b"], ["c", "d"], ["e", "f"]])), TypeError, r"basis must hold real numbers"),
    case("project-last-dim", lambda: S.project(torch.ones(3, D + 1, dtype=torch.float64)), ValueError, r"x must have last dimension 6, got shape \(3, 7\)"),
    case("project-orth-nan", lambda: S.project_orth(_with(X, (0, 0), NAN)), ValueError, r"x contains NaN or infinite entries"),
    case("coords-inf", lambda: S.coords(_with(X, (1, 2), -INF)), ValueError, r"x contains NaN or infinite entries"),
    case("orth-coords-meta", lambda: S.orth_coords(_meta(X)), ValueError, r"x is on the 'meta' device"),
    case("contains-tol-neg", lambda: S.contains(X, tol=-1e-3), ValueError, r"tol must be >= 0.0, got tol=-0.001"),
    case("contains-tol-nan", lambda: S.contains(X, tol=NAN), ValueError, r"tol must be finite, got tol=nan"),
    case("contains-tol-bool", lambda: S.contains(X, tol=True), TypeError, r"tol must be a real number, got True"),
    case("contains-int-tensor", lambda: S.contains(torch.ones(2, D, dtype=torch.int64)), TypeError, r"x must be a floating-point tensor"),
    case("data-subspace", lambda: make_dataset("P", 5, seed=0), TypeError, r"subspace must be a Subspace, got str"),
    case("data-n0", lambda: make_dataset(S, 0, seed=0), ValueError, r"n must be >= 1, got n=0"),
    case("data-n-neg", lambda: make_dataset(S, -3, seed=0), ValueError, r"n must be >= 1, got n=-3"),
    case("data-n-bool", lambda: make_dataset(S, True, seed=0), TypeError, r"n must be an integer, got True"),
    case("data-n-float", lambda: make_dataset(S, 5.0, seed=0), TypeError, r"n must be an integer, got 5.0"),
    case("data-labels", lambda: make_dataset(S, 5, seed=0, labels="xor"), ValueError, r"labels must be one of \['linear', 'random'\], got labels='xor'"),
    case("data-labels-none", lambda: make_dataset(S, 5, seed=0, labels=None), ValueError, r"labels must be one of .*got labels=None"),
    case("data-norm0", lambda: make_dataset(S, 5, seed=0, norm=0), ValueError, r"norm must be > 0.0, got norm=0.0"),
    case("data-norm-neg", lambda: make_dataset(S, 5, seed=0, norm=-2.0), ValueError, r"norm must be > 0.0, got norm=-2.0"),
    case("data-norm-inf", lambda: make_dataset(S, 5, seed=0, norm=INF), ValueError, r"norm must be finite, got norm=inf"),
    case("data-norm-bool", lambda: make_dataset(S, 5, seed=0, norm=True), TypeError, r"norm must be a real number, got True"),
    case("data-seed-float", lambda: make_dataset(S, 5, seed=2.5), TypeError, r"seed must be an integer, got 2.5"),
    case("data-seed-bool", lambda: make_dataset(S, 5, seed=False), TypeError, r"seed must be an integer, got False"),
    case("data-seed-neg", lambda: make_dataset(S, 5, seed=-4), ValueError, r"seed must be >= 0, got seed=-4"),
    case("data-dtype", lambda: make_dataset(S, 5, seed=0, dtype=torch.int64), TypeError, r"dtype must be torch.float32 or torch.float64, got dtype=torch.int64"),
    case("data-device", lambda: make_dataset(S, 5, seed=0, device="nonsense"), ValueError, r"device must name an available torch device, got device='nonsense'"),
]


# --- network -----------------------------------------------------------------------
NETWORK = [
    case("d0", lambda: TwoLayerReLU(0, 5, seed=0), ValueError, r"d must be >= 1, got d=0"),
    case("m0", lambda: TwoLayerReLU(5, 0, seed=0), ValueError, r"m must be >= 1, got m=0"),
    case("m-neg", lambda: TwoLayerReLU(5, -2, seed=0), ValueError, r"m must be >= 1, got m=-2"),
    case("ensemble0", lambda: TwoLayerReLU(5, 3, ensemble=0, seed=0), ValueError, r"ensemble must be >= 1, got ensemble=0"),
    case("m-bool", lambda: TwoLayerReLU(5, True, seed=0), TypeError, r"m must be an integer, got True"),
    case("d-float", lambda: TwoLayerReLU(5.0, 3, seed=0), TypeError, r"d must be an integer, got 5.0"),
    case("ensemble-bool", lambda: TwoLayerReLU(5, 3, ensemble=True, seed=0), TypeError, r"ensemble must be an integer, got True"),
    case("seed-none", lambda: TwoLayerReLU(5, 3, seed=None), TypeError, r"seed must be an integer, got None"),
    case("seed-bool", lambda: TwoLayerReLU(5, 3, seed=True), TypeError, r"seed must be an integer, got True"),
    case("seed-float", lambda: TwoLayerReLU(5, 3, seed=0.0), TypeError, r"seed must be an integer, got 0.0"),
    case("seed-neg", lambda: TwoLayerReLU(5, 3, seed=-1), ValueError, r"seed must be >= 0, got seed=-1"),
    case("seed-huge", lambda: TwoLayerReLU(5, 3, seed=2**70), ValueError, r"seed must be <= 18446744073709551615, got seed=1180591620717411303424"),
    case("init-name", lambda: TwoLayerReLU(5, 3, seed=0, init_scale="huge"), ValueError, r"init_scale must be 'standard', 'small' or a positive float, got init_scale='huge'"),
    case("init-zero", lambda: TwoLayerReLU(5, 3, seed=0, init_scale=0.0), ValueError, r"init_scale must be > 0.0, got init_scale=0.0"),
    case("init-neg", lambda: TwoLayerReLU(5, 3, seed=0, init_scale=-0.1), ValueError, r"init_scale must be > 0.0, got init_scale=-0.1"),
    case("init-nan", lambda: TwoLayerReLU(5, 3, seed=0, init_scale=NAN), ValueError, r"init_scale must be finite, got init_scale=nan"),
    case("init-bool", lambda: TwoLayerReLU(5, 3, seed=0, init_scale=True), TypeError, r"init_scale must be a real number, got True"),
    case("init-none", lambda: TwoLayerReLU(5, 3, seed=0, init_scale=None), TypeError, r"init_scale must be a real number, got None"),
    case("dtype-half", lambda: TwoLayerReLU(5, 3, seed=0, dtype=torch.float16), TypeError, r"dtype must be torch.float32 or torch.float64, got dtype=torch.float16"),
    case("dtype-str", lambda: TwoLayerReLU(5, 3, seed=0, dtype="float64"), TypeError, r"dtype must be torch.float32 or torch.float64, got dtype='float64'"),
    case("device-name", lambda: TwoLayerReLU(5, 3, seed=0, device="nonsense"), ValueError, r"device must name an available torch device, got device='nonsense'"),
    case("bias-int", lambda: TwoLayerReLU(5, 3, seed=0, bias=1), TypeError, r"bias must be True or False, got bias=1"),
    case("init-beta-d0", lambda: init_beta("standard", 0), ValueError, r"d must be >= 1, got d=0"),
    case("init-beta-d-bool", lambda: init_beta("small", True), TypeError, r"d must be an integer, got True"),
    case("init-beta-name", lambda: init_beta("kaiming", 4), ValueError, r"init_scale must be 'standard', 'small' or a positive float, got init_scale='kaiming'"),
    case("member-range", lambda: NET.member(E), ValueError, r"e must be <= 1, got e=2"),
    case("member-neg", lambda: NET.member(-1), ValueError, r"e must be >= 0, got e=-1"),
    case("member-bool", lambda: NET.member(True), TypeError, r"e must be an integer, got True"),
]
# The same bad points through every public map of the network.
BAD_POINTS = [
    ("last-dim", X[:, :-1], ValueError, r"x must have last dimension 6, got shape \(10, 5\)"),
    ("ndim1", X[0], ValueError, r"x must have 2 or 3 dimensions, got shape \(6,\)"),
    ("ndim4", X[None, None], ValueError, r"x must have 2 or 3 dimensions, got shape \(1, 1, 10, 6\)"),
    ("ensemble-size", X.expand(E + 1, N, D), ValueError, r"x of shape \(3, 10, 6\) must have leading dimension ensemble=2"),
    ("float32", X.float(), TypeError, r"x must have dtype torch.float64, got x.dtype=torch.float32"),
    ("int", X.long(), TypeError, r"x must be a floating-point tensor, got dtype torch.int64"),
    ("meta", _meta(X), ValueError, r"x must be on device cpu, got x.device=meta"),
    ("nan", _with(X, (3, 1), NAN), ValueError, r"x contains NaN or infinite entries"),
    ("inf", _with(X, (3, 1), INF), ValueError, r"x contains NaN or infinite entries"),
    ("str", "x", TypeError, r"x must be a torch.Tensor or numpy array, got str"),
    ("none", None, TypeError, r"x must be a torch.Tensor or numpy array, got NoneType"),
]
for _method in ("__call__", "input_gradient", "active", "preactivation"):
    for _id, _x, _exc, _match in BAD_POINTS:
        NETWORK.append(case(f"{_method}-{_id}", (lambda meth=_method, x=_x: getattr(NET, meth)(x)), _exc, _match))
_NET32 = TwoLayerReLU(D, M, seed=2, dtype=torch.float32)
NETWORK.append(case("float32-net-float64-x", lambda: _NET32(X), TypeError, r"x must have dtype torch.float32, got x.dtype=torch.float64"))


# --- training ------------------------------------------------------------------------
def _train(**kw):
    args = dict(net=NET.clone(), X=X, y=Y, lr=0.5, max_steps=2, progress=False)
    args.update(kw)
    return train(args.pop("net"), args.pop("X"), args.pop("y"), **args)


TRAINING = [
    case("net-type", lambda: _train(net="net"), TypeError, r"net must be a TwoLayerReLU( or a DeepReLU)?, got str"),
    case("X-last-dim", lambda: _train(X=X[:, :-1]), ValueError, r"X must have last dimension 6, got shape \(10, 5\)"),
    case("X-ndim1", lambda: _train(X=X[0]), ValueError, r"X must have 2 dimensions, got shape \(6,\)"),
    case("X-ndim3", lambda: _train(X=X[None]), ValueError, r"X must have 2 dimensions, got shape \(1, 10, 6\)"),
    case("X-empty", lambda: _train(X=X[:0], y=Y[:0]), ValueError, r"X must have at least one row, got shape \(0, 6\)"),
    case("X-float32", lambda: _train(X=X.float()), TypeError, r"X must have dtype torch.float64, got X.dtype=torch.float32"),
    case("X-meta", lambda: _train(X=_meta(X)), ValueError, r"X must be on device cpu, got X.device=meta"),
    case("X-nan", lambda: _train(X=_with(X, (0, 0), NAN)), ValueError, r"X contains NaN or infinite entries"),
    case("X-inf", lambda: _train(X=_with(X, (0, 0), -INF)), ValueError, r"X contains NaN or infinite entries"),
    case("X-list-of-str", lambda: _train(X=[["a"] * D] * N), TypeError, r"X must hold real numbers"),
    case("y-short", lambda: _train(y=Y[:-1]), ValueError, r"y must have 10 entries \(one per row of X\), got shape \(9,\)"),
    case("y-long", lambda: _train(y=torch.cat([Y, Y])), ValueError, r"y must have 10 entries \(one per row of X\), got shape \(20,\)"),
    case("y-2d", lambda: _train(y=Y[:, None]), ValueError, r"y must have 1 dimensions, got shape \(10, 1\)"),
    case("y-nan", lambda: _train(y=_with(Y, 0, NAN)), ValueError, r"y contains NaN or infinite entries"),
    case("y-inf", lambda: _train(y=_with(Y, 0, INF)), ValueError, r"y contains NaN or infinite entries"),
    case("y-01", lambda: _train(y=(Y > 0).double()), ValueError, r"y must contain only -1 and \+1, got y=\[0.0\]"),
    case("y-two", lambda: _train(y=2 * Y), ValueError, r"y must contain only -1 and \+1, got y=\[-2.0, 2.0\]"),
    case("y-half", lambda: _train(y=_with(Y, 4, 0.5)), ValueError, r"y must contain only -1 and \+1, got y=\[0.5\]"),
    case("y-meta", lambda: _train(y=_meta(Y)), ValueError, r"y must be on device cpu, got y.device=meta"),
    case("y-str", lambda: _train(y="labels"), TypeError, r"y must be a torch.Tensor or numpy array, got str"),
    case("optimizer", lambda: _train(optimizer="lbfgs"), ValueError, r"optimizer must be one of \['adam', 'gd', 'momentum', 'sgd'\], got optimizer='lbfgs'"),
    case("optimizer-case", lambda: _train(optimizer="GD"), ValueError, r"optimizer must be one of .*got optimizer='GD'"),
    case("optimizer-none", lambda: _train(optimizer=None), ValueError, r"optimizer must be one of .*got optimizer=None"),
    case("lr0", lambda: _train(lr=0.0), ValueError, r"lr must be > 0.0, got lr=0.0"),
    case("lr-neg", lambda: _train(lr=-0.1), ValueError, r"lr must be > 0.0, got lr=-0.1"),
    case("lr-nan", lambda: _train(lr=NAN), ValueError, r"lr must be finite, got lr=nan"),
    case("lr-inf", lambda: _train(lr=INF), ValueError, r"lr must be finite, got lr=inf"),
    case("lr-bool", lambda: _train(lr=True), TypeError, r"lr must be a real number, got True"),
    case("lr-str", lambda: _train(lr="0.5"), TypeError, r"lr must be a real number, got '0.5'"),
    case("lr-none", lambda: _train(lr=None), TypeError, r"lr must be a real number, got None"),
    case("wd-neg", lambda: _train(weight_decay=-0.01), ValueError, r"weight_decay must be >= 0.0, got weight_decay=-0.01"),
    case("wd-nan", lambda: _train(weight_decay=NAN), ValueError, r"weight_decay must be finite, got weight_decay=nan"),
    case("wd-too-big", lambda: _train(lr=0.5, weight_decay=2.0), ValueError, r"lr \* weight_decay must be < 1 .*got lr=0.5, weight_decay=2.0"),
    case("margin0", lambda: _train(target_margin=0.0), ValueError, r"target_margin must be > 0.0, got target_margin=0.0"),
    case("margin-neg", lambda: _train(target_margin=-1), ValueError, r"target_margin must be > 0.0, got target_margin=-1.0"),
    case("max-steps0", lambda: _train(max_steps=0), ValueError, r"max_steps must be >= 1, got max_steps=0"),
    case("max-steps-float", lambda: _train(max_steps=10.0), TypeError, r"max_steps must be an integer, got 10.0"),
    case("max-steps-bool", lambda: _train(max_steps=True), TypeError, r"max_steps must be an integer, got True"),
    case("batch0", lambda: _train(optimizer="sgd", batch_size=0), ValueError, r"batch_size must be >= 1, got batch_size=0"),
    case("batch-gt-n", lambda: _train(optimizer="sgd", batch_size=N + 1), ValueError, r"batch_size must be <= 10, got batch_size=11"),
    case("batch-bool", lambda: _train(optimizer="sgd", batch_size=True), TypeError, r"batch_size must be an integer, got True"),
    case("batch-float", lambda: _train(optimizer="sgd", batch_size=4.0), TypeError, r"batch_size must be an integer, got 4.0"),
    case("batch-with-gd", lambda: _train(optimizer="gd", batch_size=4), ValueError, r"batch_size is only used by optimizer='sgd', got batch_size=4 with optimizer='gd'"),
    case("momentum-one", lambda: _train(optimizer="momentum", momentum=1.0), ValueError, r"momentum must be < 1.0, got momentum=1.0"),
    case("momentum-neg", lambda: _train(optimizer="momentum", momentum=-0.5), ValueError, r"momentum must be >= 0.0, got momentum=-0.5"),
    case("seed-neg", lambda: _train(optimizer="sgd", seed=-1), ValueError, r"seed must be >= 0, got seed=-1"),
    case("seed-float", lambda: _train(optimizer="sgd", seed=1.0), TypeError, r"seed must be an integer, got 1.0"),
    case("seed-bool", lambda: _train(optimizer="sgd", seed=True), TypeError, r"seed must be an integer, got True"),
    case("seed-str", lambda: _train(optimizer="sgd", seed="7"), TypeError, r"seed must be an integer, got '7'"),
    case("seed-huge", lambda: _train(optimizer="sgd", seed=2**64), ValueError, r"seed must be <= 18446744073709551615, got seed=18446744073709551616"),
    case("second-layer-int", lambda: _train(train_second_layer=1), TypeError, r"train_second_layer must be True or False, got (train_second_layer=)?1"),
]


# --- orthogonal gradient ----------------------------------------------------------------
ORTHOGONAL = [
    case("net-type", lambda: orthogonal_gradient("net", X, S), TypeError, r"net must be an advsub network .*got str"),
    case("subspace-type", lambda: orthogonal_gradient(NET, X, "P"), TypeError, r"subspace must be a Subspace, got str"),
    case("subspace-d", lambda: orthogonal_gradient(NET, X, Subspace.random(D + 1, ELL, seed=0)), ValueError, r"subspace.d=7 does not match net.d=6"),
    case("x-not-in-P", lambda: orthogonal_gradient(NET, X + S.orth_basis[:, 0], S), ValueError, r"x must lie in the data subspace P \(tol=1e-08 relative\): rows \[0, 1, 2, 3, 4\]"),
    case("x-one-row-off", lambda: orthogonal_gradient(NET, _with(X, 7, X[7] + 1e-6 * S.orth_basis[:, 1]), S), ValueError, r"x must lie in the data subspace P .*rows \[7\]"),
    case("x-batched-off", lambda: orthogonal_gradient(NET, torch.stack([X, X + S.orth_basis[:, 0]]), S), ValueError, r"x must lie in the data subspace P .*points \(member, row\) \[\(1, 0\), \(1, 1\), \(1, 2\), \(1, 3\), \(1, 4\)\] are at distance \[1.0, 1.0"),
    case("tol-neg", lambda: orthogonal_gradient(NET, X, S, tol=-1.0), ValueError, r"tol must be >= 0.0, got tol=-1.0"),
]
for _id, _x, _exc, _match in BAD_POINTS:
    ORTHOGONAL.append(case(f"x-{_id}", (lambda x=_x: orthogonal_gradient(NET, x, S)), _exc, _match))


@pytest.mark.parametrize("fn, exc, match", GEOMETRY)
def test_geometry_bad_input(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.parametrize("fn, exc, match", NETWORK)
def test_network_bad_input(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.parametrize("fn, exc, match", TRAINING)
def test_training_bad_input(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


@pytest.mark.parametrize("fn, exc, match", ORTHOGONAL)
def test_orthogonal_gradient_bad_input(fn, exc, match):
    with pytest.raises(exc, match=match):
        fn()


def test_unavailable_device_is_a_value_error():
    """A device this build cannot use (CUDA on the CPU wheel) is reported as a bad ``device``."""
    if torch.cuda.is_available():
        pytest.skip("CUDA is available here")
    with pytest.raises(ValueError, match=r"device must name an available torch device, got device='cuda'"):
        TwoLayerReLU(5, 3, seed=0, device="cuda")
    with pytest.raises(ValueError, match=r"device must name an available torch device, got device='cuda'"):
        make_dataset(S, 5, seed=0, device="cuda")


def test_validation_does_not_mutate_the_network():
    """A rejected call leaves the network untouched (validation happens before any update)."""
    net = NET.clone()
    for kw in ({"lr": -1.0}, {"y": 2 * Y}, {"optimizer": "lbfgs"}, {"X": X.float()}):
        args = dict(lr=0.5, max_steps=5, progress=False, y=Y, X=X)
        args.update(kw)
        with pytest.raises((ValueError, TypeError)):
            train(net, args.pop("X"), args.pop("y"), **args)
        assert torch.equal(net.W, NET.W) and torch.equal(net.u, NET.u)


# --- what is accepted ------------------------------------------------------------------
def test_numpy_scalars_and_arrays_are_accepted():
    S2 = Subspace.random(np.int64(6), np.int32(2), seed=np.uint32(0))
    assert torch.equal(S2.basis, S.basis)
    net = TwoLayerReLU(np.int64(D), np.int16(M), ensemble=np.int8(E), seed=np.int64(2), init_scale=np.float32(0.25))
    assert net.beta == pytest.approx(0.25)
    h = train(net, X.numpy(), [int(v) for v in Y.tolist()], lr=np.float64(0.5), max_steps=np.int64(3), progress=False)
    assert h.loss.shape[1] == E
    assert net(X.numpy()).shape == (E, N)
    assert S.contains(X.numpy()).all()
    # Integer labels as a tensor are converted (labels are exact, no precision is lost).
    train(NET.clone(), X, Y.long(), lr=0.5, max_steps=2, progress=False)


def test_boundary_values_are_accepted():
    Subspace.random(2, 1, seed=0)
    Subspace.random(5, 4, seed=2**64 - 1)
    Subspace.axis_aligned(5, 1)
    TwoLayerReLU(1, 1, seed=0)
    make_dataset(S, 1, seed=0)
    _train(optimizer="sgd", batch_size=N, seed=0)
    _train(optimizer="sgd", batch_size=1)
    _train(optimizer="momentum", momentum=0.0)
    _train(weight_decay=0.0)
    _train(lr=0.5, weight_decay=1.999)
    _train(max_steps=1)
    assert orthogonal_gradient(NET, torch.zeros(1, D, dtype=torch.float64), S).shape == (E, 1, ELL)
    assert math.isfinite(float(NET(X).sum()))
