"""The network: an ensemble of two-layer ReLU networks N(x) = Σ_i u_i σ(w_i·x + b_i) (+
c).

An *ensemble* of E independent networks is stored as batched tensors so that every
operation (forward pass, gradients, training) runs on all members at once. Every tensor
attribute of a network (or list of tensors, for deeper networks) is per member, with the
ensemble as its leading axis: :func:`copy_net` and :func:`concat_nets` rely on that to
copy, slice and join networks of any kind, and :func:`check_finite` to refuse a network
with NaN or infinite weights.
"""

from __future__ import annotations

import math

import torch

from ._validation import (
    check_dtype_device,
    check_float,
    check_int,
    check_net_points,
    check_seed,
)

__all__ = [
    "EnsembleNet",
    "TwoLayerReLU",
    "init_beta",
    "copy_net",
    "concat_nets",
    "check_finite",
]

_INIT_NAMES = {"standard", "small"}


def init_beta(init_scale, d: int) -> float:
    """Standard deviation β of the first-layer entries.

    ``"standard"`` (Kaiming-like) is β = 1/√d, ``"small"`` is β = 1/d, a positive float
    is β itself.
    """
    d = check_int("d", d, low=1)
    if isinstance(init_scale, str):
        if init_scale == "standard":
            return 1.0 / math.sqrt(d)
        if init_scale == "small":
            return 1.0 / d
        raise ValueError(
            f"init_scale must be 'standard', 'small' or a positive float, got "
            f"init_scale={init_scale!r}"
        )
    return check_float("init_scale", init_scale, low=0.0, low_inclusive=False)


def _per_member(value) -> bool:
    return isinstance(value, torch.Tensor) or (
        isinstance(value, list)
        and len(value) > 0
        and all(isinstance(v, torch.Tensor) for v in value)
    )


def copy_net(net, members=None, *, skip=(), share=False):
    """A copy of ``net`` sharing no tensor with it: the one way networks are copied.

    Parameters
    ----------
    net : EnsembleNet
        Any ensemble (TwoLayerReLU, DeepReLU, ...): every tensor attribute (or list of
        tensors) is per member, with the ensemble as its leading axis.
    members : slice or None
        Keep only these members (e.g. ``slice(e, e + 1)``); all by default.
    skip : tuple of str
        Attributes set to None instead of copied (e.g. ``("W0",)`` where a training
        chunk does not need the initial weights).
    share : bool
        Return views of the tensors instead of copies (a network object over the same
        memory: what the training loops use to work on a chunk of members in place).
    """
    take = (lambda t: t) if share else (lambda t: t.clone())
    new = object.__new__(type(net))
    for name, value in net.__dict__.items():
        if name in skip:
            value = None
        elif isinstance(value, torch.Tensor):
            value = take(value if members is None else value[members])
        elif _per_member(value):
            value = [take(v if members is None else v[members]) for v in value]
        elif isinstance(value, (list, dict, set)):
            value = type(value)(value)
        new.__dict__[name] = value
    if members is not None:
        new.ensemble = len(range(*members.indices(net.ensemble)))
    return new


def concat_nets(nets):
    """One ensemble holding the members of ``nets`` (same kind and shapes), in order; W0
    not kept."""
    first = nets[0]
    new = object.__new__(type(first))
    for name, value in first.__dict__.items():
        if isinstance(value, torch.Tensor):
            value = torch.cat([nt.__dict__[name] for nt in nets])
        elif _per_member(value):
            value = [
                torch.cat([nt.__dict__[name][k] for nt in nets])
                for k in range(len(value))
            ]
        new.__dict__[name] = value
    new.ensemble = sum(nt.ensemble for nt in nets)
    if "W0" in new.__dict__:
        new.W0 = (
            None  # not needed by the training loops, which is what concatenation is for
        )
    return new


def check_finite(net, name: str = "net") -> None:
    """Raise ``ValueError`` if some weight of ``net`` is NaN or infinite (e.g. after
    divergence).

    The attacks and certificates call it: a network with non-finite weights has
    non-finite outputs, and an attack on it would report a meaningless size such as
    ``inf`` (which looks robust). The message names the members concerned.
    """
    bad = torch.zeros(net.ensemble, dtype=torch.bool)
    for attr, value in net.__dict__.items():
        if attr in ("W0", "weights0") or not _per_member(value):
            continue
        for t in value if isinstance(value, list) else [value]:
            if t is not None and t.numel():
                bad |= ~torch.isfinite(t.reshape(t.shape[0], -1)).all(dim=1).cpu()
    if bool(bad.any()):
        idx = torch.nonzero(bad).flatten().tolist()
        raise ValueError(
            f"{name} has NaN or infinite weights in members "
            f"{idx[:10]}{' ...' if len(idx) > 10 else ''} "
            f"({len(idx)} of {net.ensemble}); training probably diverged (see "
            "TrainingHistory.diverged): "
            f"use a smaller lr, or drop those members with {name}.member(e)"
        )


