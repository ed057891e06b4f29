"""Fused decode of the consistency step on the CPU with numba.

Matches the first half of :func:`mocap_fast.reference.consistency.consistency_step` (and of
:func:`mocap_fast.kernels.consistency_numba.consistency`): de-standardise ``x * std + mean``, local-to-global
``g_j = l_j (w + 1) / 2 + g_0`` with ``w`` the mean of the two scale slots, then view 0 replaced by
the observation where it is observed (``conf > 0``), and the triangulation weights: observed view-0
joints ``view0_weight * conf``, everything else 1.

Two kernels, one parallel loop each:

- :func:`decode_kernel`: per (clip, view, frame) -> ``g [N, V, T, J, 2]`` and weights
  ``[N, V, T, J]`` (what :func:`mocap_fast.reference.consistency.triangulate_views` takes).
- :func:`decode_triangulate_kernel`: per (clip, frame, joint), decode that joint in every view
  straight into the weighted DLT normal matrix and solve it (inverse iteration with a Jacobi
  fallback, as :func:`mocap_fast.kernels.triangulate_numba.triangulate_fast_kernel`) -> world
  joints ``[N, T, J, 3]``; ``g`` is never written to memory.

Works for float32 and float64 inputs; the triangulation always accumulates and solves in float64
(as the reference's SVD does). Shapes: ``x [N, V, T, C]`` with ``C = 2 J + 2``, ``mean, std [C]``
(``std`` as stored by the Standardizer), ``g_obs [N, T, J, 2]``, ``conf [N, T, J]``, ``proj
[N, V, 3, 4]`` (``K_g [R | t]``).
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

from .triangulate_numba import CHUNK, _add_view, _solve_fast, launch


@njit(parallel=True, cache=True)
def decode_kernel(x, mean, std, g_obs, conf, view0_weight, g_out, w_out):
    """Fill ``g_out [N, V, T, J, 2]`` and ``w_out [N, V, T, J]`` (see the module docstring)."""
    n_clips = x.shape[0]
    n_views = x.shape[1]
    n_frames = x.shape[2]
    n_ch = x.shape[3]
    n_joints = (n_ch - 2) // 2
    per_clip = n_views * n_frames
    for idx in prange(n_clips * per_clip):
        n = idx // per_clip
        rem = idx - n * per_clip
        v = rem // n_frames
        t = rem - v * n_frames
        xi = x[n, v, t]
        rx = xi[0] * std[0] + mean[0]
        ry = xi[1] * std[1] + mean[1]
        s0 = xi[n_ch - 2] * std[n_ch - 2] + mean[n_ch - 2]
        s1 = xi[n_ch - 1] * std[n_ch - 1] + mean[n_ch - 1]
        half = ((s0 + s1) / 2.0 + 1.0) / 2.0
        for j in range(n_joints):
            if j == 0:
                gx = rx
                gy = ry
            else:
                gx = (xi[2 * j] * std[2 * j] + mean[2 * j]) * half + rx
                gy = (xi[2 * j + 1] * std[2 * j + 1] + mean[2 * j + 1]) * half + ry
            wt = 1.0
            if v == 0:
                c = conf[n, t, j]
                if c > 0:
                    gx = g_obs[n, t, j, 0]
                    gy = g_obs[n, t, j, 1]
                    wt = view0_weight * c
            g_out[n, v, t, j, 0] = gx
            g_out[n, v, t, j, 1] = gy
            w_out[n, v, t, j] = wt


@njit(parallel=True, cache=True)
def decode_triangulate_kernel(x, mean, std, g_obs, conf, view0_weight, proj, out):
    """Fill ``out [N, T, J, 3]`` with the triangulated world joints (see the module docstring)."""
    n_clips = x.shape[0]
    n_views = x.shape[1]
    n_frames = x.shape[2]
    n_ch = x.shape[3]
    n_joints = (n_ch - 2) // 2
    n_points = n_clips * n_frames * n_joints
    per_clip = n_frames * n_joints
    n_chunks = (n_points + CHUNK - 1) // CHUNK
    for ch in prange(n_chunks):
        a = np.empty((4, 4))
        f = np.empty((4, 4))
        vec = np.empty(4)
        y = np.empty(4)
        for i in range(ch * CHUNK, min(n_points, (ch + 1) * CHUNK)):
            n = i // per_clip
            rem = i - n * per_clip
            t = rem // n_joints
            j = rem - t * n_joints
            a[:] = 0.0
            for v in range(n_views):
                xi = x[n, v, t]
                if v == 0 and conf[n, t, j] > 0:
                    gx = np.float64(g_obs[n, t, j, 0])
                    gy = np.float64(g_obs[n, t, j, 1])
                    wt = view0_weight * np.float64(conf[n, t, j])
                else:
                    rx = xi[0] * std[0] + mean[0]
                    ry = xi[1] * std[1] + mean[1]
                    if j == 0:
                        gx = np.float64(rx)
                        gy = np.float64(ry)
                    else:
                        s0 = xi[n_ch - 2] * std[n_ch - 2] + mean[n_ch - 2]
                        s1 = xi[n_ch - 1] * std[n_ch - 1] + mean[n_ch - 1]
                        half = ((s0 + s1) / 2.0 + 1.0) / 2.0
                        gx = np.float64((xi[2 * j] * std[2 * j] + mean[2 * j]) * half + rx)
                        gy = np.float64((xi[2 * j + 1] * std[2 * j + 1] + mean[2 * j + 1]) * half + ry)
                    wt = 1.0
                w2 = wt * wt
                if w2 != 0.0:
                    _add_view(a, gx, gy, proj, n, v, w2)
            _solve_fast(a, vec, f, y)
            out[n, t, j, 0] = vec[0] / vec[3]
            out[n, t, j, 1] = vec[1] / vec[3]
            out[n, t, j, 2] = vec[2] / vec[3]


def _prep(x, mean, std, g_obs, conf):
    arrays = [np.ascontiguousarray(a) for a in (x, mean, std, g_obs, conf)]
    return [a if a.dtype in (np.float32, np.float64) else a.astype(np.float64) for a in arrays]


def decode_numba(x, mean, std, g_obs, conf, view0_weight: float = 1.0, out_dtype=None):
    """Launcher: returns ``(g [N, V, T, J, 2], weights [N, V, T, J])``.

    ``out_dtype`` defaults to the promoted dtype of all inputs (float32 only if all are float32).
    """
    x, mean, std, g_obs, conf = _prep(x, mean, std, g_obs, conf)
    dtype = np.result_type(x, mean, std, g_obs, conf) if out_dtype is None else np.dtype(out_dtype)
    N, V, T, C = x.shape
    J = (C - 2) // 2
    g = np.empty((N, V, T, J, 2), dtype=dtype)
    w = np.empty((N, V, T, J), dtype=dtype)
    launch(decode_kernel, N * V * T * J // 8, x, mean, std, g_obs, conf, float(view0_weight), g, w)
    return g, w


def decode_triangulate_numba(x, mean, std, g_obs, conf, proj, view0_weight: float = 1.0):
    """Launcher: returns world joints ``[N, T, J, 3]`` float64 (``proj [N, V, 3, 4]`` as float64)."""
    x, mean, std, g_obs, conf = _prep(x, mean, std, g_obs, conf)
    proj = np.ascontiguousarray(proj, dtype=np.float64)
    N, V, T, C = x.shape
    J = (C - 2) // 2
    out = np.empty((N, T, J, 3))
    launch(decode_triangulate_kernel, N * T * J, x, mean, std, g_obs, conf, float(view0_weight), proj, out)
    return out
