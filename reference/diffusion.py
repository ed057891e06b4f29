"""Diffusion pieces (DESIGN §4), plain PyTorch: cosine schedule, world-consistent noise,
forward noising and the x0-prediction posterior (DDPM ancestral) step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class Schedule:
    """Cosine noise schedule with ``num_steps`` steps (float64 tables, index = step 0..S-1).

    ``alpha_bar(s) = f(s + 1) / f(0)`` with ``f(u) = cos^2(((u / S + 0.008) / 1.008) pi / 2)`` and
    ``beta_s = min(1 - alpha_bar_s / alpha_bar_{s-1}, 0.999)`` (Nichol & Dhariwal; the hmr4d/MDM code).
    """

    betas: torch.Tensor
    alphas_cumprod: torch.Tensor
    alphas_cumprod_prev: torch.Tensor
    posterior_variance: torch.Tensor
    posterior_log_variance: torch.Tensor
    posterior_mean_coef1: torch.Tensor
    posterior_mean_coef2: torch.Tensor

    @property
    def num_steps(self) -> int:
        return int(self.betas.shape[0])


def cosine_schedule(num_steps: int = 100, max_beta: float = 0.999) -> Schedule:
    """Build the :class:`Schedule` tables for ``num_steps`` diffusion steps."""
    if num_steps < 1:
        raise ValueError(f"num_steps: must be >= 1, got {num_steps}")

    def f(u: float) -> float:
        return math.cos((u / num_steps + 0.008) / 1.008 * math.pi / 2) ** 2

    betas = torch.tensor([min(1 - f(i + 1) / f(i), max_beta) for i in range(num_steps)], dtype=torch.float64)
    alphas = 1 - betas
    ac = torch.cumprod(alphas, 0)
    ac_prev = torch.cat([torch.ones(1, dtype=torch.float64), ac[:-1]])
    post_var = betas * (1 - ac_prev) / (1 - ac)
    # step 0 has zero posterior variance; log uses the step-1 value as in improved DDPM
    post_logvar = torch.log(torch.cat([post_var[1:2], post_var[1:]])) if num_steps > 1 else torch.zeros(1, dtype=torch.float64)
    coef1 = betas * ac_prev.sqrt() / (1 - ac)
    coef2 = (1 - ac_prev) * alphas.sqrt() / (1 - ac)
    return Schedule(betas, ac, ac_prev, post_var, post_logvar, coef1, coef2)


def world_noise(
    rotations: torch.Tensor, shape: tuple[int, ...], generator: torch.Generator | None = None
) -> torch.Tensor:
    """World-consistent noise for V views (DESIGN §4).

    One 3D sample ``n ~ N(0, I3)`` per (leading index, slot) is rotated into each camera
    (``R_v n``) and its x, y kept: each view's noise is standard normal, and the views'
    noises are the projections of one 3D noise field.

    Args:
        rotations: ``[B, V, 3, 3]`` world-to-camera rotations.
        shape: ``(B, T, C)`` with C even: the per-view noise shape (C / 2 slots of 2 channels).
        generator: torch random generator (on the rotations' device) for determinism.

    Returns:
        ``[B, V, T, C]`` noise in the rotations' dtype and device.
    """
    return rotate_noise(rotations, world_noise_samples(shape, generator, rotations.dtype, rotations.device))


def rotate_noise(rotations: torch.Tensor, noise3d: torch.Tensor) -> torch.Tensor:
    """Per-view noise ``[B, V, T, C]`` from 3D samples ``noise3d [B, T, C / 2, 3]``: the x, y of
    ``R_v n`` for the world-to-camera rotations ``rotations [B, V, 3, 3]`` (dtype of ``rotations``)."""
    cam = torch.einsum("bvij,btkj->bvtki", rotations, noise3d.to(rotations.dtype))
    return cam[..., :2].flatten(-2)


def world_noise_samples(
    shape: tuple[int, ...], generator: torch.Generator | None = None, dtype: torch.dtype = torch.float32,
    device: torch.device | str | None = None,
) -> torch.Tensor:
    """The 3D standard normal samples ``[B, T, C / 2, 3]`` that :func:`world_noise` rotates into
    the views (drawn first, so fused kernels given these samples reproduce it exactly)."""
    B, T, C = shape
    if C % 2:
        raise ValueError(f"shape: channel count must be even, got {C}")
    return torch.randn(B, T, C // 2, 3, generator=generator, dtype=dtype, device=device)


def q_sample(x0: torch.Tensor, step: torch.Tensor, noise: torch.Tensor, sched: Schedule) -> torch.Tensor:
    """Noise clean samples to ``step``: ``sqrt(ab) x0 + sqrt(1 - ab) noise``.

    Args:
        x0: ``[B, ...]``; step: ``[B]`` integer steps; noise: like ``x0``.
    """
    ab = sched.alphas_cumprod.to(x0.device)[step].to(x0.dtype)
    ab = ab.view(-1, *([1] * (x0.ndim - 1)))
    return ab.sqrt() * x0 + (1 - ab).sqrt() * noise


def posterior_step(
    x_t: torch.Tensor, x0_pred: torch.Tensor, step: int, noise: torch.Tensor, sched: Schedule
) -> torch.Tensor:
    """One DDPM ancestral step for x0 prediction: sample ``x_{s-1} ~ q(x_{s-1} | x_s, x0_pred)``.

    At ``step == 0`` the posterior mean is returned without noise (it equals ``x0_pred``).

    Args:
        x_t: ``[...]`` current sample at ``step``; x0_pred: ``[...]`` model prediction;
        step: current step index; noise: ``[...]`` standard (world-consistent) noise.
    """
    c1, c2, sigma = posterior_coefficients(sched, step)
    mean = c1 * x0_pred + c2 * x_t
    if step == 0:
        return mean
    return mean + sigma * noise


def posterior_step_world(
    x_t: torch.Tensor, x0_pred: torch.Tensor, noise3d: torch.Tensor, rotations: torch.Tensor,
    c1: float, c2: float, sigma: float,
) -> torch.Tensor:
    """The ``"posterior_step"`` op of :data:`mocap_fast.backends.OPS`: :func:`posterior_step` at a
    step ``s > 0`` with coefficients ``(c1, c2, sigma)`` of :func:`posterior_coefficients` and
    world-consistent noise given as its 3D samples.

    Args:
        x_t, x0_pred: ``[B, V, T, C]``; noise3d: ``[B, T, C / 2, 3]`` from :func:`world_noise_samples`;
        rotations: ``[B, V, 3, 3]`` world-to-camera rotations.

    Returns:
        ``[B, V, T, C]`` in ``x_t``'s dtype: ``c1 x0 + c2 x_t + sigma rotate_noise(R, n)``.
    """
    mean = c1 * x0_pred + c2 * x_t
    return (mean + sigma * rotate_noise(rotations, noise3d).to(x_t.dtype)).to(x_t.dtype)


def posterior_coefficients(sched: Schedule, step: int) -> tuple[float, float, float]:
    """``(c1, c2, sigma)`` of step ``step``: posterior mean ``c1 x0 + c2 x_t``, standard deviation ``sigma``."""
    return (
        float(sched.posterior_mean_coef1[step]),
        float(sched.posterior_mean_coef2[step]),
        math.exp(0.5 * float(sched.posterior_log_variance[step])),
    )


def ddim_step(
    x_t: torch.Tensor, x0_pred: torch.Tensor, step: int, prev_step: int, noise: torch.Tensor | None, sched: Schedule, eta: float = 0.0
) -> torch.Tensor:
    """DDIM step from ``step`` to ``prev_step`` (< step; -1 means the clean sample) for x0 prediction.

    ``eps = (x_t - sqrt(ab_t) x0) / sqrt(1 - ab_t)``; ``x_prev = sqrt(ab_p) x0 + sqrt(1 - ab_p - sigma^2) eps + sigma noise``
    with ``sigma = eta sqrt((1 - ab_p) / (1 - ab_t) (1 - ab_t / ab_p))``.
    """
    ab_t = float(sched.alphas_cumprod[step])
    if prev_step < 0:
        return x0_pred
    ab_p = float(sched.alphas_cumprod[prev_step])
    eps = (x_t - math.sqrt(ab_t) * x0_pred) / math.sqrt(1 - ab_t)
    sigma = eta * math.sqrt((1 - ab_p) / (1 - ab_t) * (1 - ab_t / ab_p))
    out = math.sqrt(ab_p) * x0_pred + math.sqrt(max(1 - ab_p - sigma**2, 0.0)) * eps
    if sigma > 0 and noise is not None:
        out = out + sigma * noise
    return out
