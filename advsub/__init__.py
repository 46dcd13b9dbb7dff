"""advsub: adversarial examples orthogonal to a low-dimensional data subspace.

The package has three layers; a module imports only from its own layer or the ones below
(``tests/test_layers.py`` checks it, with no import cycle and no private name imported
across modules):

* **figures** (``advsub.figures``, top): :mod:`~advsub.figures.plotting` (one
  function per figure) and :mod:`~advsub.figures.widgets` (the chapters' interactive
  explorers). The only layer that imports matplotlib and ipywidgets.
* **experiments** (``advsub.experiments``): what the chapters run, built from the
  library: :mod:`~advsub.experiments.gradient_law` (Theorem A's samples and sweeps),
  :mod:`~advsub.experiments.attack_samples` (the sandwich of sizes on trained
  ensembles),
  :mod:`~advsub.experiments.regularisation` (weight-decay curves and sweeps),
  :mod:`~advsub.experiments.toydata` (the paper's pictures) and
  :mod:`~advsub.experiments.crosscheck` (an independent attack library).
* **library** (bottom), one module per concept: :mod:`~advsub.geometry` (Subspace,
  make_dataset) → :mod:`~advsub.network` (TwoLayerReLU) → :mod:`~advsub.training`
  (train) → :mod:`~advsub.theory` (bounds and laws) → :mod:`~advsub.attacks`
  (orthogonal gradient, attacks and certificates), with :mod:`~advsub.deep` (deeper
  networks), :mod:`~advsub.boundary` (decision boundaries along lines),
  :mod:`~advsub.manifolds` (curved data) and :mod:`~advsub.digits` (real data).

``import advsub`` loads the library and the experiments, never matplotlib:
``advsub.plotting`` and ``advsub.widgets`` (the figures layer under its old names) load
on first use. The old module paths ``advsub.measure``, ``advsub.toydata``,
``advsub.regularisation``, ``advsub.crosscheck`` and ``advsub.beyond`` still import.
"""

from . import theory
from .attacks import (
    certified_orthogonal_radius,
    flip_along,
    orthogonal_attack,
    orthogonal_gradient,
    orthogonal_lipschitz_constant,
    self_term_agreement,
    unconstrained_attack,
    universal_direction,
    universal_perturbation,
)
from .geometry import Subspace, make_dataset
from .network import EnsembleNet, TwoLayerReLU, check_finite, copy_net, init_beta
from .training import (
    DeadPointWarning,
    DivergenceWarning,
    TrainingHistory,
    logistic_loss,
    train,
    train_sweep,
)
from .deep import DeepReLU
from .training import train_deep
from .manifolds import Manifold, make_manifold_dataset
from .digits import digits_dataset
from . import beyond, boundary
from .experiments.attack_samples import (
    AttackSample,
    attack_experiment,
    attack_sample,
    attack_sweep,
)
from .experiments.crosscheck import library_attack
from .experiments.gradient_law import (
    GradientSample,
    gradient_law_experiment,
    gradient_law_sweep,
    invariance_deviation,
    orthogonal_gradient_sample,
)
from .theory import expected_orthogonal_gradient_norm

# the old module paths
from . import crosscheck, measure, regularisation, toydata  # noqa: F401

__version__ = "0.2.0"


def _layer(package: str, first: list[str]) -> list[str]:
    """The modules of a layer's subpackage: ``first`` in that order, then the others by
    name (found on disk, not imported: ``import advsub`` never loads the figures)."""
    import pkgutil
    from pathlib import Path

    path = [str(Path(__file__).parent / package)]
    found = sorted(
        m.name for m in pkgutil.iter_modules(path) if not m.name.startswith("_")
    )
    return [f"{package}.{n}" for n in first if n in found] + [
        f"{package}.{n}" for n in found if n not in first
    ]


#: The layers, bottom to top: the modules each holds (documented in this order).
__layers__ = {
    "library": [
        "geometry",
        "network",
        "training",
        "theory",
        "attacks",
        "deep",
        "boundary",
        "manifolds",
        "digits",
    ],
    "experiments": _layer(
        "experiments",
        ["gradient_law", "attack_samples", "regularisation", "toydata", "crosscheck"],
    ),
    "figures": _layer("figures", ["plotting", "widgets"]),
}

#: Old module paths kept importable: old name → where its contents live now.
__compat__ = {
    "beyond": "attacks, theory",
    "measure": "experiments.gradient_law, theory",
    "toydata": "experiments.toydata",
    "regularisation": "experiments.regularisation",
    "crosscheck": "experiments.crosscheck",
    "plotting": "figures.plotting",
    "widgets": "figures.widgets",
}

_LAZY = {
    "plotting": "figures.plotting",
    "widgets": "figures.widgets",
    "figures": "figures",
}


def __getattr__(name: str):
    """``advsub.plotting`` / ``advsub.widgets``: import the figures layer (matplotlib)
    on first use."""
    if name in _LAZY:
        import importlib

        module = importlib.import_module(f".{_LAZY[name]}", __name__)
        globals()[name] = module
        return module
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "Subspace",
    "make_dataset",
    "EnsembleNet",
    "TwoLayerReLU",
    "init_beta",
    "check_finite",
    "copy_net",
    "DivergenceWarning",
    "DeadPointWarning",
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
