"""Old path of the gradient-law measurements, kept so that ``advsub.measure`` still
imports.

They live in :mod:`advsub.experiments.gradient_law`; the χ_ℓ mean
``expected_orthogonal_gradient_norm`` is a law and lives in :mod:`advsub.theory`.
"""

from .experiments.gradient_law import (  # noqa: F401
    GradientSample,
    gradient_law_experiment,
    gradient_law_sweep,
    invariance_deviation,
    orthogonal_gradient_sample,
)
from .theory import expected_orthogonal_gradient_norm  # noqa: F401

__all__ = [
    "GradientSample",
    "orthogonal_gradient_sample",
    "gradient_law_experiment",
    "gradient_law_sweep",
    "invariance_deviation",
    "expected_orthogonal_gradient_norm",
]
