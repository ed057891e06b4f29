"""One skeleton per clip: constant, left/right-symmetric bone lengths fitted to lifted joints.

The lift predicts every frame's joints on their own, so its bone lengths wander from frame to
frame (and between left and right). :func:`fit_clip_skeleton` replaces them by the motion of one
skeleton: joints ``X_c = X_parent + L_bone * d_c(t)`` with one length ``L`` per bone for the whole
clip (a left bone and its right twin share it), unit directions ``d_c(t)`` and a root (pelvis)
trajectory free per frame. It minimises, with Adam (``ITERATIONS`` steps, CPU, float64; the
``"skeleton_fit"`` op of :data:`mocap_fast.backends.OPS`: a numba kernel with the gradients written
out, or the autograd loop of :mod:`mocap_fast.reference.skeleton_fit`):

* the distance to the lifted joints (``SIGMA_3D`` metres per coordinate),
* the reprojection error in the observed camera, weighted by the observation's confidence, in
  units of the observation's noise (``max(SIGMA_2D_MIN, median reprojection error of the input
  joints)`` pixels, so the fit keeps the reprojection within the noise the free lift already has),
* the height of each foot joint above its ground level (the ``footlock`` one) during the contacts
  that :func:`mocap_fast.footlock.detect_contacts` finds (``SIGMA_FOOT`` metres),
* the acceleration of every joint (``SIGMA_ACCEL`` metres per frame² at 30 fps).

The result has exactly constant bone lengths, so a BVH / glTF skeleton reproduces it exactly.

The weights trust the observed 2D much more than the lifted 3D: with one length per bone for the
clip, a bone's 2D fixes its depth up to a sign, and the lifted joints pick the sign. Chosen on the
val sets (seeds 0-2, clean 2D, MODEL_CARD.md "One skeleton per clip"): against the earlier
``SIGMA_3D = 0.03``, ``SIGMA_2D_MIN = 2``, ``SIGMA_FOOT = 0.01``, PA-MPJPE 46.0 -> 36.4 (mocap30),
36.9 -> 28.6 (cmu_more), 45.7 -> 40.2 mm (HDM05), and lower with noisy and COCO-17 input too.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch

from .backends import kernel
from .footlock import FOOT_JOINTS, _ground_levels, detect_contacts
from .joints import SMPL22
from .reference.camera import project

__all__ = ["fit_clip_skeleton", "bone_lengths", "BONE_GROUPS"]

ITERATIONS = 200
LEARNING_RATE = 0.01
SIGMA_3D = 0.1
"""Metres: how far a fitted joint may move from the lifted one for a unit cost. Loose: the lifted
joints mainly choose, for each bone, which of the two depths that its 2D and length allow."""
SIGMA_2D_MIN = 0.5
"""Pixels: the least reprojection noise assumed (the median reprojection error of the free lift
sets it when larger, as with detector noise)."""
SIGMA_FOOT = 0.05
"""Metres: the foot joints' height above their ground level during contacts."""
SIGMA_ACCEL = 0.01
"""Metres per frame² at 30 fps."""


def _bone_groups() -> tuple[list[int], int]:
    """Per child joint 1..21: index of its length parameter (left/right twins share one); and the count."""
    names = SMPL22.joint_names
    group: dict[str, int] = {}
    out = []
    for c in range(1, len(names)):
        key = names[c].replace("left_", "").replace("right_", "")
        out.append(group.setdefault(key, len(group)))
    return out, len(group)


BONE_GROUPS, N_LENGTHS = _bone_groups()
"""``BONE_GROUPS[c - 1]``: the length parameter of the bone parent -> joint ``c``."""


def bone_lengths(joints: torch.Tensor) -> torch.Tensor:
    """``[..., 21]`` length of every bone (parent -> joint ``c``, ``c = 1..21``) of ``joints [..., 22, 3]``, metres."""
    parents = torch.tensor(SMPL22.parents[1:])
    return (joints[..., 1:, :] - joints[..., parents, :]).norm(dim=-1)


def _ancestry() -> torch.Tensor:
    """``[22, 21]`` float64: 1 where bone ``c`` (parent -> joint ``c + 1``) lies on the path root -> joint ``j``."""
    A = torch.zeros(22, 21, dtype=torch.float64)
    for j in range(1, 22):
        c = j
        while c > 0:
            A[j, c - 1] = 1.0
            c = SMPL22.parents[c]
    return A


_ANCESTRY = _ancestry()


def skeleton_joints(root: torch.Tensor, dirs: torch.Tensor, log_len: torch.Tensor) -> torch.Tensor:
    """Joints ``[T, 22, 3]`` from ``root [T, 3]``, unnormalised directions ``[T, 21, 3]``, ``log_len [N_LENGTHS]``
    (float64, metres)."""
    L = log_len.exp()[BONE_GROUPS]  # [21]
    bones = L[:, None] * dirs / dirs.norm(dim=-1, keepdim=True).clamp_min(1e-9)  # [T, 21, 3]
    return root[:, None] + torch.einsum("jc,tcd->tjd", _ANCESTRY, bones)


