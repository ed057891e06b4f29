"""Weighted linear (DLT) triangulation as the authors wrote it: rows per view, ``torch.linalg.svd``.

For view v with projection rows ``P_v = [p1; p2; p3]`` and observation ``(x, y)`` the DLT rows are
``x p3 - p1`` and ``y p3 - p2``, each scaled by the view's weight. The world point is the right
singular vector of the stacked ``[2 V, 4]`` system with the smallest singular value,
dehomogenised. Computed in float64 (this is the oracle the fast kernels are checked against)
and returned in the input dtype.
"""

from __future__ import annotations

import torch


def dlt_rows(points_2d: torch.Tensor, proj: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """The stacked DLT system.

    Args:
        points_2d: ``[..., V, 2]`` image coordinates (any consistent units: pixels for pixel ``proj``).
        proj: ``[..., V, 3, 4]`` projection matrices.
        weights: ``[..., V]`` non-negative view weights, or ``None`` for all ones.

    Returns:
        ``[..., 2 V, 4]``, rows ordered (view 0 x, view 0 y, view 1 x, ...).
    """
    rows = []
    for v in range(points_2d.shape[-2]):
        P = proj[..., v, :, :]
        x = points_2d[..., v, 0:1]
        y = points_2d[..., v, 1:2]
        w = 1.0 if weights is None else weights[..., v : v + 1]
        rows.append(w * (x * P[..., 2, :] - P[..., 0, :]))
        rows.append(w * (y * P[..., 2, :] - P[..., 1, :]))
    return torch.stack(rows, dim=-2)


def triangulate_dlt(points_2d: torch.Tensor, proj: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Triangulate points seen in V views.

    Args:
        points_2d: ``[..., V, 2]``; proj: ``[..., V, 3, 4]``; weights: ``[..., V]`` or ``None``.

    Returns:
        ``[..., 3]`` world points in the input dtype. Points whose homogeneous coordinate is
        exactly zero (at infinity) come out as non-finite values.
    """
    dtype = points_2d.dtype
    w = None if weights is None else weights.double()
    A = dlt_rows(points_2d.double(), proj.double(), w)
    _, _, Vh = torch.linalg.svd(A)
    X = Vh[..., -1, :]
    return (X[..., :3] / X[..., 3:4]).to(dtype)



def triangulate_flat(
    points: torch.Tensor, proj: torch.Tensor, cam_index: torch.Tensor | None = None, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """:func:`triangulate_dlt` in the flat form of the ``"triangulate"`` op of
    :data:`mocap_fast.backends.OPS`: ``points [N, V, 2]``, ``proj [M, V, 3, 4]`` with
    ``cam_index [N]`` (int64) into ``M``, or ``None`` when ``M`` is 1 or N; ``weights [N, V]`` or
    ``None``. Returns ``[N, 3]`` in the dtype of ``points``."""
    n = points.shape[0]
    if cam_index is not None:
        proj = proj[cam_index]
    elif proj.shape[0] == 1:
        proj = proj.expand(n, *proj.shape[1:])
    return triangulate_dlt(points, proj, weights)


def triangulation_angle(X: torch.Tensor, proj: torch.Tensor, weights: torch.Tensor | None = None) -> torch.Tensor:
    """Validity of triangulated points: the widest angle between two rays that meet at the point.

    The ray of view v runs from its camera centre ``C_v`` (``P_v [C_v; 1] = 0``) to ``X``; only views
    with weight > 0 that see ``X`` in front of them (positive depth) count. Near-parallel rays
    (small angle) leave the depth along the rays ill-determined; COLMAP's rule of thumb distrusts
    points under ~1.5 degrees. Unlike eigenvalue ratios of the DLT system, this does not depend
    on the noise in the observations.

    Args:
        X: ``[..., 3]`` points; proj: ``[..., V, 3, 4]``; weights: ``[..., V]`` or ``None``.

    Returns:
        ``[...]`` degrees (float64) in [0, 180]; 0 where fewer than two views qualify or ``X`` is
        not finite.
    """
    X = X.double()
    P = proj.double()
    M, p4 = P[..., :3], P[..., 3]
    sol, info = torch.linalg.solve_ex(M, p4.unsqueeze(-1))
    C = -sol.squeeze(-1)  # [..., V, 3] camera centres
    Xh = torch.cat([X, torch.ones_like(X[..., :1])], -1)
    depth = torch.linalg.det(M).sign() * (P[..., 2, :] @ Xh.unsqueeze(-1)).squeeze(-1)  # [..., V]
    ok = (depth > 0) & (info == 0) & torch.isfinite(X).all(-1, keepdim=True)
    if weights is not None:
        ok = ok & (weights > 0)
    rays = torch.nn.functional.normalize(X.unsqueeze(-2) - C, dim=-1)
    cos = (rays @ rays.transpose(-1, -2)).clamp(-1.0, 1.0)
    V = P.shape[-3]
    pair = ok.unsqueeze(-1) & ok.unsqueeze(-2) & ~torch.eye(V, dtype=torch.bool, device=X.device)
    angle = torch.rad2deg(torch.arccos(cos))
    angle = torch.where(pair & torch.isfinite(angle), angle, torch.zeros_like(angle))
    return angle.flatten(-2).amax(-1)
