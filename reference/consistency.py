"""The multi-view consistency step of each denoising step (DESIGN §1 step 4, §6), as the authors
run it: decode every view, put the observation in view 0, triangulate, reproject, re-encode.

Written the authors' way (Python loops over batch and view) on purpose: it is the reference the
fused kernels and the benchmarks compare against.

All 2D coordinates here are canvas-normalised (``g`` in [-1, 1]); cameras are given as
normalised intrinsics ``K_g`` (see :func:`mocap_fast.reference.camera.normalized_intrinsics`) and
``T_w2c``, so ``P_g = K_g [R | t]`` maps world points straight to ``g``.
"""

from __future__ import annotations

import torch

from .camera import project, projection_matrix
from .representation import Standardizer, decode, encode
from .triangulation import triangulate_dlt


def decode_views(x: torch.Tensor, stats: Standardizer) -> torch.Tensor:
    """Standardised frame vectors ``[B, V, T, C]`` to canvas-normalised joints ``[B, V, T, J, 2]``."""
    return decode(stats.destandardize(x))


def decode_observed(
    x0_pred: torch.Tensor, g_obs: torch.Tensor, obs_weight: torch.Tensor, stats: Standardizer, view0_weight: float = 1.0
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode every view, overwrite view 0 with the observation, and the triangulation weights.

    Args:
        x0_pred: ``[B, V, T, C]`` standardised prediction; g_obs: ``[B, T, J, 2]`` observed view 0;
        obs_weight: ``[B, T, J]`` in [0, 1] (0 = missing: view 0 keeps the prediction, weight 1).
        view0_weight: factor on the weight of observed view-0 joints.

    Returns:
        ``(g [B, V, T, J, 2], weights [B, V, T, J])``: observed view-0 joints weigh
        ``view0_weight * obs_weight``, everything else 1.
    """
    g = decode_views(x0_pred, stats)
    observed = obs_weight > 0
    g0 = torch.where(observed[..., None], g_obs, g[:, 0])
    g = torch.cat([g0[:, None], g[:, 1:]], dim=1)
    weights = torch.ones(g.shape[:-1], dtype=g.dtype, device=g.device)
    weights[:, 0] = torch.where(observed, view0_weight * obs_weight, torch.ones_like(obs_weight))
    return g, weights


def triangulate_views(
    g: torch.Tensor, K_g: torch.Tensor, T_w2c: torch.Tensor, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """Triangulate every joint of every frame from V views.

    Args:
        g: ``[B, V, T, J, 2]`` canvas-normalised 2D joints.
        K_g: ``[B, V, 3, 3]`` normalised intrinsics; T_w2c: ``[B, V, 4, 4]``.
        weights: ``[B, V, T, J]`` view weights or ``None``.

    Returns:
        ``[B, T, J, 3]`` world joints, metres.
    """
    B, V, T, J, _ = g.shape
    P = projection_matrix(K_g, T_w2c)  # [B, V, 3, 4]
    pts = g.permute(0, 2, 3, 1, 4)  # [B, T, J, V, 2]
    Pb = P[:, None, None].expand(B, T, J, V, 3, 4)
    w = None if weights is None else weights.permute(0, 2, 3, 1)
    return triangulate_dlt(pts, Pb, w)


def reproject_encode(
    X: torch.Tensor, K_g: torch.Tensor, T_w2c: torch.Tensor, stats: Standardizer
) -> torch.Tensor:
    """Reproject world joints into every view and re-encode them (standardised).

    Args:
        X: ``[B, T, J, 3]`` world joints; K_g: ``[B, V, 3, 3]``; T_w2c: ``[B, V, 4, 4]``.

    Returns:
        ``[B, V, T, 2 J + 2]`` standardised frame vectors.
    """
    B, V = K_g.shape[:2]
    per_clip = []
    for b in range(B):
        per_view = []
        for v in range(V):
            g = project(X[b], K_g[b, v], T_w2c[b, v])  # [T, J, 2]
            per_view.append(stats.standardize(encode(g)))
        per_clip.append(torch.stack(per_view))
    return torch.stack(per_clip)


def consistency_step(
    x0_pred: torch.Tensor,
    g_obs: torch.Tensor,
    obs_weight: torch.Tensor,
    K_g: torch.Tensor,
    T_w2c: torch.Tensor,
    stats: Standardizer,
    view0_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Decode, overwrite view 0 with the observation, triangulate, reproject and re-encode.

    Args:
        x0_pred: ``[B, V, T, C]`` standardised network prediction.
        g_obs: ``[B, T, J, 2]`` observed canvas-normalised joints of view 0 (any value where missing).
        obs_weight: ``[B, T, J]`` observation confidence in [0, 1]; 0 = missing, in which case
            view 0 keeps the network's own prediction for that joint with weight 1.
        K_g: ``[B, V, 3, 3]``; T_w2c: ``[B, V, 4, 4]``.
        view0_weight: extra weight of observed view-0 joints in the triangulation (1 = the
            authors' equal weighting; larger pulls the 3D point onto the observed ray).

    Returns:
        ``(x0_consistent [B, V, T, C], X [B, T, J, 3])``.
    """
    g, weights = decode_observed(x0_pred, g_obs, obs_weight, stats, view0_weight)
    X = triangulate_views(g, K_g, T_w2c, weights)
    return reproject_encode(X, K_g, T_w2c, stats), X
