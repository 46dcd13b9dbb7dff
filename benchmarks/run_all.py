"""Benchmarks of ``advsub.train`` against the idiomatic baseline (issue 3).

    make bench                                   # (a) sweep, (b) large network, (d) memory, (c) notebooks fast
    python benchmarks/run_all.py --quick         # a subset, about a minute
    python benchmarks/run_all.py --notebooks both

The *baseline* is what a course would write: a Python loop over configurations and seeds, each
an ``nn.Sequential(Linear(d, m), ReLU, Linear(m, 1))`` trained with ``torch.optim.SGD`` and
autograd in the full d dimensions. ``advsub.train`` trains all seeds of a configuration at once
in the data's own coordinates (Gram matrix or rank-r factor, see ``advsub.training.data_coordinates``).
Both run side by side in one process: same data, same initialisation, same number of steps
(the margin target is set out of reach), and the weights are checked equal (≤ 1e-9 relative).

Sections
  (a) the gradient chapter's sweep: d = 500, ℓ ∈ {50, 150, 250, 350, 450}, m ∈ {50, 100, 200, 400},
      8 seeds, n = 200, 500 steps: time ratio per configuration and in total.
  (b) one large network, d = m = n = 2000, ℓ = 1000, 50 steps: achieved GFLOP/s as a fraction of
      the float64 ``torch.matmul`` peak measured in the same run.
  (d) memory: a large ensemble trained under two ``memory_budget`` values (each in a fresh
      process): peak RSS.
  (c) wall time of every chapter notebook (papermill), fast and/or full mode.
  (e) every explorer's redraw time after a slider move, at the chapters' settings
      (benchmarks/explorers.py, also runnable on its own).
  (t) advsub.train against a bare 20-line loop doing the same Gram-coordinate updates (no
      history, no stopping) and the idiomatic loop, side by side: d = 400, n = 120,
      ℓ ∈ {100, 200, 300}, m ∈ {40, 80}, 4 networks, 300 steps (benchmarks/engine.py).

FLOP counts are those of the matrix products each method performs (elementwise work is not
counted): the baseline does 4·n·m·d per seed and step (forward and weight gradient); advsub.train
does 2·n²·m (Gram mode) or 4·n·r·m (coordinate mode) per member and step, plus its set-up and
map-back products. The output is a plain-text table; ``--json PATH`` also writes the numbers.
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import torch

import advsub
from advsub.training import data_coordinates

ROOT = Path(__file__).resolve().parents[1]
FAR = 1e30  # a margin target nobody reaches: every run makes exactly max_steps updates


def peak_rss_mib() -> float:
    """Peak resident set size of this process (VmHWM; ru_maxrss where /proc is missing)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_peak_rss() -> None:
    """Start the peak-RSS count afresh (Linux ≥ 4.0; a forked child otherwise inherits its parent's peak)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
    except OSError:
        pass


def matmul_peak(size: int = 2000, reps: int = 5) -> float:
    """Best float64 GFLOP/s of torch.matmul on size × size matrices."""
    g = torch.Generator().manual_seed(0)
    a = torch.randn(size, size, dtype=torch.float64, generator=g)
    b = torch.randn(size, size, dtype=torch.float64, generator=g)
    a @ b
    best = math.inf
    for _ in range(reps):
        t = time.perf_counter()
        a @ b
        best = min(best, time.perf_counter() - t)
    return 2 * size**3 / best / 1e9


# --- the baseline ------------------------------------------------------------------------------
def baseline_train(W0: torch.Tensor, u: torch.Tensor, X: torch.Tensor, y: torch.Tensor, lr: float, steps: int):
    """One network, the idiomatic way: nn.Sequential + torch.optim.SGD + autograd, full d dimensions."""
    m, d = W0.shape
    model = torch.nn.Sequential(
        torch.nn.Linear(d, m, bias=False), torch.nn.ReLU(), torch.nn.Linear(m, 1, bias=False)
    ).to(torch.float64)
    with torch.no_grad():
        model[0].weight.copy_(W0)
        model[2].weight.copy_(u[None, :])
    model[2].weight.requires_grad_(False)  # the paper trains the first layer only
    opt = torch.optim.SGD(model[0].parameters(), lr=lr)
    losses, margins = [], []
    for _ in range(steps):
        out = model(X).squeeze(1)
        loss = torch.nn.functional.softplus(-y * out).mean()
        opt.zero_grad()
        loss.backward()
        opt.step()
        losses.append(loss.detach())
        margins.append((y * out).detach().min())
    return model[0].weight.detach(), torch.stack(losses)


def rel_err(a: torch.Tensor, b: torch.Tensor) -> float:
    return float((a - b).abs().max()) / float(b.abs().max())


def fast_flops(n, d, m, E, steps, mode, r) -> float:
    """Matrix-product flops of advsub.train (reduced path, first layer only)."""
    setup = 2 * n * n * d + 2 * n * m * d * E  # Gram matrix, initial pre-activations
    per_step = (2 * n * n * m if mode == "gram" else 4 * n * r * m) * E
    back = 2 * (2 * n * m * d * E)  # map back W = C W0 + αᵀX, final forward pass
    return setup + steps * per_step + back


def base_flops(n, d, m, E, steps) -> float:
    return 4 * n * m * d * E * steps


def make_config(d, ell, m, n, seeds, seed):
    S = advsub.Subspace.random(d, ell, seed=seed)
    X, y = advsub.make_dataset(S, n, seed=seed + 1)
    net = advsub.TwoLayerReLU(d, m, ensemble=seeds, seed=seed + 2)
    return X, y, net


def run_config(d, ell, m, n, seeds, steps, lr, seed, check_all=True, repeats=1):
    """One configuration, both ways, alternately ``repeats`` times (the best time of each is kept).

    Returns a dict of timings and checks (and the trained W)."""
    X, y, net0 = make_config(d, ell, m, n, seeds, seed)
    W0, u = net0.W.clone(), net0.u.clone()
    mode, _, r = data_coordinates(X)
    t_fast = t_base = math.inf
    for _ in range(repeats):
        net = net0.clone()
        t = time.perf_counter()
        hist = advsub.train(net, X, y, lr=lr, max_steps=steps, target_margin=FAR, progress=False)
        t_fast = min(t_fast, time.perf_counter() - t)
        t = time.perf_counter()
        errs = []
        for e in range(seeds):
            W, losses = baseline_train(W0[e], u[e], X, y, lr, steps)
            if check_all or e == 0:
                errs.append(max(rel_err(net.W[e], W), rel_err(hist.loss[:, e], losses)))
        t_base = min(t_base, time.perf_counter() - t)
    return dict(
        d=d, ell=ell, m=m, n=n, seeds=seeds, steps=steps, mode=mode, r=r,
        t_base=t_base, t_fast=t_fast, ratio=t_base / t_fast,
        gflops_fast=fast_flops(n, d, m, seeds, steps, mode, r) / t_fast / 1e9,
        gflops_base=base_flops(n, d, m, seeds, steps) / t_base / 1e9,
        max_rel_err=max(errs), W=net.W,
    )


def run_sweep_call(d, ells, m, n, seeds, steps, lr, repeats=1):
    """All ℓ of one width m through one advsub.train_sweep call (one batched ensemble); best of ``repeats``."""
    best = math.inf
    for _ in range(repeats):
        tasks = []
        for ell in ells:
            X, y, net = make_config(d, ell, m, n, seeds, 1000 + ell)
            tasks.append((net, X, y))
        t = time.perf_counter()
        advsub.train_sweep(tasks, lr=lr, max_steps=steps, target_margin=FAR, progress=False)
        best = min(best, time.perf_counter() - t)
    return best, [net.W for net, _, _ in tasks]


# --- sections ------------------------------------------------------------------------------------
def section_sweep(args, peak):
    d, n, seeds = 500, 200, 8
    ells = [50, 150, 250, 350, 450]
    ms = [50, 100, 200, 400]
    steps = 500
    if args.quick:
        ells, ms, steps = [50, 250, 450], [50, 400], 100
    run_config(100, 50, 20, 60, 2, 5, lr=0.5, seed=1)  # warm-up: first calls, library loading
    rows = []
    for ell in ells:
        for m in ms:
            row = run_config(d, ell, m, n, seeds, steps, lr=0.5, seed=1000 + ell, repeats=args.repeats)
            rows.append(row)
            print(f"  (a) ell={ell:3d} m={m:3d}: baseline {row['t_base']:7.2f} s  advsub {row['t_fast']:6.2f} s  "
                  f"x{row['ratio']:5.1f}  err {row['max_rel_err']:.1e}", flush=True)
    sweep_t, sweep_err = {}, 0.0
    for m in ms:  # the same sweep through advsub.train_sweep: one batched run per width
        sweep_t[m], Ws = run_sweep_call(d, ells, m, n, seeds, steps, 0.5, repeats=args.repeats)
        for ell, W in zip(ells, Ws):
            row = next(r for r in rows if r["ell"] == ell and r["m"] == m)
            sweep_err = max(sweep_err, rel_err(W, row["W"]))
        print(f"  (a) train_sweep over all ell at m={m}: {sweep_t[m]:.2f} s", flush=True)
    for r in rows:
        del r["W"]
    peak = max(peak, matmul_peak(reps=10))  # the best seen: fractions of peak are not flattered by load
    for r in rows:
        r["pct_peak"] = 100 * r["gflops_fast"] / peak
    print()
    print(f"(a) Sweep d={d}, n={n}, {seeds} seeds per configuration, {steps} steps, float64, lr=0.5; "
          f"matmul peak (best measured so far) {peak:.1f} GFLOP/s")
    hdr = f"{'ell':>4} {'m':>4} {'mode':>6} {'r':>4} {'baseline s':>11} {'advsub s':>9} {'ratio':>6} " \
          f"{'base GF/s':>9} {'adv GF/s':>9} {'adv %peak':>9} {'rel err':>8}"
    print(hdr)
    print("-" * len(hdr))
    for r in rows:
        print(f"{r['ell']:>4} {r['m']:>4} {r['mode']:>6} {r['r']:>4} {r['t_base']:>11.2f} {r['t_fast']:>9.2f} "
              f"{r['ratio']:>6.1f} {r['gflops_base']:>9.1f} {r['gflops_fast']:>9.1f} {100 * r['gflops_fast'] / peak:>8.0f}% "
              f"{r['max_rel_err']:>8.1e}")
    summary = {}
    for name, sel, target in (("narrow (m <= 100)", lambda r: r["m"] <= 100, 10.0),
                              ("wide (m >= 200)", lambda r: r["m"] >= 200, 3.0),
                              ("all", lambda r: True, None)):
        part = [r for r in rows if sel(r)]
        if not part:
            continue
        tb, tf = sum(r["t_base"] for r in part), sum(r["t_fast"] for r in part)
        fl = sum(fast_flops(r["n"], r["d"], r["m"], r["seeds"], r["steps"], r["mode"], r["r"]) for r in part)
        ts = sum(t for m, t in sweep_t.items() if sel(dict(m=m)))
        summary[name] = dict(t_base=tb, t_fast=tf, ratio=tb / tf, pct_peak=100 * fl / tf / 1e9 / peak, target=target,
                             t_sweep=ts, ratio_sweep=tb / ts, pct_peak_sweep=100 * fl / ts / 1e9 / peak)
        tgt = f"target >= {target:g}x: {'met' if max(tb / tf, tb / ts) >= target else 'MISSED'}" if target else ""
        print(f"  total {name:18s}: baseline {tb:7.1f} s | advsub.train per config {tf:6.1f} s = {tb / tf:5.1f}x "
              f"({100 * fl / tf / 1e9 / peak:3.0f}% of peak) | advsub.train_sweep {ts:6.1f} s = {tb / ts:5.1f}x "
              f"({100 * fl / ts / 1e9 / peak:3.0f}% of peak)   {tgt}")
    print(f"  max relative difference baseline vs advsub.train (weights, loss history): "
          f"{max(r['max_rel_err'] for r in rows):.1e}; train_sweep vs train (weights): {sweep_err:.1e}")
    return dict(rows=rows, summary=summary, peak_gflops=peak)


def section_large(args, peak):
    d = m = n = 1000 if args.quick else 2000
    ell, steps = d // 2, 20 if args.quick else 50
    S = advsub.Subspace.random(d, ell, seed=7)
    X, y = advsub.make_dataset(S, n, seed=8)
    net = advsub.TwoLayerReLU(d, m, ensemble=1, seed=9)
    W0, u = net.W[0].clone(), net.u[0].clone()
    t = time.perf_counter()
    mode, _, r = data_coordinates(X)
    t_coords = time.perf_counter() - t
    t = time.perf_counter()
    advsub.train(net, X, y, lr=0.5, max_steps=steps, target_margin=FAR, progress=False)
    t_fast = time.perf_counter() - t
    fl = fast_flops(n, d, m, 1, steps, mode, r)
    res = dict(d=d, m=m, n=n, ell=ell, steps=steps, mode=mode, r=r, t_fast=t_fast, t_coords=t_coords,
               gflops=fl / t_fast / 1e9, pct_peak=100 * fl / t_fast / 1e9 / peak)
    if not args.no_large_baseline:
        t = time.perf_counter()
        W, _ = baseline_train(W0, u, X, y, 0.5, steps)
        res["t_base"] = time.perf_counter() - t
        res["gflops_base"] = base_flops(n, d, m, 1, steps) / res["t_base"] / 1e9
        res["max_rel_err"] = rel_err(net.W[0], W)
    print()
    print(f"(b) One network d = m = n = {d}, ell = {ell}, {steps} steps, float64 ({mode} mode, r = {r})")
    print(f"  advsub.train: {t_fast:.2f} s (of which data_coordinates {t_coords:.2f} s), {res['gflops']:.1f} GFLOP/s "
          f"= {res['pct_peak']:.0f}% of the matmul peak {peak:.1f} GFLOP/s   target >= 50%: "
          f"{'met' if res['pct_peak'] >= 50 else 'MISSED'}")
    if "t_base" in res:
        print(f"  baseline:     {res['t_base']:.2f} s, {res['gflops_base']:.1f} GFLOP/s; ratio {res['t_base'] / t_fast:.1f}x, "
              f"rel err {res['max_rel_err']:.1e}")
    return res


def memory_child(E, budget, quick):
    """Run in a fresh process: train a large ensemble under ``budget`` bytes; print peak RSS (MiB)."""
    reset_peak_rss()
    d, m, n = 500, 100, 200
    S = advsub.Subspace.random(d, 100, seed=3)
    X, y = advsub.make_dataset(S, n, seed=4)
    net = advsub.TwoLayerReLU(d, m, ensemble=E, seed=5)
    base = peak_rss_mib()
    t = time.perf_counter()
    advsub.train(net, X, y, lr=0.5, max_steps=10 if quick else 20, target_margin=FAR, progress=False, memory_budget=budget)
    el = time.perf_counter() - t
    print(json.dumps(dict(E=E, budget_mib=budget / 2**20, rss_before_mib=base, peak_rss_mib=peak_rss_mib(),
                          net_mib=2 * E * m * d * 8 / 2**20, seconds=el)))


def section_memory(args):
    E = 300 if args.quick else 1000
    print()
    print(f"(d) Memory: ensemble of {E} networks, d=500, m=100, n=200 (net W and W0: "
          f"{2 * E * 100 * 500 * 8 / 2**20:.0f} MiB), trained under two memory budgets, each in a fresh process")
    out = []
    for budget in (256 * 2**20, 4 * 2**30):
        cmd = [sys.executable, __file__, "--memory-child", str(E), str(budget)] + (["--quick"] if args.quick else [])
        proc = subprocess.run(cmd, capture_output=True, text=True, check=True)
        res = json.loads(proc.stdout.strip().splitlines()[-1])
        out.append(res)
        print(f"  memory_budget {res['budget_mib']:6.0f} MiB: peak RSS {res['peak_rss_mib']:6.0f} MiB "
              f"(before training {res['rss_before_mib']:.0f} MiB; growth {res['peak_rss_mib'] - res['rss_before_mib']:.0f} MiB), "
              f"{res['seconds']:.1f} s")
    return out


def section_notebooks(args):
    """Each chapter timed alone (one kernel at a time), then the whole book as `make book`
    runs it (bookbuild's default: two kernels at once on two cores). Targets (issue 9):
    the whole book's full mode <= 180 s and fast mode <= 60 s on 2 cores."""
    spec = importlib.util.spec_from_file_location("bookbuild", ROOT / "scripts" / "bookbuild.py")
    bookbuild = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bookbuild)
    modes = {"fast": ["fast"], "full": ["full"], "both": ["fast", "full"]}[args.notebooks]
    targets = {"fast": 60, "full": 180}
    res, whole = {}, {}
    for mode in modes:
        print(f"  running the chapter notebooks in {mode} mode, one at a time ...", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"advsub-bench-{mode}-") as tmp:
            res[mode] = bookbuild.execute(mode, Path(tmp), jobs=1)
        jobs = bookbuild.default_jobs()
        print(f"  ... and as make book runs them ({jobs} at once) ...", flush=True)
        with tempfile.TemporaryDirectory(prefix=f"advsub-bench-{mode}-") as tmp:
            whole[mode] = bookbuild.execute(mode, Path(tmp), jobs=jobs)
    print()
    print("(c) Chapter notebooks, wall time (papermill, includes kernel start-up)")
    names = sorted(set().union(*[set(v) for v in res.values()]) - {"wall", "jobs"})
    print(f"  {'notebook':40s} " + " ".join(f"{m:>9s}" for m in modes))
    for name in names:
        print(f"  {name:40s} " + " ".join(f"{res[m].get(name, float('nan')):>8.1f}s" for m in modes))
    for mode in modes:
        alone = sum(v for k, v in res[mode].items() if k not in ("wall", "jobs"))
        wall = whole[mode]["wall"]
        print(f"  {mode:4s}: one at a time {alone:6.1f} s; whole book with "
              f"{whole[mode]['jobs']} kernels at once {wall:6.1f} s "
              f"(target <= {targets[mode]} s: {'met' if wall <= targets[mode] else 'MISSED'})")
    return {"alone": res, "whole": whole}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a subset of every section (about a minute or two)")
    parser.add_argument("--notebooks", choices=["none", "fast", "full", "both"], default="fast",
                        help="which notebook timings to measure (default fast)")
    parser.add_argument("--skip-notebooks", action="store_true", help="same as --notebooks none")
    parser.add_argument("--sections", default="atbdce", help="which sections to run, e.g. 'ab' (default atbdce)")
    parser.add_argument("--no-large-baseline", action="store_true", help="skip the baseline run of section (b)")
    parser.add_argument("--repeats", type=int, default=2,
                        help="time every run of (a) this many times, alternately, and keep the best (default 2)")
    parser.add_argument("--json", type=Path, help="also write the results to this JSON file")
    parser.add_argument("--memory-child", nargs=2, type=int, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.memory_child:
        memory_child(*args.memory_child, quick=args.quick)
        return
    if args.skip_notebooks:
        args.notebooks = "none"
    start = time.perf_counter()
    print(f"advsub benchmark — torch {torch.__version__}, {torch.get_num_threads()} threads, "
          f"{os.cpu_count()} CPUs, {platform.processor() or platform.machine()}, load average "
          f"{os.getloadavg()[0]:.1f}{' (quick)' if args.quick else ''}", flush=True)
    peak = matmul_peak(reps=10)
    print(f"float64 torch.matmul peak (2000 x 2000, best of 10): {peak:.1f} GFLOP/s", flush=True)
    results = dict(peak_gflops=peak, quick=args.quick)
    if "a" in args.sections:
        results["sweep"] = section_sweep(args, peak)
        peak = results["sweep"]["peak_gflops"]
    if "t" in args.sections:
        from engine import section_engine  # benchmarks/engine.py

        results["engine"] = section_engine(args)
    if "b" in args.sections:
        peak = max(peak, matmul_peak(reps=10))  # the best seen so far: fractions of peak are not flattered by load
        results["large"] = section_large(args, peak)
    print(f"\npeak RSS of this process so far: {peak_rss_mib():.0f} MiB")
    if "d" in args.sections:
        results["memory"] = section_memory(args)
    if "c" in args.sections and args.notebooks != "none":
        results["notebooks"] = section_notebooks(args)
    if "e" in args.sections:
        from explorers import section_explorers  # benchmarks/explorers.py

        results["explorers"] = section_explorers(args)
    peak_end = matmul_peak()
    print(f"\nmatmul peak re-measured at the end: {peak_end:.1f} GFLOP/s (load average {os.getloadavg()[0]:.1f}); "
          f"total benchmark time {time.perf_counter() - start:.0f} s")
    results["peak_gflops_end"] = peak_end
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(results, indent=2, default=float))


if __name__ == "__main__":
    main()
