"""Benchmark section (t): ``advsub.train`` against a bare loop doing the same work
(issue 9).

    python benchmarks/engine.py [--quick] [--repeats 3]      # or: make bench (section
    t)

The *bare loop* below is the reduced path of ``advsub.train`` with everything that is
not arithmetic removed: gradient descent on the first layer in Gram coordinates, pre ←
pre − η K A, α ← α − η A, no history, no stopping rule, no validation, no chunking, no
progress bar, about 20 lines. On narrow configurations (d = 400, n = 120, ℓ ∈ {100, 200,
300}, m ∈ {40, 80}, 4 networks each, 300 steps, the margin target out of reach) both run
side by side, alternately, best of ``--repeats``, at the same torch thread count (the
one ``advsub.train`` picks for the problem), and their weights are checked equal. The
*idiomatic loop* (``nn.Sequential`` + ``torch.optim.SGD`` + autograd in the full d
dimensions, one network at a time) is timed too, once, at the same thread count.
Targets: advsub.train within 1.2× of the bare loop; ≥ 8× faster than the idiomatic loop.

The section only uses ``advsub.train`` and ``advsub.training.data_coordinates``, so the
same file times an older checkout (run it with that checkout's Python) for before/after
numbers.
"""

from __future__ import annotations

import argparse
import math
import os
import time

import torch

import advsub
from advsub.training import data_coordinates

FAR = 1e30  # a margin target nobody reaches: every run makes exactly max_steps updates


def bare_train(W0, u, X, y, lr, steps):
    """GD on the first layer of E networks in Gram coordinates: the arithmetic of
    advsub.train, bare."""
    E, m, d = W0.shape
    n = X.shape[0]
    K = X @ X.T
    pre = torch.einsum("nd,emd->nem", X, W0).contiguous()  # w_i·x_j, (n, E, m)
    alpha = torch.zeros_like(pre)  # w_i = w_i(0) + Σ_j α_ji x_j
    neg_y = -y[:, None].expand(n, E)
    scaled = neg_y / n
    h, A = torch.empty_like(pre), torch.empty_like(pre)
    for _ in range(steps):
        torch.clamp_min(pre, 0.0, out=h)
        nyo = neg_y * torch.linalg.vecdot(h, u)  # −y_j N(x_j)
        g = scaled * torch.sigmoid(nyo)  # ∂L/∂N(x_j)
        torch.sign(h, out=A).mul_(g[:, :, None]).mul_(u)  # ∂L/∂(w_i·x_j)
        pre.view(n, E * m).addmm_(K, A.view(n, E * m), alpha=-lr)
        alpha.add_(A, alpha=-lr)
    return W0 + torch.einsum("nem,nd->emd", alpha, X)


def idiomatic_train(W0, u, X, y, lr, steps):
    """One network the way a course writes it: nn.Sequential + torch.optim.SGD +
    autograd, full d."""
    m, d = W0.shape
    model = torch.nn.Sequential(
        torch.nn.Linear(d, m, bias=False),
        torch.nn.ReLU(),
        torch.nn.Linear(m, 1, bias=False),
    ).to(torch.float64)
    with torch.no_grad():
        model[0].weight.copy_(W0)
        model[2].weight.copy_(u[None, :])
    model[2].weight.requires_grad_(False)
    opt = torch.optim.SGD(model[0].parameters(), lr=lr)
    for _ in range(steps):
        loss = torch.nn.functional.softplus(-y * model(X).squeeze(1)).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
    return model[0].weight.detach()


def _threads_for(E, m, n):
    """The torch thread count advsub.train uses for this problem (1 below its small-work
    threshold)."""
    try:
        from advsub.training.loop import SMALL_WORK_FLOPS
    except ImportError:  # an older advsub: no thread policy
        return torch.get_num_threads()
    return 1 if E * m * n * 2 * n < SMALL_WORK_FLOPS else torch.get_num_threads()


def rel_err(a, b):
    return float((a - b).abs().max()) / float(b.abs().max())


