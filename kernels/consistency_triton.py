"""The consistency step on CUDA: the ``"consistency"`` op of :data:`mocap_fast.backends.OPS`
(reference: :func:`mocap_fast.reference.consistency.consistency_step`).

Decode and re-encode are a few vectorised PyTorch ops over all clips and views at once (memory
bound, already one pass each); the triangulation, which the reference runs as a batched SVD, is
the Triton kernel :func:`mocap_fast.kernels.triangulate_triton.triangulate_flat`, every point
reading its clip's camera set through an index (no copies). No argument checks and no host
synchronisation: non-finite predictions give non-finite joints, as on the CPU, and
``lift()`` repairs them.
"""

from __future__ import annotations

import torch

from mocap_fast.reference.camera import project, projection_matrix
from mocap_fast.reference.consistency import decode_observed
from mocap_fast.reference.representation import Standardizer, encode

from .triangulate_triton import triangulate_flat


def consistency(
    x0_pred: torch.Tensor, g_obs: torch.Tensor, obs_weight: torch.Tensor, K_g: torch.Tensor, T_w2c: torch.Tensor,
    stats: Standardizer, view0_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Same arguments and results as :func:`mocap_fast.reference.consistency.consistency_step`:
    ``(x0_consistent [N, V, T, C], X [N, T, J, 3])``; the triangulation runs in float32 for float32
    predictions (float64 for float64)."""
    g, w = decode_observed(x0_pred, g_obs, obs_weight, stats, view0_weight)  # [N, V, T, J, 2], [N, V, T, J]
    N, V, T, J, _ = g.shape
    P = projection_matrix(K_g, T_w2c)  # [N, V, 3, 4]
    pts = g.permute(0, 2, 3, 1, 4).reshape(N * T * J, V, 2)
    wts = w.permute(0, 2, 3, 1).reshape(N * T * J, V)
    clip = torch.arange(N, device=g.device).repeat_interleave(T * J)
    X = triangulate_flat(pts, P, clip, wts).reshape(N, T, J, 3).to(g.dtype)
    gp = project(X.reshape(N, 1, T * J, 3).expand(N, V, T * J, 3), K_g, T_w2c).reshape(N, V, T, J, 2)
    return stats.standardize(encode(gp)), X
