"""``lift()``: 2D keypoints of one calibrated camera -> metric 3D world motion (API.md)."""

from __future__ import annotations

import logging
import math
import operator
import os
import warnings
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import torch
from scipy.ndimage import gaussian_filter1d

from ._arrays import as_tensor, check_positive, like_input
from .backends import BACKENDS
from .footlock import foot_lock as lock_feet
from .format_detect import resolve_auto
from .grounding import ground_anchor, ray_ground_anchor, smooth_ground_anchor
from .joints import get_format, to_smpl22
from .model.io import LoadedModel, load_model
from .observation import observe
from .plausibility import implausible, outside_image, warning_text
from .progress import note, progress_bar
from .reference.camera import Camera, ground_pointmap, normalized_intrinsics, project
from .resampling import frame_pairs, resample_axis
from .rig import camera_centre, locate, person_area, virtual_rig, window_rigs
from .sampler import Problem, sample_fast, sample_reference, step_plan
from .skeleton_fit import fit_clip_skeleton

log = logging.getLogger("mocap_fast")
MIN_FRAMES = 8
MODEL_FPS = 30.0
VIEW0_WEIGHT = 10.0
"""Triangulation weight of the observed view relative to a synthesized one (times confidence)."""
PRIOR_CONF = 0.3
"""Triangulation confidence of the placeholders of missing input joints (times ``VIEW0_WEIGHT``: three
times a synthesized view). Without it a joint the detector never gives (COCO has no spine)
is left to the synthesized views alone, which can drift off together."""
MIN_FPS = 1.0
"""Lowest input frame rate accepted (lower would resample to absurdly many frames)."""
OUTSIDE_MARGIN = 0.5
"""Observed joints farther than this fraction of the image size outside the image are treated as missing."""
MAX_OUTSIDE_FRACTION = 0.5
"""More than this fraction of a clip's observed joints outside the margin is an error (wrong camera?)."""
MAX_BATCH_WINDOWS = 64
"""Windows per network call: memory stays bounded however long the clip (outputs aside)."""
SMOOTH_FRAMES = 1.0
"""Default ``smooth`` of :func:`lift`: Gaussian sigma in frames at 30 fps."""
MAX_DISTANCE = 1000.0
"""Metres: output joints farther than this from the input camera (or non-finite) are treated as failed."""
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
        sampler: the sampler that ran, ``"ddim"`` or ``"ddpm"`` (the full ancestral schedule).
        steps: its number of denoising steps.
        warnings: the plausibility warnings (:mod:`mocap_fast.plausibility`), one line each; empty
            when the output looks like a person on the ground (a list per clip for a batch).
        samples: draws averaged per window.
    """

    joints: Any
    joints_cam: Any
    views_2d: Any
    cameras: list
    confidence: Any
    fps: float
    sampler: str = "ddpm"
    steps: int = 0
    warnings: list = field(default_factory=list)
    samples: int = 1


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


@dataclass(frozen=True)
class LiftOptions:
    """The scalar arguments of :func:`lift` that :func:`_check_inputs` validates (see :func:`lift`)."""

    joint_format: str = "smpl22"
    fps: float = MODEL_FPS
    steps: int | None = None
    seed: int = 0
    backend: str = "auto"
    max_batch_windows: int = MAX_BATCH_WINDOWS
    smooth: float = SMOOTH_FRAMES
    rig: str = "window"
    normalized: bool = False
    anchor: bool = True
    skeleton: str = "clip"
    samples: int | None = None


@dataclass
class _Inputs:
    """Checked input: ``kp [B, T, J, 2]`` float64 CPU pixels, ``conf [B, T, J]`` (0 = missing)."""

    fmt: Any
    kp: torch.Tensor
    conf: torch.Tensor
    batched: bool
    fps: float
    findings: list


def _check_inputs(keypoints, cam, confidence, opts: LiftOptions) -> _Inputs:
    """Every argument check of :func:`lift`, before any heavy work (model load, sampling).

    Keypoints normalised to [0, 1] are scaled to pixels when ``opts.normalized``, else refused;
    missing / NaN / far-outside joints get confidence 0. ``findings`` holds the input's warnings
    (keypoints outside the image) for the plausibility report.
    """
    if not isinstance(cam, Camera):
        raise ValueError(f"cam: expected a mocap_fast.Camera, got {type(cam).__name__}")
    kp = as_tensor(keypoints, "keypoints", dtype=torch.float64)
    if kp.ndim not in (3, 4) or kp.shape[-1] != 2:
        raise ValueError(f"keypoints: expected shape (T, J, 2) or (B, T, J, 2), got {tuple(kp.shape)}")
    fmt = get_format(_auto_format(kp, confidence) if opts.joint_format == "auto" else opts.joint_format)
    if kp.shape[-2] != fmt.num_joints:
        raise ValueError(f"keypoints: format {opts.joint_format!r} has {fmt.num_joints} joints, got {kp.shape[-2]}")
    if kp.shape[-3] < MIN_FRAMES:
        raise ValueError(f"keypoints: need at least {MIN_FRAMES} frames, got {kp.shape[-3]}")
    if kp.ndim == 4 and kp.shape[0] < 1:
        raise ValueError(f"keypoints: a batch needs at least one clip, got shape {tuple(kp.shape)}")
    if bool(torch.isinf(kp).any()):
        raise ValueError("keypoints: infinite values (use NaN or confidence 0 for missing joints)")
    batched = kp.ndim == 4
    kp = kp if batched else kp[None]
    conf = _check_confidence(confidence, kp, batched)
    kp = kp.cpu()
    conf = torch.where(torch.isnan(kp).any(-1), torch.zeros_like(conf), conf)
    kp = torch.nan_to_num(kp, nan=0.0)
    if bool((conf.amax(-1) <= 0).all(-1).any()):
        raise ValueError("keypoints: a clip has no observed joint in any frame (all NaN or confidence 0)")
    kp = _check_normalized(kp, conf, cam, opts.normalized)
    findings = [outside_image(k, c, cam.image_size) for k, c in zip(kp, conf)]
    conf = _drop_far_outside(kp, conf, cam)
    fps = _check_fps(opts.fps, kp.shape[1])
    steps = opts.steps
    if steps is not None:
        if isinstance(steps, bool) or not isinstance(steps, (int, float)) or not math.isfinite(steps) \
                or int(steps) != steps or steps < 1:
            raise ValueError(f"steps: expected a positive integer or None, got {steps!r}")
    _check_int(opts.seed, "seed", 0, 2**63 - 1)
    _check_int(opts.max_batch_windows, "max_batch_windows", 1, 2**31)
    smooth = opts.smooth
    if not (isinstance(smooth, (int, float)) and math.isfinite(smooth) and 0 <= smooth <= 30):
        raise ValueError(f"smooth: must be a number of frames in [0, 30], got {smooth!r}")
    if not isinstance(opts.backend, str) or opts.backend not in BACKENDS:
        raise ValueError(f"backend: unknown value {opts.backend!r}; expected one of {list(BACKENDS)}")
    if opts.rig not in ("window", "clip"):
        raise ValueError(f"rig: expected 'window' or 'clip', got {opts.rig!r}")
    if opts.skeleton not in ("free", "clip"):
        raise ValueError(f"skeleton: expected 'free' or 'clip', got {opts.skeleton!r}")
    if opts.samples is not None:
        _check_int(opts.samples, "samples", 1, 64)
    _check_camera_for_lift(cam)
    return _Inputs(fmt, kp, conf, batched, fps, findings)


def _auto_format(kp: torch.Tensor, confidence) -> str:
    """``joint_format="auto"``: by geometry (:mod:`mocap_fast.format_detect`), the whole batch at once."""
    flat = kp.reshape(-1, *kp.shape[-2:]).cpu().numpy()
    c = None if confidence is None else as_tensor(confidence, "confidence", dtype=torch.float64).reshape(flat.shape[:-1]).cpu().numpy()
    return resolve_auto(flat, c)


def _check_confidence(confidence, kp: torch.Tensor, batched: bool) -> torch.Tensor:
    """``[B, T, J]`` float64 CPU confidence in [0, 1] (NaN -> 0; ones when ``None``)."""
    if confidence is None:
        return torch.ones(kp.shape[:-1], dtype=torch.float64)
    conf = as_tensor(confidence, "confidence", dtype=torch.float64)
    conf = conf if batched else conf[None]
    if conf.shape != kp.shape[:-1]:
        raise ValueError(f"confidence: expected shape {tuple(kp.shape[:-1]) if batched else tuple(kp.shape[1:-1])}, got {tuple(conf.shape)}")
    if bool(torch.isinf(conf).any()):
        raise ValueError("confidence: infinite values (values must lie in [0, 1]; NaN = missing)")
    bad = conf[torch.isfinite(conf)]
    if bool(((bad < 0) | (bad > 1)).any()):
        raise ValueError("confidence: values must lie in [0, 1]")
    return torch.nan_to_num(conf.cpu(), nan=0.0)


NORMALIZED_SLACK = 0.05
"""Observed keypoints all within ``[-slack, 1 + slack]`` are taken as normalised to the image."""


def _check_normalized(kp: torch.Tensor, conf: torch.Tensor, cam: Camera, normalized: bool) -> torch.Tensor:
    """Pixels from ``kp [B, T, J, 2]``: scaled by ``cam``'s image size when ``normalized``; a
    ``ValueError`` saying how to fix it when every observed keypoint of a clip lies in [0, 1] otherwise
    (MediaPipe-style output read as pixels lifts a person of a few pixels, far off)."""
    W, H = (float(s) for s in cam.image_size)
    obs = conf > 0
    looks_normalized = [bool(((k[o] >= -NORMALIZED_SLACK) & (k[o] <= 1 + NORMALIZED_SLACK)).all()) for k, o in zip(kp, obs)]
    if normalized:
        if not all(looks_normalized):
            raise ValueError("normalized: True, but some observed keypoints lie outside [0, 1]; are they pixels?")
        return kp * torch.tensor([W, H], dtype=kp.dtype)
    if any(looks_normalized):
        raise ValueError(
            f"keypoints: every observed keypoint lies in [0, 1]: they look normalised to the image (as MediaPipe "
            f"gives them), not pixels of cam's {W:g}x{H:g} image. Pass normalized=True (CLI --normalized) to scale "
            f"them by the image size, or multiply them by ({W:g}, {H:g})"
        )
    return kp


def _check_fps(fps: Any, T: int) -> float:
    """``fps`` as a float >= ``MIN_FPS`` that leaves at least ``MIN_FRAMES`` frames at the model's rate."""
    fps = check_positive(fps, "fps")
    if fps < MIN_FPS:
        raise ValueError(f"fps: must be >= {MIN_FPS:g}, got {fps!r}")
    if abs(fps - MODEL_FPS) > 1e-6:
        n = int(math.floor((T - 1) * MODEL_FPS / fps + 1e-9)) + 1
        if n < MIN_FRAMES:
            raise ValueError(
                f"keypoints: {T} frames at fps={fps:g} give {n} frames at the model's {MODEL_FPS:g} fps; "
                f"need at least {MIN_FRAMES}"
            )
    return fps


