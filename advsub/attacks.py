"""Orthogonal gradients, attacks and certificates in P⊥."""
from __future__ import annotations

import torch

from ._validation import check_net_points
from .geometry import Subspace
from .network import EnsembleNet

__all__ = ["orthogonal_gradient"]


def _check_net_subspace(net, subspace):
    if not isinstance(net, EnsembleNet):
        raise TypeError(f"net must be an advsub network (TwoLayerReLU, ...), got {type(net).__name__}")
    if not isinstance(subspace, Subspace):
        raise TypeError(f"subspace must be a Subspace, got {type(subspace).__name__}")
    if subspace.d != net.d:
        raise ValueError(f"subspace.d={subspace.d} does not match net.d={net.d}")


def orthogonal_gradient(net: EnsembleNet, x, subspace: Subspace, *, tol: float = 1e-8) -> torch.Tensor:
    """Π∇ₓN(x) in P⊥ coordinates (``subspace.orth_basis``): shape (E, n, ℓ).

    ``x`` (n, d) or (E, n, d) must lie in P (relative tolerance ``tol``). By the
    invariance lemma this equals Σ_{i active at x} u_i C^T w_i(0) for (S)GD training
    without weight decay (C = ``orth_basis``).
    """
    _check_net_subspace(net, subspace)
    x = check_net_points("x", x, net, subspace=subspace, tol=tol)
    C = subspace.orth_basis.to(net.device, net.dtype)
    return net._input_gradient(x) @ C
