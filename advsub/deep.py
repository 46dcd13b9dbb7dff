"""Deeper ReLU networks: an ensemble of fully connected ReLU networks of any depth, and
their training.

N(x) = uᵀ σ(W_L ⋯ σ(W_2 σ(W_1 x))),  σ = ReLU, hidden widths m_1, …, m_L.

The first layer follows the two-layer convention (entries N(0, β²), β = 1/√d for
``"standard"``, 1/d for ``"small"``); the deeper hidden layers use He's N(0, 2/m_(l−1)),
which keeps the pre-activations of order one at every depth; u is ±1/√m_L and kept fixed
unless asked. With ``widths=[m]`` and the same seed, :class:`DeepReLU` draws the same
weights as :class:`~advsub.network.TwoLayerReLU`, and :func:`advsub.training.train_deep`
makes the same steps as :func:`~advsub.training.train` (up to rounding).

Why the invariance lemma survives depth: ∂N(x_j)/∂W_1 = δ_1(x_j) x_jᵀ, with δ_1 the
back-propagated signal at the first hidden layer, so every first-layer update is a
combination of training points and Π W_1 (rows projected on P⊥) never moves under (S)GD
or momentum. The orthogonal gradient is Π∇N(x0) = (ΠW_1(0))ᵀ δ_1(x0).
"""

from __future__ import annotations

import math

import torch

from ._validation import check_int, check_seed
from .network import EnsembleNet, copy_net, init_beta

__all__ = ["DeepReLU"]


