"""Foot locking: detect foot contacts in lifted motion and remove foot sliding during them.

A monocular lift often lets planted feet drift a few millimetres per frame (root drift, depth
noise). :func:`foot_lock` is a post-process on SMPL-22 world joints (metres, y up, ground y = 0)
that needs nothing but the motion itself:

1. **Contacts** (:func:`detect_contacts`), per foot joint (7 left_ankle, 8 right_ankle,
   10 left_foot, 11 right_foot): a joint is in contact when it is low (height above its own
   ground level -- the 5th percentile of its height over the clip, clamped to >= 0 -- below
   ``height``) *and* slow (smoothed 3D speed below ``speed`` m/s; given the observed 2D and its
   camera, the smaller of that and the speed of the point where the joint's ray meets its ground
   level, :func:`ray_ground_speed`, which stays still for a planted foot even when the lifted foot
   slides along its ray). Hysteresis: a contact starts
   when both hold and ends only when the height exceeds ``height * hysteresis`` or the speed
   exceeds ``speed * hysteresis``; contacts shorter than ``min_frames`` are dropped.
2. **Targets**: during each contact segment the joint is pinned to one point: the median of its
   horizontal (x, z) position over the segment and, with ``pin_height``, its ground level
   (median height over all its contact frames, clamped to >= 0 so feet never sink into the floor).
3. **Blending**: the offset ``target - joint`` applies fully inside a contact and fades out
   with a raised-cosine over ``blend`` seconds before and after it, so nothing jumps.
4. **Distribution**: a share ``root_share`` of the legs' (horizontal) corrections moves the whole
   body (root translation; legs in contact are weighted by their blend weight), plus whatever
   a leg cannot reach without overstretching. The rest is absorbed by two-bone IK of the leg
   (hip fixed, thigh and shin lengths kept, knee kept in the plane of the original knee bend);
   the toe joint is placed on its target at its original distance from the ankle.

Default thresholds (8 cm, 0.8 m/s) were chosen on lifted val-split motion, where planted feet
drift by up to ~0.5 m/s; the stricter 3.5 cm / 0.3 m/s found few of those contacts. Measured
effect: MODEL_CARD.md.

Frames more than ``blend`` seconds from every contact are returned unchanged. Inside contacts
the upper body moves by the root correction (``root_share`` of the foot correction).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from scipy.ndimage import gaussian_filter1d
import torch

from ._arrays import as_tensor
from .rig import ray_plane_hits

__all__ = ["FOOT_JOINTS", "detect_contacts", "foot_lock", "ray_ground_speed"]

FOOT_JOINTS = (7, 8, 10, 11)
"""SMPL-22 joints examined for contact: left_ankle, right_ankle, left_foot, right_foot."""
_LEGS = ((1, 4, 7, 10), (2, 5, 8, 11))  # (hip, knee, ankle, foot) left, right


def _to_numpy(joints: Any, name: str = "joints") -> np.ndarray:
    if isinstance(joints, torch.Tensor):
        X = joints.detach().cpu().double().numpy()
    else:
        X = np.asarray(joints, dtype=np.float64)
    if X.ndim != 3 or X.shape[1:] != (22, 3):
        raise ValueError(f"{name}: expected shape (T, 22, 3), got {tuple(X.shape)}")
    if X.shape[0] < 2:
        raise ValueError(f"{name}: need at least 2 frames, got {X.shape[0]}")
    if not np.isfinite(X).all():
        raise ValueError(f"{name}: contains non-finite values")
    return X


def _like(out: np.ndarray, ref: Any, dtype=None):
    if isinstance(ref, torch.Tensor):
        return torch.as_tensor(out, dtype=ref.dtype if dtype is None else dtype, device=ref.device)
    return out if dtype is None else out.astype(dtype)


def _runs(mask: np.ndarray) -> list[tuple[int, int]]:
    """``[(start, end_exclusive)]`` of the True runs of a 1D bool array."""
    d = np.diff(np.concatenate([[0], mask.astype(np.int8), [0]]))
    return list(zip(np.flatnonzero(d == 1), np.flatnonzero(d == -1)))


def _ground_levels(X: np.ndarray) -> np.ndarray:
    """``(4,)`` per foot joint: 5th percentile of its height, clamped to >= 0."""
    return np.maximum(np.quantile(X[:, FOOT_JOINTS, 1], 0.05, axis=0), 0.0)


def detect_contacts(
    joints: Any,
    fps: float = 30.0,
    height: float = 0.08,
    speed: float = 0.8,
    hysteresis: float = 1.5,
    min_frames: int = 3,
    *,
    keypoints: Any = None,
    camera: Any = None,
    confidence: Any = None,
) -> Any:
    """Foot contacts of a motion, from height above ground and speed, with hysteresis.

    With the observation (``keypoints`` and ``camera``) a joint's speed is the smaller of its 3D
    speed and :func:`ray_ground_speed`: a planted foot stands still in the image, so the point
    where its ray meets the ground stands still too, even when the lifted foot slides along its
    ray (a person walking towards or away from the camera: the lifted depth is smooth over time
    while the feet step).

    Args:
        joints: ``(T, 22, 3)`` SMPL-22 world joints, metres, y up, ground y = 0.
        fps: frame rate (for the speed in m/s).
        height: a joint may start a contact when it is less than this (m) above its ground level.
        speed: ... and its smoothed speed is below this (m/s).
        hysteresis: a contact ends when height or speed exceeds ``hysteresis`` times its threshold.
        min_frames: shorter contacts are dropped.
        keypoints: optional ``(T, 22, 2)`` SMPL-22 pixels the motion was lifted from (NaN = missing).
        camera: the :class:`~mocap_fast.Camera` that saw them, in the world of ``joints``; needed
            with ``keypoints``.
        confidence: optional ``(T, 22)`` of ``keypoints`` (0 = missing).

    Returns:
        ``(T, 4)`` bool contacts of joints ``FOOT_JOINTS`` = (7, 8, 10, 11), same array kind as ``joints``.
    """
    X = _to_numpy(joints)
    if not fps > 0:
        raise ValueError(f"fps: must be > 0, got {fps!r}")
    if hysteresis < 1:
        raise ValueError(f"hysteresis: must be >= 1, got {hysteresis!r}")
    P = X[:, FOOT_JOINTS]  # (T, 4, 3)
    h = P[..., 1] - _ground_levels(X)
    v = np.linalg.norm(np.gradient(P, axis=0), axis=-1) * fps
    if len(v) >= 3:  # 3-tap moving average against jitter
        vp = np.pad(v, ((1, 1), (0, 0)), mode="edge")
        v = (vp[:-2] + vp[1:-1] + vp[2:]) / 3.0
    if keypoints is not None or camera is not None:
        v = np.minimum(v, ray_ground_speed(X, keypoints, camera, confidence, fps))
    enter = (h < height) & (v < speed)
    stay = (h < height * hysteresis) & (v < speed * hysteresis)
    C = np.zeros_like(enter)
    state = np.zeros(4, dtype=bool)
    for t in range(len(X)):
        state = np.where(state, stay[t], enter[t])
        C[t] = state
    for k in range(4):
        for s, e in _runs(C[:, k]):
            if e - s < min_frames:
                C[s:e, k] = False
    return _like(C, joints, torch.bool) if isinstance(joints, torch.Tensor) else C


RAY_SMOOTH_FRAMES = 1.0
"""Std (frames) of the Gaussian that smooths the ray-ground points over time before their speed is
taken (pixel noise is magnified by distance / camera height along the ray)."""


def ray_ground_speed(joints: Any, keypoints: Any, camera: Any, confidence: Any = None, fps: float = 30.0) -> np.ndarray:
    """Speed (m/s) of the points where the observed rays of the foot joints meet their ground levels.

    For each of ``FOOT_JOINTS`` the ray through its keypoint is cut with the horizontal plane at the
    joint's ground level in ``joints`` (:func:`_ground_levels`); the points are smoothed over time
    (:data:`RAY_SMOOTH_FRAMES`) and differentiated. Frames where the keypoint is missing, or its ray
    does not meet the plane in front of the camera, get ``inf`` (and so do their neighbours within
    the smoothing).

    Args:
        joints: ``(T, 22, 3)`` SMPL-22 world joints, metres, y up, ground y = 0.
        keypoints: ``(T, 22, 2)`` SMPL-22 pixels; NaN = missing.
        camera: the :class:`~mocap_fast.Camera` of ``keypoints``, in the world of ``joints``.
        confidence: optional ``(T, 22)``; 0 or NaN = missing.
        fps: frame rate, Hz.

    Returns:
        ``(T, 4)`` float64 m/s.
    """
    X = _to_numpy(joints)
    if keypoints is None or camera is None:
        raise ValueError("keypoints, camera: the ray speed needs both the keypoints and their camera")
    if not all(hasattr(camera, a) for a in ("K", "T_w2c")):
        raise ValueError(f"camera: expected a mocap_fast Camera, got {type(camera).__name__}")
    kp = as_tensor(keypoints, "keypoints", dtype=torch.float64, device="cpu")
    if tuple(kp.shape) != (len(X), 22, 2):
        raise ValueError(f"keypoints: expected SMPL-22 pixels of shape ({len(X)}, 22, 2), got {tuple(kp.shape)}")
    seen = torch.isfinite(kp).all(-1)
    if confidence is not None:
        conf = as_tensor(confidence, "confidence", dtype=torch.float64, device="cpu")
        if tuple(conf.shape) != (len(X), 22):
            raise ValueError(f"confidence: expected shape ({len(X)}, 22), got {tuple(conf.shape)}")
        seen &= torch.nan_to_num(conf) > 0
    feet = list(FOOT_JOINTS)
    K, T_w2c = (as_tensor(m, "camera", dtype=torch.float64, device="cpu") for m in (camera.K, camera.T_w2c))
    hits, valid = ray_plane_hits(torch.nan_to_num(kp[:, feet]), K, T_w2c, torch.from_numpy(_ground_levels(X)))
    pts = torch.where((valid & seen[:, feet])[..., None], hits, torch.nan).numpy()  # (T, 4, 3)
    pts = gaussian_filter1d(pts, RAY_SMOOTH_FRAMES, axis=0, mode="nearest")  # NaN spreads to the neighbours
    v = np.linalg.norm(np.gradient(pts, axis=0), axis=-1) * fps if len(X) > 1 else np.zeros((len(X), 4))
    return np.where(np.isfinite(v), v, np.inf)


def _blend_offsets(X: np.ndarray, C: np.ndarray, ground: np.ndarray, B: int, pin_height: bool):
    """Per foot joint: contact weight ``w (T, 4)`` in [0, 1] and full offset ``E (T, 4, 3)``."""
    T = len(X)
    w = np.zeros((T, 4))
    E = np.zeros((T, 4, 3))
    esum = np.zeros((T, 4, 3))
    wsum = np.zeros((T, 4))
    ramp = 0.5 * (1 + np.cos(np.pi * np.arange(1, B + 1) / (B + 1)))  # 1 -> 0, excluding both ends
    for k, j in enumerate(FOOT_JOINTS):
        for s, e in _runs(C[:, k]):
            target = np.median(X[s:e, j], axis=0)
            if pin_height:
                target[1] = ground[k]
            off = target - X[s:e, j]
            if not pin_height:
                off[:, 1] = 0.0
            E[s:e, k] = off
            w[s:e, k] = 1.0
            # fade-out tails keep the edge offset with a cosine weight
            for edge, idx in ((off[0], np.arange(s - 1, s - B - 1, -1)), (off[-1], np.arange(e, e + B))):
                ok = (idx >= 0) & (idx < T)
                idx, r = idx[ok], ramp[ok]
                esum[idx, k] += r[:, None] * edge
                wsum[idx, k] += r
    tail = ~C & (wsum > 0)
    # where tails overlap, average their offsets and keep the strongest weight
    tw = np.where(tail, np.minimum(wsum, 1.0), 0.0)
    E = np.where(tail[..., None], esum / np.maximum(wsum, 1e-12)[..., None], E)
    w = np.where(tail, tw, w)
    return w, E


def _two_bone_ik(H, Kn, A_target, L1, L2):
    """Knee and ankle ``(N, 3)`` reaching ``A_target`` from hip ``H`` with bone lengths ``L1, L2``.

    The knee stays in the plane spanned by the hip->target line and the original knee ``Kn``.
    """
    d_vec = A_target - H
    d = np.linalg.norm(d_vec, axis=-1)
    u = d_vec / np.maximum(d, 1e-9)[:, None]
    d = np.clip(d, np.abs(L1 - L2) + 1e-6, (L1 + L2) * (1 - 1e-6))
    a = (L1**2 - L2**2 + d**2) / (2 * d)
    r = np.sqrt(np.maximum(L1**2 - a**2, 0.0))
    pole = Kn - H
    perp = pole - np.sum(pole * u, axis=-1, keepdims=True) * u
    n = np.linalg.norm(perp, axis=-1)
    fallback = np.cross(u, np.array([1.0, 0.0, 0.0]))
    perp = np.where((n > 1e-9)[:, None], perp, fallback)
    perp = perp / np.maximum(np.linalg.norm(perp, axis=-1), 1e-12)[:, None]
    knee = H + a[:, None] * u + r[:, None] * perp
    ankle = H + d[:, None] * u
    return knee, ankle


def foot_lock(
    joints: Any,
    fps: float = 30.0,
    contacts: Any = None,
    height: float = 0.08,
    speed: float = 0.8,
    hysteresis: float = 1.5,
    min_frames: int = 3,
    blend: float = 0.15,
    root_share: float = 0.5,
    pin_height: bool = True,
    *,
    keypoints: Any = None,
    camera: Any = None,
    confidence: Any = None,
) -> tuple[Any, Any]:
    """Remove foot sliding during detected contacts (see the module docstring for the method).

    Args:
        joints: ``(T, 22, 3)`` SMPL-22 world joints, metres, y up, ground y = 0 (numpy or torch).
        fps: frame rate.
        contacts: optional ``(T, 4)`` bool contacts of joints (7, 8, 10, 11); default: detected
            with :func:`detect_contacts` and the thresholds below.
        height, speed, hysteresis, min_frames: contact detection thresholds (:func:`detect_contacts`).
        blend: seconds over which corrections fade in/out around each contact.
        root_share: in [0, 1], fraction of the horizontal foot correction applied to the whole body
            (root); the rest is absorbed by leg IK.
        pin_height: also pin contact joints' height to their ground level.
        keypoints, camera, confidence: the observation the motion was lifted from (optional; see
            :func:`detect_contacts`): contacts are then found also where the lifted foot slides
            along its ray. :func:`mocap_fast.lift` passes them with ``foot_lock=True``.

    Returns:
        ``(locked joints (T, 22, 3), contacts (T, 4) bool)``, same array kind as ``joints``.
    """
    X = _to_numpy(joints)
    if not 0.0 <= root_share <= 1.0:
        raise ValueError(f"root_share: must lie in [0, 1], got {root_share!r}")
    if blend < 0:
        raise ValueError(f"blend: must be >= 0, got {blend!r}")
    if contacts is None:
        C = detect_contacts(X, fps, height, speed, hysteresis, min_frames, keypoints=keypoints, camera=camera,
                            confidence=confidence)
    else:
        C = np.asarray(contacts.detach().cpu() if isinstance(contacts, torch.Tensor) else contacts).astype(bool)
        if C.shape != (len(X), 4):
            raise ValueError(f"contacts: expected shape ({len(X)}, 4), got {C.shape}")
    T = len(X)
    B = int(round(blend * fps))
    ground = _ground_levels(X)
    if pin_height:  # ground level of each joint = its median contact height (>= 0)
        for k, j in enumerate(FOOT_JOINTS):
            if C[:, k].any():
                ground[k] = max(float(np.median(X[C[:, k], j, 1])), 0.0)
    w, E = _blend_offsets(X, C, ground, B, pin_height)
    D = w[..., None] * E  # (T, 4, 3) blended offsets of 7, 8, 10, 11

    # effective offsets of each leg's ankle and toe: a toe-only contact drags the ankle along
    leg_off = []
    for li in range(2):
        ka, kf = li, li + 2  # indices into FOOT_JOINTS
        Da = D[:, ka] + (1 - w[:, ka])[:, None] * D[:, kf]
        Df = D[:, kf] + (1 - w[:, kf])[:, None] * Da
        leg_off.append((Da, Df, np.maximum(w[:, ka], w[:, kf])))

    # root (whole-body) correction: share of the contact legs' horizontal correction
    wl = np.stack([lo[2] for lo in leg_off], 1)  # (T, 2)
    Da_all = np.stack([lo[0] for lo in leg_off], 1)  # (T, 2, 3)
    wtot = wl.sum(1)
    R = np.zeros((T, 3))
    has = wtot > 0
    R[has] = (wl[has, :, None] * Da_all[has]).sum(1) / wtot[has, None] * np.minimum(wtot[has], 1.0)[:, None]
    R *= root_share
    R[:, 1] = 0.0
    # extra root motion where a leg cannot reach its target
    extra = np.zeros((T, 3))
    for li, (hip, knee, ankle, _) in enumerate(_LEGS):
        L1 = np.linalg.norm(X[:, knee] - X[:, hip], axis=-1)
        L2 = np.linalg.norm(X[:, ankle] - X[:, knee], axis=-1)
        v = X[:, ankle] + Da_all[:, li] - (X[:, hip] + R)
        dist = np.linalg.norm(v, axis=-1)
        reach = 0.999 * (L1 + L2)
        over = np.maximum(dist - reach, 0.0)
        need = v / np.maximum(dist, 1e-9)[:, None] * over[:, None]
        need[:, 1] = 0.0
        sel = over > np.linalg.norm(extra, axis=-1)
        extra[sel] = need[sel]
    if extra.any() and B > 0:  # smooth the extra over time, within the correction support
        sigma = max(B / 2, 1)  # Gaussian of radius B (truncate * sigma = B), edges replicated
        sm = gaussian_filter1d(extra, sigma, axis=0, mode="nearest", truncate=B / sigma)
        bigger = np.linalg.norm(extra, axis=-1) > np.linalg.norm(sm, axis=-1)
        extra = np.where(bigger[:, None], extra, sm)
        extra *= np.minimum(wtot, 1.0)[:, None]
    R = R + extra

    Y = X + R[:, None, :]
    for li, (hip, knee, ankle, foot) in enumerate(_LEGS):
        Da, Df, wleg = leg_off[li]
        act = wleg > 0
        if not act.any():
            continue
        Hn, Kn = Y[act, hip], Y[act, knee]
        L1 = np.linalg.norm(X[act, knee] - X[act, hip], axis=-1)
        L2 = np.linalg.norm(X[act, ankle] - X[act, knee], axis=-1)
        Lf = np.linalg.norm(X[act, foot] - X[act, ankle], axis=-1)
        knee_new, ankle_new = _two_bone_ik(Hn, Kn, X[act, ankle] + Da[act], L1, L2)
        f_target = X[act, foot] + Df[act]
        fd = f_target - ankle_new
        foot_new = ankle_new + fd / np.maximum(np.linalg.norm(fd, axis=-1), 1e-9)[:, None] * Lf[:, None]
        Y[act, knee], Y[act, ankle], Y[act, foot] = knee_new, ankle_new, foot_new
    return _like(Y, joints), (torch.as_tensor(C, device=joints.device) if isinstance(joints, torch.Tensor) else C)
