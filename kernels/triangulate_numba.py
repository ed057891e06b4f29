"""Weighted DLT triangulation on the CPU with numba (matches :func:`mocap_fast.reference.triangulate_dlt`).

Per point, the weighted DLT rows ``w_v (x p3 - p1)``, ``w_v (y p3 - p2)`` are accumulated into the
symmetric 4x4 normal matrix ``N = A^T A`` (never materialising ``A``), and the eigenvector of its
smallest eigenvalue (= the right singular vector of ``A`` the reference takes from the SVD) is
found with cyclic Jacobi rotations, in float64. The reference's SVD works on ``A`` directly; the
normal matrix squares the condition number, which float64 absorbs for pixel-scale inputs
(tolerance in ``tests/test_kernels_triangulate.py``).

Alongside each point the kernel returns a condition number: ``lambda_2 / lambda_1`` of ``N``
(second-smallest over smallest eigenvalue). Near-parallel rays make the two smallest eigenvalues
alike (ratio near 1): the point is ill-determined. Exact, well-spread views give a huge ratio.

Shapes: ``points [N, V, 2]``, ``proj [M, V, 3, 4]`` with ``cam_index [N]`` into ``M`` (cameras
shared by many points are not copied), ``weights [N, V]``; outputs ``[N, 3]`` and ``[N]``.
"""

from __future__ import annotations

import numpy as np
from numba import njit, prange

SWEEPS = 12


@njit(cache=True, inline="always")
def _smallest_eigvec(a, vec):
    """Jacobi eigen-decomposition of the symmetric 4x4 ``a`` (destroyed); writes the eigenvector of the
    smallest eigenvalue into ``vec`` and returns ``(smallest, second smallest)`` eigenvalues."""
    v = np.eye(4)
    for _ in range(SWEEPS):
        off = 0.0
        scale = 0.0
        for p in range(4):
            scale += a[p, p] * a[p, p]
            for q in range(p + 1, 4):
                off += a[p, q] * a[p, q]
        if off <= 1e-30 * scale or off == 0.0:
            break
        for p in range(3):
            for q in range(p + 1, 4):
                apq = a[p, q]
                if apq == 0.0:
                    continue
                theta = (a[q, q] - a[p, p]) / (2.0 * apq)
                t = np.sign(theta) / (abs(theta) + np.sqrt(theta * theta + 1.0))
                if theta == 0.0:
                    t = 1.0
                c = 1.0 / np.sqrt(t * t + 1.0)
                s = t * c
                for k in range(4):
                    akp = a[k, p]
                    akq = a[k, q]
                    a[k, p] = c * akp - s * akq
                    a[k, q] = s * akp + c * akq
                for k in range(4):
                    apk = a[p, k]
                    aqk = a[q, k]
                    a[p, k] = c * apk - s * aqk
                    a[q, k] = s * apk + c * aqk
                for k in range(4):
                    vkp = v[k, p]
                    vkq = v[k, q]
                    v[k, p] = c * vkp - s * vkq
                    v[k, q] = s * vkp + c * vkq
    best = 0
    for k in range(1, 4):
        if a[k, k] < a[best, best]:
            best = k
    second = np.inf
    for k in range(4):
        if k != best and a[k, k] < second:
            second = a[k, k]
    for k in range(4):
        vec[k] = v[k, best]
    return a[best, best], second


@njit(parallel=True, cache=True)
def triangulate_kernel(points, proj, cam_index, weights, out, cond):
    """Fill ``out [N, 3]`` and ``cond [N]`` (see the module docstring). All arrays float64 except ``cam_index``."""
    n_points = points.shape[0]
    n_views = points.shape[1]
    for i in prange(n_points):
        a = np.zeros((4, 4))
        m = cam_index[i]
        for v in range(n_views):
            w2 = weights[i, v] * weights[i, v]
            if w2 == 0.0:
                continue
            x = points[i, v, 0]
            y = points[i, v, 1]
            for r in range(2):
                coord = x if r == 0 else y
                row0 = coord * proj[m, v, 2, 0] - proj[m, v, r, 0]
                row1 = coord * proj[m, v, 2, 1] - proj[m, v, r, 1]
                row2 = coord * proj[m, v, 2, 2] - proj[m, v, r, 2]
                row3 = coord * proj[m, v, 2, 3] - proj[m, v, r, 3]
                a[0, 0] += w2 * row0 * row0
                a[0, 1] += w2 * row0 * row1
                a[0, 2] += w2 * row0 * row2
                a[0, 3] += w2 * row0 * row3
                a[1, 1] += w2 * row1 * row1
                a[1, 2] += w2 * row1 * row2
                a[1, 3] += w2 * row1 * row3
                a[2, 2] += w2 * row2 * row2
                a[2, 3] += w2 * row2 * row3
                a[3, 3] += w2 * row3 * row3
        for p in range(4):
            for q in range(p):
                a[p, q] = a[q, p]
        vec = np.empty(4)
        lo, second = _smallest_eigvec(a, vec)
        out[i, 0] = vec[0] / vec[3]
        out[i, 1] = vec[1] / vec[3]
        out[i, 2] = vec[2] / vec[3]
        cond[i] = second / max(lo, 1e-300)


def triangulate_numba(points: np.ndarray, proj: np.ndarray, cam_index: np.ndarray, weights: np.ndarray):
    """Launcher: float64 C-contiguous copies, returns ``(X [N, 3], condition [N])`` float64 arrays."""
    points = np.ascontiguousarray(points, dtype=np.float64)
    proj = np.ascontiguousarray(proj, dtype=np.float64)
    weights = np.ascontiguousarray(weights, dtype=np.float64)
    cam_index = np.ascontiguousarray(cam_index, dtype=np.int64)
    out = np.empty((points.shape[0], 3))
    cond = np.empty(points.shape[0])
    triangulate_kernel(points, proj, cam_index, weights, out, cond)
    return out, cond