@dataclass
class FitProblem:
    """One clip's fit: the targets, the weights and the initial parameters (all float64, CPU).

    Attributes:
        X: ``[T, 22, 3]`` lifted joints, metres.
        root: ``[T, 3]``, dirs: ``[T, 21, 3]``, log_len: ``[N_LENGTHS]``: initial parameters.
        contacts: ``[T, 4]`` 1 where foot joint ``feet[f]`` is in contact, else 0.
        ground: ``[4]`` ground level (y, metres) of each foot joint.
        accel_scale: ``(fps / 30)^2``.
        kp: ``[T, 22, 2]`` observed pixels, or None (no reprojection term; then K, T_w2c, w2 are None).
        K: ``[3, 3]`` intrinsics, pixels; T_w2c: ``[4, 4]``.
        w2: ``[T, 22]`` reprojection weights (confidence over its sum).
        sigma2: reprojection noise, pixels.
        sigma_3d, sigma_foot, sigma_accel: the other terms' scales (``SIGMA_3D``, ``SIGMA_FOOT``,
            ``SIGMA_ACCEL`` when :func:`fit_clip_skeleton` builds the problem): both Adam loops read them here.
        feet: the SMPL-22 indices of the foot joints.
    """

    X: torch.Tensor
    root: torch.Tensor
    dirs: torch.Tensor
    log_len: torch.Tensor
    contacts: torch.Tensor
    ground: torch.Tensor
    accel_scale: float
    kp: torch.Tensor | None = None
    K: torch.Tensor | None = None
    T_w2c: torch.Tensor | None = None
    w2: torch.Tensor | None = None
    sigma2: float = SIGMA_2D_MIN
    sigma_3d: float = SIGMA_3D
    sigma_foot: float = SIGMA_FOOT
    sigma_accel: float = SIGMA_ACCEL
    feet: tuple[int, ...] = FOOT_JOINTS


def fit_clip_skeleton(joints: torch.Tensor, keypoints: torch.Tensor | None = None, confidence: torch.Tensor | None = None,
                      K: torch.Tensor | None = None, T_w2c: torch.Tensor | None = None, fps: float = 30.0,
                      iterations: int = ITERATIONS, backend: str = "auto") -> torch.Tensor:
    """The motion of one skeleton per clip closest to ``joints`` (module docstring).

    Args:
        joints: ``[B, T, 22, 3]`` float64 world joints (y up, ground y = 0), metres, SMPL-22.
        keypoints: ``[B, T, 22, 2]`` observed pixels of the input camera (SMPL-22 order), or None
            (no reprojection term).
        confidence: ``[B, T, 22]`` in [0, 1] (0 = not observed); required with ``keypoints``.
        K: ``[B, 3, 3]`` intrinsics, pixels; T_w2c: ``[B, 4, 4]`` world-to-camera of the input camera.
        fps: frame rate (scales the contact speeds and the acceleration term to 30 fps).
        iterations: Adam steps.
        backend: ``"auto"``, ``"fast"`` (the numba kernel) or ``"reference"`` (autograd) for the Adam
            loop (the ``"skeleton_fit"`` op of :data:`mocap_fast.backends.OPS`).

    Returns:
        ``[B, T, 22, 3]`` float64: constant bone lengths per clip, left = right.
    """
    if joints.ndim != 4 or joints.shape[-2:] != (22, 3):
        raise ValueError(f"joints: expected shape (B, T, 22, 3), got {tuple(joints.shape)}")
    if not bool(torch.isfinite(joints).all()):
        raise ValueError("joints: non-finite values")
    out = torch.empty_like(joints, dtype=torch.float64)
    for b in range(joints.shape[0]):
        obs = None if keypoints is None else (keypoints[b].double(), confidence[b].double(), K[b].double(), T_w2c[b].double())
        out[b] = kernel("skeleton_fit", backend, joints.device)(_problem(joints[b].double(), obs, fps), iterations, LEARNING_RATE)
    return out


def _problem(X: torch.Tensor, obs, fps: float) -> FitProblem:
    """The :class:`FitProblem` of one clip's joints ``X [T, 22, 3]`` float64 (``obs``: see :func:`fit_clip_skeleton`)."""
    parents = list(SMPL22.parents[1:])
    L0 = bone_lengths(X).median(0).values  # [21]
    log_len0 = torch.zeros(N_LENGTHS, dtype=torch.float64)
    counts = torch.zeros(N_LENGTHS, dtype=torch.float64)
    idx = torch.tensor(BONE_GROUPS)
    log_len0.index_add_(0, idx, L0.clamp_min(1e-3).log())
    counts.index_add_(0, idx, torch.ones(21, dtype=torch.float64))
    contacts = torch.as_tensor(detect_contacts(X.numpy(), fps), dtype=torch.float64)  # [T, 4]
    ground = torch.as_tensor(_ground_levels(X.numpy()), dtype=torch.float64)  # [4]
    problem = FitProblem(X, X[:, 0].clone(), (X[:, 1:] - X[:, parents]).clone(), log_len0 / counts, contacts, ground,
                         (fps / 30.0) ** 2, sigma_3d=SIGMA_3D, sigma_foot=SIGMA_FOOT, sigma_accel=SIGMA_ACCEL)
    if obs is not None:
        kp, conf, K, Tw = obs
        r0 = (project(X, K, Tw) - kp).norm(dim=-1)
        seen = conf > 0
        problem.sigma2 = max(SIGMA_2D_MIN, float(r0[seen].median()) if bool(seen.any()) else SIGMA_2D_MIN)
        problem.kp, problem.K, problem.T_w2c, problem.w2 = kp, K, Tw, conf / conf.sum().clamp_min(1.0)
    return problem