def _check_int(value: Any, name: str, lo: int, hi: int) -> int:
    """``int(value)``; ``ValueError`` naming ``name`` unless an integer in ``[lo, hi]``."""
    try:
        v = operator.index(value)
    except TypeError:
        raise ValueError(f"{name}: expected an integer, got {value!r}") from None
    if not lo <= v <= hi:
        raise ValueError(f"{name}: must lie in [{lo}, {hi}], got {v}")
    return v


def _check_camera_for_lift(cam: Camera) -> None:
    """The input camera must stand above the ground, see it, and not look straight up or down."""
    h = float(cam.centre[1])
    if not h > 0:
        raise ValueError(f"cam: the camera centre is at y = {h:.3f} m, at or below the ground plane y = 0")
    fwd = cam.R[2]
    if float(torch.hypot(fwd[0], fwd[2])) < 1e-6:
        raise ValueError("cam: optical axis is vertical; the heading is undefined")
    if not cam.sees_ground():
        raise ValueError("cam: the camera sees no ground plane (y = 0) in front of it")


def _drop_far_outside(kp: torch.Tensor, conf: torch.Tensor, cam: Camera) -> torch.Tensor:
    """Observed joints more than ``OUTSIDE_MARGIN`` image sizes outside ``cam``'s image become missing
    (with a warning); ``ValueError`` when more than ``MAX_OUTSIDE_FRACTION`` of a clip's are."""
    W, H = cam.image_size
    m = OUTSIDE_MARGIN
    u, v = kp[..., 0], kp[..., 1]
    outside = (u < -m * W) | (u > (1 + m) * W) | (v < -m * H) | (v > (1 + m) * H)
    observed = conf > 0
    outside &= observed
    n_obs = observed.flatten(1).sum(-1).clamp_min(1)
    frac = outside.flatten(1).sum(-1) / n_obs
    if bool((frac > MAX_OUTSIDE_FRACTION).any()):
        worst = float(frac.max())
        raise ValueError(
            f"keypoints: {100 * worst:.0f}% of the observed joints lie more than {100 * m:.0f}% of the image size "
            f"outside cam's {W}x{H} image; are they pixels of this camera?"
        )
    if bool(outside.any()):
        msg = f"keypoints: {int(outside.sum())} observed joint(s) far outside the {W}x{H} image treated as missing"
        log.info(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=4)
        conf = torch.where(outside, torch.zeros_like(conf), conf)
    return conf


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
    max_batch_windows: int = MAX_BATCH_WINDOWS,
    foot_lock: bool = False,
    smooth: float = SMOOTH_FRAMES,
    rig: str = "window",
    normalized: bool = False,
    quiet: bool = False,
    skeleton: str = "clip",
    samples: int | None = None,
) -> LiftResult:
    """Lift 2D keypoints of one calibrated camera to 3D world joints (SMPL-22, metres).

    Args:
        keypoints: ``(T, J, 2)`` or ``(B, T, J, 2)`` pixels of ``cam``'s image; NaN = missing.
        cam: the input :class:`Camera` (world: y up, metres, ground y = 0).
        joint_format: input layout, ``"smpl22"``, ``"coco17"``, ``"h36m17"`` or ``"auto"`` (22 joints =
            SMPL-22; 17 = COCO-17 or H36M-17 told apart by geometry, :mod:`mocap_fast.format_detect`,
            a ``ValueError`` when undecided); output is SMPL-22.
        confidence: ``(T, J)`` or ``(B, T, J)`` in [0, 1]; 0 or NaN = missing.
        fps: frame rate of the input (the model is trained at 30 fps).
        steps: denoising steps; ``None`` = the model's recommended sampler stored in its file
            (packaged default: DDIM, 10 steps); ``N`` = DDIM on N steps, the full DDPM schedule at its length.
        seed: random seed; same seed, backend and device give the same output. Clip ``b`` of a
            batch uses ``seed + b``: it gets the same output as lifting it alone with ``seed + b``.
        device: torch device for the network (default: the keypoints' device, else CPU).
        backend: ``"auto"``, ``"fast"`` or ``"reference"`` (the authors' loop, for verification);
            it also picks the skeleton fit's Adam loop (numba kernel, or the autograd reference).
        model: a :class:`~mocap_fast.model.io.LoadedModel`, a path to a model file, or ``None``
            for the packaged default.
        anchor: scale each window, then each frame (smoothly over time), about the input camera so
            the feet meet the ground plane (:mod:`mocap_fast.grounding`); keeps the observed view's
            reprojection, fixes depth.
        max_batch_windows: at most this many windows per network call, so memory stays bounded
            however long the clip. The output does not depend on it (each window draws its noise
            from its own generator).
        foot_lock: remove foot sliding during detected foot contacts (:func:`mocap_fast.footlock.foot_lock`,
            default thresholds, contacts also from the observed feet's rays; after the skeleton fit,
            whose bone lengths it keeps); ``joints_cam`` and ``views_2d`` are computed from the locked joints.
        smooth: standard deviation, in frames at 30 fps, of a Gaussian temporal filter on the output
            joints (``0`` = off, the authors' method unfiltered). The observed view is kept exactly
            in every denoising step, so 2D detector noise reaches the output; the default 1 frame
            removes most of it at a small cost on exact 2D (measured: MODEL_CARD.md).
        rig: ``"window"`` (default): the virtual cameras of each 64-frame window stand around where
            the person is in that window, as in training; ``"clip"``: one rig around the whole clip's
            area for every window (a person walking far meets cameras the model was not trained with).
        normalized: the keypoints are normalised to [0, 1] of the image (MediaPipe): scale them by
            ``cam.image_size``. Without it, keypoints all in [0, 1] are a ``ValueError``.
        quiet: no progress bar (shown on a terminal for lifts over a second) and no compile note.
        skeleton: ``"clip"`` (default): one skeleton per clip, constant left/right-symmetric bone
            lengths fitted to the lifted joints, the observed 2D and the foot contacts
            (:func:`mocap_fast.skeleton_fit.fit_clip_skeleton`; better on every val set: MODEL_CARD.md);
            ``"free"``: every frame's joints as lifted (bone lengths vary a little from frame to frame).
        samples: draws of every window (each from its own generator), averaged: less variance for
            ``samples`` times the network time; ``None`` = the model's recommendation stored in its
            file (packaged default: 2; measured: MODEL_CARD.md).

    Raises:
        ValueError: naming the argument: wrong shapes or joint count, too few frames, infinite or
            far-outside keypoints, keypoints normalised to [0, 1] without ``normalized=True``, a clip
            with no observation, confidence outside [0, 1], fps < 1, bad steps / seed / backend /
            device / model, a camera below the ground, looking straight up or down, or seeing no
            ground, ``joint_format="auto"`` undecided. Degenerate geometry (an output joint that is
            non-finite or more than ``MAX_DISTANCE`` from the camera) is repaired with a
            ``RuntimeWarning`` instead. An implausible output (:mod:`mocap_fast.plausibility`: body
            height, feet off or under the ground, keypoints outside the image) gives a
            ``RuntimeWarning`` naming the likely causes, also kept in ``LiftResult.warnings``.

    Returns:
        :class:`LiftResult` with arrays of the kind (numpy / torch) of ``keypoints``.

    Example:
        >>> res = lift(kp, Camera.from_ground(1000, 1000, 960, 540, (1920, 1080), height=1.5))  # doctest: +SKIP
        >>> res.joints.shape  # doctest: +SKIP
        (300, 22, 3)
    """
    opts = LiftOptions(joint_format, fps, steps, seed, backend, max_batch_windows, smooth, rig, normalized, bool(anchor), skeleton,
                       samples)
    inp = _check_inputs(keypoints, cam, confidence, opts)
    device = _resolve_device(device, keypoints)
    mdl = _resolve_model(model, device)
    sampler, n_steps = _sampler_of(mdl.recommended_steps()[1] if steps is None else int(steps), mdl)
    kp, conf, kp_in_22, conf_in_22 = _to_model_rate(inp)
    clip = _prepare_clip(kp, conf, cam, mdl)
    with torch.inference_mode():
        X, failed = _sample_clip(clip, mdl, opts, n_steps, device, quiet)
    X, failed = X.clone(), failed.clone()  # normal tensors again: later stages work in place
    X = _repair_failed(X, failed, clip)
    X = _post_filter(X, clip, anchor, smooth)
    if X.shape[1] != inp.kp.shape[1] or abs(inp.fps - MODEL_FPS) > 1e-6:
        X, conf = resample_axis(X, MODEL_FPS, inp.fps, 1, inp.kp.shape[1]), conf_in_22
    X_world, X_cam, views, cameras = _to_world(X, clip, foot_lock, inp.fps, opts, kp_in_22, conf_in_22)
    found = _plausibility(X_world, inp.findings)
    if not inp.batched:
        X_world, X_cam, views, conf, cameras = X_world[0], X_cam[0], views[0], conf[0], cameras[0]
    out = lambda t: like_input(t.float() if isinstance(keypoints, torch.Tensor) else t, keypoints)  # noqa: E731
    return LiftResult(out(X_world), out(X_cam), out(views), cameras, out(conf), inp.fps, sampler, n_steps,
                      found if inp.batched else found[0], _samples_of(opts, mdl))