def section_engine(args):
    d, n, E, steps, lr = 400, 120, 4, 300, 0.5
    ells, ms = ([100, 300], [40, 80]) if args.quick else ([100, 200, 300], [40, 80])
    repeats = max(1, args.repeats)
    load = os.getloadavg()[0]
    print(
        f"\n(t) advsub.train against the bare loop (same Gram-coordinate GD, no "
        "history, no stopping) and the "
        f"idiomatic loop; d={d}, n={n}, {E} networks, {steps} steps, best of "
        f"{repeats}, load average {load:.1f}",
        flush=True,
    )
    rows = []
    base_threads = torch.get_num_threads()
    for ell in ells:
        for m in ms:
            S = advsub.Subspace.random(d, ell, seed=ell)
            X, y = advsub.make_dataset(S, n, seed=ell + 1)
            net0 = advsub.TwoLayerReLU(d, m, ensemble=E, seed=ell + 2)
            mode = data_coordinates(X)[0]
            threads = _threads_for(E, m, n)
            t_train = t_bare = t_idiom = math.inf
            for k in range(repeats):
                for who in (
                    ("train", "bare") if k % 2 == 0 else ("bare", "train")
                ):  # alternate the order
                    if who == "train":
                        net = net0.clone()
                        t = time.perf_counter()
                        advsub.train(
                            net,
                            X,
                            y,
                            lr=lr,
                            max_steps=steps,
                            target_margin=FAR,
                            progress=False,
                        )
                        t_train = min(t_train, time.perf_counter() - t)
                        continue
                    torch.set_num_threads(threads)
                    try:
                        t = time.perf_counter()
                        W_bare = bare_train(net0.W, net0.u, X, y, lr, steps)
                        t_bare = min(t_bare, time.perf_counter() - t)
                    finally:
                        torch.set_num_threads(base_threads)
            torch.set_num_threads(threads)
            try:
                t = time.perf_counter()
                W_idiom = torch.stack(
                    [
                        idiomatic_train(net0.W[e], net0.u[e], X, y, lr, steps)
                        for e in range(E)
                    ]
                )
                t_idiom = time.perf_counter() - t
            finally:
                torch.set_num_threads(base_threads)
            err = max(rel_err(net.W, W_bare), rel_err(net.W, W_idiom))
            row = dict(
                ell=ell,
                m=m,
                mode=mode,
                threads=threads,
                t_train=t_train,
                t_bare=t_bare,
                t_idiom=t_idiom,
                bare_ratio=t_train / t_bare,
                idiom_ratio=t_idiom / t_train,
                rel_err=err,
            )
            rows.append(row)
            print(
                f"  ell={ell:3d} m={m:3d} ({mode}, {threads} "
                f"thread{'s' if threads > 1 else ''}): "
                f"advsub.train {1e3 * t_train:7.1f} ms  bare {1e3 * t_bare:7.1f} ms  "
                f"-> {row['bare_ratio']:.2f}x | "
                f"idiomatic {1e3 * t_idiom:8.1f} ms -> {row['idiom_ratio']:5.1f}x "
                f"faster | err {err:.0e}",
                flush=True,
            )
    tt, tb, ti = (sum(r[k] for r in rows) for k in ("t_train", "t_bare", "t_idiom"))
    summary = dict(
        bare_ratio=tt / tb,
        idiom_ratio=ti / tt,
        max_rel_err=max(r["rel_err"] for r in rows),
        load_before=load,
        load_after=os.getloadavg()[0],
    )
    print(
        f"  total: advsub.train {tt:.2f} s, bare loop {tb:.2f} s: advsub.train / bare "
        f"= {tt / tb:.2f}x "
        f"(target <= 1.2x: {'met' if tt / tb <= 1.2 else 'MISSED'}); idiomatic / "
        f"advsub.train = {ti / tt:.1f}x "
        f"(target >= 8x: {'met' if ti / tt >= 8 else 'MISSED'}); max relative "
        "difference of the weights "
        f"{summary['max_rel_err']:.0e}; load average {load:.1f} -> "
        f"{summary['load_after']:.1f}"
    )
    return dict(rows=rows, summary=summary)


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--repeats", type=int, default=3)
    section_engine(parser.parse_args())
