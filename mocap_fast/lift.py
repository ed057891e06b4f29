"""``lift()``: 2D keypoints of one calibrated camera -> metric 3D world motion (API.md)."""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Any

import torch

from ._arrays import as_tensor, check_finite, check_positive, like_input
from .backends import BACKENDS
from .grounding import ground_anchor
from .joints import get_format, to_smpl22
from .model.io import LoadedModel, load_model
from .observation import observe
from .reference.camera import Camera, ground_pointmap, normalized_intrinsics, project
from .rig import camera_centre, rig_for
from .sampler import Problem, sample_fast, sample_reference

log = logging.getLogger("mocap_fast")
MIN_FRAMES = 8
MODEL_FPS = 30.0
VIEW0_WEIGHT = 10.0
"""Triangulation weight of the observed view relative to a synthesized one (times confidence)."""
_default_models: dict[str, LoadedModel] = {}


@dataclass
class LiftResult:
    """What :func:`lift` returns (shapes for one clip; a batch adds a leading B).

    Attributes:
        joints: ``(T, 22, 3)`` world joints, metres, SMPL-22 order.
        joints_cam: ``(T, 22, 3)`` the same in the input camera frame (OpenCV axes), metres.
        views_2d: ``(V, T, 22, 2)`` every view's 2D joints (the reprojection of ``joints``), pixels of each view.
        cameras: the V cameras used, index 0 = the input (a list per clip for a batch).
        confidence: ``(T, 22)`` in [0, 1]: the observation's confidence mapped to SMPL-22; 0 where
            the joint was not observed and the output is the model's inference.
        fps: frames per second of the input.
    """

    joints: Any
    joints_cam: Any
    views_2d: Any
    cameras: list
    confidence: Any
    fps: float


def default_model(device: torch.device) -> LoadedModel:
    """The packaged default model on ``device`` (loaded once per device)."""
    key = str(device)
    if key not in _default_models:
        _default_models[key] = load_model(None, device)
    return _default_models[key]


def _windows(T: int, window: int) -> list[tuple[int, int]]:
    """Overlapping windows ``[(start, end)]`` covering ``T`` frames, stride ``window // 2``."""
    if T <= window:
        return [(0, T)]
    stride = window // 2
    starts = list(range(0, T - window + 1, stride))
    if starts[-1] + window < T:
        starts.append(T - window)
    return [(s, s + window) for s in starts]


