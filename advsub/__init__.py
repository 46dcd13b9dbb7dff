"""advsub: adversarial examples orthogonal to a low-dimensional data subspace.

The pipeline, one module per concept:
geometry (Subspace, make_dataset) → network (TwoLayerReLU) → training (train)
→ theory (bounds and laws) → attacks (orthogonal gradient, attacks, certificates)
→ plotting and widgets.
"""
from . import theory
from .attacks import orthogonal_gradient
from .geometry import Subspace, make_dataset
from .network import EnsembleNet, TwoLayerReLU, init_beta
from .training import TrainingHistory, logistic_loss, train

__version__ = "0.1.0"

__all__ = [
    "Subspace",
    "make_dataset",
    "EnsembleNet",
    "TwoLayerReLU",
    "init_beta",
    "train",
    "TrainingHistory",
    "logistic_loss",
    "orthogonal_gradient",
    "theory",
]