class EnsembleNet:
    """Base class of the ensembles of networks R^d → R that the attacks and measurements
    accept.

    A subclass sets ``d``, ``ensemble``, ``dtype``, ``device`` and implements the
    unvalidated ``_forward(x) -> (E, n)`` and ``_input_gradient(x) -> (E, n, d)`` for x
    of shape (n, d) or (E, n, d). The public methods validate once and call them.
    """

    d: int
    ensemble: int
    dtype: torch.dtype
    device: torch.device

    def _check_x(self, x) -> torch.Tensor:
        return check_net_points("x", x, self)

    def _forward(self, x: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def _input_gradient(
        self, x: torch.Tensor
    ) -> torch.Tensor:  # pragma: no cover - abstract
        raise NotImplementedError

    def __call__(self, x) -> torch.Tensor:
        """N(x): x of shape (n, d) or (E, n, d) → outputs (E, n)."""
        return self._forward(self._check_x(x))

    def input_gradient(self, x) -> torch.Tensor:
        """∇ₓN(x) for every member and point: (E, n, d)."""
        return self._input_gradient(self._check_x(x))


class TwoLayerReLU(EnsembleNet):
    """E independent two-layer ReLU networks of width m on R^d, stored as batched
    tensors.

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
        ``bias=False``; biases live outside the input space, so the invariance of ΠW and
        Theorem A's formula are unchanged.
    output_bias : bool
        Add an output bias c (one per member, initialised at 0): N(x) = Σ_i u_i σ(w_i·x
        + b_i) + c, the layout of ``nn.Linear(d, m) → ReLU → nn.Linear(m, 1)``. It does
        not change ∇ₓN, so the invariance and the orthogonal-gradient law are unchanged.
        Trained with u (``train(..., train_second_layer=True)``).
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
    c : torch.Tensor of shape (E,) or None
        Output biases.
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
        output_bias: bool = False,
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
        if not isinstance(output_bias, bool):
            raise TypeError(
                f"output_bias must be True or False, got output_bias={output_bias!r}"
            )
        # Draw on the CPU in float64 then move: the same seed gives the same
        # network whatever the device and dtype.
        g = torch.Generator(device="cpu").manual_seed(seed)
        W = self.beta * torch.randn(
            self.ensemble, self.m, self.d, generator=g, dtype=torch.float64
        )
        signs = (
            torch.randint(0, 2, (self.ensemble, self.m), generator=g).to(torch.float64)
            * 2
            - 1
        )
        self.W = W.to(self.device, dtype)
        self.u = (signs / math.sqrt(self.m)).to(self.device, dtype)
        self.b = (
            torch.zeros(self.ensemble, self.m, dtype=dtype, device=self.device)
            if bias
            else None
        )
        self.c = (
            torch.zeros(self.ensemble, dtype=dtype, device=self.device)
            if output_bias
            else None
        )
        self.W0 = self.W.clone()

    @property
    def has_bias(self) -> bool:
        return self.b is not None

    @property
    def has_output_bias(self) -> bool:
        return getattr(self, "c", None) is not None

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

    def _outputs(self, pre: torch.Tensor) -> torch.Tensor:
        out = torch.einsum("enm,em->en", torch.relu(pre), self.u)
        return out if self.c is None else out + self.c[:, None]

    def _forward(self, x: torch.Tensor) -> torch.Tensor:
        return self._outputs(self._preactivation(x))

    def outputs_and_dead_points(self, x) -> tuple[torch.Tensor, torch.Tensor]:
        """N(x) (E, n) and, per member, how many points have every hidden neuron off
        (E,) int64.

        At such a point N is the output bias (0 without one) and no gradient flows
        through it. One pass: the outputs are exactly those of ``net(x)``.
        """
        pre = self._preactivation(self._check_x(x))
        return self._outputs(pre), (~(pre > 0).any(dim=2)).sum(dim=1)

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

        At a kink (a pre-activation exactly 0) this is the gradient with σ'(0) = 0, the
        convention of PyTorch's ReLU.
        """
        return self._input_gradient(self._check_x(x))

    # --- utilities ----------------------------------------------------------
    def clone(self) -> "TwoLayerReLU":
        """A deep copy (weights, initial weights, settings)."""
        return copy_net(self)

    def member(self, e: int) -> "TwoLayerReLU":
        """Member e as an ensemble of one (a copy)."""
        e = check_int("e", e, low=0, high=self.ensemble - 1)
        return copy_net(self, slice(e, e + 1))

    # --- PyTorch interop ------------------------------------------------------
    @classmethod
    def from_module(
        cls, module, *, dtype: torch.dtype = torch.float64, device="cpu"
    ) -> "TwoLayerReLU":
        """A one-member network copied from a PyTorch module ``Linear(d, m) → ReLU →
        Linear(m, 1)``.

        ``module`` is any ``torch.nn.Module`` whose leaf layers are, in registration
        order, exactly an ``nn.Linear(d, m)``, an ``nn.ReLU`` and an ``nn.Linear(m, 1)``
        (e.g. ``nn.Sequential(nn.Linear(d, m), nn.ReLU(), nn.Linear(m, 1))`` or a
        subclass with these three attributes); either Linear may have a bias. The first
        layer's weight becomes W (its bias b, else no hidden bias), the second's weight
        u (its bias the output bias c). Any other layout raises ``ValueError``; a module
        whose ``forward`` does not compute Linear → ReLU → Linear on a test input raises
        too. The copy is independent of the module (``dtype``/``device`` as for the
        constructor); W0 is the loaded W and ``beta`` the root mean square of its
        entries.

        See :meth:`to_module` for the reverse.
        """
        if not isinstance(module, torch.nn.Module):
            raise TypeError(
                f"module must be a torch.nn.Module, got {type(module).__name__}"
            )
        dev = check_dtype_device(dtype, device)
        leaves = [
            (name, mod)
            for name, mod in module.named_modules()
            if not list(mod.children())
        ]
        kinds = [type(mod) for _, mod in leaves]
        if kinds != [torch.nn.Linear, torch.nn.ReLU, torch.nn.Linear]:
            got = ", ".join(
                f"{name or '<module>'}: {type(mod).__name__}" for name, mod in leaves
            )
            raise ValueError(
                "module must consist of exactly nn.Linear(d, m), nn.ReLU, nn.Linear(m, "
                "1) in registration "
                f"order (biases optional), got [{got}]"
            )
        first, second = leaves[0][1], leaves[2][1]
        m, d = first.weight.shape
        if second.weight.shape != (1, m):
            raise ValueError(
                f"the second nn.Linear must map the {m} hidden units to 1 output, got "
                "weight of shape "
                f"{tuple(second.weight.shape)}"
            )
        net = object.__new__(cls)
        net.d, net.m, net.ensemble = int(d), int(m), 1
        net.dtype, net.device = dtype, dev
        with torch.no_grad():
            take = lambda t: t.detach().to(dev, dtype).clone()  # noqa: E731
            net.W = take(first.weight)[None]
            net.u = take(second.weight)
            net.b = None if first.bias is None else take(first.bias)[None]
            net.c = None if second.bias is None else take(second.bias)
        net.W0 = net.W.clone()
        net.beta = float(net.W.pow(2).mean().sqrt())
        if not bool(torch.isfinite(net.W).all() & torch.isfinite(net.u).all()):
            raise ValueError("module has NaN or infinite weights")
        # The layout is right; check that forward really is Linear → ReLU → Linear.
        p = next(module.parameters())
        x = torch.randn(
            5, net.d, generator=torch.Generator().manual_seed(0), dtype=torch.float64
        )
        with torch.no_grad():
            got = module(x.to(p.device, p.dtype)).reshape(-1).to("cpu", torch.float64)
            want = net._forward(x.to(dev, dtype))[0].to("cpu", torch.float64)
        tol = 1e-4 if torch.float32 in (p.dtype, dtype) else 1e-9
        if got.shape != want.shape or not torch.allclose(
            got, want, rtol=tol, atol=tol * float(want.abs().max())
        ):
            raise ValueError(
                "module has the layers Linear → ReLU → Linear but its forward computes "
                "something else "
                f"(output {got[:3].tolist()} against {want[:3].tolist()} for Linear → "
                "ReLU → Linear)"
            )
        return net

    def to_module(self, member: int = 0) -> torch.nn.Sequential:
        """Member ``member`` as ``nn.Sequential(nn.Linear(d, m), nn.ReLU(), nn.Linear(m,
        1))``.

        The Linear layers have biases exactly when the network has hidden biases b
        (``bias=True``) and an output bias c (``output_bias=True``); the module has the
        network's dtype and device and shares no memory with it.
        ``TwoLayerReLU.from_module(net.to_module(e))`` gives member e back.
        """
        e = check_int("member", member, low=0, high=self.ensemble - 1)
        first = torch.nn.Linear(
            self.d,
            self.m,
            bias=self.b is not None,
            dtype=self.dtype,
            device=self.device,
        )
        second = torch.nn.Linear(
            self.m, 1, bias=self.c is not None, dtype=self.dtype, device=self.device
        )
        with torch.no_grad():
            first.weight.copy_(self.W[e])
            second.weight.copy_(self.u[e][None, :])
            if self.b is not None:
                first.bias.copy_(self.b[e])
            if self.c is not None:
                second.bias.copy_(self.c[e : e + 1])
        return torch.nn.Sequential(first, torch.nn.ReLU(), second)

    def __repr__(self) -> str:
        return (
            f"TwoLayerReLU(d={self.d}, m={self.m}, ensemble={self.ensemble}, "
            f"beta={self.beta:.4g}, "
            f"bias={self.has_bias}"
            f"{', output_bias=True' if self.has_output_bias else ''}, "
            f"dtype={self.dtype}, device={self.device})"
        )
