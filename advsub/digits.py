"""Real data that lies in a linear subspace: scikit-learn's bundled 8×8 digits (no
download).

Two views of the same images, each with the subspace P the training images lie in:

* ``view="pixels"``: the raw 64 pixels. Pixels that are zero in every training image
  (mostly the left and right borders) span a coordinate subspace P⊥ ("dead pixels");
  the training data lies exactly in P, its complement. P is axis-aligned, so ℓ1/ℓ∞
  norms of perturbations in P⊥ are norms of pixel changes.
* ``view="pca"``: the images projected on their top-k principal directions — the right
  singular vectors of the *uncentred* training matrix, so that P is a linear subspace
  through the origin, as the theorems require. The data lies exactly in P (dim k).

Every image is rescaled to norm √64 = 8 (the book's convention ‖x‖ = √d; a rescaling
keeps an image in P). Labels: +1 for ``positive`` (by default the second class), −1
else.
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ._validation import Check, Choice, Real, Seed, check_int, validate_params
from .geometry import Subspace

__all__ = ["digits_dataset"]

_SIDE = 8


def _check_classes(name: str, classes) -> tuple:
    """At least two distinct digits in 0..9, as a tuple of ints."""
    try:
        classes = tuple(int(c) for c in classes)
    except TypeError as exc:
        raise TypeError(
            f"{name} must be a sequence of digits, got {name}={classes!r}"
        ) from exc
    if (
        len(classes) < 2
        or len(set(classes)) != len(classes)
        or any(c < 0 or c > 9 for c in classes)
    ):
        raise ValueError(
            f"{name} must hold at least two distinct digits in 0..9, got "
            f"{name}={classes}"
        )
    return classes


@validate_params(
    {
        "classes": Check(_check_classes, "at least two distinct digits in 0..9"),
        "view": Choice("pixels", "pca"),
        "split": Choice("train", "test", "all"),
        "test_fraction": Real(low=0.0, high=1.0, closed="left"),
        "seed": Seed(),
    }
)
def digits_dataset(
    classes=(0, 1),
    *,
    view: str = "pixels",
    k: int | None = None,
    positive: int | None = None,
    split: str = "train",
    test_fraction: float = 0.3,
    seed: int = 0,
):
    """Two-class (or one-vs-rest) digits with the subspace they lie in.

    Parameters
    ----------
    classes : sequence of distinct ints in 0..9
        The digits kept, e.g. (0, 1), or range(10) for one-vs-rest.
    view : {"pixels", "pca"}
        Raw pixels (P⊥ = dead pixels of the training images) or the top-k principal
        directions (P = their span, ℓ = 64 − k).
    k : int
        Number of principal directions (``view="pca"`` only; default 10).
    positive : int or None
        The digit labelled +1 (default: ``classes[1]`` for two classes; required
        otherwise).
    split : {"train", "test", "all"}
        A fixed random split (``test_fraction`` of each class to the test part, by
        ``seed``). The subspace is always computed from the training part; test images
        are projected onto it (for pixels: their dead pixels are set to zero), so every
        returned point lies in P.

    Returns
    -------
    X : torch.Tensor, shape (n, 64), float64
        Images as rows (row-major 8×8), each of norm 8.
    y : torch.Tensor, shape (n,), entries ±1
    subspace : Subspace
        The data subspace P (d = 64).
    """
    from sklearn.datasets import load_digits

    # k and positive depend on other arguments (view, classes): checked here
    if view == "pixels" and k is not None:
        raise ValueError(f"k is only used by view='pca', got k={k} with view='pixels'")
    if view == "pca":
        k = check_int("k", 10 if k is None else k, low=1, high=_SIDE * _SIDE - 1)
    if positive is None:
        if len(classes) != 2:
            raise ValueError(
                "positive must name the +1 digit when more than two classes are kept, "
                f"got classes={classes}"
            )
        positive = classes[1]
    positive = check_int("positive", positive, low=0, high=9)
    if positive not in classes:
        raise ValueError(f"positive={positive} must be one of classes={classes}")

    data = load_digits()
    images = data.data.astype(np.float64) / 16.0  # (1797, 64), values in [0, 1]
    target = data.target
    rng = np.random.default_rng(seed)
    train_idx, test_idx = [], []
    for c in classes:
        idx = rng.permutation(np.flatnonzero(target == c))
        n_test = int(round(test_fraction * idx.size))
        test_idx.append(idx[:n_test])
        train_idx.append(idx[n_test:])
    train_idx, test_idx = (
        np.sort(np.concatenate(train_idx)),
        np.sort(np.concatenate(test_idx)),
    )
    train = images[train_idx]

    if view == "pixels":
        live = np.any(train != 0, axis=0)
        if live.all():
            raise ValueError(
                f"no pixel is zero in every training image of classes={classes}: the "
                "pixel view has no P⊥"
            )
        eye = np.eye(_SIDE * _SIDE)
        subspace = Subspace(
            torch.as_tensor(eye[:, live]), torch.as_tensor(eye[:, ~live])
        )
    else:
        _, _, vt = np.linalg.svd(train, full_matrices=True)
        subspace = Subspace(
            torch.as_tensor(vt[:k].T.copy()), torch.as_tensor(vt[k:].T.copy())
        )

    pick = {
        "train": train_idx,
        "test": test_idx,
        "all": np.sort(np.concatenate([train_idx, test_idx])),
    }[split]
    X = subspace.project(torch.as_tensor(images[pick]))
    norms = X.norm(dim=1, keepdim=True)
    X = (
        X
        / torch.where(norms > 0, norms, torch.ones_like(norms))
        * math.sqrt(_SIDE * _SIDE)
    )
    y = torch.as_tensor(np.where(target[pick] == positive, 1.0, -1.0))
    return X, y, subspace
