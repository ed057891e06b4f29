"""Tell COCO-17 from H36M-17 keypoints by their geometry (same joint count, different order).

Two cues, both in the image, per frame, then the median over the frames that observe the joints:

- ``face``: the largest distance from joint 0 to joints 1-4, over the frame's keypoint bounding-box
  diagonal. COCO: nose to eyes and ears, a face (about 0.05). H36M: pelvis to right hip, knee,
  ankle and left hip, half a leg (about 0.4, still above 0.3 sitting).
- ``above``: the distance from joint 0 to the hips' midpoint over the shoulders' midpoint's
  distance to it, hips and shoulders as COCO numbers them (11/12, 5/6). COCO: the nose lies above
  the shoulders, farther from the hips than they are (about 1.4). H36M read as COCO: joint 0 is the
  pelvis, "hips" are the left shoulder and elbow, "shoulders" the left knee and ankle (about 0.4).

``face`` decides (measured on mocap30 clips under 300 random cameras: COCO 0.05-0.11, H36M
0.34-0.69); inside its undecided band ``above`` decides (COCO 0.94-1.49, H36M 0.10-0.61, one
H36M climbing clip seen at 1.03, hence not alone); otherwise the caller must name the layout.
"""

from __future__ import annotations

import numpy as np

FACE_BAND = (0.15, 0.3)
"""``face`` below = COCO (a face around joint 0), above = H36M (legs around joint 0), inside: undecided."""
ABOVE_BAND = (0.7, 1.0)
"""``above`` beyond = COCO (joint 0 farther from the hips than the shoulders), below = H36M."""
MIN_SIZE = 1.0
"""Pixels: frames whose keypoints span less (a collapsed detection) are ignored."""
MIN_FRAMES = 3
"""Fewer frames observing the cues' joints leave the layout undecided."""


def layout_cues(keypoints, confidence=None) -> tuple[float, float, int]:
    """``(face, above, n_frames)`` of 17-joint ``keypoints (T, 17, 2)`` pixels (NaN / confidence 0 =
    missing), medians over the ``n_frames`` frames that observe joints 0-6 and 11-12 on a person of at
    least ``MIN_SIZE`` pixels; NaN when none."""
    kp = np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[1:] != (17, 2):
        raise ValueError(f"keypoints: expected shape (T, 17, 2), got {kp.shape}")
    ok = np.isfinite(kp).all(-1)
    if confidence is not None:
        ok &= np.nan_to_num(np.asarray(confidence, dtype=np.float64), nan=0.0) > 0
    need = [0, 1, 2, 3, 4, 5, 6, 11, 12]
    frames = ok[:, need].all(-1)
    k = np.where(ok[..., None], kp, np.nan)[frames]
    if len(k):
        diag = np.linalg.norm(np.nanmax(k, axis=1) - np.nanmin(k, axis=1), axis=-1)
        k, diag = k[diag >= MIN_SIZE], diag[diag >= MIN_SIZE]
    if len(k) == 0:
        return float("nan"), float("nan"), 0
    face = np.linalg.norm(k[:, 1:5] - k[:, :1], axis=-1).max(-1) / diag
    hip = 0.5 * (k[:, 11] + k[:, 12])
    sho = 0.5 * (k[:, 5] + k[:, 6])
    above = np.linalg.norm(k[:, 0] - hip, axis=-1) / np.maximum(np.linalg.norm(sho - hip, axis=-1), 1e-9)
    return float(np.median(face)), float(np.median(above)), int(len(k))


def detect_17(keypoints, confidence=None) -> str | None:
    """``"coco17"`` or ``"h36m17"`` for 17-joint ``keypoints (T, 17, 2)`` by the cues of the module
    docstring, else ``None`` (undecided: too few observed frames, or both cues in their bands)."""
    face, above, n = layout_cues(keypoints, confidence)
    if n < MIN_FRAMES:
        return None
    if face < FACE_BAND[0] or face > FACE_BAND[1]:
        return "coco17" if face < FACE_BAND[0] else "h36m17"
    if above > ABOVE_BAND[1] or above < ABOVE_BAND[0]:
        return "coco17" if above > ABOVE_BAND[1] else "h36m17"
    return None


def resolve_auto(keypoints, confidence=None) -> str:
    """The layout of ``keypoints (T, J, 2)`` for ``joint_format="auto"``: 22 joints -> ``"smpl22"``,
    17 -> :func:`detect_17`. ``ValueError`` naming ``joint_format`` when it cannot be told."""
    J = np.shape(keypoints)[-2]
    if J == 22:
        return "smpl22"
    if J != 17:
        raise ValueError(f"joint_format: 'auto' knows 22 (smpl22) and 17 (coco17 / h36m17) joints, got {J}")
    fmt = detect_17(keypoints, confidence)
    if fmt is None:
        face, above, n = layout_cues(keypoints, confidence)
        raise ValueError(
            f"joint_format: cannot tell COCO-17 from H36M-17 by geometry ({n} usable frames, face {face:.2f}, "
            f"above {above:.2f}); name it: joint_format='coco17' or 'h36m17' (CLI --format)"
        )
    return fmt
