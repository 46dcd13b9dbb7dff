"""Data geometry: the data subspace P, its complement P⊥, and data lying in P.

Conventions used across the package: ``d`` is the ambient dimension, P has
dimension ``d - ell`` and its orthogonal complement P⊥ has dimension ``ell``.
``Π`` is the orthogonal projection onto P⊥.
"""

from __future__ import annotations

import math

import torch

from ._validation import (
    Choice,
    InstanceOf,
    Integer,
    Optional,
    Real,
    Seed,
    Tensor,
    check_dtype_device,
    check_seed,
    check_tensor,
    validate_params,
)

__all__ = ["Subspace", "make_dataset"]


def _generator(seed: int) -> torch.Generator:
    seed = check_seed(seed)
    return torch.Generator(device="cpu").manual_seed(seed)


D = Integer(low=2)
ELL = Integer(low=1, high=lambda p: p["d"] - 1)


class Subspace:
    """A linear data subspace P ⊂ R^d of dimension d − ℓ, with its complement P⊥.

    Build one with :meth:`Subspace.random`, :meth:`Subspace.axis_aligned` or
    :meth:`Subspace.from_basis`.

    Attributes
    ----------
    d : int
        Ambient dimension.
    ell : int
        Dimension ℓ of the orthogonal complement P⊥ (the codimension of P).
    basis : torch.Tensor, shape (d, d − ℓ), float64
        Orthonormal columns spanning P.
    orth_basis : torch.Tensor, shape (d, ℓ), float64
        Orthonormal columns spanning P⊥.
    """

    def __init__(self, basis: torch.Tensor, orth_basis: torch.Tensor):
        self.basis = basis
        self.orth_basis = orth_basis
        self.d = basis.shape[0]
        self.ell = orth_basis.shape[1]

    # --- constructors -------------------------------------------------
    @classmethod
    @validate_params({"d": D, "ell": ELL, "seed": Seed()})
    def random(cls, d: int, ell: int, *, seed: int) -> "Subspace":
        """A uniformly random (Haar) subspace: QR of a d×d Gaussian matrix."""
        g = _generator(seed)
        q, r = torch.linalg.qr(torch.randn(d, d, generator=g, dtype=torch.float64))
        q = q * torch.sign(torch.diagonal(r))  # sign fix makes Q Haar-distributed
        return cls(q[:, : d - ell].contiguous(), q[:, d - ell :].contiguous())

    @classmethod
    @validate_params({"d": D, "ell": ELL})
    def axis_aligned(cls, d: int, ell: int) -> "Subspace":
        """P = span(e₁, …, e_(d−ℓ)), the first d − ℓ coordinate axes; P⊥ = span of the
        last ℓ axes."""
        eye = torch.eye(d, dtype=torch.float64)
        return cls(eye[:, : d - ell].contiguous(), eye[:, d - ell :].contiguous())

    @classmethod
    @validate_params({"basis": Tensor(ndim=2, dtype=torch.float64)})
    def from_basis(cls, basis) -> "Subspace":
        """The span of the columns of ``basis`` (shape (d, d − ℓ), full column rank).

        The columns are orthonormalised; a rank-deficient basis raises ``ValueError``.
        """
        d, p = basis.shape
        if not 1 <= p <= d - 1:
            raise ValueError(
                f"basis must have between 1 and d-1={d - 1} columns (ell = d - columns "
                f"in 1..d-1), got shape {tuple(basis.shape)}"
            )
        sv = torch.linalg.svdvals(basis)
        if sv[-1] <= 1e-10 * sv[0]:
            raise ValueError(
                "basis must have full column rank, got singular values down to "
                f"{float(sv[-1]):.3g}"
            )
        q, r = torch.linalg.qr(basis)
        q = q * torch.sign(torch.diagonal(r))
        # Complement: eigenvectors of I − QQᵀ with eigenvalue 1.
        evals, evecs = torch.linalg.eigh(torch.eye(d, dtype=torch.float64) - q @ q.T)
        orth = evecs[:, p:]
        return cls(q.contiguous(), orth.contiguous())

    # --- maps ----------------------------------------------------------
    def _as(self, x: torch.Tensor, name: str = "x") -> torch.Tensor:
        x = check_tensor(name, x, last_dim=self.d)
        return x

    def _bases(self, x: torch.Tensor):
        return self.basis.to(x.device, x.dtype), self.orth_basis.to(x.device, x.dtype)

    def project(self, x) -> torch.Tensor:
        """Orthogonal projection onto P, shape (..., d) → (..., d)."""
        x = self._as(x)
        b, _ = self._bases(x)
        return (x @ b) @ b.T

    def project_orth(self, x) -> torch.Tensor:
        """Orthogonal projection Π onto P⊥, shape (..., d) → (..., d)."""
        x = self._as(x)
        _, c = self._bases(x)
        return (x @ c) @ c.T

    def coords(self, x) -> torch.Tensor:
        """Coordinates in ``basis``: (..., d) → (..., d − ℓ)."""
        x = self._as(x)
        return x @ self._bases(x)[0]

    def orth_coords(self, x) -> torch.Tensor:
        """Coordinates in ``orth_basis``: (..., d) → (..., ℓ)."""
        x = self._as(x)
        return x @ self._bases(x)[1]

    @validate_params({"tol": Real(low=0.0)})
    def contains(self, x, tol: float = 1e-8) -> torch.Tensor:
        """Whether each row lies in P: ‖Πx‖ ≤ tol · max(1, ‖x‖). Shape (..., d) → (...)
        bool."""
        x = self._as(x)
        dist = self.project_orth(x).norm(dim=-1)
        return dist <= tol * torch.clamp(x.norm(dim=-1), min=1.0)

    def __repr__(self) -> str:
        return f"Subspace(d={self.d}, ell={self.ell})"


@validate_params(
    {
        "subspace": InstanceOf(Subspace, "a Subspace"),
        "n": Integer(low=1),
        "labels": Choice({"random", "linear"}),
        "norm": Optional(Real(low=0.0, closed="neither")),
    }
)
def make_dataset(
    subspace: Subspace,
    n: int,
    *,
    seed: int,
    labels: str = "random",
    norm: float | None = None,
    dtype: torch.dtype = torch.float64,
    device: str | torch.device = "cpu",
):
    """Training data on the data subspace P.

    Points are uniform on the sphere of radius ``norm`` (√d by default) inside P.
    ``labels="random"`` draws independent fair ±1 labels (a memorisation task);
    ``labels="linear"`` labels by the sign of a random direction of P.

    Returns
    -------
    X : torch.Tensor, shape (n, d)
    y : torch.Tensor, shape (n,), entries in {−1., +1.}
    """
    radius = math.sqrt(subspace.d) if norm is None else norm
    device = check_dtype_device(dtype, device)
    g = _generator(seed)
    k = subspace.d - subspace.ell
    z = torch.randn(n, k, generator=g, dtype=torch.float64)
    z = z / z.norm(dim=1, keepdim=True) * radius
    X = z @ subspace.basis.T
    if labels == "random":
        y = torch.randint(0, 2, (n,), generator=g).to(torch.float64) * 2 - 1
    else:
        direction = torch.randn(k, generator=g, dtype=torch.float64)
        y = torch.where(z @ direction >= 0, 1.0, -1.0).to(torch.float64)
    return X.to(device=device, dtype=dtype), y.to(device=device, dtype=dtype)
