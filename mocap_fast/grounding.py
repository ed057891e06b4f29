"""Ground anchoring: fix the depth of lifted motion with the known ground plane.

A single calibrated camera fixes each joint's ray but not its depth; the synthesized views give
a depth, and a small relative error in it (a few percent at 5-10 m) is most of the absolute
error. The world's ground plane (y = 0) is known, and people keep a foot on it most of the
time. Scaling the motion about the input camera's centre moves every joint along its own ray,
so the observed view's reprojection is unchanged; the one scale per window that makes the median
height of the lowest foot joint equal that of real motion capture is the anchor
(:func:`ground_anchor`). Windows where the camera is not well above the feet (too little
leverage) are left alone.

After the windows are blended, :func:`smooth_ground_anchor` refines the depth per frame: the
scale that puts each frame's lowest foot joint at the contact height, filtered over time by a
running median (``MEDIAN_FRAMES``: frames with both feet off the ground do not pull the body down)
and a Hann window (``SMOOTH_FRAMES``: no added acceleration). Then :func:`ray_ground_anchor`
blends each frame's depth with the two depths that the observed lower ankle's ray gives (the ray
meeting the ground is independent of the synthesized depth, so the blend averages two kinds of
error). Measured effects: MODEL_CARD.md ("Ground anchoring").
"""

from __future__ import annotations

import numpy as np
import torch
from scipy.ndimage import convolve1d, median_filter

from .footlock import FOOT_JOINTS
from .rig import ANKLE_HEIGHT, camera_centre, lower_ankle, ray_plane_hits
CONTACT_QUANTILE = 0.5
"""Quantile over frames of the lowest foot joint's height that the anchor matches (the median:
robust to frames where the synthesized feet dip below or float above the ground)."""
CONTACT_HEIGHT = 0.0333
"""Metres: that quantile over the frames of the train splits the packaged model learned from
(mocap30, cmu_more, hdm05: 58,248 frames; mocap30 alone 3.76 cm, hdm05 alone 1.40 cm: the labs place
the foot joints differently). Measured by ``python bench/contact_height.py``."""
MIN_LEVER = 0.3
"""Metres: the least camera height above the feet for which the anchor is applied."""
SCALE_RANGE = (0.6, 1.6)
"""Scales outside this range are clamped: the anchor corrects depth, it does not invent it."""
RAY_WEIGHTS = (0.3, 0.2)
"""Weights in :func:`ray_ground_anchor` of the two depths the lower ankle's ray gives (the lifted
ankle on the ground, the whole body at that depth); the lifted depth keeps the rest (0.5). Chosen
from a grid of eight by the mean Abs-MPJPE over the three val splits (mocap30, cmu_more, hdm05;
seed 0, clean 2D, 10 DDIM steps): MODEL_CARD.md "Ground anchoring"."""
MEDIAN_FRAMES = 31
"""Frames (at 30 fps: about 1 s) of the running median of the per-frame scale."""
SMOOTH_FRAMES = 15
"""Frames (about 0.5 s) of the Hann window smoothing the median-filtered scale."""


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


