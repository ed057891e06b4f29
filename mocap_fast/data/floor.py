"""The floor a motion-capture clip was recorded on, and levelling it.

A lifter from one calibrated camera takes the ground to be the plane y = 0 of the camera's world.
Motion capture does not always agree: in CMU subject 07's walks the feet and the head rise by
about 10 cm over 4-5 m (a floor, or a capture volume, tilted by 1-2°), so a camera placed in the
clip's frame is in effect calibrated to the wrong plane, as in the evaluation's ``calib`` condition
but larger. :func:`level_floor` finds the plane of the clip's foot contacts and turns the clip so
that plane is level, which is what a user's calibration relative to their own floor gives.

The plane's slope is estimated only along horizontal directions the contacts span by at least
``min_span`` metres (a walk along a line says nothing about the slope across it), so clips that
stay in place are returned unchanged.
"""

from __future__ import annotations

import numpy as np
from scipy.spatial.transform import Rotation

from ..footlock import FOOT_JOINTS

CONTACT_SPEED = 0.3
"""m/s: the lowest foot joint of a frame is a contact when it moves slower than this."""
MIN_SPAN = 1.5
"""Metres: the least extent of the contacts along a horizontal direction to estimate the slope along it."""


def contact_points(joints: np.ndarray, fps: float = 30.0) -> np.ndarray:
    """Positions ``(n, 3)`` of each frame's lowest foot joint on the frames where it is still.

    Args:
        joints: ``(T, 22, 3)`` SMPL-22 joints, metres, y up.
        fps: frame rate in Hz.
    """
    feet = np.asarray(joints, dtype=np.float64)[:, FOOT_JOINTS]
    speed = np.linalg.norm(np.diff(feet, axis=0), axis=-1) * fps
    speed = np.concatenate([speed[:1], speed]) if len(feet) > 1 else np.zeros(feet.shape[:2])
    low = feet[..., 1].argmin(1)
    frames = np.arange(len(feet))
    return feet[frames, low][speed[frames, low] < CONTACT_SPEED]


def floor_slope(joints: np.ndarray, fps: float = 30.0, min_span: float = MIN_SPAN) -> np.ndarray:
    """Gradient ``(dy/dx, dy/dz)`` of the plane of the foot contacts (:func:`contact_points`), zero
    along horizontal directions the contacts span less than ``min_span`` metres.

    Args:
        joints: ``(T, 22, 3)`` SMPL-22 joints, metres, y up.
    """
    return _slope_of(contact_points(joints, fps), min_span)


def _slope_of(P: np.ndarray, min_span: float) -> np.ndarray:
    """:func:`floor_slope` of contact points ``P (n, 3)``."""
    if len(P) < 10:
        return np.zeros(2)
    xz = P[:, [0, 2]] - P[:, [0, 2]].mean(0)
    _, _, axes = np.linalg.svd(xz, full_matrices=False)  # rows: principal horizontal directions
    u = xz @ axes.T  # contacts in the principal frame: uncorrelated columns, so each slope fits alone
    y = P[:, 1] - P[:, 1].mean()
    span_ok = np.ptp(u, axis=0) >= min_span
    grad_u = np.where(span_ok, (u * y[:, None]).sum(0) / np.maximum((u * u).sum(0), 1e-300), 0.0)
    return axes.T @ grad_u


def level_floor(joints: np.ndarray, fps: float = 30.0, min_span: float = MIN_SPAN) -> tuple[np.ndarray, float]:
    """The clip turned so the plane of its foot contacts is level (:func:`floor_slope`).

    The rotation is about the contacts' centroid; the contacts keep their mean height.

    Args:
        joints: ``(T, 22, 3)`` SMPL-22 joints, metres, y up.

    Returns:
        ``(levelled joints (T, 22, 3) float64, tilt in degrees that was removed)``.
    """
    X = np.asarray(joints, dtype=np.float64)
    P = contact_points(X, fps)
    gx, gz = _slope_of(P, min_span)
    if gx == 0 and gz == 0:
        return X.copy(), 0.0
    normal = np.array([-gx, 1.0, -gz]) / np.sqrt(1 + gx * gx + gz * gz)
    rot, _ = Rotation.align_vectors([[0.0, 1.0, 0.0]], [normal])
    pivot = P.mean(0)
    return (X - pivot) @ rot.as_matrix().T + pivot, float(np.degrees(np.arccos(normal[1])))
