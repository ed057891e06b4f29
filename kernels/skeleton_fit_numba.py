"""The Adam loop of the one-skeleton-per-clip fit on the CPU with numba: the ``"skeleton_fit"`` op
of :data:`mocap_fast.backends.OPS` (reference: :func:`mocap_fast.reference.skeleton_fit.fit_adam`).

The same loss, gradients and Adam update as the reference, with the gradients written out instead
of autograd: forward kinematics along the SMPL-22 tree (a parent's index is below its child's),
``dLoss/dY [T, 22, 3]`` of the four terms, then back along the tree (a bone's gradient is the sum
over the joints below it), through the normalisation of the directions and the exponential of the
lengths. Everything float64, one serial loop per iteration (the clip is small: the cost the
reference pays is per-op overhead, not arithmetic).
"""

from __future__ import annotations

import math

import numpy as np
import torch
from numba import njit

from mocap_fast.joints import SMPL22
from mocap_fast.skeleton_fit import BONE_GROUPS, FitProblem

BETA1, BETA2, ADAM_EPS = 0.9, 0.999, 1e-8
"""``torch.optim.Adam`` defaults, as the reference uses them."""
NORM_MIN = 1e-9
"""Directions shorter than this are divided by it (the reference's ``clamp_min``)."""
DEPTH_MIN = 1e-9
"""Camera depths below this are clamped to it (``project``'s ``eps``)."""


def fit_adam(problem: FitProblem, iterations: int, lr: float) -> torch.Tensor:
    """Same arguments and result as :func:`mocap_fast.reference.skeleton_fit.fit_adam`:
    ``[T, 22, 3]`` float64 joints, metres."""
    p = problem
    has_obs = p.kp is not None
    T = p.X.shape[0]
    # the weights travel as arguments, not as compiled-in globals: a cached compilation never keeps old ones
    f64 = lambda t, shape: np.ascontiguousarray(t.detach().double().numpy()) if t is not None else np.zeros(shape)  # noqa: E731
    Y = _fit(
        f64(p.X, None), f64(p.root, None), f64(p.dirs, None), f64(p.log_len, None),
        np.asarray(SMPL22.parents, dtype=np.int64), np.asarray(BONE_GROUPS, dtype=np.int64), np.asarray(p.feet, dtype=np.int64),
        f64(p.contacts, None), f64(p.ground, None), float(p.accel_scale), has_obs,
        f64(p.kp, (T, 22, 2)), f64(p.K, (3, 3)), f64(p.T_w2c, (4, 4)), f64(p.w2, (T, 22)), float(p.sigma2),
        int(iterations), float(lr), float(p.sigma_3d), float(p.sigma_foot), float(p.sigma_accel),
    )
    return torch.from_numpy(Y)


@njit(cache=True)
def _joints(root, dirs, L, parents, Y, U, N):
    """Forward kinematics: fills joints ``Y [T, 22, 3]``, unit directions ``U [T, 21, 3]`` and the
    direction norms ``N [T, 21]`` (before the clamp); ``L [21]`` bone lengths."""
    for t in range(Y.shape[0]):
        for d in range(3):
            Y[t, 0, d] = root[t, d]
        for c in range(dirs.shape[1]):
            j = c + 1
            N[t, c] = math.sqrt(dirs[t, c, 0] ** 2 + dirs[t, c, 1] ** 2 + dirs[t, c, 2] ** 2)
            n = max(N[t, c], NORM_MIN)
            for d in range(3):
                U[t, c, d] = dirs[t, c, d] / n
                Y[t, j, d] = Y[t, parents[j], d] + L[c] * U[t, c, d]


@njit(cache=True)
def _adam(p, g, m, v, k, lr):
    """One ``torch.optim.Adam`` step (``k``-th, 1-based) of the flat parameter ``p`` with gradient ``g``."""
    bc1 = 1.0 - BETA1**k
    bc2_sqrt = math.sqrt(1.0 - BETA2**k)
    step = lr / bc1
    for i in range(p.size):
        m[i] += (g[i] - m[i]) * (1.0 - BETA1)
        v[i] = BETA2 * v[i] + (1.0 - BETA2) * g[i] * g[i]
        p[i] -= step * m[i] / (math.sqrt(v[i]) / bc2_sqrt + ADAM_EPS)


