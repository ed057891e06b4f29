"""Weighted DLT triangulation on the CPU with numba (matches :func:`mocap_fast.reference.triangulate_dlt`).

Per point, the weighted DLT rows ``w_v (x p3 - p1)``, ``w_v (y p3 - p2)`` are accumulated into the
symmetric 4x4 normal matrix ``N = A^T A`` (never materialising ``A``), and the eigenvector of its
smallest eigenvalue (= the right singular vector of ``A`` the reference takes from the SVD) is
found with cyclic Jacobi rotations, in float64. The reference's SVD works on ``A`` directly; the
normal matrix squares the condition number, which float64 absorbs for pixel-scale inputs
(tolerance in ``tests/test_kernels_triangulate.py``).

Two kernels: :func:`triangulate_kernel` runs Jacobi on every point and also returns condition
numbers; :func:`triangulate_fast_kernel` (what the public ``triangulate`` and the sampler use, no
condition numbers) runs inverse iteration on the same normal matrix from ``e_4`` (its first step is
the inhomogeneous least-squares solution) with one ``L D L^T`` factorisation, and falls back to
Jacobi for a point where that has not converged after ``MAX_ITER`` steps (two smallest eigenvalues
close: an ill-determined point) or the matrix is zero or non-finite. Both process points in
chunks of ``CHUNK`` per parallel task so scratch arrays are allocated once per chunk.

Alongside each point the kernel returns a condition number: ``lambda_2 / lambda_1`` of ``N``
(second-smallest over smallest eigenvalue). Near-parallel rays make the two smallest eigenvalues
alike (ratio near 1): the point is ill-determined. Exact, well-spread views give a huge ratio.

Shapes: ``points [N, V, 2]``, ``proj [M, V, 3, 4]`` with ``cam_index [N]`` into ``M`` (cameras
shared by many points are not copied; empty when ``M`` is 1 or N), ``weights [N, V]`` (empty: all
ones); float32 or float64 (float32 values are widened before any arithmetic: the kernels compute
in float64 for both). Outputs ``[N, 3]`` in the input dtype and ``[N]`` float64.
"""

from __future__ import annotations

import numba
import numpy as np
import torch
from numba import njit, prange

SWEEPS = 12
MAX_ITER = 8  # inverse-iteration steps before falling back to Jacobi
CHUNK = 256  # points per parallel task (scratch arrays allocated once per task)
SERIAL_BELOW = 8192  # work items (~1 ms on one core) under which kernels run on the calling thread only


def launch(kernel, work: int, *args) -> None:
    """Run a ``parallel=True`` kernel, on one thread when ``work`` is small: waking the thread pool
    costs more than it saves there (tens of microseconds idle, a scheduler tick of several ms when
    the other cores are busy)."""
    threads = numba.get_num_threads()
    if work >= SERIAL_BELOW or threads == 1:
        kernel(*args)
        return
    numba.set_num_threads(1)
    try:
        kernel(*args)
    finally:
        numba.set_num_threads(threads)


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


@njit(cache=True, inline="always")
def _add_view(a, x, y, proj, m, v, w2):
    """Add view ``v``'s two weighted DLT rows (squared weight ``w2``) to the upper triangle of ``a``
    (``x``, ``y``, ``w2`` float64, so float32 ``proj`` entries are widened by the arithmetic)."""
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


@njit(cache=True, inline="always")
def _camera(cam_index, proj, i):
    """Row of ``proj`` that point ``i`` uses: ``cam_index[i]``, or for an empty ``cam_index`` the
    point's own row (``proj [N, ...]``) or the one shared row (``proj [1, ...]``)."""
    if cam_index.shape[0] != 0:
        return cam_index[i]
    return i if proj.shape[0] > 1 else 0


@njit(cache=True, inline="always")
def _accumulate(a, points, proj, m, weights, i, n_views):
    """Add point ``i``'s weighted DLT rows over all views to the upper triangle of ``a``, in float64
    whatever the input dtype (float32 values are widened before any arithmetic, so float32 input
    gives the same result as its float64 copy). An empty ``weights`` weighs every view 1."""
    for v in range(n_views):
        wv = np.float64(weights[i, v]) if weights.shape[0] != 0 else 1.0
        w2 = wv * wv
        if w2 != 0.0:
            _add_view(a, np.float64(points[i, v, 0]), np.float64(points[i, v, 1]), proj, m, v, w2)


