"""Weighted DLT triangulation on the GPU with Triton (matches :func:`mocap_fast.reference.triangulation.triangulate_dlt`).

Same maths as the CPU kernel :mod:`mocap_fast.kernels.triangulate_numba` (``triangulate_kernel``):
per point, the weighted DLT rows ``w_v (u p3 - p1)`` and ``w_v (v p3 - p2)`` of every view are
accumulated into the symmetric 4x4 normal matrix ``N = A^T A`` (10 scalars per point, held in
registers; ``A`` is never materialised), and the eigenvector of its smallest eigenvalue (= the
right singular vector of ``A`` the reference takes from the SVD) is found with a fixed number
(:data:`SWEEPS`) of cyclic Jacobi sweeps, then dehomogenised. One program handles ``BLOCK``
points; the V views (2..8, a ``constexpr``) are unrolled.

Alongside each point the kernel returns a condition number ``lambda_2 / lambda_1`` of ``N``
(second-smallest over smallest eigenvalue, ``lambda_1`` clamped at ``1e-30`` after the trace
normalisation below). Near-parallel rays or too few constraints make the two smallest eigenvalues
alike (ratio near 1): the point is ill-determined. Exact, well-spread views give a large ratio.

Conditioning and precision:

- Arithmetic is in float32 for float32/float16/bfloat16 inputs and in float64 for float64 inputs
  (``compute dtype = float64 if points.dtype == float64 else float32``); the result has that
  dtype.
- The normal matrix squares the condition number of ``A``. Before the Jacobi sweeps ``N`` is
  divided by its trace (a uniform scaling: same eigenvectors, same eigenvalue ratios, eigenvalues
  in ``[0, 1]``, no overflow/underflow in the rotations). With pixel coordinates and ``K [R | t]``
  projection matrices the float32 result agrees with the float64 SVD reference to ~1e-4
  relative on well-conditioned rigs (tests use 1e-3 relative to ``|X| + 1``).
- ``normalize_rows=True`` additionally scales every DLT row to unit length before weighting
  (the "normalised DLT"). This is exact for noise-free observations but changes the
  least-squares objective for noisy ones, so it is off by default (the default matches the
  reference's objective). It helps when one view's rows dwarf the others' (a point close to a
  camera's principal plane: huge pixel coordinates), where float32 accumulation otherwise loses
  the other views; such points are flagged by a small condition number either way.
- A view with weight exactly 0 contributes nothing, whatever its (even non-finite) coordinates.
  A point whose homogeneous coordinate comes out exactly 0 (all weights zero, or a point at
  infinity) gives non-finite output, like the reference.

Shapes: ``points [N, V, 2]``, ``proj [M, V, 3, 4]`` with ``M == 1`` (shared by all points),
``M == N`` (one set per point) or ``cam_index [N]`` into ``M`` (cameras shared by many points are
not copied), ``weights [N, V]`` (or ``None`` = ones); outputs ``[N, 3]`` and ``[N]``.
:func:`triangulate_triton` accepts any leading batch shape with broadcasting, like the public
``mocap_fast.triangulate``.

Importing this module imports Triton; ``TRITON_INTERPRET=1`` in the environment *before* the
first import makes the kernels run on CPU tensors under the Triton interpreter (tests do so, see
``tests/test_kernels_triton.py``). The library imports it lazily, only for CUDA tensors. The
kernels use only Triton builtins (``tl.full``, ``tl.where``, ...), none of the ``@jit`` functions
of ``triton.language.standard`` (``tl.zeros``, ``tl.sum``, ...): those are compiled-or-interpreted
once, when Triton itself is imported, so avoiding them lets the tests interpret these kernels
even when Triton was imported without the interpreter earlier in the process.
"""

from __future__ import annotations

import torch
import triton
import triton.language as tl

