"""The ground cut-out baseline (DESIGN §8) that every evaluation prints beside the model.

Each frame: cast the ray through the lower observed ankle, meet the plane y = ANKLE_HEIGHT, and
place the whole 2D pose flat (fronto-parallel to the camera) at that hit's depth. Frames where
no ankle ray meets the ground hold the nearest valid frame's depth.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import torch

from ._arrays import as_tensor, like_input
from .observation import fill_missing
from .reference.camera import Camera, to_camera_frame
from .rig import ground_positions


def ground_cutout(keypoints: Any, cam: Camera, confidence: Any = None) -> Any:
    """Baseline 3D joints from SMPL-22 keypoints.

    Args:
        keypoints: ``(T, 22, 2)`` pixels of ``cam``.
        cam: the input camera.
        confidence: ``(T, 22)`` or ``None``; joints with confidence 0 or NaN take their
            :func:`~mocap_fast.observation.fill_missing` placeholder.

    Returns:
        ``(T, 22, 3)`` world joints, metres, the kind of ``keypoints``.

    Raises:
        ValueError: if no frame has an ankle whose ray meets the ground in front of the camera.
    """
    kp = as_tensor(keypoints, "keypoints", dtype=torch.float64).cpu()
    conf = torch.ones(kp.shape[:-1], dtype=torch.float64) if confidence is None else as_tensor(confidence, "confidence", dtype=torch.float64).cpu()
    conf = torch.where(torch.isnan(kp).any(-1), torch.zeros_like(conf), conf)
    kp = fill_missing(torch.nan_to_num(kp)[None], conf[None])[0]
    pos, valid = ground_positions(kp[None], conf[None], cam.K[None], cam.T_w2c[None])
    pos, valid = pos[0], valid[0]
    if not bool(valid.any()):
        raise ValueError("keypoints: no frame has an ankle whose ray meets the ground in front of the camera")
    depth = to_camera_frame(pos[:, None], cam.T_w2c)[:, 0, 2]
    t = np.arange(kp.shape[0])
    ok = valid.numpy()
    depth = torch.from_numpy(np.interp(t, t[ok], depth.numpy()[ok]))
    rays = torch.cat([kp, torch.ones_like(kp[..., :1])], -1) @ torch.linalg.inv(cam.K).T
    X_cam = rays * depth[:, None, None]
    R, tr = cam.T_w2c[:3, :3], cam.T_w2c[:3, 3]
    X = (X_cam - tr) @ R
    return like_input(X.to(kp.dtype if not isinstance(keypoints, torch.Tensor) else keypoints.dtype), keypoints)