def _resolve_device(device: Any, keypoints: Any) -> torch.device:
    """The network's device: ``device``, else the keypoints' device, else CPU."""
    if device is None:
        device = keypoints.device if isinstance(keypoints, torch.Tensor) else torch.device("cpu")
    try:
        return torch.device(device)
    except (TypeError, RuntimeError, ValueError) as exc:
        raise ValueError(f"device: not a torch device: {device!r} ({exc})") from None


def _resolve_model(model: Any, device: torch.device) -> LoadedModel:
    """``model`` as a :class:`LoadedModel`: itself, the packaged default (``None``) or loaded from a path."""
    if isinstance(model, LoadedModel):
        return model
    if model is None:
        return default_model(device)
    if isinstance(model, (str, os.PathLike)):
        return load_model(os.fspath(model), device)
    raise ValueError(f"model: expected a LoadedModel, a path or None, got {type(model).__name__}")


def _samples_of(opts: LiftOptions, mdl: LoadedModel) -> int:
    """Draws per window: ``opts.samples``, else (``None``) the model file's recommendation."""
    return mdl.samples if opts.samples is None else int(opts.samples)


def _sampler_of(steps: int, mdl: LoadedModel) -> tuple[str, int]:
    """``("ddim", steps)`` below the schedule length, else ``("ddpm", schedule length)``."""
    S = mdl.cfg.diffusion_steps
    return ("ddim", steps) if steps < S else ("ddpm", S)


