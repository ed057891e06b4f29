"""The consistency step on the CPU with numba: the ``"consistency"`` op of
:data:`mocap_fast.backends.OPS` (reference: :func:`mocap_fast.reference.consistency.consistency_step`).

Two fused kernels: decode + view-0 overwrite + weighted DLT per (clip, frame, joint)
(:mod:`mocap_fast.kernels.decode_numba`), then reproject + re-encode + standardise per (clip,
view, frame) (:mod:`mocap_fast.kernels.reencode_numba`).
"""

from __future__ import annotations

import torch

from mocap_fast.reference.camera import projection_matrix
from mocap_fast.reference.representation import Standardizer

from .decode_numba import decode_triangulate_numba
from .reencode_numba import reencode_numba


def _np(t: torch.Tensor):
    return t.detach().contiguous().numpy()  # CPU tensors: no copy when contiguous


def consistency(
    x0_pred: torch.Tensor, g_obs: torch.Tensor, obs_weight: torch.Tensor, K_g: torch.Tensor, T_w2c: torch.Tensor,
    stats: Standardizer, view0_weight: float = 1.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Same arguments and results as :func:`mocap_fast.reference.consistency.consistency_step`, CPU
    tensors: ``(x0_consistent [N, V, T, C], X [N, T, J, 3])`` in the dtypes the reference gives
    (triangulation in float64 inside)."""
    P = projection_matrix(K_g, T_w2c).double()
    g_dtype = torch.promote_types(x0_pred.dtype, torch.promote_types(stats.mean.dtype, g_obs.dtype))
    Xn = decode_triangulate_numba(
        _np(x0_pred), _np(stats.mean), _np(stats.std), _np(g_obs), _np(obs_weight), _np(P), view0_weight,
    )
    X = torch.from_numpy(Xn).to(g_dtype)
    out_dtype = torch.promote_types(g_dtype, torch.promote_types(K_g.dtype, stats.mean.dtype))
    xc = reencode_numba(
        _np(X), _np(K_g), _np(T_w2c), _np(stats.mean), _np(stats.std),
        out_dtype=torch.empty((), dtype=out_dtype).numpy().dtype,
    )
    return torch.from_numpy(xc), X
