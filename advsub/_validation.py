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
    "Constraint",
    "Integer",
    "Seed",
    "Real",
    "Boolean",
    "Choice",
    "InstanceOf",
    "Tensor",
    "RealArray",
    "Optional",
    "Check",
    "check_params",
    "validate_params",
]


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def check_int(
    name: str, value, *, low: int | None = None, high: int | None = None
) -> int:
    """Return ``value`` as an int in ``[low, high]`` or raise."""
    if isinstance(value, bool) or not isinstance(value, (numbers.Integral, np.integer)):
        raise TypeError(
            f"{name} must be an integer, got {_short(value)} of type "
            f"{type(value).__name__}"
        )
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
    """``dtype`` must be torch.float32 or torch.float64 and ``device`` a usable torch
    device; returns the device."""
    if dtype not in (torch.float32, torch.float64):
        raise TypeError(
            f"dtype must be torch.float32 or torch.float64, got dtype={_short(dtype)}"
        )
    try:
        dev = torch.device(device)
        torch.empty(0, device=dev)  # e.g. 'cuda' on a CPU-only build fails here
    except (RuntimeError, TypeError, AssertionError) as exc:
        raise ValueError(
            f"device must name an available torch device, got device={_short(device)}"
        ) from exc
    return dev


def check_real_array(name: str, value) -> np.ndarray:
    """A scalar or array of finite real numbers (NumPy, list or CPU tensor) as a float64
    NumPy array."""
    if isinstance(value, torch.Tensor):
        value = value.detach().cpu().numpy()
    arr = np.asarray(value)
    if (
        arr.dtype == bool
        or not np.issubdtype(arr.dtype, np.number)
        or np.issubdtype(arr.dtype, np.complexfloating)
    ):
        raise TypeError(
            f"{name} must hold real numbers, got {_short(value)} of dtype {arr.dtype}"
        )
    arr = arr.astype(float)
    if not np.isfinite(arr).all():
        raise ValueError(
            f"{name} contains NaN or infinite entries, got {name}={_short(value)}"
        )
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
    if isinstance(value, bool) or not isinstance(
        value, (numbers.Real, np.floating, np.integer)
    ):
        raise TypeError(
            f"{name} must be a real number, got {_short(value)} of type "
            f"{type(value).__name__}"
        )
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
        raise ValueError(
            f"{name} must be one of {sorted(choices)}, got {name}={_short(value)}"
        )
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
            raise TypeError(
                f"{name} must be a floating-point tensor, got dtype {x.dtype}"
            )
        if dtype is not None and x.dtype != dtype:
            raise TypeError(
                f"{name} must have dtype {dtype}, got {name}.dtype={x.dtype}"
            )
        if device is not None and x.device != torch.device(device):
            raise ValueError(
                f"{name} must be on device {torch.device(device)}, got "
                f"{name}.device={x.device}"
            )
        if x.device.type == "meta":
            raise ValueError(
                f"{name} is on the 'meta' device and holds no data, got "
                f"{name}.device={x.device}"
            )
    elif allow_numpy and isinstance(x, (np.ndarray, list, tuple)):
        arr = np.asarray(x)
        if (
            arr.dtype == object
            or not (np.issubdtype(arr.dtype, np.number))
            or np.issubdtype(arr.dtype, np.complexfloating)
        ):
            raise TypeError(
                f"{name} must hold real numbers, got an array of dtype {arr.dtype}"
            )
        x = torch.as_tensor(arr, dtype=target, device=device or "cpu")
    else:
        raise TypeError(
            f"{name} must be a torch.Tensor or numpy array, got {type(x).__name__}"
        )
    if ndim is not None:
        allowed = (ndim,) if isinstance(ndim, int) else ndim
        if x.ndim not in allowed:
            raise ValueError(
                f"{name} must have {' or '.join(map(str, allowed))} dimensions, got "
                f"shape {tuple(x.shape)}"
            )
    if last_dim is not None and (x.ndim == 0 or x.shape[-1] != last_dim):
        raise ValueError(
            f"{name} must have last dimension {last_dim}, got shape {tuple(x.shape)}"
        )
    if x.numel() and not bool(torch.isfinite(x).all()):
        raise ValueError(f"{name} contains NaN or infinite entries")
    return x


