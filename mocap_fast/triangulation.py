"""Public weighted linear triangulation (API.md ``triangulate``)."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._arrays import as_tensor, check_finite, check_last_dims, like_input
from .backends import kernel
from .reference.triangulation import triangulation_angle


def triangulate(points_2d: Any, proj: Any, weights: Any = None, backend: str = "auto", return_angle: bool = False) -> Any:
    """Weighted linear (DLT) triangulation of points seen in V >= 2 views.

    Shapes: ``points_2d [..., V, 2]`` pixels, ``proj [..., V, 3, 4]`` projection matrices
    ``K [R | t]`` (leading dims broadcast), ``weights [..., V]`` >= 0 or ``None``.
    Returns ``[..., 3]`` world points, in the kind (numpy/torch) and device of ``points_2d``.

    ``backend="auto"``/``"fast"`` runs numba on the CPU (float64 arithmetic; float32 input goes in
    without copies and comes back float32, the float64 result rounded) and the Triton kernel
    (``kernels/triangulate_triton.py``) on CUDA, which computes in float64 for float64 input and in
    float32 otherwise (agreement with the float64 reference ~1e-6 relative on well-conditioned
    rigs; ill-conditioned points, e.g. near-parallel rays, lose more in float32: pass float64 there).

    ``return_angle=True`` returns ``(X, angle)``: ``angle [...]`` float64 degrees, the validity flag
    of each point: the widest angle between two of its rays from views with weight > 0 that see it
    in front of them (:func:`mocap_fast.reference.triangulation.triangulation_angle`). Near 0 the
    depth along the rays is ill-determined (near-parallel rays, a single usable view, a point
    behind the cameras); a common rule distrusts points under ~1.5 degrees.

    Example:
        >>> import numpy as np
        >>> from mocap_fast import Camera, triangulate
        >>> cams = [Camera.from_ground(800, 800, 640, 360, (1280, 720), yaw_deg=a, position_xz=p)
        ...         for a, p in ((0, (0, 0)), (90, (4, -4)))]
        >>> X = np.array([0.1, 1.0, -4.0])
        >>> uv = np.stack([c.project(X) for c in cams])
        >>> P = np.stack([c.P.numpy() for c in cams])
        >>> np.allclose(triangulate(uv, P), X, atol=1e-6)
        True

    Raises:
        ValueError: wrong shapes, fewer than 2 views, non-finite values, negative weights, or a
            point whose weights are all zero.
    """
    pts = as_tensor(points_2d, "points_2d", dtype=None)
    if not pts.is_floating_point():
        pts = pts.double()
    P = as_tensor(proj, "proj", dtype=pts.dtype, device=pts.device)
    check_last_dims(pts, "points_2d", (None, 2))
    check_last_dims(P, "proj", (None, 3, 4))
    V = pts.shape[-2]
    if V < 2:
        raise ValueError(f"points_2d: need at least 2 views, got V = {V}")
    if P.shape[-3] != V:
        raise ValueError(f"proj: has {P.shape[-3]} views but points_2d has {V}")
    w = None
    if weights is not None:
        w = as_tensor(weights, "weights", dtype=pts.dtype, device=pts.device)
        if w.shape[-1:] != (V,):
            raise ValueError(f"weights: expected shape (..., {V}), got {tuple(w.shape)}")
    try:
        batch = torch.broadcast_shapes(pts.shape[:-2], P.shape[:-3], *(() if w is None else (w.shape[:-1],)))
    except RuntimeError:
        raise ValueError(
            f"proj: leading shape {tuple(P.shape[:-3])} does not broadcast with points_2d's {tuple(pts.shape[:-2])}"
        ) from None
    _check_values(pts, P, w)
    n = int(torch.Size(batch).numel())
    cam_batch = P.shape[:-3]
    m = int(torch.Size(cam_batch).numel())
    idx = None
    if m != 1 and tuple(cam_batch) != tuple(batch):  # cameras shared along some axes: index, no copies
        idx = torch.arange(m, device=pts.device).reshape(cam_batch).expand(batch).reshape(n)
    flat = kernel("triangulate", backend, pts.device)
    X = flat(
        pts.expand(*batch, V, 2).reshape(n, V, 2), P.reshape(m, V, 3, 4), idx,
        None if w is None else w.expand(*batch, V).reshape(n, V),
    ).to(pts.dtype).reshape(*batch, 3)
    if return_angle:
        return like_input(X, points_2d), like_input(triangulation_angle(X, P, w), points_2d)
    return like_input(X, points_2d)


def _check_values(pts: torch.Tensor, P: torch.Tensor, w: torch.Tensor | None) -> None:
    """Finite inputs, weights >= 0 with two positive per point. A conservative pass that reads each
    tensor once (:func:`_values_ok`) clears good input; only when it fails do the exact checks run,
    which raise naming the argument (or find nothing wrong: a sum of finite values overflowed)."""
    if _values_ok(pts, P, w):
        return
    check_finite(pts, "points_2d")
    check_finite(P, "proj")
    if w is None:
        return
    check_finite(w, "weights")
    if not bool((w >= 0).all()):
        raise ValueError("weights: must be >= 0")
    if not bool(((w > 0).sum(-1) >= 2).all()):
        raise ValueError("weights: every point needs at least 2 views with weight > 0")


def _values_ok(pts: torch.Tensor, P: torch.Tensor, w: torch.Tensor | None) -> bool:
    """True only if every check of :func:`_check_values` holds; False may be a false alarm.

    One reduction per tensor: a sum is finite exactly when no element is NaN or infinite (short of
    overflow, the false alarm). CPU tensors are reduced by numpy, without copies and on the calling
    thread (each torch reduction would wake torch's thread pool, which on a busy machine costs more
    than the pass itself); on other devices the flags are combined there and read back with one
    host synchronisation."""
    tensors = [pts, P] if w is None else [pts, P, w]
    on_cpu = pts.device.type == "cpu" and pts.dtype != torch.bfloat16  # numpy has no bfloat16
    arrays: list[Any] = [t.detach().numpy() for t in tensors] if on_cpu else tensors  # numpy or torch alike below
    isfinite: Any = np.isfinite if on_cpu else torch.isfinite
    with np.errstate(over="ignore", invalid="ignore"):  # overflow and inf - inf are what is looked for
        flags: list[Any] = [isfinite(a.sum()) for a in arrays]
    if w is not None and w.numel():
        positive = arrays[-1] > 0
        count = positive[..., 0] * 1  # views with weight > 0, per point: a pass per view (V is small;
        for v in range(1, w.shape[-1]):  # a sum over the short last axis is several times slower)
            count += positive[..., v]
        flags += [arrays[-1].min() >= 0, count.min() >= 2]
    return bool(all(flags)) if on_cpu else bool(torch.stack(flags).all())
