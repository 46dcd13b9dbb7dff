"""Old path of the "beyond the paper" tools, kept so that ``advsub.beyond`` still
imports.

``beyond`` named a part of the book, not a concept; its contents now live with their
concepts:

* the attacks restricted to any linear space, in other norms and in the normal spaces of
  a manifold (:func:`restricted_attack`, :func:`orthogonal_l1_attack`,
  :func:`normal_attack`) and the certificates of deeper networks
  (:func:`deep_orthogonal_lipschitz_bound`, :func:`deep_certified_orthogonal_radius`) in
  :mod:`advsub.attacks`;
* the predictions for other norms and for deeper networks (:func:`predicted_norm_ratio`,
  :func:`norm_equivalence_bounds`, :func:`deep_orthogonal_gradient_law`) in
  :mod:`advsub.theory`.
"""

from .attacks import (  # noqa: F401
    deep_certified_orthogonal_radius,
    deep_orthogonal_lipschitz_bound,
    normal_attack,
    orthogonal_l1_attack,
    restricted_attack,
)
from .theory import (
    deep_orthogonal_gradient_law,
    norm_equivalence_bounds,
    predicted_norm_ratio,
)  # noqa: F401

__all__ = [
    "restricted_attack",
    "orthogonal_l1_attack",
    "normal_attack",
    "predicted_norm_ratio",
    "norm_equivalence_bounds",
    "deep_orthogonal_gradient_law",
    "deep_orthogonal_lipschitz_bound",
    "deep_certified_orthogonal_radius",
]
