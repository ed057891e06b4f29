"""Shared test fixtures: random well-conditioned camera rigs and motions (torch, float64)."""

from __future__ import annotations

import math

import torch

from mocap_fast.reference.camera import intrinsics, look_at


def random_rig(gen: torch.Generator, num_views: int, batch: tuple[int, ...] = (), target=None):
    """Cameras 3-8 m from ``target`` (default ~(0, 1, 0)), spread around it, looking at it.

    Returns ``(K [*batch, V, 3, 3], T_w2c [*batch, V, 4, 4], image_size [*batch, V, 2])``, float64.
    Views are spread over azimuth so every pair of rays meets at >= ~20 degrees.
    """
    shape = (*batch, num_views)
    if target is None:
        target = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64) + 0.2 * torch.randn(*batch, 1, 3, generator=gen, dtype=torch.float64)
    base = 2 * math.pi * torch.rand(*batch, 1, generator=gen, dtype=torch.float64)
    azim = base + 2 * math.pi * torch.arange(num_views, dtype=torch.float64) / num_views
    azim = azim + 0.3 * (torch.rand(shape, generator=gen, dtype=torch.float64) - 0.5)
    dist = 3 + 5 * torch.rand(shape, generator=gen, dtype=torch.float64)
    height = 0.5 + 2.5 * torch.rand(shape, generator=gen, dtype=torch.float64)
    centre = torch.stack([target[..., 0] + dist * torch.sin(azim), height, target[..., 2] + dist * torch.cos(azim)], -1)
    roll = 0.2 * (torch.rand(shape, generator=gen, dtype=torch.float64) - 0.5)
    T = look_at(centre, target.expand(*shape, 3), roll)
    f = 600 + 1000 * torch.rand(shape, generator=gen, dtype=torch.float64)
    landscape = torch.rand(shape, generator=gen) < 0.5
    W = torch.where(landscape, torch.tensor(1920.0), torch.tensor(1080.0)).double()
    H = torch.where(landscape, torch.tensor(1080.0), torch.tensor(1920.0)).double()
    K = intrinsics(f, f, W / 2, H / 2)
    return K, T, torch.stack([W, H], -1)


def points_near(gen: torch.Generator, shape: tuple[int, ...], centre=(0.0, 1.0, 0.0), spread: float = 0.8):
    """Random world points ``[*shape, 3]`` within ``spread`` metres of ``centre``."""
    c = torch.tensor(centre, dtype=torch.float64)
    return c + spread * (2 * torch.rand(*shape, 3, generator=gen, dtype=torch.float64) - 1)