def _blend_weights(start: int, end: int, T: int, window: int) -> torch.Tensor:
    """Tent weights ``[end - start]`` falling to ~0 at window edges interior to the clip."""
    n = end - start
    ramp = max(1, window // 4)
    t = torch.arange(n, dtype=torch.float64)
    w = torch.ones(n, dtype=torch.float64)
    if start > 0:
        w = torch.minimum(w, (t + 0.5) / ramp)
    if end < T:
        w = torch.minimum(w, (n - t - 0.5) / ramp)
    return w.clamp_min(1e-3)


def _check_inputs(keypoints, cam, joint_format, confidence, fps, steps, backend):
    if not isinstance(cam, Camera):
        raise ValueError(f"cam: expected a mocap_fast.Camera, got {type(cam).__name__}")
    fmt = get_format(joint_format)
    kp = as_tensor(keypoints, "keypoints", dtype=torch.float64)
    if kp.ndim not in (3, 4) or kp.shape[-1] != 2:
        raise ValueError(f"keypoints: expected shape (T, J, 2) or (B, T, J, 2), got {tuple(kp.shape)}")
    if kp.shape[-2] != fmt.num_joints:
        raise ValueError(f"keypoints: format {joint_format!r} has {fmt.num_joints} joints, got {kp.shape[-2]}")
    if kp.shape[-3] < MIN_FRAMES:
        raise ValueError(f"keypoints: need at least {MIN_FRAMES} frames, got {kp.shape[-3]}")
    if bool(torch.isinf(kp).any()):
        raise ValueError("keypoints: infinite values (use NaN or confidence 0 for missing joints)")
    batched = kp.ndim == 4
    kp = kp if batched else kp[None]
    if confidence is None:
        conf = torch.ones(kp.shape[:-1], dtype=torch.float64)
    else:
        conf = as_tensor(confidence, "confidence", dtype=torch.float64)
        conf = conf if batched else conf[None]
        if conf.shape != kp.shape[:-1]:
            raise ValueError(f"confidence: expected shape {tuple(kp.shape[:-1]) if batched else tuple(kp.shape[1:-1])}, got {tuple(conf.shape)}")
        bad = conf[torch.isfinite(conf)]
        if bool(((bad < 0) | (bad > 1)).any()):
            raise ValueError("confidence: values must lie in [0, 1]")
    conf = torch.nan_to_num(conf.cpu(), nan=0.0)
    kp = kp.cpu()
    conf = torch.where(torch.isnan(kp).any(-1), torch.zeros_like(conf), conf)
    kp = torch.nan_to_num(kp, nan=0.0)
    fps = check_positive(fps, "fps")
    if steps is not None and (int(steps) != steps or steps < 1):
        raise ValueError(f"steps: expected a positive integer or None, got {steps!r}")
    if backend not in BACKENDS:
        raise ValueError(f"backend: unknown value {backend!r}; expected one of {list(BACKENDS)}")
    return fmt, kp, conf, batched, fps


def lift(
    keypoints: Any,
    cam: Camera,
    joint_format: str = "smpl22",
    confidence: Any = None,
    fps: float = 30.0,
    steps: int | None = None,
    seed: int = 0,
    device: Any = None,
    backend: str = "auto",
    model: LoadedModel | str | None = None,
    anchor: bool = True,
) -> LiftResult:
    """Lift 2D keypoints of one calibrated camera to 3D world joints (SMPL-22, metres).

    Args:
        keypoints: ``(T, J, 2)`` or ``(B, T, J, 2)`` pixels of ``cam``'s image; NaN = missing.
        cam: the input :class:`Camera` (world: y up, metres, ground y = 0).
        joint_format: input layout, ``"smpl22"``, ``"coco17"`` or ``"h36m17"``; output is SMPL-22.
        confidence: ``(T, J)`` or ``(B, T, J)`` in [0, 1]; 0 or NaN = missing.
        fps: frame rate of the input (the model is trained at 30 fps).
        steps: denoising steps; ``None`` = the full DDPM schedule, fewer = DDIM.
        seed: random seed; same seed, backend and device give the same output.
        device: torch device for the network (default: the keypoints' device, else CPU).
        backend: ``"auto"``, ``"fast"`` or ``"reference"`` (the authors' loop, for verification).
        model: a :class:`~mocap_fast.model.io.LoadedModel`, a path to a model file, or ``None``
            for the packaged default.
        anchor: scale each window about the input camera so the feet meet the ground plane
            (:mod:`mocap_fast.grounding`); keeps the observed view's reprojection, fixes depth.

    Returns:
        :class:`LiftResult` with arrays of the kind (numpy / torch) of ``keypoints``.

    Example:
        >>> res = lift(kp, Camera.from_ground(1000, 1000, 960, 540, (1920, 1080), height=1.5))  # doctest: +SKIP
        >>> res.joints.shape  # doctest: +SKIP
        (300, 22, 3)
    """
    fmt, kp_in, conf_in, batched, fps = _check_inputs(keypoints, cam, joint_format, confidence, fps, steps, backend)
    if device is None:
        device = keypoints.device if isinstance(keypoints, torch.Tensor) else torch.device("cpu")
    device = torch.device(device)
    if isinstance(model, LoadedModel):
        mdl = model
    elif model is None:
        mdl = default_model(device)
    else:
        mdl = load_model(model, device)
    kp, conf = to_smpl22(kp_in, conf_in, fmt.name)
    kp, conf = torch.as_tensor(kp, dtype=torch.float64), torch.as_tensor(conf, dtype=torch.float64)
    conf_in_22 = conf
    if bool((conf.amax(-1) <= 0).all(-1).any()):
        raise ValueError("keypoints: a clip has no observed joint in any frame")
    T_in = kp.shape[1]
    if abs(fps - MODEL_FPS) > 1e-6:
        i0, i1, _ = _frame_pairs(T_in, fps, MODEL_FPS)
        kp = _resample(kp, fps, MODEL_FPS)
        conf = torch.minimum(conf[:, i0], conf[:, i1])  # observed only where both neighbours are
        if kp.shape[1] < MIN_FRAMES:
            raise ValueError(f"keypoints: fewer than {MIN_FRAMES} frames after resampling to {MODEL_FPS:g} fps")
    B, T = kp.shape[:2]

    M, K, Tw, size = rig_for(kp, conf, cam)
    T0, size0 = Tw[:, 0], size[:, 0]
    K_g = normalized_intrinsics(K, size)
    stats = mdl.stats.to("cpu", torch.float32)
    g_obs, obs = observe(kp, conf, size0, stats)

    wins = _windows(T, mdl.cfg.window)
    rows = [(b, s, e) for b in range(B) for (s, e) in wins]
    pick = lambda x: torch.stack([x[b, s:e] for b, s, e in rows])  # noqa: E731
    clip_of = torch.tensor([b for b, _, _ in rows])
    pm = ground_pointmap(K, Tw, size, mdl.cfg.pointmap_res)[clip_of].float() if mdl.cfg.use_pointmap else None
    problem = Problem(
        K_g[clip_of].to(device), Tw[clip_of].to(device), pick(g_obs).to(device), pick(conf).float().to(device),
        pick(obs).float().to(device), None if pm is None else pm.to(device), VIEW0_WEIGHT,
    )
    problem_stats = LoadedModel(mdl.net, mdl.stats.to(device), mdl.info)
    if backend == "reference":
        Xw = sample_reference(problem_stats, problem, steps, seed)
    else:
        Xw = sample_fast(problem_stats, problem, steps, seed, backend)
    Xw = Xw.double().cpu()
    if anchor:
        Xw, _ = ground_anchor(Xw, camera_centre(Tw[clip_of, 0]))

    X = torch.zeros(B, T, 22, 3, dtype=torch.float64)
    wsum = torch.zeros(B, T, 1, 1, dtype=torch.float64)
    for (b, s, e), Xi in zip(rows, Xw):
        w = _blend_weights(s, e, T, mdl.cfg.window)[:, None, None]
        X[b, s:e] += w * Xi
        wsum[b, s:e] += w
    X = X / wsum
    if T != T_in or abs(fps - MODEL_FPS) > 1e-6:
        X = _resample(X, MODEL_FPS, fps, T_in)
        conf = conf_in_22
        T = T_in
    Minv = torch.linalg.inv(M)
    X_world = X @ Minv[:3, :3].T + Minv[:3, 3]
    X_cam = X @ T0[0, :3, :3].T + T0[0, :3, 3]
    T_world = Tw @ M  # every view's world-to-camera in the user's world
    views = project(X_world[:, None].expand(B, K.shape[1], T, 22, 3).reshape(B, -1, T * 22, 3), K, T_world)
    views = views.reshape(B, -1, T, 22, 2)
    cameras = [[Camera(K[b, v], T_world[b, v], size[b, v].tolist()) for v in range(K.shape[1])] for b in range(B)]
    if not batched:
        X_world, X_cam, views, conf, cameras = X_world[0], X_cam[0], views[0], conf[0], cameras[0]
    out = lambda t: like_input(t.float() if isinstance(keypoints, torch.Tensor) else t, keypoints)  # noqa: E731
    return LiftResult(out(X_world), out(X_cam), out(views), cameras, out(conf), fps)


def _frame_pairs(T: int, fps_in: float, fps_out: float, n_out: int | None = None):
    """For output frames ``k`` at times ``k / fps_out``: neighbouring input frames ``i0, i1`` ``[n]`` and the
    blend ``a [n]`` (float64). By default every ``k`` with ``k / fps_out <= (T - 1) / fps_in``; later
    times hold the last input frame."""
    if n_out is None:
        n_out = int(math.floor((T - 1) * fps_out / fps_in + 1e-9)) + 1
    t = (torch.arange(n_out, dtype=torch.float64) * fps_in / fps_out).clamp(max=T - 1)
    i0 = t.floor().long()
    i1 = (i0 + 1).clamp(max=T - 1)
    return i0, i1, t - i0


def _resample(x: torch.Tensor, fps_in: float, fps_out: float, n_out: int | None = None) -> torch.Tensor:
    """Linear resampling along axis 1 of ``x [B, T, ...]`` (see :func:`_frame_pairs`)."""
    i0, i1, a = _frame_pairs(x.shape[1], fps_in, fps_out, n_out)
    a = a.reshape(1, -1, *([1] * (x.ndim - 2))).to(x.dtype)
    return (1 - a) * x[:, i0] + a * x[:, i1]