@njit(cache=True, inline="always")
def _symmetrize(a):
    for p in range(4):
        for q in range(p):
            a[p, q] = a[q, p]


@njit(cache=True)
def _inverse_iteration(a, vec, f, y):
    """Smallest eigenvector of the symmetric positive semi-definite 4x4 ``a`` (kept) by inverse
    iteration from ``e_4`` (whose first step is the inhomogeneous least-squares solution) with one
    ``L D L^T`` factorisation (scratch ``f [4, 4]``, ``y [4]``). Writes the unit eigenvector into
    ``vec`` and returns True when converged; False (``vec`` undefined) when the caller must fall back
    to Jacobi: non-finite or zero matrix, or slow convergence (the two smallest eigenvalues close,
    i.e. an ill-determined point)."""
    scale = max(max(a[0, 0], a[1, 1]), max(a[2, 2], a[3, 3]))
    if not (scale > 0.0 and scale < np.inf):
        return False
    guard = scale * 1e-30
    for i in range(4):
        for k in range(i):
            s = a[i, k]
            for m in range(k):
                s -= f[i, m] * f[k, m] * f[m, m]
            f[i, k] = s / f[k, k]
        s = a[i, i]
        for m in range(i):
            s -= f[i, m] * f[i, m] * f[m, m]
        if not s > guard:  # rounding below zero at a (near-)singular pivot, or NaN
            s = guard
        f[i, i] = s
    vec[0] = 0.0
    vec[1] = 0.0
    vec[2] = 0.0
    vec[3] = 1.0
    d_prev = np.inf
    for it in range(MAX_ITER):
        for i in range(4):  # L z = vec
            s = vec[i]
            for k in range(i):
                s -= f[i, k] * y[k]
            y[i] = s
        for i in range(4):  # D
            y[i] /= f[i, i]
        for i in range(3, -1, -1):  # L^T y = z
            s = y[i]
            for k in range(i + 1, 4):
                s -= f[k, i] * y[k]
            y[i] = s
        norm = np.sqrt(y[0] * y[0] + y[1] * y[1] + y[2] * y[2] + y[3] * y[3])
        if not (norm > 0.0 and norm < np.inf):
            return False
        d = 0.0
        for i in range(4):
            yi = y[i] / norm
            d += (yi - vec[i]) * (yi - vec[i])
            vec[i] = yi
        d = np.sqrt(d)
        if it > 0:
            # converged to rounding, or converging fast (ratio < 1e-3: remaining error < 1e-3 d)
            if d < 1e-14 or (d < 1e-9 and d < 1e-3 * d_prev):
                return True
            d_prev = d
    return False


@njit(cache=True, inline="always")
def _solve_fast(a, vec, f, y):
    """Smallest eigenvector of the upper-triangle normal matrix ``a`` into ``vec``: inverse iteration,
    Jacobi where it does not converge (``f``, ``y``: scratch)."""
    _symmetrize(a)
    if not _inverse_iteration(a, vec, f, y):
        _smallest_eigvec(a, vec)


