"""Every bound and law of advsub.theory broadcasts over numbers, NumPy arrays and
tensors.

The array result must equal, entry by entry and bit for bit, the scalar call at that
entry (the same formula evaluated once per entry), and have the broadcast shape; a
scalar call returns a Python float. Counts given as float arrays of whole numbers are
accepted; range checks apply elementwise.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from advsub import theory

# (function, keyword arguments with one array each for the broadcast, scalar-only
# kwargs)
K = np.array([[1], [3], [5]])  # (3, 1)
ELL = np.array([2, 7])  # (2,)
CASES = [
    (theory.gradient_lower_bound, dict(k=K, ell=ELL, m=10, d=40), {}),
    (
        theory.gradient_lower_bound,
        dict(k=K, ell=ELL, m=10, d=40, beta=np.array([0.1, 0.3])),
        {},
    ),
    (theory.lower_bound_failure_probability, dict(ell=ELL), {}),
    (theory.upper_bound_failure_probability, dict(ell=K), {}),
    (theory.expected_orthogonal_gradient_sq, dict(k=K, ell=ELL, m=10, beta=0.2), {}),
    (
        theory.expected_orthogonal_gradient_norm,
        dict(k=K, ell=ELL, m=np.array([6, 10]), beta=0.2),
        {},
    ),
    (theory.small_init_upper_bound, dict(k=K, ell=ELL, m=10, beta=0.01), {}),
    (
        theory.predicted_universal_size,
        dict(output=np.array([0.5, -1.0]), k=K, m=10, d=40, ell=ELL),
        {},
    ),
    (
        theory.predicted_universal_size,
        dict(output=0.5, k=np.array([0, 2]), m=10, d=40, ell=5, beta=K / 10),
        {},
    ),
    (
        theory.weight_decay_factor,
        dict(lr=0.5, weight_decay=np.array([0.0, 0.01]), t=K),
        {},
    ),
    (theory.expected_orthogonal_operator_norm, dict(m=K, ell=ELL, beta=0.1), {}),
    (
        theory.self_term_agreement,
        dict(ell=np.array([3, 50]), m=np.array([[1], [20]])),
        {},
    ),
    (theory.predicted_norm_ratio, dict(ell=np.array([1, 4, 16])), dict(norm="linf")),
    (theory.predicted_norm_ratio, dict(ell=np.array([[2], [9]])), dict(norm="l1")),
]


def _scalar_calls(fn, arrays, extra):
    shape = np.broadcast_shapes(*(np.shape(v) for v in arrays.values()))
    out = np.empty(shape)
    for idx in np.ndindex(shape):
        args = {
            k: (np.broadcast_to(v, shape)[idx].item() if np.ndim(v) else v)
            for k, v in arrays.items()
        }
        value = fn(**args, **extra)
        assert isinstance(value, float), (
            f"{fn.__name__}({args}) returned {type(value).__name__}"
        )
        out[idx] = value
    return out


@pytest.mark.parametrize(
    "fn, arrays, extra",
    CASES,
    ids=[f"{c[0].__name__}-{i}" for i, c in enumerate(CASES)],
)
def test_broadcast_equals_scalar_calls(fn, arrays, extra):
    got = fn(**arrays, **extra)
    expected = _scalar_calls(fn, arrays, extra)
    assert isinstance(got, np.ndarray) and got.dtype == np.float64
    assert got.shape == expected.shape
    np.testing.assert_array_equal(got, expected)  # bit for bit: one formula per entry


@pytest.mark.parametrize(
    "convert",
    [
        lambda a: a.astype(float),
        torch.as_tensor,
        lambda a: torch.as_tensor(a).double(),
        lambda a: a.tolist(),
    ],
    ids=["float-array", "int-tensor", "float-tensor", "list"],
)
def test_counts_accept_float_arrays_tensors_and_lists(convert):
    ref = theory.gradient_lower_bound(K, ELL, 10, 40)
    got = theory.gradient_lower_bound(convert(K), convert(ELL), 10, 40)
    np.testing.assert_array_equal(got, ref)


def test_scalar_inputs_give_python_floats_of_the_old_formula():
    # numbers of every kind for the counts; the result is a float equal to the closed
    # form
    for k in (4, 4.0, np.int64(4), np.float32(4.0), torch.tensor(4)):
        value = theory.gradient_lower_bound(k, 9, 16, 100)
        assert isinstance(value, float)
        assert value == 0.1 * np.sqrt(4 * 9 / 32)
    assert isinstance(theory.lower_bound_failure_probability(np.array(16)), float)


def test_laws_broadcast_their_parameters():
    law = theory.orthogonal_gradient_law(K, ELL, 10, 0.5)
    assert law.mean().shape == (3, 2)
    np.testing.assert_allclose(law.mean(), K * ELL * 0.25 / 10, rtol=1e-15)
    scalar = theory.orthogonal_gradient_law(3, 7, 10, 0.5)
    assert scalar.mean() == law.mean()[1, 1]
    deep = theory.deep_orthogonal_gradient_law(np.array([0.5, 1.0]), 4, 0.1)
    np.testing.assert_allclose(deep.mean(), [0.5 * 4 * 0.01, 4 * 0.01], rtol=1e-15)


def test_norm_equivalence_bounds_broadcast():
    lo, hi = theory.norm_equivalence_bounds(np.array([1, 4]), "linf")
    np.testing.assert_array_equal(lo, [1.0, 0.5])
    np.testing.assert_array_equal(hi, [1.0, 1.0])
    assert theory.norm_equivalence_bounds(4, "l1") == (1.0, 2.0)


@pytest.mark.parametrize(
    "call, exc, match",
    [
        (
            lambda: theory.gradient_lower_bound(np.array([1, 11]), 3, 10, 20),
            ValueError,
            r"k must be <= 10.*entry 11",
        ),
        (
            lambda: theory.gradient_lower_bound(3, 3, np.array([10, 2]), 20),
            ValueError,
            r"k must be <= m \(elementwise\)",
        ),
        (
            lambda: theory.expected_orthogonal_gradient_sq(
                1, 2, 3, np.array([0.1, -0.1])
            ),
            ValueError,
            r"beta must be > 0.0.*entry -0.1",
        ),
        (
            lambda: theory.self_term_agreement(np.array([1.5, 2]), 3),
            ValueError,
            r"ell must hold whole numbers",
        ),
        (
            lambda: theory.weight_decay_factor(np.array([0.5, 20.0]), 0.1, 3),
            ValueError,
            r"lr \* weight_decay must be < 1",
        ),
        (
            lambda: theory.predicted_norm_ratio(np.array([[0, 2]]), "l1"),
            ValueError,
            r"ell must be >= 1",
        ),
        (
            lambda: theory.small_init_upper_bound(np.ones(2), np.ones(3), 5, 0.1),
            ValueError,
            r"do not broadcast",
        ),
        (
            lambda: theory.expected_orthogonal_operator_norm(
                torch.tensor([1.0, float("nan")]), 2, 0.1
            ),
            ValueError,
            r"m contains NaN",
        ),
        (
            lambda: theory.expected_orthogonal_operator_norm(np.array(["a"]), 2, 0.1),
            TypeError,
            r"m must hold real",
        ),
    ],
)
def test_range_checks_apply_elementwise(call, exc, match):
    with pytest.raises(exc, match=match):
        call()
