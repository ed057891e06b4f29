"""The Adam loop of the one-skeleton-per-clip fit (:mod:`mocap_fast.skeleton_fit`) with autograd:
the reference of ``kernels/skeleton_fit_numba.py``."""

from __future__ import annotations

import torch

from mocap_fast.skeleton_fit import FitProblem, skeleton_joints

from .camera import project


def fit_adam(problem: FitProblem, iterations: int, lr: float) -> torch.Tensor:
    """The ``"skeleton_fit"`` op of :data:`mocap_fast.backends.OPS`: ``iterations`` Adam steps
    (PyTorch defaults, learning rate ``lr`` annealed to 0 on a cosine) on the root, the bone
    directions and the log bone lengths of ``problem`` (its initial values are not modified).

    Returns:
        ``[T, 22, 3]`` float64 joints of the fitted skeleton, metres.
    """
    p = problem
    X, T = p.X, p.X.shape[0]
    root, dirs, log_len = (v.clone().requires_grad_(True) for v in (p.root, p.dirs, p.log_len))
    n_contact = p.contacts.sum().clamp_min(1.0)
    feet = list(p.feet)
    opt = torch.optim.Adam([root, dirs, log_len], lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, max(1, iterations))  # ends at lr 0: no Adam jitter
    for _ in range(iterations):
        opt.zero_grad()
        Y = skeleton_joints(root, dirs, log_len)
        loss = ((Y - X) ** 2).sum(-1).mean() / p.sigma_3d**2
        if p.kp is not None:
            r2 = ((project(Y, p.K, p.T_w2c) - p.kp) ** 2).sum(-1) / p.sigma2**2
            loss = loss + (p.w2 * r2).sum()
        h = Y[:, feet, 1] - p.ground
        loss = loss + (p.contacts * h**2).sum() / n_contact / p.sigma_foot**2
        if T >= 3:
            acc = (Y[2:] - 2 * Y[1:-1] + Y[:-2]) * p.accel_scale
            loss = loss + (acc**2).sum(-1).mean() / p.sigma_accel**2
        loss.backward()
        opt.step()
        sched.step()
    with torch.no_grad():
        return skeleton_joints(root, dirs, log_len)
