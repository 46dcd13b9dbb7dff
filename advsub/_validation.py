"""Input validation at the public boundary (scikit-learn style).

Every public function validates its arguments once, here, and raises a
``ValueError`` or ``TypeError`` whose message names the parameter, the value
received and what was expected. Inner functions trust their inputs.
"""
from __future__ import annotations

import math
import numbers

import numpy as np
import torch

__all__ = [
    "check_int",
    "check_float",
    "check_choice",
    "check_tensor",
    "check_labels",
    "check_points_in_subspace",
    "check_net_points",
    "check_seed",
    "check_dtype_device",
    "check_real_array",
]


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_int(name: str, value, *, low: int | None = None, high: int | None = None) -> int:
    """Return ``value`` as an int in ``[low, high]`` or raise."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(f"{name} must be an integer, got {_short(value)} of type {type(value).__name__}")
    value = int(value)
    if low is not None and value < low:
        raise ValueError(f"{name} must be >= {low}, got {name}={value}")
    if high is not None and value > high:
        raise ValueError(f"{name} must be <= {high}, got {name}={value}")
    return value


def check_seed(value, name: str = "seed") -> int:
    """A seed for ``torch.Generator.manual_seed``: an int in [0, 2**64 − 1]."""
    return check_int(name, value, low=0, high=2**64 - 1)


def check_dtype_device(dtype, device) -> torch.device:
    """``dtype`` must be torch.float32 or torch.float64 and ``device`` a usable torch device; returns the device."""
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(f"dtype must be torch.float32 or torch.float64, got dtype={_short(dtype)}")
    try:
        dev = torch.device(device)
        torch.empty(0, device=dev)  # e.g. 'cuda' on a CPU-only build fails here
    except (RuntimeError, TypeError, AssertionError) as exc:
        raise ValueError(f"device must name an available torch device, got device={_short(device)}") from exc
    return dev


def check_real_array(name: str, value) -> np.ndarray:
    """A scalar or array of finite real numbers (NumPy, list or CPU tensor) as a float64 NumPy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if arr.dtype == bool or not np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.complexfloating):
        raise TypeError(f"{name} must hold real numbers, got {_short(value)} of dtype {arr.dtype}")
    arr = arr.astype(float)
    if not np.isfinite(arr).all():
        raise ValueError(f"{name} contains NaN or infinite entries, got {name}={_short(value)}")
    return arr


