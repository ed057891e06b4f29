"""Ground anchoring: fix the depth of lifted motion with the known ground plane.

A single calibrated camera fixes each joint's ray but not its depth; the synthesized views give
a depth, and a small relative error in it (a few percent at 5-10 m) is most of the absolute
error. The world's ground plane (y = 0) is known, and people keep a foot on it most of the
time. Scaling the motion about the input camera's centre moves every joint along its own ray,
so the observed view's reprojection is unchanged; the one scale per window that makes the median
height of the lowest foot joint equal that of real motion capture is the anchor. Windows where the camera is not well above the feet (too little leverage) are left alone.
"""

from __future__ import annotations

import torch

FOOT_JOINTS = (7, 8, 10, 11)
"""SMPL-22 ankles and feet."""
CONTACT_QUANTILE = 0.5
"""Quantile over frames of the lowest foot joint's height that the anchor matches (the median:
robust to frames where the synthesized feet dip below or float above the ground)."""
CONTACT_HEIGHT = 0.0376
"""Metres: that quantile in the mocap30 train split (17,350 frames, measured once)."""
MIN_LEVER = 0.3
"""Metres: the least camera height above the feet for which the anchor is applied."""
SCALE_RANGE = (0.6, 1.6)
"""Scales outside this range are clamped: the anchor corrects depth, it does not invent it."""


def ground_anchor(joints: torch.Tensor, centre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale each motion about its camera centre so its feet meet the ground.

    Args:
        joints: ``[N, T, 22, 3]`` world joints (y up, ground y = 0), metres, any float dtype.
        centre: ``[N, 3]`` the observing camera's centre in the same frame, metres.

    Returns:
        ``(anchored [N, T, 22, 3], scale [N])``; ``scale`` is 1 where the anchor was not applied.
    """
    low = joints[..., FOOT_JOINTS, 1].amin(-1)  # [N, T]
    q = torch.quantile(low.double(), CONTACT_QUANTILE, dim=-1).to(joints.dtype)  # [N]
    cy = centre[:, 1]
    lever = cy - q
    ok = lever >= MIN_LEVER  # a camera below the feet cannot bring them down by scaling
    scale = torch.where(ok, (cy - CONTACT_HEIGHT) / torch.where(ok, lever, torch.ones_like(lever)), torch.ones_like(lever))
    scale = scale.clamp(*SCALE_RANGE)
    c = centre[:, None, None, :]
    return c + scale[:, None, None, None] * (joints - c), scale