def _to_model_rate(inp: _Inputs) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """SMPL-22 keypoints and confidence at the model's frame rate, then at the input rate."""
    kp, conf = to_smpl22(inp.kp, inp.conf, inp.fmt.name)
    kp, conf = torch.as_tensor(kp, dtype=torch.float64), torch.as_tensor(conf, dtype=torch.float64)
    conf_in_22, kp_in_22 = conf, kp
    if bool((conf.amax(-1) <= 0).all(-1).any()):
        raise ValueError("keypoints: a clip has no observed joint in any frame")
    if abs(inp.fps - MODEL_FPS) > 1e-6:
        i0, i1, w = frame_pairs(kp.shape[1], inp.fps, MODEL_FPS)
        kp = resample_axis(kp, inp.fps, MODEL_FPS, 1)
        i1 = np.where(w == 0, i0, i1)  # a frame on an input frame is that frame; between two, observed only where both are
        conf = torch.minimum(conf[:, torch.from_numpy(i0)], conf[:, torch.from_numpy(i1)])
        if kp.shape[1] < MIN_FRAMES:
            raise ValueError(f"keypoints: fewer than {MIN_FRAMES} frames after resampling to {MODEL_FPS:g} fps")
    return kp, conf, kp_in_22, conf_in_22


@dataclass
class _Clip:
    """The clip in the canonical frame (:func:`mocap_fast.rig.locate`): keypoints ``kp [B, T, 22, 2]``,
    ``conf [B, T, 22]``, the located person ``loc``, the output rig ``K, Tw, size`` (``[B, V, ...]``),
    the observed view ``g_obs`` / ``obs`` and the input camera centres ``centre0 [B, 3]``."""

    kp: torch.Tensor
    conf: torch.Tensor
    loc: Any
    K: torch.Tensor
    Tw: torch.Tensor
    size: torch.Tensor
    g_obs: torch.Tensor
    obs: torch.Tensor
    centre0: torch.Tensor