def check_float(
    name: str,
    value,
    *,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> float:
    """Return ``value`` as a finite float within the given bounds or raise."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Real, np.floating, np.integer)):
        raise TypeError(f"{name} must be a real number, got {_short(value)} of type {type(value).__name__}")
    value = float(value)
    if not math.isfinite(value):
        raise ValueError(f"{name} must be finite, got {name}={value}")
    if low is not None and (value < low or (not low_inclusive and value == low)):
        op = ">=" if low_inclusive else ">"
        raise ValueError(f"{name} must be {op} {low}, got {name}={value}")
    if high is not None and (value > high or (not high_inclusive and value == high)):
        op = "<=" if high_inclusive else "<"
        raise ValueError(f"{name} must be {op} {high}, got {name}={value}")
    return value


def check_choice(name: str, value, choices) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} must be one of {sorted(choices)}, got {name}={_short(value)}")
    return value


def check_tensor(
    name: str,
    x,
    *,
    ndim: int | tuple[int, ...] | None = None,
    dtype: torch.dtype | None = None,
    device: torch.device | str | None = None,
    last_dim: int | None = None,
    allow_numpy: bool = True,
) -> torch.Tensor:
    """Validate an array argument and return it as a torch tensor.

    NumPy arrays and nested lists are converted to ``dtype`` (float64 by default).
    A torch tensor must already have the expected ``dtype`` and ``device``: a
    silent cast would hide a float32/float64 or CPU/GPU mix-up, so it raises.
    Non-finite entries raise ``ValueError``.
    """
    target = dtype or torch.float64
    if isinstance(x, torch.Tensor):
        if not (x.is_floating_point()):
            raise TypeError(f"{name} must be a floating-point tensor, got dtype {x.dtype}")
        if dtype is not None and x.dtype != dtype:
            raise TypeError(f"{name} must have dtype {dtype}, got {name}.dtype={x.dtype}")
        if device is not None and x.device != torch.device(device):
            raise ValueError(f"{name} must be on device {torch.device(device)}, got {name}.device={x.device}")
        if x.device.type == "meta":
            raise ValueError(f"{name} is on the 'meta' device and holds no data, got {name}.device={x.device}")
    elif allow_numpy and isinstance(x, (np.ndarray, list, tuple)):
        arr = np.asarray(x)
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number)) or np.issubdtype(arr.dtype, np.complexfloating):
            raise TypeError(f"{name} must hold real numbers, got an array of dtype {arr.dtype}")
        x = torch.as_tensor(arr, dtype=target, device=device or "cpu")
    else:
        raise TypeError(f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}")
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if x.ndim not in allowed:
            raise ValueError(f"{name} must have {' or '.join(map(str, allowed))} dimensions, got shape {tuple(x.shape)}")
    if last_dim is not None and (x.ndim == 0 or x.shape[-1] != last_dim):
        raise ValueError(f"{name} must have last dimension {last_dim}, got shape {tuple(x.shape)}")
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return x


def check_labels(name: str, y, n: int, *, dtype=torch.float64, device="cpu") -> torch.Tensor:
    """Labels: shape (n,), every entry -1 or +1."""
    if isinstance(y, torch.Tensor) and not y.is_floating_point():
        y = y.to(dtype)
    if isinstance(y, torch.Tensor) and y.dtype != dtype:
        y = y.to(dtype)
    y = check_tensor(name, y, ndim=1, dtype=dtype, device=device)
    if y.shape[0] != n:
        raise ValueError(f"{name} must have {n} entries (one per row of X), got shape {tuple(y.shape)}")
    bad = (y != 1) & (y != -1)
    if bool(bad.any()):
        raise ValueError(f"{name} must contain only -1 and +1, got {name}={_short(sorted(set(y[bad].tolist())))[:80]}")
    return y


def check_points_in_subspace(name: str, x: torch.Tensor, subspace, tol: float) -> None:
    """Raise if some row of ``x`` is farther than ``tol`` (relative) from the data subspace P."""
    inside = subspace.contains(x, tol=tol)
    if not bool(inside.all()):
        bad = torch.nonzero(~inside)[:5]  # (k, x.ndim - 1) indices of the first offending points
        dist = subspace.project_orth(x).norm(dim=-1)[tuple(bad.T)]
        where = "rows" if x.ndim <= 2 else "points (member, row)"
        idx = [r[0] if len(r) == 1 else tuple(r) for r in bad.tolist()]
        raise ValueError(
            f"{name} must lie in the data subspace P (tol={tol:g} relative): {where} {idx} are at distance "
            f"{[float(f'{v:.3g}') for v in dist.tolist()]} from P"
        )


def check_net_points(name: str, x, net, *, subspace=None, tol: float = 1e-8) -> torch.Tensor:
    """Points for a network: (n, d) shared by all members or (E, n, d) one set per member."""
    x = check_tensor(name, x, ndim=(2, 3), dtype=net.dtype, device=net.device, last_dim=net.d)
    if x.ndim == 3 and x.shape[0] != net.ensemble:
        raise ValueError(f"{name} of shape {tuple(x.shape)} must have leading dimension ensemble={net.ensemble}")
    if subspace is not None:
        if subspace.d != net.d:
            raise ValueError(f"subspace.d={subspace.d} does not match the network's d={net.d}")
        check_points_in_subspace(name, x, subspace, tol)
    return x
