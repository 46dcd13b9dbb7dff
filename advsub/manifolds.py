"""Curved data manifolds in R^d and their normal spaces (the book's "beyond the paper"
part).

A :class:`Manifold` is a smooth compact k-dimensional manifold embedded in R^d by a
map θ ↦ x(θ). At each point it has a k-dimensional tangent space T_x (the columns of
:meth:`Manifold.tangent_basis`) and a (d − k)-dimensional normal space N_x = T_x^⊥;
the linear analogue is the pair (P, P⊥). Two families:

- :meth:`Manifold.sphere`: the k-sphere of radius r inside a random (k+1)-dimensional
  linear subspace V (k = 1 is a circle). Its normal space is V^⊥ (linear, where the
  invariance lemma holds) plus the radial direction x/‖x‖ (inside the span of the data).
- :meth:`Manifold.trigonometric`: a curved k-torus
  x(θ) = (r/√F) Σ_(j=1..F) (a_j cos(f_j·θ) + b_j sin(f_j·θ)),  θ ∈ [0, 2π)^k,
  with orthonormal a_j, b_j ∈ R^d and integer frequency vectors f_j. Every point has
  norm r; the curve winds through a 2F-dimensional span, so for 2F close to d the
  data spans almost all of R^d although the manifold is only k-dimensional.
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
    check_tensor,
    validate_params,
)
from .geometry import Subspace

__all__ = ["Manifold", "make_manifold_dataset", "manifold_labels"]


class Manifold:
    """A smooth k-dimensional manifold in R^d, given by its embedding θ ↦ x(θ) (use the
    constructors).

    Attributes
    ----------
    d : int
        Ambient dimension.
    dim : int
        Intrinsic dimension k.
    radius : float
        Every point has norm ``radius``.
    span : Subspace
        The linear span of the manifold as the data subspace P (its ``orth_basis`` is
        the part of every normal space where the linear theory applies).
    kind : str
        ``"sphere"`` or ``"trigonometric"``.
    """

    def __init__(self, kind, d, dim, radius, span_basis, frequencies=None):
        self.kind = kind
        self.d = d
        self.dim = dim
        self.radius = radius
        self._basis = span_basis  # (d, D) orthonormal
        self.frequencies = frequencies  # (F, k) float64 or None
        self.span = Subspace.from_basis(span_basis)

    # --- constructors -----------------------------------------------------
    @classmethod
    @validate_params(
        {
            "d": Integer(low=3),
            "dim": Integer(low=1, high=lambda p: p["d"] - 2),
            "radius": Optional(Real(low=0.0, closed="right")),
        }
    )
    def sphere(
        cls, d: int, dim: int = 1, *, radius: float | None = None, seed: int
    ) -> "Manifold":
        """The ``dim``-sphere of radius ``radius`` (√d by default) in a random
        (dim+1)-dimensional subspace.

        Parameters θ are unit vectors of R^(dim+1): x(θ) = radius · V θ.
        """
        radius = math.sqrt(d) if radius is None else radius
        V = Subspace.random(d, d - dim - 1, seed=seed).basis
        return cls("sphere", d, dim, radius, V)

    @classmethod
    @validate_params(
        {
            "d": Integer(low=3),
            "dim": Integer(low=1),
            "n_frequencies": Integer(
                low=lambda p: p["dim"], high=lambda p: (p["d"] - 1) // 2
            ),
            "max_frequency": Optional(Integer(low=1)),
            "radius": Optional(Real(low=0.0, closed="right")),
            "seed": Seed(),
        }
    )
    def trigonometric(
        cls,
        d: int,
        dim: int = 1,
        n_frequencies: int = 4,
        *,
        max_frequency: int | None = None,
        radius: float | None = None,
        seed: int,
    ) -> "Manifold":
        """A curved ``dim``-torus winding through a 2·``n_frequencies``-dimensional
        random subspace.

        The first ``dim`` frequency vectors are the unit vectors e_1..e_k (so the map is
        one-to-one); the others are distinct random integer vectors with entries in
        [−max_frequency, max_frequency] (by default the smallest range, at least 2, that
        holds ``n_frequencies`` of them; for a curve, the frequencies 1..F). Larger
        frequencies bend the manifold more. Parameters θ are angles in [0, 2π)^dim.
        """
        if max_frequency is None:
            max_frequency = 2 if dim > 1 else 1
            while (2 * max_frequency + 1) ** dim // 2 < n_frequencies:
                max_frequency += 1
        radius = math.sqrt(d) if radius is None else radius
        g = torch.Generator(device="cpu").manual_seed(seed)
        freqs = [tuple(int(i == k) for i in range(dim)) for k in range(dim)]
        seen = set(freqs)
        limit = (2 * max_frequency + 1) ** dim // 2  # vectors modulo sign, excluding 0
        if n_frequencies > limit:
            raise ValueError(
                f"n_frequencies={n_frequencies} exceeds the {limit} distinct frequency "
                f"vectors with max_frequency={max_frequency}"
            )
        while len(freqs) < n_frequencies:
            f = torch.randint(
                -max_frequency, max_frequency + 1, (dim,), generator=g
            ).tolist()
            nz = [v for v in f if v != 0]
            if not nz:
                continue
            if nz[0] < 0:
                f = [-v for v in f]
            if tuple(f) not in seen:
                seen.add(tuple(f))
                freqs.append(tuple(f))
        basis = Subspace.random(
            d, d - 2 * n_frequencies, seed=seed
        ).basis  # columns a_1..a_F, b_1..b_F
        return cls(
            "trigonometric",
            d,
            dim,
            radius,
            basis,
            torch.tensor(freqs, dtype=torch.float64),
        )

    # --- the maps -----------------------------------------------------------
    def _theta(self, theta) -> torch.Tensor:
        width = self.dim + 1 if self.kind == "sphere" else self.dim
        return check_tensor("theta", theta, ndim=2, dtype=torch.float64, last_dim=width)

    @validate_params({"n": Integer(low=1), "seed": Seed()})
    def sample(self, n: int, *, seed: int) -> torch.Tensor:
        """n parameters θ: uniform unit vectors (sphere) or uniform angles (torus),
        shape (n, k+1) or (n, k)."""
        g = torch.Generator(device="cpu").manual_seed(seed)
        if self.kind == "sphere":
            z = torch.randn(n, self.dim + 1, generator=g, dtype=torch.float64)
            return z / z.norm(dim=1, keepdim=True)
        return 2 * math.pi * torch.rand(n, self.dim, generator=g, dtype=torch.float64)

    def embed(self, theta) -> torch.Tensor:
        """x(θ), shape (n, d)."""
        return self._embed(self._theta(theta))

    def _embed(self, theta):
        if self.kind == "sphere":
            return self.radius * theta @ self._basis.T
        phase = theta @ self.frequencies.T  # (n, F)
        F = self.frequencies.shape[0]
        coef = torch.cat([torch.cos(phase), torch.sin(phase)], dim=1) * (
            self.radius / math.sqrt(F)
        )
        return coef @ self._basis.T

    def jacobian(self, theta) -> torch.Tensor:
        """∂x/∂θ, shape (n, d, k) (for the sphere: the tangent directions times the
        radius)."""
        theta = self._theta(theta)
        if self.kind == "sphere":
            return self.radius * self._sphere_tangent(theta)
        phase = theta @ self.frequencies.T  # (n, F)
        F = self.frequencies.shape[0]
        s = self.radius / math.sqrt(F)
        dcoef = torch.cat(
            [
                -torch.sin(phase)[:, :, None] * self.frequencies,
                torch.cos(phase)[:, :, None] * self.frequencies,
            ],
            dim=1,
        )
        return s * torch.einsum("dc,nck->ndk", self._basis, dcoef)

    def _sphere_tangent(self, theta):
        # An orthonormal basis of θ^⊥ in R^{k+1}: the last k columns of a QR of [θ, I].
        n, p = theta.shape
        M = torch.cat(
            [theta[:, :, None], torch.eye(p, dtype=theta.dtype).expand(n, p, p)], dim=2
        )
        q, _ = torch.linalg.qr(M)
        return torch.einsum("dp,npk->ndk", self._basis, q[:, :, 1:p])

    def tangent_basis(self, theta) -> torch.Tensor:
        """Orthonormal basis of the tangent space T_x at x(θ): (n, d, k)."""
        theta = self._theta(theta)
        if self.kind == "sphere":
            return self._sphere_tangent(theta)
        q, _ = torch.linalg.qr(self.jacobian(theta))
        return q

    def normal_basis(self, theta) -> torch.Tensor:
        """Orthonormal basis of the normal space N_x = T_x^⊥ at x(θ): (n, d, d − k)."""
        T = self.tangent_basis(theta)
        n = T.shape[0]
        full, _ = torch.linalg.qr(
            torch.cat(
                [T, torch.eye(self.d, dtype=T.dtype).expand(n, self.d, self.d)], dim=2
            )
        )
        return full[:, :, self.dim : self.d]

    def project_normal(self, theta, v) -> torch.Tensor:
        """The component of v in the normal space at x(θ): v − T Tᵀ v, for v (n, d) or
        (E, n, d)."""
        T = self.tangent_basis(theta)
        v = check_tensor("v", v, ndim=(2, 3), last_dim=self.d)
        return v - torch.einsum(
            "ndk,...nk->...nd", T, torch.einsum("ndk,...nd->...nk", T, v)
        )

    def __repr__(self) -> str:
        extra = (
            ""
            if self.frequencies is None
            else f", n_frequencies={self.frequencies.shape[0]}"
        )
        return (
            f"Manifold.{self.kind}(d={self.d}, dim={self.dim}, "
            f"radius={self.radius:.4g}{extra})"
        )


@validate_params(
    {
        "manifold": InstanceOf(Manifold, "a Manifold"),
        "labels": Choice("random", "linear", "intrinsic"),
        "seed": Seed(),
    }
)
def make_manifold_dataset(
    manifold: Manifold, n: int, *, seed: int, labels: str = "random"
):
    """Training data on a manifold: points x(θ_j) with ±1 labels.

    ``labels="random"`` draws fair independent labels (memorisation, as in
    :func:`~advsub.geometry.make_dataset`); ``labels="linear"`` labels by the sign of a
    random direction inside the manifold's span; ``labels="intrinsic"`` splits the
    manifold into two halves by its own coordinates (:func:`manifold_labels`): sign(θ_1)
    on the sphere, sign(cos θ_1) on the torus.

    Returns
    -------
    X : torch.Tensor, shape (n, d), float64
    y : torch.Tensor, shape (n,), entries ±1
    theta : torch.Tensor, the parameters, shape (n, k+1) (sphere) or (n, k) (torus)
    """
    theta = manifold.sample(n, seed=seed)
    X = manifold._embed(theta)
    g = torch.Generator(device="cpu").manual_seed(seed + 1)
    if labels == "random":
        y = torch.randint(0, 2, (X.shape[0],), generator=g).to(torch.float64) * 2 - 1
    elif labels == "linear":
        direction = manifold._basis @ torch.randn(
            manifold._basis.shape[1], generator=g, dtype=torch.float64
        )
        y = torch.where(X @ direction >= 0, 1.0, -1.0).to(torch.float64)
    else:
        y = manifold_labels(manifold, theta)
    return X, y, theta


@validate_params({"manifold": InstanceOf(Manifold, "a Manifold")})
def manifold_labels(manifold: Manifold, theta) -> torch.Tensor:
    """The intrinsic two-class split: sign(θ_1) on the sphere, sign(cos θ_1) on the
    torus: (n,) of ±1."""
    theta = manifold._theta(theta)
    key = theta[:, 0] if manifold.kind == "sphere" else torch.cos(theta[:, 0])
    return torch.where(key >= 0, 1.0, -1.0).to(torch.float64)