@njit(cache=True)
def _fit(X, root, dirs, log_len, parents, groups, feet, contacts, ground, accel_scale, has_obs, kp, K, Tw, w2, sigma2,
         iterations, lr0, sigma_3d, sigma_foot, sigma_accel):
    T, J = X.shape[0], X.shape[1]
    B = dirs.shape[1]
    root, dirs, log_len = root.copy(), dirs.copy(), log_len.copy()
    Y = np.empty((T, J, 3))
    U = np.empty((T, B, 3))
    N = np.empty((T, B))
    L = np.empty(B)
    gY = np.empty((T, J, 3))
    g_root = np.empty((T, 3))
    g_dirs = np.empty((T, B, 3))
    g_len = np.empty(log_len.size)
    acc = np.empty((J, 3))
    m_root, v_root = np.zeros(root.size), np.zeros(root.size)  # Adam's moments
    m_dirs, v_dirs = np.zeros(dirs.size), np.zeros(dirs.size)
    m_len, v_len = np.zeros(log_len.size), np.zeros(log_len.size)
    cam = np.empty(3)
    n_contact = max(contacts.sum(), 1.0)
    c3 = 2.0 / (T * J) / sigma_3d**2
    c2 = 2.0 / sigma2**2
    cf = 2.0 / n_contact / sigma_foot**2
    ca = 2.0 / (max(T - 2, 1) * J) / sigma_accel**2 * accel_scale * accel_scale
    for it in range(iterations):
        for c in range(B):
            L[c] = math.exp(log_len[groups[c]])
        _joints(root, dirs, L, parents, Y, U, N)
        # dLoss/dY of the four terms
        for t in range(T):
            for j in range(J):
                for d in range(3):
                    gY[t, j, d] = c3 * (Y[t, j, d] - X[t, j, d])
        if has_obs:
            for t in range(T):
                for j in range(J):
                    for r in range(3):
                        cam[r] = Tw[r, 0] * Y[t, j, 0] + Tw[r, 1] * Y[t, j, 1] + Tw[r, 2] * Y[t, j, 2] + Tw[r, 3]
                    z = max(cam[2], DEPTH_MIN)
                    u, v = cam[0] / z, cam[1] / z
                    w = c2 * w2[t, j]
                    gx = w * (K[0, 0] * u + K[0, 1] * v + K[0, 2] - kp[t, j, 0])
                    gy = w * (K[1, 0] * u + K[1, 1] * v + K[1, 2] - kp[t, j, 1])
                    gu = K[0, 0] * gx + K[1, 0] * gy
                    gv = K[0, 1] * gx + K[1, 1] * gy
                    gc0, gc1 = gu / z, gv / z
                    gc2 = -(gu * cam[0] + gv * cam[1]) / (z * z) if cam[2] >= DEPTH_MIN else 0.0
                    for d in range(3):
                        gY[t, j, d] += Tw[0, d] * gc0 + Tw[1, d] * gc1 + Tw[2, d] * gc2
        for t in range(T):
            for f in range(feet.size):
                gY[t, feet[f], 1] += cf * contacts[t, f] * (Y[t, feet[f], 1] - ground[f])
        if T >= 3:
            for t in range(T - 2):
                for j in range(J):
                    for d in range(3):
                        g = ca * (Y[t + 2, j, d] - 2.0 * Y[t + 1, j, d] + Y[t, j, d])
                        gY[t + 2, j, d] += g
                        gY[t + 1, j, d] -= 2.0 * g
                        gY[t, j, d] += g
        # back along the tree: a bone's gradient sums the joints below it
        g_len[:] = 0.0
        for t in range(T):
            acc[:, :] = gY[t]
            for j in range(J - 1, 0, -1):
                c = j - 1
                for d in range(3):
                    acc[parents[j], d] += acc[j, d]
                dot = acc[j, 0] * U[t, c, 0] + acc[j, 1] * U[t, c, 1] + acc[j, 2] * U[t, c, 2]
                g_len[groups[c]] += dot * L[c]
                unclamped = N[t, c] >= NORM_MIN  # else the norm is a constant: no radial term
                for d in range(3):
                    radial = U[t, c, d] * dot if unclamped else 0.0
                    g_dirs[t, c, d] = L[c] * (acc[j, d] - radial) / max(N[t, c], NORM_MIN)
            for d in range(3):
                g_root[t, d] = acc[0, d]
        lr = lr0 * (1.0 + math.cos(math.pi * it / iterations)) / 2.0
        _adam(root.reshape(-1), g_root.reshape(-1), m_root, v_root, it + 1, lr)
        _adam(dirs.reshape(-1), g_dirs.reshape(-1), m_dirs, v_dirs, it + 1, lr)
        _adam(log_len, g_len, m_len, v_len, it + 1, lr)
    for c in range(B):
        L[c] = math.exp(log_len[groups[c]])
    _joints(root, dirs, L, parents, Y, U, N)
    return Y