class DeepReLU(EnsembleNet):
    """E independent ReLU networks R^d → R with hidden widths ``widths``, stored as
    batched tensors.

    Parameters
    ----------
    d : int
        Input dimension.
    widths : sequence of int
        Hidden widths [m_1, …, m_L]; ``[m]`` is the two-layer network, ``[m, m]`` has
        depth 3.
    ensemble : int
        Number E of independent networks.
    init_scale : {"standard", "small"} or float
        First-layer entries are N(0, β²) with β = 1/√d, 1/d or the float given.
    seed : int
        Same seed → bit-identical weights (and, for ``widths=[m]``, the weights of
        ``TwoLayerReLU(d, m, seed=seed)``).
    dtype, device
        float64 on the CPU by default.

    Attributes
    ----------
    weights : list of torch.Tensor
        ``weights[0]`` is W_1 (E, m_1, d); ``weights[l]`` is W_(l+1) (E, m_(l+1), m_l).
    weights0 : list of torch.Tensor
        Copies of the initial weights.
    u : torch.Tensor, shape (E, m_L)
        Output weights, ±1/√m_L at initialisation.
    beta : float
        The first-layer initialisation scale β.
    """

    def __init__(
        self,
        d: int,
        widths,
        *,
        ensemble: int = 1,
        init_scale="standard",
        seed: int,
        dtype: torch.dtype = torch.float64,
        device="cpu",
    ):
        self.d = check_int("d", d, low=1)
        if (
            isinstance(widths, (int, str))
            or not hasattr(widths, "__len__")
            or len(widths) == 0
        ):
            raise TypeError(
                f"widths must be a non-empty sequence of hidden widths such as [m, m], "
                f"got widths={widths!r}"
            )
        self.widths = [
            check_int(f"widths[{i}]", w, low=1) for i, w in enumerate(widths)
        ]
        self.ensemble = check_int("ensemble", ensemble, low=1)
        seed = check_seed(seed)
        self.beta = init_beta(init_scale, self.d)
        if dtype not in (torch.float32, torch.float64):
            raise TypeError(
                f"dtype must be torch.float32 or torch.float64, got dtype={dtype}"
            )
        try:
            self.device = torch.device(device)
        except (RuntimeError, TypeError) as exc:
            raise ValueError(
                f"device must name a torch device, got device={device!r}"
            ) from exc
        self.dtype = dtype
        E = self.ensemble
        # Same draw order as TwoLayerReLU (W_1, then the output signs), deeper layers
        # last.
        g = torch.Generator(device="cpu").manual_seed(seed)
        W1 = self.beta * torch.randn(
            E, self.widths[0], self.d, generator=g, dtype=torch.float64
        )
        signs = (
            torch.randint(0, 2, (E, self.widths[-1]), generator=g).to(torch.float64) * 2
            - 1
        )
        layers = [W1]
        for fan_in, fan_out in zip(self.widths[:-1], self.widths[1:]):
            layers.append(
                math.sqrt(2.0 / fan_in)
                * torch.randn(E, fan_out, fan_in, generator=g, dtype=torch.float64)
            )
        self.weights = [w.to(self.device, dtype) for w in layers]
        self.u = (signs / math.sqrt(self.widths[-1])).to(self.device, dtype)
        self.weights0 = [w.clone() for w in self.weights]

    # --- aliases shared with TwoLayerReLU ---------------------------------
    @property
    def W(self) -> torch.Tensor:
        """The first layer W_1 now, shape (E, m_1, d) (``weights[0]``; the name a
        two-layer net uses)."""
        return self.weights[0]

    @property
    def W0(self) -> torch.Tensor:
        """The first layer at initialisation, shape (E, m_1, d) (``weights0[0]``)."""
        return self.weights0[0]

    @property
    def depth(self) -> int:
        """Number of weight layers, L + 1 (2 for a two-layer network)."""
        return len(self.widths) + 1

    # --- the maps ----------------------------------------------------------
    def _preactivations(self, x: torch.Tensor) -> list[torch.Tensor]:
        """Pre-activations of every hidden layer, [(E, n, m_1), …, (E, n, m_L)]."""
        eq = "emd,nd->enm" if x.ndim == 2 else "emd,end->enm"
        pres = [torch.einsum(eq, self.weights[0], x)]
        for W in self.weights[1:]:
            pres.append(torch.einsum("eij,enj->eni", W, torch.relu(pres[-1])))
        return pres

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.einsum(
            "enm,em->en", torch.relu(self._preactivations(x)[-1]), self.u
        )

    def _signals(self, pres: list[torch.Tensor]) -> list[torch.Tensor]:
        """Back-propagated signals δ_l = ∂N/∂(pre-activation of layer l), same shapes as
        ``pres``."""
        delta = (pres[-1] > 0).to(self.dtype) * self.u[:, None, :]
        deltas = [delta]
        for W, pre in zip(reversed(self.weights[1:]), reversed(pres[:-1])):
            delta = torch.einsum("eni,eij->enj", delta, W) * (pre > 0).to(self.dtype)
            deltas.append(delta)
        return deltas[::-1]

    def _input_gradient(self, x: torch.Tensor) -> torch.Tensor:
        delta1 = self._signals(self._preactivations(x))[0]
        return torch.einsum("enm,emd->end", delta1, self.weights[0])

    def first_layer_signal(self, x) -> torch.Tensor:
        """δ_1(x) = ∂N/∂(W_1 x), the signal back-propagated to the first hidden layer:
        (E, n, m_1).

        ∇ₓN(x) = W_1ᵀ δ_1(x); for two layers δ_1 = u ⊙ 1[active], so ‖δ_1‖² = k/m.
        """
        return self._signals(self._preactivations(self._check_x(x)))[0]

    def preactivation(self, x) -> list[torch.Tensor]:
        """Pre-activations of every hidden layer for every member and point: [(E, n,
        m_l)]."""
        return self._preactivations(self._check_x(x))

    def active(self, x) -> list[torch.Tensor]:
        """Which neurons are active, layer by layer: [bool (E, n, m_l)]."""
        return [p > 0 for p in self._preactivations(self._check_x(x))]

    def input_gradient(self, x) -> torch.Tensor:
        """∇ₓN(x) = W_1ᵀ δ_1(x), (E, n, d), by back-propagation (σ'(0) = 0)."""
        return self._input_gradient(self._check_x(x))

    # --- utilities ------------------------------------------------------------
    def clone(self) -> "DeepReLU":
        """A deep copy (weights, initial weights, settings)."""
        return copy_net(self)

    def member(self, e: int) -> "DeepReLU":
        """Member e as an ensemble of one (a copy)."""
        e = check_int("e", e, low=0, high=self.ensemble - 1)
        return copy_net(self, slice(e, e + 1))

    def __repr__(self) -> str:
        return (
            f"DeepReLU(d={self.d}, widths={self.widths}, ensemble={self.ensemble}, "
            f"beta={self.beta:.4g}, "
            f"dtype={self.dtype}, device={self.device})"
        )


def __getattr__(name):
    # Compatibility: train_deep lived here; it is now advsub.training.train_deep
    # (importing it
    # lazily keeps deep → training out of the import graph: training imports this
    # module).
    if name == "train_deep":
        from .training import train_deep

        return train_deep
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
