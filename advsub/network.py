"""The network: an ensemble of two-layer ReLU networks N(x) = Σ_i u_i σ(w_i·x + b_i).

An *ensemble* of E independent networks is stored as batched tensors so that
every operation (forward pass, gradients, training) runs on all members at once.
"""
from __future__ import annotations

import math

import torch

from ._validation import check_dtype_device, check_float, check_int, check_net_points, check_seed

__all__ = ["EnsembleNet", "TwoLayerReLU", "init_beta"]

_INIT_NAMES = {"standard", "small"}


def init_beta(init_scale, d: int) -> float:
    """Standard deviation β of the first-layer entries.

    ``"standard"`` (Kaiming-like) is β = 1/√d, ``"small"`` is β = 1/d, a
    positive float is β itself.
    """
    d = check_int("d", d, low=1)
    if isinstance(init_scale, str):
        if init_scale == "standard":
            return 1.0 / math.sqrt(d)
        if init_scale == "small":
            return 1.0 / d
        raise ValueError(f"init_scale must be 'standard', 'small' or a positive float, got init_scale={init_scale!r}")
    return check_float("init_scale", init_scale, low=0.0, low_inclusive=False)


class EnsembleNet:
    """Base class of the ensembles of networks R^d → R that the attacks and measurements accept.

    A subclass sets ``d``, ``ensemble``, ``dtype``, ``device`` and implements the
    unvalidated ``_forward(x) -> (E, n)`` and ``_input_gradient(x) -> (E, n, d)``
    for x of shape (n, d) or (E, n, d). The public methods validate once and call them.
    """

    d: int
    ensemble: int
    dtype: torch.dtype
    device: torch.device

    def _check_x(self, x) -> torch.Tensor:
        return check_net_points("x", x, self)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _input_gradient(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x) -> torch.Tensor:
        """N(x): x of shape (n, d) or (E, n, d) → outputs (E, n)."""
        return self._forward(self._check_x(x))

    def input_gradient(self, x) -> torch.Tensor:
        """∇ₓN(x) for every member and point: (E, n, d)."""
        return self._input_gradient(self._check_x(x))


class TwoLayerReLU(EnsembleNet):
    """E independent two-layer ReLU networks of width m on R^d, stored as batched tensors.

    N_e(x) = Σ_i u_{e,i} σ(w_{e,i}·x + b_{e,i}),  σ = ReLU.

    Parameters
    ----------
    d : int
        Input dimension.
    m : int
        Width (number of hidden neurons).
    ensemble : int
        Number E of independent networks.
    init_scale : {"standard", "small"} or float
        First-layer entries are N(0, β²) with β = 1/√d, 1/d or the float given.
    seed : int
        Seed of the initialisation; the same seed gives bit-identical weights.
    bias : bool
        Add hidden-layer biases b (initialised at 0). The theorems are for
        ``bias=False``; biases live outside the input space, so the invariance of
        ΠW and Theorem A's formula are unchanged.
    dtype, device
        float64 on the CPU by default.

    Attributes
    ----------
    W : torch.Tensor, shape (E, m, d)
        First-layer weights, row i is w_i.
    u : torch.Tensor, shape (E, m)
        Second-layer weights, ±1/√m at initialisation.
    b : torch.Tensor of shape (E, m) or None
        Hidden biases.
    W0 : torch.Tensor, shape (E, m, d)
        A copy of the initial first layer (for invariance checks).
    beta : float
        The initialisation scale β.
    """

    def __init__(
        self,
        d: int,
        m: int,
        *,
        ensemble: int = 1,
        init_scale="standard",
        seed: int,
        bias: bool = False,
        dtype: torch.dtype = torch.float64,
        device="cpu",
    ):
        self.d = check_int("d", d, low=1)
        self.m = check_int("m", m, low=1)
        self.ensemble = check_int("ensemble", ensemble, low=1)
        seed = check_seed(seed)
        self.beta = init_beta(init_scale, self.d)
        self.device = check_dtype_device(dtype, device)
        self.dtype = dtype
        if not isinstance(bias, bool):
            raise TypeError(f"bias must be True or False, got bias={bias!r}")
        # Draw on the CPU in float64 then move: the same seed gives the same
        # network whatever the device and dtype.
        g = torch.Generator(device="cpu").manual_seed(seed)
        W = self.beta * torch.randn(self.ensemble, self.m, self.d, generator=g, dtype=torch.float64)
        signs = torch.randint(0, 2, (self.ensemble, self.m), generator=g).to(torch.float64) * 2 - 1
        self.W = W.to(self.device, dtype)
        self.u = (signs / math.sqrt(self.m)).to(self.device, dtype)
        self.b = torch.zeros(self.ensemble, self.m, dtype=dtype, device=self.device) if bias else None
        self.W0 = self.W.clone()

    @property
    def has_bias(self) -> bool:
        return self.b is not None

    # --- the maps --------------------------------------------------------
    def _preactivation(self, x: torch.Tensor) -> torch.Tensor:
        """w_i·x + b_i, shape (E, n, m); x is (n, d) or (E, n, d), already validated."""
        if x.ndim == 2:
            pre = torch.einsum("emd,nd->enm", self.W, x)
        else:
            pre = torch.einsum("emd,end->enm", self.W, x)
        if self.b is not None:
            pre = pre + self.b[:, None, :]
        return pre

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum("enm,em->en", torch.relu(self._preactivation(x)), self.u)

    def _input_gradient(self, x: torch.Tensor) -> torch.Tensor:
        act = (self._preactivation(x) > 0).to(self.dtype)
        return torch.einsum("enm,em,emd->end", act, self.u, self.W)

    def preactivation(self, x) -> torch.Tensor:
        """w_i·x + b_i for every member, point and neuron: (E, n, m)."""
        return self._preactivation(self._check_x(x))

    def active(self, x) -> torch.Tensor:
        """Which neurons are active, w_i·x + b_i > 0: bool (E, n, m)."""
        return self._preactivation(self._check_x(x)) > 0

    def input_gradient(self, x) -> torch.Tensor:
        """∇ₓN(x) = Σ_i u_i 1[w_i·x + b_i > 0] w_i in closed form: (E, n, d).

        At a kink (a pre-activation exactly 0) this is the gradient with σ'(0) = 0,
        the convention of PyTorch's ReLU.
        """
        return self._input_gradient(self._check_x(x))

    # --- utilities ----------------------------------------------------------
    def clone(self) -> "TwoLayerReLU":
        """A deep copy (weights, initial weights, settings)."""
        new = object.__new__(type(self))
        new.__dict__.update(self.__dict__)
        for name in ("W", "u", "W0"):
            setattr(new, name, getattr(self, name).clone())
        new.b = None if self.b is None else self.b.clone()
        return new

    def member(self, e: int) -> "TwoLayerReLU":
        """Member e as an ensemble of one (a copy)."""
        e = check_int("e", e, low=0, high=self.ensemble - 1)
        new = self.clone()
        new.ensemble = 1
        for name in ("W", "u", "W0", "b"):
            t = getattr(new, name)
            if t is not None:
                setattr(new, name, t[e : e + 1].clone())
        return new

    def __repr__(self) -> str:
        return (
            f"TwoLayerReLU(d={self.d}, m={self.m}, ensemble={self.ensemble}, beta={self.beta:.4g}, "
            f"bias={self.has_bias}, dtype={self.dtype}, device={self.device})"
        )
