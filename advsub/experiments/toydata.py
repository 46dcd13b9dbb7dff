"""The two toy data sets of the paper's pictures (Melamed, Yehudai, Vardi 2023, Figures
2 and 3).

* :func:`line_dataset`: d = 2, ℓ = 1. Points on the diagonal x = y at the
  coordinates −1, −2/3, …, 1 (``n`` evenly spaced in [−1, 1]) with alternating
  labels, the first one negative. The data line P = span((1, 1)) is a linear subspace.
* :func:`grid_plane_dataset`: d = 3. A k×k grid of {0, 1/(k−1), …, 1}² in the plane
  z = ``height`` with checkerboard labels, the corner (0, 0) positive. For
  ``height`` ≠ 0 this plane is *affine*, not linear: its linear span is all of R³.

Both match the public code of the paper (seven points; a 5×5 grid at z = 0.5).
Because the line data contain the origin, a network needs hidden-layer biases to
fit them: without biases N(0) = 0 for every two-layer ReLU network.
"""

from __future__ import annotations

import torch

from .._validation import check_choice, check_float, check_int, check_net_points
from ..boundary import boundary_distance, crossing_angles
from ..geometry import Subspace
from ..network import TwoLayerReLU
from ..training import train

__all__ = [
    "line_dataset",
    "grid_plane_dataset",
    "toy_network",
    "PICTURES",
    "train_picture",
    "plane_normal_derivative",
    "line_picture_stats",
]


def line_dataset(n: int = 7, *, dtype: torch.dtype = torch.float64, device="cpu"):
    """Points on the diagonal of R² with alternating labels (the paper's Figure 2 data).

    Point j (j = 0..n−1) is t_j·(1, 1) with t_j = −1 + 2j/(n−1) (t_j = j/3 − 1 for
    n = 7) and label :math:`y_j = (-1)^{j+1}`.

    Returns
    -------
    X : torch.Tensor, shape (n, 2)
    y : torch.Tensor, shape (n,), entries in {−1., +1.}
    subspace : Subspace
        The data line P = span((1, 1)/√2), with P⊥ = span((1, −1)/√2).
    """
    n = check_int("n", n, low=2)
    t = torch.linspace(-1.0, 1.0, n, dtype=torch.float64)
    X = torch.stack([t, t], dim=1)
    y = torch.where(torch.arange(n) % 2 == 0, -1.0, 1.0).to(torch.float64)
    subspace = Subspace.from_basis(torch.tensor([[1.0], [1.0]], dtype=torch.float64))
    return X.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype), subspace


def grid_plane_dataset(
    k: int = 5, *, height: float = 0.5, dtype: torch.dtype = torch.float64, device="cpu"
):
    """A k×k checkerboard in the plane z = ``height`` of R³ (the paper's Figure 3 data).

    Point (i, j) (i, j = 0..k−1, row-major in i) is (i/(k−1), j/(k−1), height) with
    label +1 if i + j is even, else −1.

    Returns
    -------
    X : torch.Tensor, shape (k², 3)
    y : torch.Tensor, shape (k²,), entries in {−1., +1.}
    """
    k = check_int("k", k, low=2)
    height = check_float("height", height)
    r = torch.linspace(0.0, 1.0, k, dtype=torch.float64)
    i, j = torch.meshgrid(torch.arange(k), torch.arange(k), indexing="ij")
    X = torch.stack(
        [
            r[i].flatten(),
            r[j].flatten(),
            torch.full((k * k,), height, dtype=torch.float64),
        ],
        dim=1,
    )
    y = torch.where((i + j).flatten() % 2 == 0, 1.0, -1.0).to(torch.float64)
    return X.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)


def toy_network(
    d: int,
    m: int,
    *,
    ensemble: int = 1,
    init_scale="standard",
    seed: int,
    dtype: torch.dtype = torch.float64,
):
    """A :class:`TwoLayerReLU` with hidden biases drawn like PyTorch's ``nn.Linear``,
    scaled with β.

    b_i ~ U(−β, β): at the standard β = 1/√d this is PyTorch's default U(−1/√d, 1/√d);
    a smaller initialisation scales the whole first layer (weights and biases) alike,
    so the neurons' kinks −b_i/(w_i·v) along the data start at the same places.

    The paper's code uses PyTorch's default layers; spread-out biases put the
    neurons' kinks at different places along the data, which lets gradient
    descent fit alternating labels in a few hundred steps (zero biases start
    every kink at the origin and train far more slowly). The biases do not
    touch the invariance lemma: their gradients are scalars, not vectors of R^d.
    The bias draw uses its own generator (seed + 1) so that W and u are those of
    ``TwoLayerReLU(d, m, seed=seed, bias=True)``.
    """
    net = TwoLayerReLU(
        d,
        m,
        ensemble=ensemble,
        init_scale=init_scale,
        seed=seed,
        bias=True,
        dtype=dtype,
    )
    g = torch.Generator(device="cpu").manual_seed(seed + 1)
    b = (
        2 * torch.rand(net.ensemble, net.m, generator=g, dtype=torch.float64) - 1
    ) * net.beta
    net.b = b.to(net.device, net.dtype)
    return net