@njit(parallel=True, cache=True)
def triangulate_kernel(points, proj, cam_index, weights, out, cond):
    """Fill ``out [N, 3]`` and ``cond [N]`` (see the module docstring): ``points``, ``proj``,
    ``weights``, ``out`` all float32 or all float64, ``cond`` float64, ``cam_index`` int64. Jacobi on
    every point (the condition number needs the two smallest eigenvalues)."""
    n_points = points.shape[0]
    n_views = points.shape[1]
    n_chunks = (n_points + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        a = np.empty((4, 4))
        vec = np.empty(4)
        for i in range(c * CHUNK, min(n_points, (c + 1) * CHUNK)):
            a[:] = 0.0
            m = _camera(cam_index, proj, i)
            _accumulate(a, points, proj, m, weights, i, n_views)
            _symmetrize(a)
            lo, second = _smallest_eigvec(a, vec)
            out[i, 0] = vec[0] / vec[3]
            out[i, 1] = vec[1] / vec[3]
            out[i, 2] = vec[2] / vec[3]
            cond[i] = second / max(lo, 1e-300)


@njit(parallel=True, cache=True)
def triangulate_fast_kernel(points, proj, cam_index, weights, out):
    """Fill ``out [N, 3]`` only: inverse iteration per point, Jacobi where it does not converge."""
    n_points = points.shape[0]
    n_views = points.shape[1]
    n_chunks = (n_points + CHUNK - 1) // CHUNK
    for c in prange(n_chunks):
        a = np.empty((4, 4))
        f = np.empty((4, 4))
        vec = np.empty(4)
        y = np.empty(4)
        for i in range(c * CHUNK, min(n_points, (c + 1) * CHUNK)):
            a[:] = 0.0
            m = _camera(cam_index, proj, i)
            _accumulate(a, points, proj, m, weights, i, n_views)
            _solve_fast(a, vec, f, y)
            out[i, 0] = vec[0] / vec[3]
            out[i, 1] = vec[1] / vec[3]
            out[i, 2] = vec[2] / vec[3]


def triangulate_numba(
    points: np.ndarray,
    proj: np.ndarray,
    cam_index: np.ndarray | None,
    weights: np.ndarray | None,
    condition: bool = True,
) -> tuple[np.ndarray, np.ndarray | None]:
    """Launcher: ``points [N, V, 2]``, ``proj [M, V, 3, 4]``, ``cam_index [N]`` int into ``M``
    (``None`` when ``M`` is 1 or N), ``weights [N, V]`` (``None``: all ones). Returns
    ``(X [N, 3], condition [N] float64)``.

    When ``points``, ``proj`` and ``weights`` are all float32 they are used as they are (copied only
    if not C-contiguous) and ``X`` is float32; any other dtype mix is copied to float64 and ``X`` is
    float64. The arithmetic is float64 either way: float32 input gives its float64 copy's result,
    rounded to float32.

    ``condition=False`` skips the condition numbers (returned as ``None``) and solves each point by
    inverse iteration on the normal matrix (Jacobi only where that does not converge): several
    times faster, same result to ~1e-12 relative."""
    single = all(a is None or a.dtype == np.float32 for a in (points, proj, weights))
    dtype = np.float32 if single else np.float64
    points = np.ascontiguousarray(points, dtype=dtype)
    proj = np.ascontiguousarray(proj, dtype=dtype)
    n = points.shape[0]
    weights = np.empty((0, 0), dtype=dtype) if weights is None else np.ascontiguousarray(weights, dtype=dtype)
    if cam_index is None and proj.shape[0] not in (1, n):
        raise ValueError(f"proj: {proj.shape[0]} camera sets for {n} points needs cam_index")
    cam_index = np.empty(0, dtype=np.int64) if cam_index is None else np.ascontiguousarray(cam_index, dtype=np.int64)
    out = np.empty((n, 3), dtype=dtype)
    if not condition:
        launch(triangulate_fast_kernel, n, points, proj, cam_index, weights, out)
        return out, None
    cond = np.empty(n)
    launch(triangulate_kernel, n, points, proj, cam_index, weights, out, cond)
    return out, cond


def triangulate_flat(
    points: torch.Tensor, proj: torch.Tensor, cam_index: torch.Tensor | None = None, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """The ``"triangulate"`` op of :data:`mocap_fast.backends.OPS` on CPU tensors (signature of
    :func:`mocap_fast.reference.triangulation.triangulate_flat`): ``points [N, V, 2]``,
    ``proj [M, V, 3, 4]``, ``cam_index [N]`` or ``None`` (``M`` is 1 or N), ``weights [N, V]`` or
    ``None``. Returns ``[N, 3]``: float32 when every input is float32, else float64 (float64
    arithmetic in both, see :func:`triangulate_numba`). Contiguous inputs that are all float32,
    or all float64, are not copied."""
    idx = None if cam_index is None else _numpy(cam_index)
    w = None if weights is None else _numpy(weights)
    X, _ = triangulate_numba(_numpy(points), _numpy(proj), idx, w, condition=False)
    return torch.from_numpy(X)


def _numpy(t: torch.Tensor) -> np.ndarray:
    """``t`` as a numpy array sharing its memory; a float64 copy for bfloat16, which numpy lacks."""
    t = t.detach()
    return (t.double() if t.dtype == torch.bfloat16 else t).numpy()
