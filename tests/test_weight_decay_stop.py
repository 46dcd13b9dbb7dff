"""advsub.experiments.weight_decay_stop: the stopping-rule sweep at any input scale."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advsub.experiments.weight_decay_stop import stopping_sweep
from advsub.regularisation import weight_decay_sweep

torch.set_num_threads(1)
KW = {
    "d": 20,
    "ell": 8,
    "m": 10,
    "ensemble": 2,
    "n": 20,
    "n_test": 10,
    "max_steps": 200,
}


def test_scale_one_is_weight_decay_sweep_with_the_paper_stopping_rule():
    a = stopping_sweep([0.0, 0.1], **KW)
    b = weight_decay_sweep([0.0, 0.1], target_margin=0.3, attack=False, **KW)
    for p, q in zip(a, b):
        assert np.array_equal(p.steps, q.steps) and np.array_equal(p.factor, q.factor)
        assert np.array_equal(p.sample.universal, q.sample.universal)


def test_smaller_inputs_need_a_longer_flow():
    """N_W(s·x) = N_{sW}(x): with inputs 10× smaller the margin takes far longer."""
    big = stopping_sweep([0.0], **KW)[0]
    small = stopping_sweep([0.0], scale=0.1, **{**KW, "max_steps": 5000})[0]
    assert big.reached.all() and small.reached.all()
    assert np.median(small.steps) > 10 * np.median(big.steps)


def test_bad_scale():
    with pytest.raises(TypeError, match="scale"):
        stopping_sweep([0.0], scale="1", **KW)
    with pytest.raises(ValueError, match="scale"):
        stopping_sweep([0.0], scale=0.0, **KW)
