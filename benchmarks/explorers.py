"""Benchmark (e): redraw time of every explorer after a slider move, at the chapters'
settings.

    python benchmarks/explorers.py                 # all seven explorers
    python benchmarks/explorers.py --only gradient_explorer --moves 3
    python benchmarks/run_all.py --sections e      # the same, as a section of make
    bench

Each explorer is built as its chapter builds it (batch mode: no first draw), drawn once
to warm up, and then every control is moved to a neighbouring value (one step up, or
down at the top of its range; the next option of a drop-down) and back, ``--moves``
times. A redraw is timed from the control's change to a rendered figure: the explorer's
``draw`` (training included) plus the PNG rendering the explorer does itself
(``widgets._Canvas.png``: one layout at the first draw, then PNG at
``widgets.EXPLORER_DPI``); only the display of those bytes is left out. The target
(issue 9) is a median of at most 250 ms per explorer. The table also gives the CPU
time of the redraws (less sensitive than the wall time to other load on the machine).
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

TARGET_MS = 250.0

# The explorers as the chapters call them (notebooks/0*_*.ipynb, full mode).
EXPLORERS = {
    "gradient_explorer": dict(d=40, ell=20, m=50, ensemble=300),
    "universal_explorer": dict(d=100, ell=60, m=50),
    "small_init_explorer": dict(beta_exponent=0.5, ell=60, m=50),
    "weight_decay_explorer": dict(),
    "pictures_explorer": dict(),
    "depth_explorer": dict(depth=3, width=40),
    "digits_explorer": dict(),
}


def _neighbour(control):
    """A value next to the control's current one (within its range), and the current
    one."""
    import ipywidgets as W

    value = control.value
    if isinstance(control, W.Dropdown):
        options = [o[1] if isinstance(o, tuple) else o for o in control.options]
        i = options.index(value)
        return options[(i + 1) % len(options)], value
    if isinstance(control, W.FloatLogSlider):
        exp = __import__("math").log10(value)
        new = (
            exp + control.step
            if exp + control.step <= control.max + 1e-12
            else exp - control.step
        )
        return control.base**new, value
    new = (
        value + control.step
        if value + control.step <= control.max
        else value - control.step
    )
    return new, value


def time_explorer(name: str, kwargs: dict, moves: int) -> dict:
    """{control: [(ms, new, cpu_ms) per redraw]} for one explorer; ``new`` is False
    when the controls return to values drawn before (an explorer may have cached them);
    ``cpu_ms`` is the process's CPU time (less sensitive to other load than ``ms``)."""
    import matplotlib

    matplotlib.use("Agg")
    from advsub.figures import widgets

    # The explorer renders its own PNG (widgets._Canvas.png, timed here); only the
    # display in the output area, which needs a kernel, is left out.
    widgets.show_png = lambda png: None
    os.environ[widgets.BATCH_ENV] = "1"
    box = getattr(widgets, name)(**kwargs)
    box.redraw()  # warm up (imports, first allocations)
    seen = {tuple(c.value for c in box.controls.values())}
    times = {}
    for label, control in box.controls.items():
        times[label] = []
        for _ in range(moves):
            target, home = _neighbour(control)
            values = {k: c.value for k, c in box.controls.items()}
            options = getattr(control, "options", None)
            while (
                box.skip is not None and box.skip({**values, label: target}) and options
            ):
                target = options[(list(options).index(target) + 1) % len(options)]
            for value in (target, home):
                start, cpu = time.perf_counter(), time.process_time()
                control.value = value  # observers run synchronously: the redraw
                ms = 1000 * (time.perf_counter() - start)
                cpu_ms = 1000 * (time.process_time() - cpu)
                state = tuple(c.value for c in box.controls.values())
                times[label].append((ms, state not in seen, cpu_ms))
                seen.add(state)
    return times


def section_explorers(args=None) -> dict:
    """Time every explorer (``args.only``: a subset; ``args.moves``: moves per control)
    and print a table: the median over the moves to values not drawn before (the
    number held against the target), and over every move."""
    import torch

    from advsub.figures import widgets

    only = getattr(args, "only", None) or list(EXPLORERS)
    moves = getattr(args, "moves", 2)
    print()
    print(
        "(e) Explorers: redraw time after a slider move (ms; training + PNG "
        f"rendering at {widgets.EXPLORER_DPI} dpi), {moves} moves there and back per "
        "control; torch threads "
        f"{torch.get_num_threads()} (explorers redraw with "
        f"{widgets.EXPLORER_THREADS}), load average {os.getloadavg()[0]:.1f}"
    )
    results = {}
    for name in only:
        times = time_explorer(name, EXPLORERS[name], moves)
        new = [ms for ts in times.values() for ms, fresh, _ in ts if fresh]
        cpu = [c for ts in times.values() for _, fresh, c in ts if fresh]
        every = [ms for ts in times.values() for ms, _, _ in ts]
        med = statistics.median(new)
        per_control = {
            k: statistics.median(
                [ms for ms, fresh, _ in v if fresh] or [ms for ms, _, _ in v]
            )
            for k, v in times.items()
        }
        results[name] = dict(
            median_ms=med,
            median_cpu_ms=statistics.median(cpu),
            median_all_ms=statistics.median(every),
            max_ms=max(every),
            per_control=per_control,
        )
        per = ", ".join(f"{k} {v:.0f}" for k, v in per_control.items())
        print(
            f"  {name:24s} median {med:6.0f} ms "
            f"(cpu {statistics.median(cpu):4.0f}; all moves "
            f"{statistics.median(every):5.0f})"
            f"  max {max(every):6.0f}  {'met' if med <= TARGET_MS else 'MISSED'}"
            f"  per control: {per}",
            flush=True,
        )
    meds = [r["median_ms"] for r in results.values()]
    print(
        f"  all explorers: median of medians {statistics.median(meds):.0f} ms; "
        f"{sum(m <= TARGET_MS for m in meds)}/{len(meds)} within {TARGET_MS:.0f} ms "
        "(shared CPU: times are noisy)"
    )
    return results


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", nargs="*", choices=sorted(EXPLORERS), help="time only these explorers"
    )
    parser.add_argument(
        "--moves",
        type=int,
        default=2,
        help="moves there and back per control (default 2)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        help="torch threads of a redraw (default: the explorers')",
    )
    args = parser.parse_args(argv)
    if args.threads:
        from advsub.figures import widgets

        widgets.EXPLORER_THREADS = args.threads
    section_explorers(args)


if __name__ == "__main__":
    sys.exit(main())