def check_labels(
    name: str, y, n: int, *, dtype=torch.float64, device="cpu"
) -> torch.Tensor:
    """Labels: shape (n,), every entry -1 or +1."""
    if isinstance(y, torch.Tensor) and not y.is_floating_point():
        y = y.to(dtype)
    if isinstance(y, torch.Tensor) and y.dtype != dtype:
        y = y.to(dtype)
    y = check_tensor(name, y, ndim=1, dtype=dtype, device=device)
    if y.shape[0] != n:
        raise ValueError(
            f"{name} must have {n} entries (one per row of X), got shape "
            f"{tuple(y.shape)}"
        )
    bad = (y != 1) & (y != -1)
    if bool(bad.any()):
        raise ValueError(
            f"{name} must contain only -1 and +1, got "
            f"{name}={_short(sorted(set(y[bad].tolist())))[:80]}"
        )
    return y


def check_points_in_subspace(name: str, x: torch.Tensor, subspace, tol: float) -> None:
    """Raise if some row of ``x`` is farther than ``tol`` (relative) from the data
    subspace P."""
    inside = subspace.contains(x, tol=tol)
    if not bool(inside.all()):
        bad = torch.nonzero(~inside)[
            :5
        ]  # (k, x.ndim - 1) indices of the first offending points
        dist = subspace.project_orth(x).norm(dim=-1)[tuple(bad.T)]
        where = "rows" if x.ndim <= 2 else "points (member, row)"
        idx = [r[0] if len(r) == 1 else tuple(r) for r in bad.tolist()]
        raise ValueError(
            f"{name} must lie in the data subspace P (tol={tol:g} relative): {where} "
            f"{idx} are at distance "
            f"{[float(f'{v:.3g}') for v in dist.tolist()]} from P"
        )


def check_net_points(
    name: str, x, net, *, subspace=None, tol: float = 1e-8
) -> torch.Tensor:
    """Points for a network: (n, d) shared by all members or (E, n, d) one set per
    member."""
    x = check_tensor(
        name, x, ndim=(2, 3), dtype=net.dtype, device=net.device, last_dim=net.d
    )
    if x.ndim == 3 and x.shape[0] != net.ensemble:
        raise ValueError(
            f"{name} of shape {tuple(x.shape)} must have leading dimension "
            f"ensemble={net.ensemble}"
        )
    if subspace is not None:
        if subspace.d != net.d:
            raise ValueError(
                f"subspace.d={subspace.d} does not match the network's d={net.d}"
            )
        check_points_in_subspace(name, x, subspace, tol)
    return x


# --- the declarative spec -------------------------------------------------------------
# One constraint object per kind of parameter; ``validate_params`` declares them once
# per
# function. A constraint's ``check(name, value, bound)`` returns the converted value or
# raises
# TypeError (wrong type) / ValueError (wrong value) naming the parameter and the value.
# ``bound`` maps the names already checked to their converted values, so a limit may
# depend
# on an earlier parameter: ``Integer(low=1, high=lambda p: p["d"] - 1)``.


def _limit(limit, bound):
    return limit(bound) if callable(limit) else limit


class Constraint:
    """Base class: ``check(name, value, bound) -> value``; ``describe()`` for
    messages."""

    def check(self, name: str, value, bound: dict):  # pragma: no cover - interface
        raise NotImplementedError

    def describe(self) -> str:
        return type(self).__name__


class Integer(Constraint):
    """An int (Python or NumPy, never bool) in [low, high]; limits may be callables of
    the bound values."""

    def __init__(self, low=None, high=None):
        self.low, self.high = low, high

    def check(self, name, value, bound):
        return check_int(
            name, value, low=_limit(self.low, bound), high=_limit(self.high, bound)
        )

    def describe(self):
        return "an integer"


class Seed(Integer):
    """A seed for ``torch.Generator.manual_seed``: an int in [0, 2**64 − 1]."""

    def __init__(self):
        super().__init__(0, 2**64 - 1)