def _prepare_clip(kp: torch.Tensor, conf: torch.Tensor, cam: Camera, mdl: LoadedModel) -> _Clip:
    """Locate the person, build the per-clip rig (the outputs' cameras) and the observed view."""
    loc = locate(kp, conf, cam)
    K, Tw, size = virtual_rig(loc.K0, loc.T0, loc.size0, *person_area(loc.pos, loc.valid))
    g_obs, obs = observe(kp, conf, size[:, 0], mdl.stats.to("cpu", torch.float32))
    return _Clip(kp, conf, loc, K, Tw, size, g_obs, obs, camera_centre(Tw[:, 0]))


def _sample_clip(clip: _Clip, mdl: LoadedModel, opts: LiftOptions, steps: int, device, quiet: bool):
    """Every window of every clip through the sampler, ``max_batch_windows`` per network call, anchored
    per window and blended: ``(X [B, T, 22, 3]`` canonical frame, ``failed [B, T, 22]`` bool)."""
    B, T = clip.kp.shape[:2]
    window = mdl.cfg.window
    wins = _windows(T, window)
    n_samples = _samples_of(opts, mdl)
    rows = [(b, s, e) for b in range(B) for (s, e) in wins for _ in range(n_samples)]
    on_device = LoadedModel(mdl.net, mdl.stats.to(device), mdl.info, mdl.sampler, mdl.samples)
    X = torch.zeros(B, T, 22, 3, dtype=torch.float64)
    wsum = torch.zeros(B, T, 22, 1, dtype=torch.float64)
    n_plan = len(step_plan(mdl.cfg.diffusion_steps, steps))
    row_seeds = [_window_seed(opts.seed + b, k, j) for b in range(B) for k in range(len(wins)) for j in range(n_samples)]
    _note_compile(opts.backend, device, quiet)
    with progress_bar(len(rows) * n_plan, "lift (windows x steps)", quiet) as bar:
        for i in range(0, len(rows), opts.max_batch_windows):
            chunk = rows[i:i + opts.max_batch_windows]
            Xw, good = _sample_chunk(chunk, clip, on_device, opts, steps, row_seeds[i:i + opts.max_batch_windows], device,
                                     lambda n=len(chunk): bar.update(n))
            for (b, s, e), Xi, gi in zip(chunk, Xw, good):
                w = _blend_weights(s, e, T, window)[:, None, None] * gi[..., None]
                X[b, s:e] += w * Xi
                wsum[b, s:e] += w
    return X / wsum.clamp_min(1e-300), wsum[..., 0] <= 0


