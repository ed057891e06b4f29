"""The decoupled 2D motion representation (DESIGN §2), plain PyTorch.

Per view and frame, J canvas-normalised 2D joints ``g`` (root = joint 0) become the vector
``[g_0 (2), l_1 .. l_{J-1} (2 (J-1)), w, w]``: 2 J + 2 channels, 46 for SMPL-22.

- Root-centred box: ``e = max_j |g_j - g_0|`` per axis; side ``S = 1.2 max(2 e_x, 2 e_y)``
  (normalised units, i.e. ``2 S_px / W``; per frame, not smoothed).
- Local joints ``l_j = 2 (g_j - g_0) / S`` in [-1/1.2, 1/1.2]; scale slot ``w = S - 1``
  (equal to the paper's ``2 S_px / W - 1``).
- Decode: ``g_j = l_j (w + 1) / 2 + g_0``, ``w`` = mean of the two scale slots.

Encode then decode is exact up to float rounding. A box of zero size (all joints on the root)
is clamped to ``MIN_BOX`` so nothing divides by zero.
"""

from __future__ import annotations

import torch

BOX_MARGIN = 1.2
MIN_BOX = 1e-4


def channels(num_joints: int) -> int:
    """Number of channels of a frame vector for ``num_joints`` joints: ``2 J + 2``."""
    return 2 * num_joints + 2


def box_side(g: torch.Tensor) -> torch.Tensor:
    """Side ``S`` of the root-centred square box, normalised units: ``[..., J, 2]`` -> ``[...]``."""
    ext = (g[..., 1:, :] - g[..., :1, :]).abs().amax(dim=-2)
    return (BOX_MARGIN * 2 * ext.amax(dim=-1)).clamp_min(MIN_BOX)


def encode(g: torch.Tensor) -> torch.Tensor:
    """Canvas-normalised joints ``[..., J, 2]`` to frame vectors ``[..., 2 J + 2]``."""
    S = box_side(g)
    local = 2 * (g[..., 1:, :] - g[..., :1, :]) / S[..., None, None]
    w = (S - 1)[..., None]
    return torch.cat([g[..., 0, :], local.flatten(-2), w, w], dim=-1)


def decode(x: torch.Tensor) -> torch.Tensor:
    """Frame vectors ``[..., 2 J + 2]`` to canvas-normalised joints ``[..., J, 2]``."""
    num_joints = (x.shape[-1] - 2) // 2
    root = x[..., :2]
    local = x[..., 2 : 2 * num_joints].unflatten(-1, (num_joints - 1, 2))
    w = x[..., -2:].mean(dim=-1)
    g = local * ((w + 1) / 2)[..., None, None] + root[..., None, :]
    return torch.cat([root[..., None, :], g], dim=-2)


class Standardizer:
    """Per-channel standardisation ``(x - mean) / std`` with stored statistics.

    Args:
        mean: ``[C]`` channel means.
        std: ``[C]`` channel standard deviations (> 0; clamped to ``min_std``).
    """

    def __init__(self, mean: torch.Tensor, std: torch.Tensor, min_std: float = 1e-3):
        if mean.shape != std.shape or mean.ndim != 1:
            raise ValueError(f"std: expected the shape of mean (C,), got mean {tuple(mean.shape)}, std {tuple(std.shape)}")
        self.mean = mean
        self.std = std.clamp_min(min_std)

    @classmethod
    def fit(cls, x: torch.Tensor) -> "Standardizer":
        """Statistics of frame vectors ``[..., C]`` (float64 accumulation)."""
        flat = x.reshape(-1, x.shape[-1]).double()
        return cls(flat.mean(0).float(), flat.std(0).float())

    @classmethod
    def identity(cls, num_channels: int) -> "Standardizer":
        """Mean 0, std 1: standardisation does nothing."""
        return cls(torch.zeros(num_channels), torch.ones(num_channels))

    def to(self, device: torch.device | str, dtype: torch.dtype = torch.float32) -> "Standardizer":
        out = Standardizer.__new__(Standardizer)
        out.mean = self.mean.to(device, dtype)
        out.std = self.std.to(device, dtype)
        return out

    def standardize(self, x: torch.Tensor) -> torch.Tensor:
        """``[..., C]`` raw frame vectors to standardised ones."""
        return (x - self.mean) / self.std

    def destandardize(self, z: torch.Tensor) -> torch.Tensor:
        """``[..., C]`` standardised vectors back to raw frame vectors."""
        return z * self.std + self.mean