SWEEPS = 8  # cyclic Jacobi sweeps (6 rotations each); 4x4 converges quadratically in ~4-5
BLOCK = 128  # points per program
FLOOR_F32 = 1e-6  # float32 resolves trace-normalised eigenvalues to ~1e-7: clamp lambda_1 here
FLOOR_F64 = 1e-300  # float64: as the numba kernel


@triton.jit
def _rotate(app, aqq, apq, akp, akq, alp, alq, v0p, v0q, v1p, v1q, v2p, v2q, v3p, v3q):
    """One Jacobi rotation in the (p, q) plane of the symmetric 4x4 matrix (other indices k, l; the
    (k, l) entry is unchanged) and of the accumulated eigenvector matrix ``V`` (columns p, q).
    Same formulas as ``triangulate_numba._smallest_eigvec``; ``a_pq`` becomes 0."""
    nz = apq != 0.0
    safe = tl.where(nz, apq, 1.0)
    theta = (aqq - app) / (2.0 * safe)
    at = tl.minimum(tl.abs(theta), 1e15)  # beyond: t ~ 1 / (2 |theta|) < 5e-16, rotation ~ identity
    t = 1.0 / (at + tl.sqrt(at * at + 1.0))
    t = tl.where(theta < 0.0, -t, t)  # theta == 0 -> t = 1 (45 degrees), like numba
    t = tl.where(nz, t, 0.0)
    c = 1.0 / tl.sqrt(t * t + 1.0)
    s = t * c
    app2 = app - t * apq
    aqq2 = aqq + t * apq
    akp2 = c * akp - s * akq
    akq2 = s * akp + c * akq
    alp2 = c * alp - s * alq
    alq2 = s * alp + c * alq
    w0p = c * v0p - s * v0q
    w0q = s * v0p + c * v0q
    w1p = c * v1p - s * v1q
    w1q = s * v1p + c * v1q
    w2p = c * v2p - s * v2q
    w2q = s * v2p + c * v2q
    w3p = c * v3p - s * v3q
    w3q = s * v3p + c * v3q
    return app2, aqq2, akp2, akq2, alp2, alq2, w0p, w0q, w1p, w1q, w2p, w2q, w3p, w3q