def _sample_chunk(chunk, clip: _Clip, mdl: LoadedModel, opts: LiftOptions, steps: int, seeds: list[int], device, progress):
    """One network batch of windows ``chunk = [(clip, start, end)]``: their rigs and pointmaps, the
    sampler, per-window ground anchoring. ``(Xw [n, w, 22, 3]`` zero where implausible, ``good [n, w, 22])``."""
    clip_of = torch.tensor([b for b, _, _ in chunk])
    if opts.rig == "window":
        Kc, Twc, sizec = window_rigs(clip.loc, chunk)
    else:
        Kc, Twc, sizec = clip.K[clip_of], clip.Tw[clip_of], clip.size[clip_of]
    pm = ground_pointmap(Kc, Twc, sizec, mdl.cfg.pointmap_res).float() if mdl.cfg.use_pointmap else None
    Xw = _sample_rows(chunk, mdl, normalized_intrinsics(Kc, sizec), Twc, clip.g_obs, clip.conf, clip.obs, pm, steps,
                      seeds, opts.backend, device, progress)
    c0 = clip.centre0[clip_of][:, None, None]  # [n, 1, 1, 3]
    good = _plausible(Xw, c0)  # [n, w, 22]
    ok_rows = good.flatten(1).all(-1) & opts.anchor
    if bool(ok_rows.any()):
        Xa, _ = ground_anchor(Xw[ok_rows], c0[ok_rows, 0, 0])
        Xw[ok_rows] = Xa
        good[ok_rows] = _plausible(Xa, c0[ok_rows])
    return torch.where(good[..., None], Xw, torch.zeros_like(Xw)), good


def _repair_failed(X: torch.Tensor, failed: torch.Tensor, clip: _Clip) -> torch.Tensor:
    """:func:`_fill_failed` on the joints no window gave, with a warning saying how many."""
    if not bool(failed.any()):
        return X
    msg = (
        f"lift: {int(failed.sum())} of {failed.numel()} output joints were non-finite or farther than "
        f"{MAX_DISTANCE:g} m from the camera (degenerate geometry); filled from neighbouring frames or the input rays"
    )
    log.info(msg)
    warnings.warn(msg, RuntimeWarning, stacklevel=3)
    return _fill_failed(X, failed, clip.g_obs, clip.size[:, 0], clip.K[:, 0], clip.Tw[:, 0], clip.kp, clip.conf)


def _post_filter(X: torch.Tensor, clip: _Clip, anchor: bool, smooth: float) -> torch.Tensor:
    """Per-frame smooth ground anchoring and the blend with the lower ankle's ray depth, then the
    temporal Gaussian (both optional)."""
    if anchor:
        X, _ = smooth_ground_anchor(X, clip.centre0)
        X, _ = ray_ground_anchor(X, clip.kp, clip.conf, clip.K[:, 0], clip.Tw[:, 0])
    if smooth > 0:
        X = _gaussian_in_time(X, smooth)
    return X


