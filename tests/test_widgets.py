"""Every explorer builds, draws its first figure, and redraws when a slider moves (no kernel needed)."""
from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import ipywidgets as W
import matplotlib.pyplot as plt
import pytest

from advsub import widgets

EXPLORERS = {
    "gradient_explorer": dict(d=20, ell=10, m=20, ensemble=40),
    "universal_explorer": dict(d=40, ell=20, m=20, ensemble=2, n=20, n_test=20),
    "small_init_explorer": dict(d=40, ell=20, m=20, ensemble=2),
    "pictures_explorer": dict(width=20),
    "depth_explorer": dict(depth=2, width=10, d=20, ell=10, ensemble=2),
    "digits_explorer": dict(),
    "weight_decay_explorer": dict(d=40, ell=20, m=20),
}


def _sliders(box):
    found, stack = [], [box]
    while stack:
        w = stack.pop()
        if isinstance(w, (W.IntSlider, W.FloatSlider, W.FloatLogSlider, W.Dropdown, W.ToggleButtons)):
            found.append(w)
        stack.extend(getattr(w, "children", ()))
    return found


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_explorer_draws_and_reacts_to_a_slider(name, monkeypatch):
    monkeypatch.delenv(widgets.BATCH_ENV, raising=False)
    calls = []
    original = widgets.show_png
    monkeypatch.setattr(widgets, "show_png", lambda png: (calls.append(png), original(png)))
    box = getattr(widgets, name)(**EXPLORERS[name])
    assert isinstance(box, W.Box)
    assert calls, f"{name} drew nothing on creation"
    assert calls[0].startswith(b"\x89PNG"), f"{name} did not show a PNG"
    sliders = _sliders(box)
    assert sliders, f"{name} has no slider"
    before = len(calls)
    numeric = [s for s in sliders if not isinstance(s, (W.Dropdown, W.ToggleButtons))]
    assert numeric, f"{name} has no slider"
    s = numeric[0]
    lo, hi = (s.base**s.min, s.base**s.max) if isinstance(s, W.FloatLogSlider) else (s.min, s.max)
    s.value = lo if s.value != lo else hi
    assert len(calls) > before, f"{name} did not redraw after {s.description} moved"
    assert not plt.get_fignums(), f"{name} left a pyplot figure open"


def test_batch_runs_skip_the_first_draw(monkeypatch):
    monkeypatch.setenv(widgets.BATCH_ENV, "1")
    calls = []
    monkeypatch.setattr(widgets, "show_png", lambda png: calls.append(1))
    box = widgets.gradient_explorer(**EXPLORERS["gradient_explorer"])
    assert _sliders(box) and not calls


@pytest.mark.parametrize("name", sorted(EXPLORERS))
def test_every_explorer_is_built_by_the_one_scaffold(name, monkeypatch):
    monkeypatch.setenv(widgets.BATCH_ENV, "1")
    box = getattr(widgets, name)(**EXPLORERS[name])
    assert callable(box.redraw) and set(box.controls) == {
        k for k, c in box.controls.items() if c in _sliders(box)
    }


def test_a_dependent_limit_does_not_redraw_twice(monkeypatch):
    """Moving d below ℓ clamps ℓ (its maximum follows d − 1): one redraw, not two."""
    monkeypatch.setenv(widgets.BATCH_ENV, "1")
    calls = []
    monkeypatch.setattr(widgets, "show_png", lambda png: calls.append(1))
    box = widgets.gradient_explorer(**EXPLORERS["gradient_explorer"])
    box.controls["d"].value = 8  # ℓ = 10 > d − 1 = 7
    assert box.controls["ell"].value == 7 and box.controls["ell"].max == 7
    assert len(calls) == 1  # the clamp of ℓ happens inside the redraw of d, held


def test_redraws_reuse_one_figure_without_piling_up_colorbars(monkeypatch):
    """The universal explorer adds a colorbar at every draw: a redraw removes the old
    one and puts the axes back, so the picture keeps its layout (one figure, two axes,
    the same places)."""
    monkeypatch.setenv(widgets.BATCH_ENV, "1")
    monkeypatch.setattr(widgets, "show_png", lambda png: None)
    box = widgets.universal_explorer(**EXPLORERS["universal_explorer"])
    box.redraw()
    fig = box.canvas.figure
    places = [ax.get_position().bounds for ax in fig.axes]
    for m in (21, 22):
        box.controls["m"].value = m
    assert box.canvas.figure is fig and len(fig.axes) == 2
    assert [ax.get_position().bounds for ax in fig.axes] == places
    assert not plt.get_fignums()


def test_moving_lambda_retrains_one_ensemble_and_a_revisit_none(monkeypatch):
    """The weight-decay explorer's λ = 0 run does not depend on λ: a new λ trains one
    ensemble (one new cached run), and moving back to a drawn λ trains none."""
    monkeypatch.setenv(widgets.BATCH_ENV, "1")
    monkeypatch.setattr(widgets, "show_png", lambda png: None)
    box = widgets.weight_decay_explorer(**EXPLORERS["weight_decay_explorer"])
    widgets._decay_run.cache_clear()
    box.redraw()
    assert widgets._decay_run.cache_info().misses == 2  # λ = 0 and λ = 1e-2
    box.controls["weight_decay"].value = 1e-3
    assert widgets._decay_run.cache_info().misses == 3
    box.controls["weight_decay"].value = 1e-2
    assert widgets._decay_run.cache_info().misses == 3
