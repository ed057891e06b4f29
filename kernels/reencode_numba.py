"""Fused reproject + re-box + re-encode + standardise on the CPU with numba.

Matches :func:`mocap_fast.reference.consistency.reproject_encode` (maths of
:func:`mocap_fast.reference.camera.project` and :func:`mocap_fast.reference.representation.encode`,
then :meth:`~mocap_fast.reference.representation.Standardizer.standardize`), one parallel loop over
(clip, view, frame). Per (clip, view, frame), for every joint ``j``:

- camera frame ``c = R X_j + t`` from ``T_w2c``; depth clamped ``z = max(c_z, eps)`` (points on or
  behind the camera plane project far away but finite, exactly as the reference does);
- ``g_j = K_g[:2] @ (c_x / z, c_y / z, 1)`` (canvas-normalised; the third row of ``K_g`` is unused,
  as in the reference);
- box side ``S = max(1.2 * 2 * max_j max(|g_jx - g_0x|, |g_jy - g_0y|), MIN_BOX)``, local
  ``l_j = 2 (g_j - g_0) / S``, scale slots ``w = S - 1``;
- standardised ``(value - mean[c]) / std[c]`` (``std`` as stored by the Standardizer, i.e. already
  clamped).

Divisions are replaced by multiplications with reciprocals computed once (``1 / z`` per joint,
``2 / S`` per frame, ``1 / std`` per call): the same maths, different rounding in the last bit.
(No ``fastmath``: fused multiply-adds would change the rounding noise of points on a camera's
optical axis behind it, which depth ``eps`` amplifies by 1e9.)

Non-finite joints propagate like the reference: a NaN anywhere in a frame's box makes that frame's
local and scale channels NaN (``torch.amax`` propagates NaN).

Works for float32 and float64 arrays (numba compiles one specialisation per dtype combination);
the output dtype is the caller's choice (``out``). Arithmetic follows the inputs' dtype where they
are all float32, with float64 constants promoting some intermediates (more accurate than the
float32 reference, never less).

Shapes: ``X [N, T, J, 3]``, ``K [N, V, 3, 3]``, ``T_w2c [N, V, 4, 4]``, ``mean, std [C]`` with
``C = 2 J + 2``; output ``[N, V, T, C]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .triangulate_numba import launch

BOX_MARGIN = 1.2  # = mocap_fast.reference.representation.BOX_MARGIN
MIN_BOX = 1e-4  # = mocap_fast.reference.representation.MIN_BOX
EPS = 1e-9  # = default eps of mocap_fast.reference.camera.project


@njit(parallel=True, cache=True)
def reencode_kernel(X, K, Tw, mean, inv_std, eps, margin, min_box, out):
    """Fill ``out [N, V, T, C]`` (see the module docstring); ``inv_std = 1 / std``.

    The raw canvas coordinates of joint ``j`` go first into channels ``2 j, 2 j + 1`` (the root's
    slots are 0, 1, joint j's local slots are 2 j, 2 j + 1), in a branch-free loop the compiler
    vectorises; then the box and the in-place encoding."""
    n_clips = X.shape[0]
    n_frames = X.shape[1]
    n_joints = X.shape[2]
    n_views = K.shape[1]
    n_ch = out.shape[3]
    per_clip = n_views * n_frames
    for idx in prange(n_clips * per_clip):
        n = idx // per_clip
        rem = idx - n * per_clip
        v = rem // n_frames
        t = rem - v * n_frames
        r00 = Tw[n, v, 0, 0]
        r01 = Tw[n, v, 0, 1]
        r02 = Tw[n, v, 0, 2]
        r10 = Tw[n, v, 1, 0]
        r11 = Tw[n, v, 1, 1]
        r12 = Tw[n, v, 1, 2]
        r20 = Tw[n, v, 2, 0]
        r21 = Tw[n, v, 2, 1]
        r22 = Tw[n, v, 2, 2]
        t0 = Tw[n, v, 0, 3]
        t1 = Tw[n, v, 1, 3]
        t2 = Tw[n, v, 2, 3]
        k00 = K[n, v, 0, 0]
        k01 = K[n, v, 0, 1]
        k02 = K[n, v, 0, 2]
        k10 = K[n, v, 1, 0]
        k11 = K[n, v, 1, 1]
        k12 = K[n, v, 1, 2]
        for j in range(n_joints):
            x = X[n, t, j, 0]
            y = X[n, t, j, 1]
            z = X[n, t, j, 2]
            cx = x * r00 + y * r01 + z * r02 + t0
            cy = x * r10 + y * r11 + z * r12 + t1
            cz = x * r20 + y * r21 + z * r22 + t2
            cz = eps if cz < eps else cz  # clamp_min; NaN stays NaN
            inv_z = 1.0 / cz
            a = cx * inv_z
            b = cy * inv_z
            out[n, v, t, 2 * j] = a * k00 + b * k01 + k02
            out[n, v, t, 2 * j + 1] = a * k10 + b * k11 + k12
        g0x = out[n, v, t, 0]
        g0y = out[n, v, t, 1]
        ext = 0.0
        for j in range(1, n_joints):
            ax = abs(out[n, v, t, 2 * j] - g0x)
            ay = abs(out[n, v, t, 2 * j + 1] - g0y)
            if ax > ext or ax != ax:  # NaN propagates (torch.amax semantics)
                ext = ax
            if ay > ext or ay != ay:
                ext = ay
        side = margin * 2.0 * ext
        if side < min_box:  # clamp_min; NaN stays NaN
            side = min_box
        to_local = 2.0 / side
        for j in range(1, n_joints):
            out[n, v, t, 2 * j] = ((out[n, v, t, 2 * j] - g0x) * to_local - mean[2 * j]) * inv_std[2 * j]
            out[n, v, t, 2 * j + 1] = ((out[n, v, t, 2 * j + 1] - g0y) * to_local - mean[2 * j + 1]) * inv_std[2 * j + 1]
        out[n, v, t, 0] = (g0x - mean[0]) * inv_std[0]
        out[n, v, t, 1] = (g0y - mean[1]) * inv_std[1]
        w = side - 1.0
        out[n, v, t, n_ch - 2] = (w - mean[n_ch - 2]) * inv_std[n_ch - 2]
        out[n, v, t, n_ch - 1] = (w - mean[n_ch - 1]) * inv_std[n_ch - 1]


def reencode_numba(
    X: np.ndarray, K: np.ndarray, T_w2c: np.ndarray, mean: np.ndarray, std: np.ndarray,
    out_dtype=None, eps: float = EPS,
) -> np.ndarray:
    """Launcher: C-contiguous inputs, returns ``[N, V, T, 2 J + 2]`` standardised vectors.

    ``out_dtype`` defaults to the promoted dtype of all inputs (float32 only if all are float32).
    """
    arrays = [np.ascontiguousarray(a) for a in (X, K, T_w2c, mean, std)]
    dtype = np.result_type(*arrays) if out_dtype is None else np.dtype(out_dtype)
    if dtype not in (np.float32, np.float64):
        dtype = np.dtype(np.float64)
    arrays = [a if a.dtype in (np.float32, np.float64) else a.astype(np.float64) for a in arrays]
    X, K, T_w2c, mean, std = arrays
    N, T, J, _ = X.shape
    V = K.shape[1]
    C = 2 * J + 2
    if mean.shape != (C,) or std.shape != (C,):
        raise ValueError(f"mean/std: expected shape ({C},), got {mean.shape} and {std.shape}")
    out = np.empty((N, V, T, C), dtype=dtype)
    inv_std = 1.0 / std.astype(np.float64)
    launch(reencode_kernel, N * V * T * J // 8, X, K, T_w2c, mean, inv_std, float(eps), BOX_MARGIN, MIN_BOX, out)
    return out
