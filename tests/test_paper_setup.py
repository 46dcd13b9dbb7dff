"""advsub.experiments.paper_setup against the paper's own training loop."""

from __future__ import annotations

import pytest
import torch

from advsub import toydata
from advsub.experiments.paper_setup import (
    module_to_net,
    paper_module,
    paper_module_run,
    paper_runs,
)

torch.set_num_threads(1)


@pytest.mark.parametrize(
    "name,factor,wd", [("line", 1.0, 0.0), ("line", 3.0, 1e-2), ("plane", 1.0, 3e-3)]
)
def test_batched_runs_equal_the_module_and_torch_sgd_loop(name, factor, wd):
    """nn.Module + autograd + SGD(weight_decay) + BCELoss(sigmoid): 300 steps."""
    mod, steps = paper_module_run(name, factor=factor, weight_decay=wd, max_steps=300)
    run = paper_runs(name, [(factor, wd, 0), (1.0, 0.0, 5)], max_steps=300)[0]
    ref = module_to_net(mod)
    assert run.steps == steps == 300
    for a, b in ((run.net.W, ref.W), (run.net.b, ref.b), (run.net.u, ref.u)):
        assert torch.allclose(
            a, b, rtol=0, atol=1e-9
        )  # rounding of two summation orders


def test_paper_initialisation():
    line = paper_module("line", seed=0, factor=2.0)
    assert line[0].weight.shape == (100, 2) and line[2].weight.shape == (1, 100)
    ref = paper_module("line", seed=0)
    # the factor divides both weight matrices, never the biases
    assert torch.equal(line[0].weight * 2, ref[0].weight) and torch.equal(
        line[2].weight * 2, ref[2].weight
    )
    assert torch.equal(line[0].bias, ref[0].bias) and torch.equal(
        line[2].bias, ref[2].bias
    )
    plane = paper_module("plane", seed=0)
    bound = 1 / 3**0.5  # PyTorch's default layer: U(−1/√fan_in, 1/√fan_in)
    assert plane[0].weight.abs().max() <= bound and plane[0].bias.abs().max() <= bound
    assert plane[2].weight.abs().max() <= 1 / 20 and plane[2].bias.abs().max() <= 1 / 20


def test_module_to_net_is_exact_including_the_output_bias():
    mod = paper_module("plane", seed=1)
    with torch.no_grad():
        mod[2].bias.fill_(0.37)
    X, _ = toydata.grid_plane_dataset()
    net = module_to_net(mod)
    with torch.no_grad():
        assert torch.allclose(net(X)[0], mod(X)[:, 0], rtol=0, atol=1e-13)
    assert torch.allclose(
        net.input_gradient(X)[0, :, :],
        torch.autograd.functional.jacobian(lambda x: mod(x).sum(), X),
        atol=1e-13,
    )


def test_bad_input():
    with pytest.raises(ValueError, match="name"):
        paper_runs("circle", [(1.0, 0.0, 0)])
    with pytest.raises(ValueError, match="factor"):
        paper_runs("line", [(0.0, 0.0, 0)])
    with pytest.raises(TypeError, match="weight_decay"):
        paper_runs("line", [(1.0, "0", 0)])
    with pytest.raises(ValueError, match="max_steps"):
        paper_runs("line", [(1.0, 0.0, 0)], max_steps=0)