# : The paper's two pictures: width, step size, step budget, and the weight decay λ of
# the
#: third panel (a λ for which every member of seeds 0..7 still reaches the margin 0.3
#: within ``max_steps``: 7e-3 on the line and 1e-3 on the plane do not).
PICTURES = {
    "line": {"width": 100, "lr": 1.0, "max_steps": 6000, "weight_decay": 5e-3},
    "plane": {"width": 400, "lr": 1.0, "max_steps": 8000, "weight_decay": 3e-4},
}


def train_picture(
    name: str,
    *,
    init_factor: float = 1.0,
    weight_decay: float = 0.0,
    width: int | None = None,
    ensemble: int = 1,
    seed: int = 0,
    max_steps: int | None = None,
    target_margin: float = 0.3,
    height: float = 0.5,
):
    """Train :func:`toy_network` s on one of the paper's toy data sets, the way its code
    does.

    Full-batch gradient descent on both layers (the paper's code trains both; the
    lemma does not care) until the margin reaches ``target_margin``.

    Parameters
    ----------
    name : {"line", "plane"}
        :func:`line_dataset` (d = 2) or :func:`grid_plane_dataset` (d = 3).
    init_factor : float ≥ 1
        The first layer starts ``init_factor`` times smaller than standard: β =
        1/(init_factor·√d).
    weight_decay : float ≥ 0
        λ (decoupled, on every trained parameter).
    width : int or None
        m; ``PICTURES[name]["width"]`` by default.
    height : float
        The plane z = ``height`` of the "plane" data (0 makes it a linear plane).

    Returns
    -------
    net : TwoLayerReLU (ensemble members trained in place)
    history : TrainingHistory
    X : tensor (n, d);  y : tensor (n,)
    """
    name = check_choice("name", name, set(PICTURES))
    init_factor = check_float("init_factor", init_factor, low=1.0)
    cfg = PICTURES[name]
    if name == "line":
        X, y, _ = line_dataset()
    else:
        X, y = grid_plane_dataset(height=height)
    d = X.shape[1]
    m = cfg["width"] if width is None else check_int("width", width, low=1)
    beta = 1.0 / (init_factor * d**0.5)
    net = toy_network(d, m, ensemble=ensemble, init_scale=beta, seed=seed)
    hist = train(
        net,
        X,
        y,
        lr=cfg["lr"],
        weight_decay=weight_decay,
        target_margin=target_margin,
        max_steps=cfg["max_steps"] if max_steps is None else max_steps,
        train_second_layer=True,
        progress=False,
    )
    return net, hist, X, y


def plane_normal_derivative(net: TwoLayerReLU, x, *, height: float):
    """∂N/∂z at points of the plane z = ``height``, split in a trained and a frozen
    part: two (E, n).

    Positive homogeneity of the lifted map (x, 1) ↦ N − c gives, at x = (p, h),
        (1 + h²) ∂N/∂z = h (N(x) − c − p·∇_p N(x)) + Σ_(i active) u_i r_i,   r_i =
        w_(i,z) − h b_i
    (c the output bias, 0 without one: it is not homogeneous, so it is left out).
    Gradient descent moves w_(i,z) and b_i only along (h, 1) (every data point has z =
    h), so r_i is frozen (times (1 − ηλ)^t with weight decay); the first term is shaped
    by training.

    Returns
    -------
    trained : tensor (E, n)
        h (N(x) − c − p·∇_p N(x)) / (1 + h²).
    frozen : tensor (E, n)
        Σ_(i active) u_i r_i / (1 + h²). Their sum is ∂N/∂z(x).
    """
    if not isinstance(net, TwoLayerReLU) or net.b is None:
        raise TypeError("net must be a TwoLayerReLU with biases (bias=True)")
    height = check_float("height", height)
    x = check_net_points("x", x, net)
    if x.ndim != 2 or not bool(torch.all(x[:, -1] == height)):
        raise ValueError(
            f"x must have shape (n, d) with last coordinate equal to height={height}"
        )
    out = net._forward(x)
    if net.has_output_bias:  # N − c is the positively homogeneous part
        out = out - net.c[:, None]
    grad = net._input_gradient(x)
    p_dot_grad = (grad[..., :-1] * x[:, :-1]).sum(-1)
    r = net.W[..., -1] - height * net.b  # (E, m)
    act = (net._preactivation(x) > 0).to(net.dtype)
    frozen = torch.einsum("enm,em->en", act, net.u * r)
    return height * (out - p_dot_grad) / (1 + height**2), frozen / (1 + height**2)


def line_picture_stats(
    net: TwoLayerReLU, X, subspace: Subspace, *, reach: float = 1.2
) -> dict:
    """What the line picture shows, in numbers, pooled over the ensemble members.

    Returns a dict of numpy arrays: ``angle`` (every crossing of the boundary with the
    data segment reach·[−1, 1]·(1, 1), degrees, 90 = perpendicular), ``orth`` and
    ``along`` (E, n): distance from each training point to the boundary along P⊥ and
    along the line.
    """
    end = torch.full((net.d,), reach, dtype=net.dtype) * subspace.basis[:, 0].sign()
    angles = crossing_angles(net, -end, end, subspace)
    return {
        "angle": torch.cat(angles).cpu().numpy(),
        "orth": boundary_distance(net, X, subspace.orth_basis[:, 0]).cpu().numpy(),
        "along": boundary_distance(net, X, subspace.basis[:, 0]).cpu().numpy(),
    }