def smooth_ground_anchor(joints: torch.Tensor, centre: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Scale each frame about its camera centre so the feet meet the ground, smoothly over time.

    Per frame ``t`` the scale ``k_t = (c_y - CONTACT_HEIGHT) / (c_y - low_t)`` puts the lowest foot
    joint at the contact height (``k_t = 1`` where the camera is less than ``MIN_LEVER`` above the
    feet); ``k`` is then running-median filtered over ``MEDIAN_FRAMES``, smoothed with a Hann window
    of ``SMOOTH_FRAMES`` (edges replicated) and clamped to ``SCALE_RANGE``.

    Args:
        joints: ``[N, T, 22, 3]`` world joints (y up, ground y = 0) at 30 fps, metres.
        centre: ``[N, 3]`` the observing camera's centre, metres.

    Returns:
        ``(anchored [N, T, 22, 3], scale [N, T])``.
    """
    N, T = joints.shape[:2]
    low = joints[..., FOOT_JOINTS, 1].amin(-1)  # [N, T]
    cy = centre[:, 1:2]
    lever = cy - low
    ok = lever >= MIN_LEVER
    k = torch.where(ok, (cy - CONTACT_HEIGHT) / torch.where(ok, lever, torch.ones_like(lever)), torch.ones_like(lever))
    k = _filtered_scale(k.detach().cpu().double().numpy()).to(joints)
    c = centre[:, None, None, :]
    return c + k[..., None, None] * (joints - c), k


def _filtered_scale(k: np.ndarray) -> torch.Tensor:
    """Per-frame scales ``k [N, T]``: running median over ``MEDIAN_FRAMES``, Hann window of
    ``SMOOTH_FRAMES`` (edges replicated), clamped to ``SCALE_RANGE``; float64."""
    k = median_filter(k, size=(1, MEDIAN_FRAMES), mode="nearest")
    hann = torch.hann_window(SMOOTH_FRAMES + 2, periodic=False, dtype=torch.float64)[1:-1].numpy()
    return torch.from_numpy(convolve1d(k, hann / hann.sum(), axis=1, mode="nearest")).clamp(*SCALE_RANGE)


def ray_ground_anchor(
    joints: torch.Tensor, keypoints: torch.Tensor, confidence: torch.Tensor, K: torch.Tensor, T_w2c: torch.Tensor
) -> tuple[torch.Tensor, torch.Tensor]:
    """Blend each frame's depth with the depths that the observed lower ankle's ray gives.

    The ray through the ankle lowest in the image meets the plane y = ``ANKLE_HEIGHT`` at depth
    ``z_hit`` (the flat cut-out of DESIGN §8 stands there). Two scales about the camera centre follow:
    ``z_hit / z_ankle`` puts the lifted copy of that ankle on the ground, ``z_hit / z_root`` puts the
    lifted pelvis at that depth. Their errors (a foot off the ground, a body not vertical) differ
    from the lifted depth's (a limb's depth off along its ray), so the blend
    ``k = 1 + w_a (k_ankle - 1) + w_r (k_root - 1)`` (:data:`RAY_WEIGHTS`) beats each alone. Frames
    with no usable ray take the nearest frames' scale; ``k`` is running-median and Hann filtered like
    :func:`smooth_ground_anchor` and clamped to ``SCALE_RANGE``. Scaling about the camera centre moves
    every joint along its own ray: the observed view's reprojection is unchanged.

    Args:
        joints: ``[N, T, 22, 3]`` world joints (y up, ground y = 0) at 30 fps, metres, float64.
        keypoints: ``[N, T, 22, 2]`` SMPL-22 pixels of the observing camera; confidence ``[N, T, 22]``.
        K: ``[N, 3, 3]``; T_w2c: ``[N, 4, 4]`` the observing camera.

    Returns:
        ``(anchored [N, T, 22, 3], scale [N, T])``.
    """
    pix, seen, joint = lower_ankle(keypoints.to(joints), confidence.to(joints))
    hits, valid = ray_plane_hits(pix, K.to(joints), T_w2c.to(joints), ANKLE_HEIGHT)  # [N, T, 3]
    R, t = T_w2c[:, None, :3, :3].to(joints), T_w2c[:, None, :3, 3].to(joints)
    depth = lambda P: (P @ R.transpose(-1, -2) + t[:, :, None])[..., 2]  # noqa: E731  [N, T, k] camera z
    z_hit = depth(hits[:, :, None])[..., 0]
    z = depth(joints)  # [N, T, 22]
    z_ankle = torch.gather(z, 2, joint[..., None])[..., 0]
    ok = valid & seen & (z_hit > 0) & (z_ankle > 0) & (z[..., 0] > 0)
    w_a, w_r = RAY_WEIGHTS
    k = 1 + w_a * (z_hit / z_ankle - 1) + w_r * (z_hit / z[..., 0] - 1)
    k = torch.where(ok, k, torch.nan).detach().cpu().double().numpy()
    frames = np.arange(k.shape[1])
    for row, good in zip(k, ok.cpu().numpy()):
        row[:] = np.interp(frames, frames[good], row[good]) if good.any() else 1.0
    k = _filtered_scale(k).to(joints)
    c = camera_centre(T_w2c.to(joints))[:, None, None, :]
    return c + k[..., None, None] * (joints - c), k