@triton.jit
def _triangulate_kernel(
    pts_ptr, proj_ptr, cam_ptr, w_ptr, out_ptr, cond_ptr, n_points,
    V: tl.constexpr, CAM_MODE: tl.constexpr, HAS_W: tl.constexpr, STORE_COND: tl.constexpr,
    NORMALIZE_ROWS: tl.constexpr, SWEEPS: tl.constexpr, DTYPE: tl.constexpr, FLOOR: tl.constexpr,
    BLOCK: tl.constexpr,
):
    """CAM_MODE: 0 one camera set shared by all points, 1 one set per point, 2 ``cam_index`` gather."""
    pid = tl.program_id(0)
    offs = pid.to(tl.int64) * BLOCK + tl.arange(0, BLOCK)
    mask = offs < n_points
    zero = tl.full([BLOCK], 0.0, DTYPE)
    if CAM_MODE == 0:
        cam = offs * 0
    elif CAM_MODE == 1:
        cam = offs
    else:
        cam = tl.load(cam_ptr + offs, mask=mask, other=0).to(tl.int64)
    a00 = zero
    a01 = zero
    a02 = zero
    a03 = zero
    a11 = zero
    a12 = zero
    a13 = zero
    a22 = zero
    a23 = zero
    a33 = zero
    for v in tl.static_range(V):
        x = tl.load(pts_ptr + offs * (2 * V) + 2 * v, mask=mask, other=0.0).to(DTYPE)
        y = tl.load(pts_ptr + offs * (2 * V) + 2 * v + 1, mask=mask, other=0.0).to(DTYPE)
        if HAS_W:
            w = tl.load(w_ptr + offs * V + v, mask=mask, other=0.0).to(DTYPE)
        else:
            w = tl.where(mask, 1.0, 0.0).to(DTYPE)
        on = w != 0.0
        w2 = tl.where(on, w * w, 0.0)
        x = tl.where(on, x, 0.0)  # garbage (even NaN) where the weight is zero contributes nothing
        y = tl.where(on, y, 0.0)
        pb = proj_ptr + cam * (12 * V) + 12 * v
        p30 = tl.load(pb + 8, mask=mask, other=0.0).to(DTYPE)
        p31 = tl.load(pb + 9, mask=mask, other=0.0).to(DTYPE)
        p32 = tl.load(pb + 10, mask=mask, other=0.0).to(DTYPE)
        p33 = tl.load(pb + 11, mask=mask, other=0.0).to(DTYPE)
        for r in tl.static_range(2):
            if r == 0:
                coord = x
            else:
                coord = y
            r0 = coord * p30 - tl.load(pb + 4 * r + 0, mask=mask, other=0.0).to(DTYPE)
            r1 = coord * p31 - tl.load(pb + 4 * r + 1, mask=mask, other=0.0).to(DTYPE)
            r2 = coord * p32 - tl.load(pb + 4 * r + 2, mask=mask, other=0.0).to(DTYPE)
            r3 = coord * p33 - tl.load(pb + 4 * r + 3, mask=mask, other=0.0).to(DTYPE)
            ww = w2
            if NORMALIZE_ROWS:
                nrm2 = r0 * r0 + r1 * r1 + r2 * r2 + r3 * r3
                ww = tl.where(nrm2 > 0.0, w2 / tl.where(nrm2 > 0.0, nrm2, 1.0), 0.0)
            a00 += ww * r0 * r0
            a01 += ww * r0 * r1
            a02 += ww * r0 * r2
            a03 += ww * r0 * r3
            a11 += ww * r1 * r1
            a12 += ww * r1 * r2
            a13 += ww * r1 * r3
            a22 += ww * r2 * r2
            a23 += ww * r2 * r3
            a33 += ww * r3 * r3
    # uniform scaling by the trace: same eigenvectors and eigenvalue ratios, entries O(1)
    tr = a00 + a11 + a22 + a33
    inv = tl.where(tr > 0.0, 1.0 / tl.where(tr > 0.0, tr, 1.0), 1.0)
    a00 *= inv
    a01 *= inv
    a02 *= inv
    a03 *= inv
    a11 *= inv
    a12 *= inv
    a13 *= inv
    a22 *= inv
    a23 *= inv
    a33 *= inv
    one = zero + 1.0
    v00 = one
    v01 = zero
    v02 = zero
    v03 = zero
    v10 = zero
    v11 = one
    v12 = zero
    v13 = zero
    v20 = zero
    v21 = zero
    v22 = one
    v23 = zero
    v30 = zero
    v31 = zero
    v32 = zero
    v33 = one
    for _ in tl.static_range(SWEEPS):
        # (p, q) = (0, 1), others (2, 3)
        a00, a11, a02, a12, a03, a13, v00, v01, v10, v11, v20, v21, v30, v31 = _rotate(
            a00, a11, a01, a02, a12, a03, a13, v00, v01, v10, v11, v20, v21, v30, v31)
        a01 = zero
        # (0, 2), others (1, 3)
        a00, a22, a01, a12, a03, a23, v00, v02, v10, v12, v20, v22, v30, v32 = _rotate(
            a00, a22, a02, a01, a12, a03, a23, v00, v02, v10, v12, v20, v22, v30, v32)
        a02 = zero
        # (0, 3), others (1, 2)
        a00, a33, a01, a13, a02, a23, v00, v03, v10, v13, v20, v23, v30, v33 = _rotate(
            a00, a33, a03, a01, a13, a02, a23, v00, v03, v10, v13, v20, v23, v30, v33)
        a03 = zero
        # (1, 2), others (0, 3)
        a11, a22, a01, a02, a13, a23, v01, v02, v11, v12, v21, v22, v31, v32 = _rotate(
            a11, a22, a12, a01, a02, a13, a23, v01, v02, v11, v12, v21, v22, v31, v32)
        a12 = zero
        # (1, 3), others (0, 2)
        a11, a33, a01, a03, a12, a23, v01, v03, v11, v13, v21, v23, v31, v33 = _rotate(
            a11, a33, a13, a01, a03, a12, a23, v01, v03, v11, v13, v21, v23, v31, v33)
        a13 = zero
        # (2, 3), others (0, 1)
        a22, a33, a02, a03, a12, a13, v02, v03, v12, v13, v22, v23, v32, v33 = _rotate(
            a22, a33, a23, a02, a03, a12, a13, v02, v03, v12, v13, v22, v23, v32, v33)
        a23 = zero
    # smallest diagonal entry (first one on ties, like numba) and the second smallest
    lo = a00
    second = zero + 1e30  # eigenvalues are <= 1 after the trace scaling
    e0 = v00
    e1 = v10
    e2 = v20
    e3 = v30
    less = a11 < lo
    second = tl.where(less, lo, tl.minimum(second, a11))
    lo = tl.where(less, a11, lo)
    e0 = tl.where(less, v01, e0)
    e1 = tl.where(less, v11, e1)
    e2 = tl.where(less, v21, e2)
    e3 = tl.where(less, v31, e3)
    less = a22 < lo
    second = tl.where(less, lo, tl.minimum(second, a22))
    lo = tl.where(less, a22, lo)
    e0 = tl.where(less, v02, e0)
    e1 = tl.where(less, v12, e1)
    e2 = tl.where(less, v22, e2)
    e3 = tl.where(less, v32, e3)
    less = a33 < lo
    second = tl.where(less, lo, tl.minimum(second, a33))
    lo = tl.where(less, a33, lo)
    e0 = tl.where(less, v03, e0)
    e1 = tl.where(less, v13, e1)
    e2 = tl.where(less, v23, e2)
    e3 = tl.where(less, v33, e3)
    e3 = tl.where(mask, e3, 1.0)  # lanes past the end (zero matrix): no division by zero
    # a non-finite input of a weighted view gives a non-finite trace: the point comes out NaN, as
    # from the numba kernel and the reference (Jacobi would otherwise return arbitrary finite values)
    poison = tr * 0.0
    tl.store(out_ptr + offs * 3 + 0, e0 / e3 + poison, mask=mask)
    tl.store(out_ptr + offs * 3 + 1, e1 / e3 + poison, mask=mask)
    tl.store(out_ptr + offs * 3 + 2, e2 / e3 + poison, mask=mask)
    if STORE_COND:
        tl.store(cond_ptr + offs, second / tl.maximum(lo, FLOOR), mask=mask)


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    return torch.float64 if dtype == torch.float64 else torch.float32


