"""Training: first-order methods on the logistic loss, all ensemble members at once.

The loss of member e is the mean logistic loss::

    L_e = (1/n) Σ_j log(1 + exp(−y_j N_e(x_j))),

the mean binary cross-entropy of the sigmoid output (``nn.BCELoss`` /
``nn.BCEWithLogitsLoss`` with labels −1 → 0), minimised with step size η on that mean,
as ``torch.optim.SGD`` does. Weight decay λ is applied as p ← (1 − ηλ) p before the step
(decoupled), which for GD and SGD is exactly the gradient of (λ/2)‖p‖² and keeps Π w(t)
= (1 − ηλ)^t Π w(0) exact for GD, SGD and momentum alike. A member stops as soon as its
minimum margin min_j y_j N(x_j) reaches ``target_margin`` (the paper's stopping rule),
or when its loss is no longer finite (it diverged: frozen, marked in the history, and a
:class:`DivergenceWarning`).

The subpackage, one module per piece:

``history``   :class:`TrainingHistory` (what a run returns), the recorder that fills it,
              :func:`logistic_loss`, the warnings;
``spec``      the arguments of :func:`train`, validated once into ``TrainSettings``;
``optim``     ``OptimizerState``: the gd / sgd / momentum / Adam update, in place;
``loop``      ``run_loop``, the skeleton every path shares (evaluate → retire → step),
              and the driver that runs it chunk by chunk under ``memory_budget``;
``full``      the full-space loop's state, with the closed-form gradients;
``reduced``   the reduced loop's state, in the data's own coordinates (GD, SGD and
              momentum: every update of w_i is a combination of the training points,
              so the loop runs on the n × n Gram matrix or a rank-r factor of it and
              maps W back once);
``deep``      :func:`train_deep`: deeper networks, gradients by autograd, the same loop;
``sweep``     :func:`train_sweep`: many problems in one call, batched where they can be;
``api``       :func:`train`, which dispatches.
"""

from .api import train
from .deep import train_deep
from .full import loss_gradients
from .history import DeadPointWarning, DivergenceWarning, TrainingHistory, logistic_loss
from .reduced import data_coordinates
from .spec import DEFAULT_MEMORY_BUDGET, TrainSettings
from .sweep import train_sweep

__all__ = [
    "train",
    "train_sweep",
    "train_deep",
    "TrainingHistory",
    "TrainSettings",
    "logistic_loss",
    "loss_gradients",
    "data_coordinates",
    "DivergenceWarning",
    "DeadPointWarning",
    "DEFAULT_MEMORY_BUDGET",
]
