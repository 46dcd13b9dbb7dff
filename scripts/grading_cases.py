"""The autograder's own test cases: what each coding exercise is called on, visible and hidden.

Kept out of the student notebooks (and out of the student edition of the book): the
hidden cases are fresh inputs a student never sees. For every coding exercise,
``CASES[label]`` says which function the student must define, the tolerances, the points
of the hidden cases and a generator ``cases()`` of ``(name, thunk)`` pairs: ``thunk(f)``
calls the student's function ``f`` and returns the list of values to compare (the return
value, and a side effect where the exercise asks for one).

``cases()`` runs inside the sandbox, in the student's kernel, after the student's cells;
only what it returns leaves the sandbox, as plain arrays (never a pickle). The grader
compares those arrays outside the sandbox, with its own numpy, to the arrays the
instructor's reference solution gave on the same cases (the key, written by
``assignments.py generate``). So a student who replaces ``torch.allclose``, reads the
check's variables or edits a check gains nothing: the comparison never runs in their
process, and the hidden inputs are built after their code ran.

A case named ``visible...`` rebuilds the inputs of the notebook's own check cell; a case
named ``hidden...`` is new. Every generator imports what it needs itself (the harness
deletes the notebook's private ``_names`` before it runs), uses fixed seeds and float64.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class Exercise:
    function: str  # the name the student's answer cell must define
    cases: Callable  # () -> iterable of (name, thunk); thunk(f) -> list of values
    rtol: float = 0.0
    atol: float = 1e-10
    hidden_points: float = 2.0


# --- chapter 01 -----------------------------------------------------------------
def cases_01_from_init():
    import torch

    import advsub

    P = advsub.Subspace.random(20, 8, seed=5)
    X, y = advsub.make_dataset(P, 15, seed=6)
    net = advsub.TwoLayerReLU(20, 30, ensemble=4, seed=7)
    advsub.train(net, X, y, lr=0.5, max_steps=2000, progress=False)
    x, _ = advsub.make_dataset(P, 6, seed=8)
    yield "visible", lambda f: [f(net.W0, net.u, net.active(x), P.orth_basis)]
    # Fresh sizes, an untrained network and an activation pattern that no network gave.
    Q = advsub.Subspace.random(13, 5, seed=101)
    g = torch.Generator().manual_seed(102)
    W0 = torch.randn(2, 9, 13, generator=g, dtype=torch.float64)
    u = torch.randn(2, 9, generator=g, dtype=torch.float64)
    active = torch.rand(2, 7, 9, generator=g) < 0.5
    yield "hidden: random pattern", lambda f: [f(W0, u, active, Q.orth_basis)]
    small = advsub.TwoLayerReLU(13, 11, ensemble=3, seed=103)
    Xq, yq = advsub.make_dataset(Q, 10, seed=104)
    advsub.train(small, Xq, yq, lr=0.5, max_steps=300, progress=False)
    xq, _ = advsub.make_dataset(Q, 4, seed=105)
    yield (
        "hidden: trained",
        lambda f: [f(small.W0, small.u, small.active(xq), Q.orth_basis)],
    )


# --- chapter 02 -----------------------------------------------------------------
def cases_02_universal():
    import torch

    import advsub

    P = advsub.Subspace.random(30, 20, seed=5)
    X, y = advsub.make_dataset(P, 25, seed=6)
    net = advsub.TwoLayerReLU(30, 12, ensemble=3, seed=7)
    advsub.train(net, X, y, lr=0.5, max_steps=2000, progress=False)
    yield "visible", lambda f: [f(net.W, net.u, P.orth_basis)]
    Q = advsub.Subspace.random(17, 6, seed=201)
    g = torch.Generator().manual_seed(202)
    W = torch.randn(2, 5, 17, generator=g, dtype=torch.float64)
    u = torch.randn(2, 5, generator=g, dtype=torch.float64)
    yield "hidden: random weights", lambda f: [f(W, u, Q.orth_basis)]


def _zigzag_net(sign: float = 1.0):
    """A one-member network whose value along x0 + t e (x0 = (1, 0), e = (0, 1)) is
    sign * (1 - 4 relu(t - 0.52) + 8 relu(t - 1.03) - 8 relu(t - 1.57)): it crosses zero
    at t = 0.77, 1.29 and 1.85, and a plain bisection on [0, 3] finds 1.85."""
    import torch

    import advsub

    net = advsub.TwoLayerReLU(2, 4, ensemble=1, seed=0)
    net.W = torch.tensor(
        [[[1.0, 0.0], [-0.52, 1.0], [-1.03, 1.0], [-1.57, 1.0]]], dtype=torch.float64
    )
    net.u = sign * torch.tensor([[1.0, -4.0, 8.0, -8.0]], dtype=torch.float64)
    net.W0 = net.W.clone()
    return net


def cases_02_bisection():
    import torch

    import advsub

    P = advsub.Subspace.random(30, 20, seed=5)
    X, y = advsub.make_dataset(P, 25, seed=6)
    net = advsub.TwoLayerReLU(30, 12, ensemble=3, seed=7)
    advsub.train(net, X, y, lr=0.5, max_steps=2000, progress=False)
    x, _ = advsub.make_dataset(P, 8, seed=8)
    one = net.member(0)
    e = advsub.universal_direction(one, P)[0]
    sizes, _ = advsub.universal_perturbation(one, x, P)

    def visible(f):
        out = []
        for j in range(4):
            s = -float(torch.sign(one(x[j : j + 1])[0, 0]))
            out.append(float(f(one, x[j], s * e, 3 * float(sizes[0, j]))))
        return [torch.tensor(out, dtype=torch.float64)]

    yield "visible", visible
    x0 = torch.tensor([1.0, 0.0], dtype=torch.float64)
    ray = torch.tensor([0.0, 1.0], dtype=torch.float64)
    for sign in (1.0, -1.0):
        zig = _zigzag_net(sign)
        # t_max = 3: N(x0 + 3e) has the other sign, so a plain bisection brackets a later root.
        yield (
            f"hidden: three crossings (sign {sign:+.0f})",
            lambda f, z=zig: [float(f(z, x0, ray, 3.0))],
        )
    zig = _zigzag_net(1.0)
    # t_max = 1.5: the sign at t_max is the sign at 0, yet two crossings lie in between.
    yield (
        "hidden: two crossings, same sign at both ends",
        lambda f: [float(f(zig, x0, ray, 1.5))],
    )
    yield "hidden: no crossing (inf)", lambda f: [float(f(zig, x0, ray, 0.6))]


# --- chapter 03 -----------------------------------------------------------------
def cases_03_certificate():
    import torch

    import advsub

    P = advsub.Subspace.random(30, 20, seed=5)
    X, y = advsub.make_dataset(P, 25, seed=6)
    net = advsub.TwoLayerReLU(30, 12, ensemble=3, seed=7)
    advsub.train(net, X, y, lr=0.5, max_steps=2000, progress=False)
    x, _ = advsub.make_dataset(P, 8, seed=8)
    yield "visible", lambda f: [f(net.W, net.u, P.orth_basis, x)]
    Q = advsub.Subspace.random(11, 4, seed=301)
    g = torch.Generator().manual_seed(302)
    W = torch.randn(2, 6, 11, generator=g, dtype=torch.float64)
    u = torch.randn(2, 6, generator=g, dtype=torch.float64)
    xq = torch.randn(5, 11, generator=g, dtype=torch.float64)
    yield "hidden: random weights", lambda f: [f(W, u, Q.orth_basis, xq)]


# --- chapter 04 -----------------------------------------------------------------
def cases_04_decay_curve():
    import advsub

    def run(d, ell, n, m, E, seed, lr, wd, chunk, n_chunks):
        P = advsub.Subspace.random(d, ell, seed=seed)
        X, y = advsub.make_dataset(P, n, seed=seed + 1, labels="linear")
        net = advsub.TwoLayerReLU(d, m, ensemble=E, seed=seed + 2)
        # The curve and the trained weights: the function must train `net` in place.
        return lambda f: [f(net, X, y, P.orth_basis, lr, wd, chunk, n_chunks), net.W]

    yield "visible", run(30, 12, 20, 20, 3, 11, 0.5, 2e-2, 50, 4)
    yield "hidden: other sizes and rates", run(16, 5, 12, 9, 2, 401, 0.3, 5e-2, 30, 3)


# --- chapter 05 -----------------------------------------------------------------
def cases_05_scan_distance():
    import torch

    import advsub
    from advsub import toydata

    net, _, X, _ = toydata.train_picture("line", seed=3)
    _, _, P = toydata.line_dataset()
    for k, v in enumerate((P.orth_basis[:, 0], P.basis[:, 0])):
        yield f"visible {k}", lambda f, v=v: [f(net, X, v)]
    # A random network with biases, other points, t_max and grid given as keywords.
    rnd = advsub.TwoLayerReLU(2, 8, ensemble=1, seed=501, bias=True)
    g = torch.Generator().manual_seed(502)
    rnd.b = 0.3 * torch.randn(1, 8, generator=g, dtype=torch.float64)
    xs = torch.randn(5, 2, generator=g, dtype=torch.float64)
    v = torch.tensor([0.6, -0.8], dtype=torch.float64)
    yield "hidden: random network", lambda f: [f(rnd, xs, v, t_max=2.0, grid=1000)]


# --- chapter 06 -----------------------------------------------------------------
def cases_06_deep_from_init():
    import torch

    import advsub
    from advsub import DeepReLU

    P = advsub.Subspace.random(20, 8, seed=5)
    X, y = advsub.make_dataset(P, 15, seed=6)
    net = DeepReLU(20, [16, 12], ensemble=3, seed=7)
    advsub.train(net, X, y, lr=0.3, max_steps=2000, progress=False)
    x, _ = advsub.make_dataset(P, 5, seed=8)
    yield "visible", lambda f: [f(net.W0, net.first_layer_signal(x), P.orth_basis)]
    Q = advsub.Subspace.random(11, 4, seed=601)
    g = torch.Generator().manual_seed(602)
    W1 = torch.randn(2, 7, 11, generator=g, dtype=torch.float64)
    signal = torch.randn(2, 5, 7, generator=g, dtype=torch.float64)
    yield "hidden: random signal", lambda f: [f(W1, signal, Q.orth_basis)]


# --- chapter 07 -----------------------------------------------------------------
def cases_07_dead_pixels():
    import torch

    import advsub

    X, _, _ = advsub.digits_dataset((0, 1))
    X2, _, _ = advsub.digits_dataset((3, 8))
    yield "visible (0, 1)", lambda f: [f(X)]
    yield "visible (3, 8)", lambda f: [f(X2)]
    g = torch.Generator().manual_seed(701)
    images = torch.rand(9, 64, generator=g, dtype=torch.float64)
    images[:, [0, 5, 6, 40, 63]] = 0.0
    images[3, 6] = 0.25  # one pixel lit in one image only: not dead
    yield "hidden: synthetic images", lambda f: [f(images)]
    X4, _, _ = advsub.digits_dataset((4, 9))
    yield "hidden: digits (4, 9)", lambda f: [f(X4)]


# --- chapter 08 -----------------------------------------------------------------
def cases_08_orthogonal_drift():
    import torch

    import advsub
    from advsub.experiments.noise import off_subspace

    P = advsub.Subspace.random(20, 8, seed=5)
    X, y = advsub.make_dataset(P, 15, seed=6)
    net = advsub.TwoLayerReLU(20, 10, ensemble=3, seed=7)
    advsub.train(
        net,
        X,
        y,
        lr=0.5,
        weight_decay=0.01,
        target_margin=1e12,
        max_steps=50,
        progress=False,
    )
    g = torch.Generator().manual_seed(8)
    Z = torch.randn(3, 10, 20, generator=g, dtype=torch.float64)
    t = torch.tensor([0.0, 0.5, 2.0], dtype=torch.float64)
    W = net.W0 + t[:, None, None] * P.project_orth(net.W0) + P.project(Z)
    gd = advsub.TwoLayerReLU(20, 10, ensemble=3, seed=7)
    advsub.train(gd, X, y, lr=0.5, max_steps=2000, progress=False)
    C = P.orth_basis
    yield (
        "visible",
        lambda f: [f(net.W, net.W0, C), f(W, net.W0, C), f(gd.W, gd.W0, C)],
    )
    # Fresh sizes: unrelated random W and W0, no training at all.
    Q = advsub.Subspace.random(13, 5, seed=801)
    g = torch.Generator().manual_seed(802)
    W0 = torch.randn(4, 6, 13, generator=g, dtype=torch.float64)
    W1 = torch.randn(4, 6, 13, generator=g, dtype=torch.float64)
    yield "hidden: random weights", lambda f: [f(W1, W0, Q.orth_basis)]
    # Momentum on training points at distance 1 from Q: the orthogonal weights move.
    noisy = advsub.TwoLayerReLU(13, 16, ensemble=2, seed=803)
    Xq, yq = advsub.make_dataset(Q, 12, seed=804)
    advsub.train(
        noisy,
        off_subspace(Xq, Q, 1.0, seed=805),
        yq,
        optimizer="momentum",
        lr=0.1,
        target_margin=1e12,
        max_steps=100,
        progress=False,
    )
    yield (
        "hidden: momentum, data off the subspace",
        lambda f: [f(noisy.W, noisy.W0, Q.orth_basis)],
    )


CASES: dict[str, Exercise] = {
    "ex-01-from-init": Exercise("orthogonal_gradient_from_init", cases_01_from_init),
    "ex-02-universal-from-weights": Exercise(
        "universal_from_weights", cases_02_universal
    ),
    "ex-02-bisection": Exercise("first_flip", cases_02_bisection, rtol=1e-5, atol=0.0),
    "ex-03-certificate": Exercise(
        "certified_radius", cases_03_certificate, rtol=1e-10, atol=0.0
    ),
    "ex-04-decay-curve": Exercise(
        "decay_curve", cases_04_decay_curve, rtol=1e-9, atol=0.0
    ),
    "ex-05-scan-distance": Exercise("scan_distance", cases_05_scan_distance, atol=1e-6),
    "ex-06-deep-from-init": Exercise(
        "deep_orthogonal_gradient", cases_06_deep_from_init, atol=1e-12
    ),
    "ex-07-dead-pixels": Exercise("dead_pixel_basis", cases_07_dead_pixels, atol=0.0),
    # atol: the invariance case is 0 up to rounding (~1e-16), rtol: everything else.
    "ex-08-orthogonal-drift": Exercise(
        "orthogonal_drift", cases_08_orthogonal_drift, rtol=1e-9, atol=1e-12
    ),
}