def triangulate_triton_flat(
    points: torch.Tensor,
    proj: torch.Tensor,
    cam_index: torch.Tensor | None = None,
    weights: torch.Tensor | None = None,
    condition: bool = True,
    normalize_rows: bool = False,
) -> tuple[torch.Tensor, torch.Tensor | None]:
    """Flat launcher (mirrors ``triangulate_numba``): ``points [N, V, 2]``, ``proj [M, V, 3, 4]``,
    ``cam_index [N]`` into ``M`` or ``None`` (then ``M`` must be 1 or N), ``weights [N, V]`` or
    ``None``. All on one device (CUDA, or CPU under ``TRITON_INTERPRET=1``).

    Returns ``(X [N, 3], condition [N] or None)`` in the compute dtype (float64 for float64
    points, else float32).
    """
    if points.ndim != 3 or points.shape[-1] != 2:
        raise ValueError(f"points: expected shape (N, V, 2), got {tuple(points.shape)}")
    n, V, _ = points.shape
    if V < 2:
        raise ValueError(f"points: need at least 2 views, got V = {V}")
    if proj.ndim != 4 or proj.shape[1:] != (V, 3, 4):
        raise ValueError(f"proj: expected shape (M, {V}, 3, 4), got {tuple(proj.shape)}")
    dt = _compute_dtype(points.dtype)
    dev = points.device
    pts = points.to(dt).contiguous()
    P = proj.to(device=dev, dtype=dt).contiguous()
    m = P.shape[0]
    if cam_index is not None:
        mode, idx = 2, cam_index.to(device=dev, dtype=torch.int64).contiguous()
    elif m == 1:
        mode, idx = 0, pts  # unused pointer
    elif m == n:
        mode, idx = 1, pts
    else:
        raise ValueError(f"proj: {m} camera sets for {n} points needs cam_index")
    if weights is not None:
        if weights.shape != (n, V):
            raise ValueError(f"weights: expected shape ({n}, {V}), got {tuple(weights.shape)}")
        w = weights.to(device=dev, dtype=dt).contiguous()
    else:
        w = pts
    out = torch.empty(n, 3, dtype=dt, device=dev)
    cond = torch.empty(n if condition else 1, dtype=dt, device=dev)
    if n == 0:
        return out, (cond if condition else None)
    grid = (triton.cdiv(n, BLOCK),)
    _triangulate_kernel[grid](
        pts, P, idx, w, out, cond, n,
        V=V, CAM_MODE=mode, HAS_W=weights is not None, STORE_COND=condition,
        NORMALIZE_ROWS=normalize_rows, SWEEPS=SWEEPS,
        DTYPE=tl.float64 if dt == torch.float64 else tl.float32,
        FLOOR=FLOOR_F64 if dt == torch.float64 else FLOOR_F32, BLOCK=BLOCK,
    )
    return out, (cond if condition else None)