class Real(Constraint):
    """A finite real number (not bool) in an interval; ``closed`` in {"both", "left",
    "right", "neither"}.

    ``allow_inf=True`` also accepts +inf (e.g. an unbounded search radius).
    """

    def __init__(
        self, low=None, high=None, *, closed: str = "both", allow_inf: bool = False
    ):
        self.low, self.high, self.closed, self.allow_inf = low, high, closed, allow_inf

    def check(self, name, value, bound):
        if (
            self.allow_inf
            and isinstance(value, (numbers.Real, np.floating))
            and not isinstance(value, bool)
            and value == math.inf
        ):
            return math.inf
        return check_float(
            name,
            value,
            low=_limit(self.low, bound),
            high=_limit(self.high, bound),
            low_inclusive=self.closed in ("both", "left"),
            high_inclusive=self.closed in ("both", "right"),
        )

    def describe(self):
        return "a real number"


class Boolean(Constraint):
    """True or False (not 0/1)."""

    def check(self, name, value, bound):
        if not isinstance(value, (bool, np.bool_)):
            raise TypeError(f"{name} must be True or False, got {name}={_short(value)}")
        return bool(value)

    def describe(self):
        return "True or False"


class Choice(Constraint):
    """One of a set of strings (a wrong string or a non-string is a ValueError, as in
    scikit-learn)."""

    def __init__(self, *options):
        self.options = (
            set(options[0])
            if len(options) == 1 and not isinstance(options[0], str)
            else set(options)
        )

    def check(self, name, value, bound):
        return check_choice(name, value, self.options)

    def describe(self):
        return f"one of {sorted(self.options)}"


class InstanceOf(Constraint):
    """An instance of a class (or tuple of classes); ``what`` names it in the
    message."""

    def __init__(self, cls, what: str | None = None):
        self.cls = cls
        self.what = what or (
            cls.__name__
            if isinstance(cls, type)
            else " or ".join(c.__name__ for c in cls)
        )

    def check(self, name, value, bound):
        if not isinstance(value, self.cls):
            raise TypeError(f"{name} must be {self.what}, got {type(value).__name__}")
        return value

    def describe(self):
        return self.what


class Tensor(Constraint):
    """A real tensor or NumPy array (see :func:`check_tensor`), converted to a torch
    tensor."""

    def __init__(self, **kwargs):
        self.kwargs = kwargs

    def check(self, name, value, bound):
        kwargs = {k: _limit(v, bound) for k, v in self.kwargs.items()}
        return check_tensor(name, value, **kwargs)

    def describe(self):
        return "a real tensor"


