"""Array plumbing shared by the public API: numpy/torch in, the same kind out, and argument checks.

Every public function accepts numpy arrays and torch tensors (any device) and returns the kind
it was given. Internally everything is a torch tensor. Checks raise ``ValueError`` whose message
starts with the argument's name, so a user can tell at once which input is wrong.
"""

from __future__ import annotations

from typing import Any, Sequence

import numpy as np
import torch


def as_tensor(
    x: Any,
    name: str,
    *,
    dtype: torch.dtype | None = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """Convert ``x`` (numpy array, torch tensor, nested list of numbers) to a torch tensor.

    Args:
        x: the input.
        name: argument name used in error messages.
        dtype: target dtype; ``None`` keeps the input's dtype.
        device: target device; ``None`` keeps the tensor's device (CPU for numpy/lists).

    Raises:
        ValueError: if ``x`` is ``None`` or cannot be read as a numeric array.
    """
    if x is None:
        raise ValueError(f"{name}: expected an array, got None")
    if isinstance(x, torch.Tensor):
        t = x
    else:
        try:
            arr = np.asarray(x)
        except Exception as exc:  # ragged lists and the like
            raise ValueError(f"{name}: cannot be read as a numeric array ({exc})") from None
        if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
            raise ValueError(f"{name}: expected a numeric array, got dtype {arr.dtype}")
        t = torch.from_numpy(np.ascontiguousarray(arr))
    if t.is_complex():
        raise ValueError(f"{name}: complex values are not supported")
    return t.to(dtype=dtype if dtype is not None else t.dtype, device=device if device is not None else t.device)


def like_input(t: torch.Tensor, like: Any) -> Any:
    """Return ``t`` as the kind of ``like``: a numpy array for numpy/list input, else a tensor.

    A tensor result is moved to ``like``'s device; a numpy result keeps ``t``'s dtype.
    """
    if isinstance(like, torch.Tensor):
        return t.to(like.device)
    return t.detach().cpu().numpy()


def check_last_dims(t: torch.Tensor, name: str, dims: Sequence[int | None], *, min_ndim: int | None = None) -> None:
    """Check the trailing dimensions of ``t``; ``None`` in ``dims`` matches any size.

    Raises:
        ValueError: naming ``name``, the expected trailing shape and the actual shape.
    """
    want = "(..., " + ", ".join("*" if d is None else str(d) for d in dims) + ")"
    need = len(dims) if min_ndim is None else max(min_ndim, len(dims))
    if t.ndim < need:
        raise ValueError(f"{name}: expected shape {want} with at least {need} dims, got {tuple(t.shape)}")
    for got, d in zip(t.shape[t.ndim - len(dims):], dims):
        if d is not None and got != d:
            raise ValueError(f"{name}: expected shape {want}, got {tuple(t.shape)}")


def check_finite(t: torch.Tensor, name: str) -> None:
    """Raise ``ValueError`` naming ``name`` if ``t`` holds NaN or infinity."""
    if t.is_floating_point() and not bool(torch.isfinite(t).all()):
        n_bad = int((~torch.isfinite(t)).sum())
        raise ValueError(f"{name}: {n_bad} non-finite value(s) (NaN or inf)")


def check_choice(value: Any, name: str, choices: Sequence[Any]) -> None:
    """Raise ``ValueError`` naming ``name`` if ``value`` is not one of ``choices``."""
    if value not in choices:
        raise ValueError(f"{name}: unknown value {value!r}; expected one of {list(choices)}")


def check_positive(value: float, name: str) -> float:
    """Return ``value`` as a float; raise ``ValueError`` unless it is finite and > 0."""
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {value!r}") from None
    if not np.isfinite(v) or v <= 0:
        raise ValueError(f"{name}: must be finite and > 0, got {value!r}")
    return v
