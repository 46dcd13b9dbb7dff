"""advsub: adversarial examples orthogonal to a low-dimensional data subspace.

The pipeline, one module per concept:
geometry (Subspace, make_dataset) → network (TwoLayerReLU) → training (train)
→ theory (bounds and laws) → attacks (orthogonal gradient, attacks, certificates)
→ plotting and widgets.
"""
from . import theory
from .attacks import (
    AttackSample,
    attack_experiment,
    attack_sweep,
    attack_sample,
    certified_orthogonal_radius,
    flip_along,
    orthogonal_attack,
    orthogonal_gradient,
    orthogonal_lipschitz_constant,
    unconstrained_attack,
    self_term_agreement,
    universal_direction,
    universal_perturbation,
)
from .geometry import Subspace, make_dataset
from .network import EnsembleNet, TwoLayerReLU, init_beta
from .training import TrainingHistory, logistic_loss, train, train_sweep
from .deep import DeepReLU, train_deep
from .manifolds import Manifold, make_manifold_dataset
from .digits import digits_dataset
from . import beyond
from . import boundary, regularisation, toydata
from .crosscheck import library_attack
from .measure import (
    GradientSample,
    expected_orthogonal_gradient_norm,
    gradient_law_experiment,
    gradient_law_sweep,
    invariance_deviation,
    orthogonal_gradient_sample,
)

__version__ = "0.1.0"

__all__ = [
    "Subspace",
    "make_dataset",
    "EnsembleNet",
    "TwoLayerReLU",
    "init_beta",
    "train",
    "train_sweep",
    "TrainingHistory",
    "logistic_loss",
    "orthogonal_gradient",
    "flip_along",
    "universal_direction",
    "universal_perturbation",
    "orthogonal_attack",
    "unconstrained_attack",
    "orthogonal_lipschitz_constant",
    "certified_orthogonal_radius",
    "self_term_agreement",
    "AttackSample",
    "attack_sample",
    "attack_experiment",
    "attack_sweep",
    "theory",
    "GradientSample",
    "orthogonal_gradient_sample",
    "gradient_law_experiment",
    "gradient_law_sweep",
    "invariance_deviation",
    "expected_orthogonal_gradient_norm",
    "DeepReLU",
    "train_deep",
    "Manifold",
    "make_manifold_dataset",
    "digits_dataset",
    "beyond",
    "boundary",
    "regularisation",
    "toydata",
    "library_attack",
]
