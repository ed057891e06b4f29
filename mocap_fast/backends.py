"""The one dispatch table of the fast paths: ``backend`` ``"auto"``, ``"fast"`` or ``"reference"``.

:data:`OPS` names, for every op, its CPU fast kernel, its CUDA fast kernel and its reference (in
:mod:`mocap_fast.reference`), as ``"module:function"`` strings imported on first use (importing
:mod:`mocap_fast` never imports numba kernels or Triton). The three entries of an op take the same
arguments and return the same thing (each entry's docstring gives shapes and dtypes).

:func:`kernel` is the only way callers pick an implementation:

- ``"reference"`` returns the reference on every device;
- ``"auto"`` / ``"fast"`` return the fast kernel of the tensor's device, or the reference where
  the device has none (said once in the log);
- a fast kernel that fails to import, compile or launch (any exception but ``ValueError``, which
  means bad input and is raised as is) is replaced by the reference for the rest of the process:
  that call is rerun on the reference and one ``RuntimeWarning`` names the op and the error.
"""

from __future__ import annotations

import importlib
import logging
import warnings
from dataclasses import dataclass
from typing import Any, Callable

import torch

from ._arrays import check_choice

BACKENDS = ("auto", "fast", "reference")
log = logging.getLogger("mocap_fast")


@dataclass(frozen=True)
class Op:
    """Implementations of one op as ``"module:function"``; ``None`` = no fast kernel there."""

    cpu: str | None
    cuda: str | None
    reference: str


OPS: dict[str, Op] = {
    "triangulate": Op(
        cpu="mocap_fast.kernels.triangulate_numba:triangulate_flat",
        cuda="mocap_fast.kernels.triangulate_triton:triangulate_flat",
        reference="mocap_fast.reference.triangulation:triangulate_flat",
    ),
    "consistency": Op(
        cpu="mocap_fast.kernels.consistency_numba:consistency",
        cuda="mocap_fast.kernels.consistency_triton:consistency",
        reference="mocap_fast.reference.consistency:consistency_step",
    ),
    "posterior_step": Op(
        cpu=None,
        cuda="mocap_fast.kernels.posterior_triton:posterior_step_triton",
        reference="mocap_fast.reference.diffusion:posterior_step_world",
    ),
    "view_attention": Op(
        cpu=None,
        cuda="mocap_fast.kernels.view_attention_triton:view_attention",
        reference="mocap_fast.reference.attention:view_attention",
    ),
    "skeleton_fit": Op(
        cpu="mocap_fast.kernels.skeleton_fit_numba:fit_adam",
        cuda=None,
        reference="mocap_fast.reference.skeleton_fit:fit_adam",
    ),
}

_chosen: dict[tuple[str, str, str], Callable] = {}  # (op, "fast" | "reference", device type)
_failed: dict[tuple[str, str], str] = {}  # (op, device type) -> the error that retired the kernel


def route(device: torch.device | str) -> str:
    """Which column of :data:`OPS` serves tensors on ``device``: ``"cuda"`` or ``"cpu"`` (any other
    device type has no fast kernel and gets its own name, i.e. the reference)."""
    return torch.device(device).type


def _load(target: str) -> Callable:
    module, name = target.split(":")
    return getattr(importlib.import_module(module), name)


def kernel(op: str, backend: str, device: torch.device | str) -> Callable:
    """The implementation of ``op`` to call for tensors on ``device`` (see the module docstring).

    Raises:
        ValueError: unknown ``backend`` or ``op``.
    """
    check_choice(backend, "backend", BACKENDS)
    if op not in OPS:
        raise ValueError(f"op: unknown op {op!r}; expected one of {sorted(OPS)}")
    column = route(device)
    kind = "reference" if backend == "reference" else "fast"
    key = (op, kind, column)
    fn = _chosen.get(key)
    if fn is None:
        target = getattr(OPS[op], column, None) if kind == "fast" else None
        if target is None or (op, column) in _failed:
            if kind == "fast" and (op, column) not in _failed:
                log.info("mocap_fast: no fast %s kernel for %s; using the reference implementation", op, column)
            fn = _load(OPS[op].reference)
        else:
            fn = _Guarded(op, column, target)
        _chosen[key] = fn
    return fn


class _Guarded:
    """A fast kernel that retires itself, in favour of the reference, at its first failure."""

    def __init__(self, op: str, column: str, target: str):
        self.op, self.column, self.target = op, column, target
        self.fn: Callable | None = None

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        try:
            if self.fn is None:
                self.fn = _load(self.target)
            return self.fn(*args, **kwargs)
        except ValueError:
            raise
        except Exception as exc:  # import, compilation or launch failure of the fast kernel
            reference = _retire(self.op, self.column, exc)
        return reference(*args, **kwargs)


def _retire(op: str, column: str, exc: BaseException) -> Callable:
    """Replace ``op``'s fast kernel on ``column`` by its reference; warn once. Returns the reference."""
    msg = f"mocap_fast: the fast {op} kernel failed on {column} ({type(exc).__name__}: {exc}); using the reference from now on"
    if (op, column) not in _failed:
        _failed[(op, column)] = f"{type(exc).__name__}: {exc}"
        log.warning(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
    reference = _load(OPS[op].reference)
    _chosen[(op, "fast", column)] = reference
    return reference


def reset() -> None:
    """Forget every choice and failure (tests; a process that fixed its Triton install)."""
    _chosen.clear()
    _failed.clear()