class RealArray(Constraint):
    """A Python number, NumPy array or tensor of finite reals in [low, high], as a
    float64 ndarray.

    ``integral=True`` requires whole numbers (counts such as k, ℓ, m, d): float arrays
    and floats holding integral values are accepted, a fractional entry is a ValueError.
    The limits may be arrays or callables of the values already checked (``high=lambda
    p: p["m"]`` with ``high_name="m"``); the range is checked elementwise, after
    broadcasting, and the message names the first offending entry.
    """

    def __init__(
        self,
        low=None,
        high=None,
        *,
        closed: str = "both",
        integral: bool = False,
        low_name: str | None = None,
        high_name: str | None = None,
    ):
        self.low, self.high, self.closed, self.integral = low, high, closed, integral
        self.low_name, self.high_name = low_name, high_name

    def _fmt(self, v: float) -> str:
        return str(int(v)) if self.integral and v == int(v) else repr(float(v))

    def _limit_text(self, limit: np.ndarray, limit_name: str | None) -> str:
        if limit.ndim == 0:
            return self._fmt(float(limit))
        return f"{limit_name or 'its limit'} (elementwise)"

    def check(self, name, value, bound):
        if isinstance(value, (bool, np.bool_, str, bytes)) or value is None:
            raise TypeError(
                f"{name} must hold real numbers, got {_short(value)} of type "
                f"{type(value).__name__}"
            )
        if isinstance(value, torch.Tensor):
            value = value.detach().cpu().numpy()
        arr = np.asarray(value)
        if (
            arr.dtype == bool
            or not np.issubdtype(arr.dtype, np.number)
            or np.issubdtype(arr.dtype, np.complexfloating)
        ):
            raise TypeError(
                f"{name} must hold real numbers, got {_short(value)} of dtype "
                f"{arr.dtype}"
            )
        arr = arr.astype(float)
        scalar = arr.ndim == 0
        if not np.isfinite(arr).all():
            if scalar:
                raise ValueError(f"{name} must be finite, got {name}={float(arr)}")
            raise ValueError(
                f"{name} contains NaN or infinite entries, got {name}={_short(value)}"
            )
        if self.integral and not np.all(arr == np.round(arr)):
            bad = arr[arr != np.round(arr)].flat[0]
            got = (
                f"{name}={float(arr)}"
                if scalar
                else f"{name}={_short(value)} (entry {bad:g})"
            )
            raise ValueError(f"{name} must hold whole numbers, got {got}")
        for side, limit, limit_name in (
            ("low", self.low, self.low_name),
            ("high", self.high, self.high_name),
        ):
            limit = _limit(limit, bound)
            if limit is None:
                continue
            limit = np.asarray(limit, dtype=float)
            try:
                shape = np.broadcast_shapes(arr.shape, limit.shape)
            except ValueError:
                raise ValueError(
                    f"{name} of shape {arr.shape} does not broadcast with "
                    f"{limit_name or 'its limit'} of shape {limit.shape}"
                ) from None
            if side == "low":
                inclusive = self.closed in ("both", "left")
                bad_mask, op = (arr < limit, ">=") if inclusive else (arr <= limit, ">")
            else:
                inclusive = self.closed in ("both", "right")
                bad_mask, op = (arr > limit, "<=") if inclusive else (arr >= limit, "<")
            if np.any(bad_mask):
                bad = np.broadcast_to(arr, shape)[
                    np.broadcast_to(bad_mask, shape)
                ].flat[0]
                got = (
                    f"{name}={self._fmt(float(arr))}"
                    if scalar
                    else f"{name}={_short(value)} (entry {self._fmt(bad)})"
                )
                raise ValueError(
                    f"{name} must be {op} {self._limit_text(limit, limit_name)}, got "
                    f"{got}"
                )
        return arr

    def describe(self):
        return (
            "an array of whole numbers" if self.integral else "an array of real numbers"
        )


class Optional(Constraint):
    """``None`` or whatever ``inner`` accepts."""

    def __init__(self, inner: Constraint):
        self.inner = inner

    def check(self, name, value, bound):
        return None if value is None else self.inner.check(name, value, bound)

    def describe(self):
        return f"None or {self.inner.describe()}"


class Check(Constraint):
    """Wrap a function ``f(name, value) -> value`` (an existing ``check_*``) as a
    constraint."""

    def __init__(self, func, what: str = "valid"):
        self.func, self.what = func, what

    def check(self, name, value, bound):
        return self.func(name, value)

    def describe(self):
        return self.what


def check_params(spec: dict, values: dict) -> dict:
    """Check ``values`` against ``spec`` (name → Constraint), in the spec's order.

    Returns a new dict with the converted values (names not in the spec pass unchanged).
    """
    out = dict(values)
    for name, constraint in spec.items():
        if name in out:
            out[name] = constraint.check(name, out[name], out)
    return out


def validate_params(spec: dict):
    """Decorator: check the named arguments of a function against ``spec`` before every
    call.

    >>> @validate_params({"n": Integer(low=1), "lr": Real(low=0.0, closed="neither")})
    ... def f(n, *, lr=0.5): ...

    Each constraint receives the (converted) values of the parameters checked before it,
    so a limit can depend on them. The function receives the converted values.
    Parameters left out of ``spec`` are passed through untouched (check them in the body
    when the check needs more than one parameter). The spec is kept as
    ``f.__validation__``.
    """
    import functools
    import inspect

    def decorate(func):
        sig = inspect.signature(func)
        unknown = set(spec) - set(sig.parameters)
        if unknown:
            raise TypeError(
                f"validate_params: {func.__qualname__} has no parameters "
                f"{sorted(unknown)}"
            )

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            ba = sig.bind(*args, **kwargs)
            ba.apply_defaults()
            checked = check_params(spec, ba.arguments)
            ba.arguments.update(checked)
            return func(*ba.args, **ba.kwargs)

        wrapper.__validation__ = spec
        return wrapper

    return decorate
