"""Tests of advsub.digits: the digits lie in the returned subspace, in both views."""
from __future__ import annotations

import pytest
import torch

from advsub.digits import digits_dataset


@pytest.mark.parametrize("view, k", [("pixels", None), ("pca", 10), ("pca", 30)])
def test_data_lies_in_subspace(view, k):
    X, y, P = digits_dataset((0, 1), view=view, k=k)
    Xt, yt, Pt = digits_dataset((0, 1), view=view, k=k, split="test")
    assert X.shape[1] == 64 and X.dtype == torch.float64 and P.d == 64
    assert bool(P.contains(X, tol=1e-10).all()) and bool(P.contains(Xt, tol=1e-10).all())
    torch.testing.assert_close(X.norm(dim=1), torch.full((X.shape[0],), 8.0, dtype=torch.float64))
    assert set(y.tolist()) == {-1.0, 1.0}
    assert torch.equal(P.orth_basis, Pt.orth_basis)  # the subspace comes from the training part
    n_all = digits_dataset((0, 1), view=view, k=k, split="all")[0].shape[0]
    assert X.shape[0] + Xt.shape[0] == n_all == 360  # 178 zeros and 182 ones in scikit-learn's digits
    if view == "pca":
        assert P.ell == 64 - k
    else:
        # P⊥ is spanned by coordinate axes (the dead pixels), each zero in every training image
        C = P.orth_basis
        assert bool(((C == 0) | (C == 1)).all()) and bool((C.sum(0) == 1).all())
        dead = C.sum(1).bool()
        assert bool((X[:, dead] == 0).all()) and 0 < P.ell < 64


def test_pca_view_is_the_best_rank_k_linear_subspace():
    from sklearn.datasets import load_digits

    X, _, P = digits_dataset((0, 1), view="pca", k=5, split="all", test_fraction=0.0)
    raw = torch.as_tensor(load_digits().data[(load_digits().target <= 1)], dtype=torch.float64) / 16
    resid = P.project_orth(raw).pow(2).sum()
    sv = torch.linalg.svdvals(raw)
    torch.testing.assert_close(resid, sv[5:].pow(2).sum())  # Eckart–Young: the residual of the top-5 SVD


def test_labels_one_vs_rest_and_validation():
    X, y, P = digits_dataset(range(10), positive=3, split="all")
    assert X.shape[0] == 1797 and int((y > 0).sum()) == 183
    with pytest.raises(ValueError, match="positive"):
        digits_dataset((0, 1, 2))
    with pytest.raises(ValueError, match="positive"):
        digits_dataset((0, 1), positive=5)
    with pytest.raises(ValueError, match="classes"):
        digits_dataset((1, 1))
    with pytest.raises(ValueError, match="classes"):
        digits_dataset((0, 12))
    with pytest.raises(ValueError, match="view"):
        digits_dataset(view="fourier")
    with pytest.raises(ValueError, match="k is only used"):
        digits_dataset(view="pixels", k=3)
    with pytest.raises(ValueError, match="k must be"):
        digits_dataset(view="pca", k=64)
    a, b = digits_dataset((3, 8), seed=4), digits_dataset((3, 8), seed=4)
    assert torch.equal(a[0], b[0]) and not torch.equal(a[0], digits_dataset((3, 8), seed=5)[0])