def triangulate_triton(
    points: torch.Tensor,
    proj: torch.Tensor,
    weights: torch.Tensor | None = None,
    condition: bool = False,
    normalize_rows: bool = False,
) -> torch.Tensor | tuple[torch.Tensor, torch.Tensor]:
    """Batched launcher: ``points [..., V, 2]``, ``proj [..., V, 3, 4]`` and ``weights [..., V]``
    (or ``None``) with leading shapes that broadcast together (as ``mocap_fast.triangulate``).

    Cameras shared across points (a broadcast ``proj``) are not copied: a single camera set is
    read by every program, otherwise a ``cam_index`` maps each point to its set.
    Returns ``X [..., 3]`` (and ``condition [...]`` if ``condition=True``) in the compute dtype.
    """
    V = points.shape[-2]
    batch = torch.broadcast_shapes(points.shape[:-2], proj.shape[:-3], *(() if weights is None else (weights.shape[:-1],)))
    n = int(torch.Size(batch).numel())
    pts = points.expand(*batch, V, 2).reshape(n, V, 2)
    cam_batch = proj.shape[:-3]
    m = int(torch.Size(cam_batch).numel())
    P = proj.reshape(m, V, 3, 4)
    if m == 1 or tuple(cam_batch) == tuple(batch):
        idx = None
    else:
        idx = torch.arange(m, device=points.device).reshape(cam_batch).expand(batch).reshape(n)
    w = None if weights is None else weights.expand(*batch, V).reshape(n, V)
    X, cond = triangulate_triton_flat(pts, P, idx, w, condition=condition, normalize_rows=normalize_rows)
    X = X.reshape(*batch, 3)
    if condition:
        return X, cond.reshape(batch)
    return X


def triangulate_flat(
    points: torch.Tensor, proj: torch.Tensor, cam_index: torch.Tensor | None = None, weights: torch.Tensor | None = None
) -> torch.Tensor:
    """The ``"triangulate"`` op of :data:`mocap_fast.backends.OPS` on CUDA (signature of
    :func:`mocap_fast.reference.triangulation.triangulate_flat`): :func:`triangulate_triton_flat`
    without condition numbers. Returns ``[N, 3]`` in the compute dtype (float64 for float64
    points, else float32)."""
    return triangulate_triton_flat(points, proj, cam_index, weights, condition=False)[0]
