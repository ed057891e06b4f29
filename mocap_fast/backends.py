"""Backend choice for the fast paths: ``"auto"``, ``"fast"`` or ``"reference"``.

``auto`` picks the fastest implementation available for the tensor's device (Triton on CUDA,
numba on CPU) and falls back to the plain-PyTorch reference, saying so once in the log.
``fast`` is the same choice; ``reference`` always runs :mod:`mocap_fast.reference`.
"""

from __future__ import annotations

import importlib
import logging
from typing import Callable

import torch

from ._arrays import check_choice

BACKENDS = ("auto", "fast", "reference")
log = logging.getLogger("mocap_fast")
_fast_ops: dict[tuple[str, str], str] = {}
_warned: set[tuple[str, str]] = set()
_triton_kernels: dict[tuple[str, str], Callable | None] = {}


def register_fast(op: str, device_type: str, name: str) -> None:
    """Declare that ``op`` has a fast implementation ``name`` (e.g. ``"numba"``) on ``device_type``."""
    _fast_ops[(op, device_type)] = name


def resolve_backend(backend: str, device: torch.device | str, op: str) -> str:
    """Return the implementation to run: ``"reference"`` or a registered fast name.

    Raises:
        ValueError: unknown ``backend``.
    """
    check_choice(backend, "backend", BACKENDS)
    if backend == "reference":
        return "reference"
    device_type = torch.device(device).type
    fast = _fast_ops.get((op, device_type))
    if fast is not None:
        return fast
    if (op, device_type) not in _warned:
        _warned.add((op, device_type))
        log.info("mocap_fast: no fast %s kernel for %s; using the reference implementation", op, device_type)
    return "reference"


def triton_kernel(module: str, name: str, device: torch.device) -> Callable | None:
    """``mocap_fast.kernels.<module>.<name>`` for CUDA tensors, imported on first use (the import
    compiles nothing yet, but imports Triton); ``None`` on other devices or where Triton cannot be
    imported (the caller then runs its PyTorch path)."""
    if device.type != "cuda":
        return None
    key = (module, name)
    if key not in _triton_kernels:
        try:
            _triton_kernels[key] = getattr(importlib.import_module(f"mocap_fast.kernels.{module}"), name)
        except Exception:  # no / broken Triton
            _triton_kernels[key] = None
    return _triton_kernels[key]
