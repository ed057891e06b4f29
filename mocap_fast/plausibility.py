"""After lifting: does the output look like a person standing on the ground plane?

A wrong input rarely raises anywhere: a wrong image size, wrong intrinsics, the wrong joint format
or keypoints normalised to [0, 1] still give *some* 3D motion, placed at the wrong depth and
scale. These checks catch the symptoms; each gives one line naming the likely causes.
"""

from __future__ import annotations

import torch

HEIGHT_RANGE = (1.2, 2.2)
"""Metres: plausible body heights (children below are possible: pass ``--force`` in the CLI)."""
HEAD_AND_ANKLE = 0.2
"""Metres added to the joint chain ankle..head (SMPL-22 joints) for the body height: ankle above the
soles plus head joint below the crown (0.2 matches CMU subjects of 1.45 m and 1.8 m)."""
FOOT_GROUND = 0.2
"""Metres: some foot joint must come this close to the ground at least once."""
UNDER_GROUND = 0.2
"""Metres: a pelvis this far below the ground, or a lowest joint below the ground by this much in
more than ``UNDER_FRACTION`` of the frames, is a person under the ground."""
UNDER_FRACTION = 0.1
OUTSIDE_FRACTION = 0.05
"""More than this fraction of the observed keypoints outside the camera's image (by more than 1 %
of its size) suggests a wrong image size: detectors give keypoints inside the image."""
CAUSES = ("the camera's image size", "its intrinsics (focal length, principal point)",
          "the joint format (COCO-17 vs H36M-17)", "keypoints normalised to [0, 1] instead of pixels")
_LEGS = ((1, 4), (4, 7), (2, 5), (5, 8))
_TRUNK = ((0, 3), (3, 6), (6, 9), (9, 12), (12, 15))
_FEET = (7, 8, 10, 11)


def body_height(X: torch.Tensor) -> torch.Tensor:
    """Implied body height ``[...]`` in metres of SMPL-22 joints ``X [..., T, 22, 3]``: median over
    frames of the mean leg chain plus the pelvis-to-head chain, plus ``HEAD_AND_ANKLE``."""
    bone = lambda a, b: (X[..., a, :] - X[..., b, :]).norm(dim=-1)  # noqa: E731
    legs = 0.5 * sum(bone(a, b) for a, b in _LEGS)
    trunk = sum(bone(a, b) for a, b in _TRUNK)
    return (legs + trunk).median(dim=-1).values + HEAD_AND_ANKLE


def implausible(X: torch.Tensor) -> list[str]:
    """What is wrong with one clip's world joints ``X [T, 22, 3]`` (metres, y up, ground y = 0): a list
    of short findings, empty when it looks like a person on the ground."""
    out = []
    h = float(body_height(X))
    if not HEIGHT_RANGE[0] <= h <= HEIGHT_RANGE[1]:
        out.append(f"implied body height {h:.2f} m is outside {HEIGHT_RANGE[0]}-{HEIGHT_RANGE[1]} m")
    y = X[..., 1]
    lowest_foot = float(y[:, _FEET].min())
    if lowest_foot > FOOT_GROUND:
        out.append(f"the feet never come within {FOOT_GROUND} m of the ground (lowest {lowest_foot:.2f} m)")
    under = (y[:, 0] < -UNDER_GROUND) | (y.min(-1).values < -UNDER_GROUND)
    if float(under.double().mean()) > UNDER_FRACTION:
        out.append(f"the person is under the ground in {100 * float(under.double().mean()):.0f}% of the frames "
                   f"(lowest joint {float(y.min()):.2f} m)")
    return out


def outside_image(kp: torch.Tensor, conf: torch.Tensor, image_size) -> str | None:
    """A finding when more than ``OUTSIDE_FRACTION`` of the observed keypoints ``kp [T, J, 2]``
    (pixels; observed where ``conf [T, J] > 0``) lie outside the ``image_size (W, H)`` image."""
    W, H = (float(s) for s in image_size)
    u, v = kp[..., 0], kp[..., 1]
    out = (u < -0.01 * W) | (u > 1.01 * W) | (v < -0.01 * H) | (v > 1.01 * H)
    obs = conf > 0
    frac = float((out & obs).sum()) / max(int(obs.sum()), 1)
    if frac <= OUTSIDE_FRACTION:
        return None
    return (f"{100 * frac:.0f}% of the observed keypoints lie outside the camera's {W:g}x{H:g} image "
            f"(up to u = {float(u[obs].max()):.0f}, v = {float(v[obs].max()):.0f} px)")


def warning_text(findings: list[str]) -> str:
    """One line: the findings, then the likely causes."""
    return "implausible output: " + "; ".join(findings) + ". Likely causes: " + ", ".join(CAUSES) + "."