def _to_world(X: torch.Tensor, clip: _Clip, foot_lock: bool, fps: float, opts: LiftOptions, kp22: torch.Tensor,
              conf22: torch.Tensor):
    """Canonical ``X [B, T, 22, 3]`` to the user's world (optionally foot-locked, optionally one skeleton
    per clip fitted to the input-rate SMPL-22 keypoints ``kp22 [B, T, 22, 2]`` / ``conf22``, as
    ``opts.skeleton`` says, with ``opts.backend``'s fit): ``(X_world, X_cam, views [B, V, T, 22, 2],
    cameras [B][V])``."""
    B, T = X.shape[:2]
    Minv = torch.linalg.inv(clip.loc.M)
    X_world = X @ Minv[:3, :3].T + Minv[:3, 3]
    T_world = clip.Tw @ clip.loc.M  # every view's world-to-camera in the user's world
    K, size = clip.K, clip.size
    V = K.shape[1]
    cameras = [[Camera(K[b, v], T_world[b, v], size[b, v].tolist()) for v in range(V)] for b in range(B)]
    if opts.skeleton == "clip":
        X_world = fit_clip_skeleton(X_world, kp22, conf22, clip.K[:, 0], T_world[:, 0], fps, backend=opts.backend)
    if foot_lock:  # after the fit: the lock keeps every bone's length; the world is y up, ground y = 0
        X_world = torch.stack([lock_feet(X_world[b], fps, keypoints=kp22[b], camera=cameras[b][0], confidence=conf22[b])[0]
                               for b in range(B)])
    R0, t0 = T_world[:, 0, :3, :3], T_world[:, 0, :3, 3]
    X_cam = X_world @ R0.transpose(-1, -2)[:, None] + t0[:, None, None]
    views = _views(X_world.reshape(B, T * 22, 3), K, T_world, size).reshape(B, V, T, 22, 2)
    return X_world, X_cam, views, cameras


def _plausibility(X_world: torch.Tensor, findings: list) -> list[list[str]]:
    """Per clip, the plausibility warnings (:mod:`mocap_fast.plausibility`), each also a ``RuntimeWarning``."""
    out = []
    for b, Xb in enumerate(X_world):
        found = ([findings[b]] if findings[b] else []) + implausible(Xb)
        msgs = [warning_text(found) if len(X_world) == 1 else f"clip {b}: " + warning_text(found)] if found else []
        for m in msgs:
            log.info(m)
            warnings.warn(m, RuntimeWarning, stacklevel=3)
        out.append(msgs)
    return out


_compile_noted = False


def _note_compile(backend: str, device: torch.device, quiet: bool) -> None:
    """Once per process, before the first numba call: say that it compiles (or loads) the kernels."""
    global _compile_noted
    if _compile_noted or backend == "reference" or device.type != "cpu":
        return
    _compile_noted = True
    note("first call: compiling the numba kernels (once, cached on disk; up to a minute)", quiet)


def _gaussian_in_time(X: torch.Tensor, sigma: float) -> torch.Tensor:
    """``X [B, T, ...]`` filtered along T with a Gaussian of ``sigma`` frames (``scipy.ndimage``:
    radius ``round(3 sigma)``, edges replicated); same dtype and device."""
    out = gaussian_filter1d(X.detach().cpu().numpy(), sigma, axis=1, mode="nearest", truncate=3.0)
    return torch.from_numpy(out).to(X)


def _window_seed(clip_seed: int, k: int, sample: int = 0) -> int:
    """Seed of the generator of a clip's ``k``-th window (its ``sample``-th draw): ``clip_seed`` itself
    for the first, a fixed mix of all three after. Every window has its own generator, so a clip's
    output depends neither on the other clips of a batch nor on ``max_batch_windows``."""
    return (clip_seed + k * 0x9E3779B97F4A7C15 + sample * 0xD1B54A32D192ED03) % (2**63)


def _sample_rows(rows, mdl, K_g, Tw, g_obs, conf, obs, pm, steps, seeds, backend, device, progress=None) -> torch.Tensor:
    """Run the sampler on the windows ``rows = [(clip, start, end)]`` (all the same length, one seed each) with their
    rigs ``K_g [n, V, 3, 3]``, ``Tw [n, V, 4, 4]`` and pointmaps ``pm [n, V, R, R, 3]`` (or None):
    ``[n, w, 22, 3]`` float64 CPU. ``progress()`` is called after each denoising step."""
    pick = lambda x: torch.stack([x[b, s:e] for b, s, e in rows])  # noqa: E731
    pm = None if pm is None else pm.to(device)
    problem = Problem(
        K_g.to(device), Tw.to(device), pick(g_obs).to(device), pick(conf).float().to(device),
        pick(obs).float().to(device), pm, VIEW0_WEIGHT, PRIOR_CONF,
    )
    if backend == "reference":
        Xw = sample_reference(mdl, problem, steps, seeds, progress=progress)
    else:
        Xw = sample_fast(mdl, problem, steps, seeds, backend, progress=progress)
    return Xw.double().cpu()


