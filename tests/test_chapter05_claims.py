"""The claims chapter 05 (the paper's pictures) prints, at its fast-mode sizes and seeds."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from advsub import toydata
from advsub.boundary import boundary_distance

torch.set_num_threads(1)
LINE, PLANE = toydata.PICTURES["line"], toydata.PICTURES["plane"]


@pytest.fixture(scope="module")
def line_stats():
    _, _, P = toydata.line_dataset()
    out = {}
    for name, f, lam in (("vanilla", 1.0, 0.0), ("small", 10.0, 0.0), ("decay", 1.0, LINE["weight_decay"])):
        net, hist, X, _ = toydata.train_picture("line", init_factor=f, weight_decay=lam, ensemble=4, seed=0)
        assert hist.all_reached, name
        out[name] = toydata.line_picture_stats(net, X, P)
    return out


def test_line_small_init_and_decay_make_the_boundary_perpendicular(line_stats):
    med = {k: np.median(v["angle"]) for k, v in line_stats.items()}
    assert med["vanilla"] < 80
    assert med["small"] > 85 and med["decay"] > 85


def test_line_orthogonal_distance_grows_tenfold_along_distance_does_not(line_stats):
    orth = {k: np.median(v["orth"]) for k, v in line_stats.items()}
    along = {k: np.median(v["along"]) for k, v in line_stats.items()}
    assert orth["vanilla"] > along["vanilla"]  # mild in d = 2: still farther across than along
    assert orth["small"] > 8 * orth["vanilla"] and orth["decay"] > 8 * orth["vanilla"]
    assert all(0.1 < a < 0.3 for a in along.values())  # set by the spacing √2/3 of the points


def test_line_too_much_weight_decay_loses_the_fit():
    _, hist, _, _ = toydata.train_picture("line", weight_decay=7e-3, ensemble=4, seed=0)
    assert not bool(hist.reached.any()) and bool((hist.final_margin < 0).all())


def _plane(f, h):
    net, hist, X, _ = toydata.train_picture("plane", init_factor=f, ensemble=2, seed=0, height=h)
    assert hist.all_reached
    trained, frozen = toydata.plane_normal_derivative(net, X, height=h)
    dist = np.median(boundary_distance(net, X, [0.0, 0.0, 1.0]).numpy())
    return float(trained.abs().median()), float(frozen.abs().median()), dist


def test_affine_plane_small_init_shrinks_only_the_frozen_part():
    tr_v, fr_v, dist_v = _plane(1.0, 0.5)
    tr_s, fr_s, dist_s = _plane(10.0, 0.5)
    assert fr_s < 0.25 * fr_v  # the frozen part shrinks with β
    assert tr_s > 0.5 * tr_v and tr_s > 5 * fr_s  # the trained part does not, and dominates
    assert dist_s < 2 * dist_v  # so the orthogonal distance barely improves
    _, fr0_v, dist0_v = _plane(1.0, 0.0)
    _, fr0_s, dist0_s = _plane(10.0, 0.0)
    assert dist0_s > 5 * dist0_v  # on the linear plane small init works as on the line