def _plausible(X: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """``[..., 22]`` bool: joint finite and within ``MAX_DISTANCE`` of ``centre`` (broadcast ``[..., 1, 1, 3]``)."""
    with torch.no_grad():
        d = (X - centre).norm(dim=-1)
    return torch.isfinite(X).all(-1) & (d <= MAX_DISTANCE)


def _fill_failed(X, failed, g_obs, size0, K0, T0, kp, conf) -> torch.Tensor:
    """Replace failed joints ``failed [B, T, 22]`` of ``X [B, T, 22, 3]`` (canonical frame).

    A joint with good frames in the clip is interpolated over time from them (nearest value at the
    ends); a joint never good is put on the input camera's ray through its (filled) observation at
    the frame's depth: the mean distance of the frame's good joints, interpolated over frames, or,
    for a clip with nothing good, the distance of the ground positions of :mod:`mocap_fast.rig`.
    """
    import numpy as np

    from .reference.camera import normalized_to_pixels
    from .rig import ground_positions

    B, T, J, _ = X.shape
    out = X.clone()
    t = np.arange(T)
    centre = camera_centre(T0)  # [B, 3]
    pix = normalized_to_pixels(g_obs.reshape(B, T * J, 2).double(), size0).reshape(B, T, J, 2)
    rays_c = torch.cat([pix, torch.ones_like(pix[..., :1])], -1) @ torch.linalg.inv(K0).transpose(-1, -2)[:, None]
    rays_w = rays_c @ T0[:, None, :3, :3]  # R^T d per row
    rays_w = rays_w / rays_w.norm(dim=-1, keepdim=True).clamp_min(1e-12)
    for b in range(B):
        good = ~failed[b]  # [T, J]
        xb = out[b].numpy()
        for j in range(J):
            ok = good[:, j].numpy()
            if ok.all() or not ok.any():
                continue
            for k in range(3):
                xb[~ok, j, k] = np.interp(t[~ok], t[ok], xb[ok, j, k])
        never = ~good.any(0)  # [J]
        if not bool(never.any()):
            continue
        dist = (out[b] - centre[b]).norm(dim=-1)  # [T, J]
        frame_ok = good.any(-1).numpy()
        if frame_ok.any():
            depth_ok = (torch.where(good, dist, torch.zeros_like(dist)).sum(-1) / good.sum(-1).clamp_min(1)).numpy()
            depth = np.interp(t, t[frame_ok], depth_ok[frame_ok])
        else:
            pos, valid = ground_positions(kp[b:b + 1], conf[b:b + 1], K0[b:b + 1], T0[b:b + 1])
            d = (pos[0] - centre[b]).norm(dim=-1)[valid[0]]
            d = d[torch.isfinite(d)]
            depth = np.full(T, float(d.median().clamp(0.5, MAX_DISTANCE / 2)) if d.numel() else 5.0)
        depth_t = torch.from_numpy(depth)[:, None, None]
        guess = centre[b] + depth_t * rays_w[b]  # [T, J, 3]
        out[b][:, never] = guess[:, never]
    return out


VIEW_MARGIN = 10.0
"""``views_2d`` coordinates are clipped to this many image sizes beyond each edge (points behind or
almost in the plane of a view's camera have no finite image)."""


def _views(X: torch.Tensor, K: torch.Tensor, T_world: torch.Tensor, size: torch.Tensor) -> torch.Tensor:
    """Every view's 2D of world points ``X [B, N, 3]``: ``[B, V, N, 2]`` pixels, one view at a time (bounded
    temporaries), clipped to ``VIEW_MARGIN`` image sizes around each image. Says so once when some
    joint is behind (or within 1 cm of the plane of) a view's camera: such a joint has no finite image."""
    B, V = T_world.shape[:2]
    out = torch.empty(B, V, X.shape[1], 2, dtype=X.dtype)
    n_behind = 0
    for v in range(V):
        R, t = T_world[:, v, :3, :3], T_world[:, v, :3, 3]
        z = X @ R[:, 2:3, :].transpose(-1, -2) + t[:, None, 2:3]  # [B, N, 1]
        n_behind += int((z < 0.01).sum())
        uv = project(X, K[:, v], T_world[:, v])
        lo = -VIEW_MARGIN * size[:, v, None, :]
        hi = (1 + VIEW_MARGIN) * size[:, v, None, :]
        out[:, v] = torch.maximum(torch.minimum(uv, hi), lo)
        del z, uv
    if n_behind:
        msg = f"lift: {n_behind} joint(s) lie behind a view's camera; their views_2d are clipped"
        log.info(msg)
        warnings.warn(msg, RuntimeWarning, stacklevel=3)
    return out
