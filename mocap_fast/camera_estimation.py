"""A camera from the person's 2D over time, without a calibration (issue 16, item 3).

Model: a pinhole camera with square pixels and the principal point at the image centre, at
``(0, h, 0)``, yaw 0, pitched and rolled (the world of :meth:`Camera.from_ground`). In every frame
where the ankles and the head are seen, the person is taken to stand upright: the ankles' midpoint
lies :data:`ANKLE_RATIO` x stature above the ground, the head joint :data:`HEAD_RATIO` x stature
straight above it, the neck :data:`NECK_RATIO` x stature. For a candidate camera each frame's
ankle midpoint is cast onto the plane at ankle height, the neck and head points above it are
projected, and their distance to the observed neck and head (in units of the person's image
height) is the residual; a robust least-squares fit over all frames gives focal length, pitch,
roll and height. What each part of the motion tells:

- the body axes' tilt across the image: the vertical vanishing point (roll; pitch given focal);
- the person's image height against where the feet stand, when the person moves in depth:
  the horizon and the camera height (the two together then fix the focal length);
- the stature prior (1.70 m, or ``person_height``): the metric scale, hence the height.

With little motion in depth the focal length is not observable; a weak prior (:data:`PRIOR_HFOV`
of the long image side, ``PRIOR_LOG_STD`` in log focal) then holds it, and
:func:`estimate_camera_details` says so (``focal_source == "prior"``). A person who stays at one
depth leaves camera height and pitch trading off; a weak height prior (:data:`HEIGHT_PRIOR`) then
picks the point (``height_source == "prior"``). Squats, bending or lying frames break the upright
model: only frames whose 2D looks upright (straight body chain and stance leg, torso-to-leg
proportion of the clip's upright frames, body axis near the image vertical; :func:`_upright_frames`)
are read, and the soft-L1 loss discounts what remains of the misfit.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
from scipy.optimize import least_squares

from .joints import to_smpl22
from .reference.camera import Camera

STATURE_PRIOR = 1.70
"""Metres: stature assumed when ``person_height`` is not given (adults: about ± 0.1)."""
HEAD_RATIO = 0.935
"""Height of the SMPL-22 head joint above the ground when standing, as a fraction of stature
(CMU / HDM05 train clips, upper-quartile frames: head joint 1.59 m, neck 1.50 m, ankle midpoint
0.105 m above the ground, for an assumed average stature of 1.70 m)."""
NECK_RATIO = 0.885
"""Height of the SMPL-22 neck joint above the ground when standing, fraction of stature."""
ANKLE_RATIO = 0.062
"""Height of the ankles' midpoint above the ground over a gait cycle, fraction of stature."""
PRIOR_HFOV = 60.0
"""Degrees: field of view of the long image side the focal-length prior centres on."""
PRIOR_LOG_STD = 0.35
"""Standard deviation of the focal-length prior in log focal (about ± 40 %)."""
LOSS_SCALE = 0.03
"""Soft-L1 scale of the residuals, in person image heights."""
NOISE_SCALE = 0.03
"""Assumed std of one residual (person image heights: posture and body-proportion misfit), to
weigh the focal-length prior against the data."""
PRIOR_ROW = NOISE_SCALE / PRIOR_LOG_STD
"""Weight of the prior row (log focal) in the least-squares fit."""
ROW_WEIGHT = np.array([0.3, 1.0])
"""Weights of the horizontal and vertical image residuals: people lean and hold the head forward
of the ankles (up to ~5 % of stature sideways in the image when walking across it), while their
heights above the ground vary less."""
IRLS_ROUNDS = 2
"""Reweighting rounds of the robust fit."""
GRID_KEEP = 3
"""Starting points of the grid refined by least squares."""
MAX_FRAMES = 120
"""The fit reads at most this many frames, evenly spaced over the clip."""
UPRIGHT_STRAIGHT = 0.95
"""A frame counts as upright when the 2D chain ankle midpoint - knee midpoint - hip midpoint - neck - head
is this straight (end-to-end length over summed segment lengths; any view of a straight chain is
straight) and so is the leg of the lower ankle (the stance leg) ..."""
UPRIGHT_TORSO = 0.15
"""... its hip-neck over hip-ankle 2D length is within this fraction of the clip's upper quartile
(a torso bent towards or away from the camera is foreshortened more than the legs) ..."""
UPRIGHT_TILT = 30.0
"""... and its ankle-to-head line is within this many degrees of the image's vertical."""
UPRIGHT_MIN_FRACTION = 0.2
"""When fewer frames pass, the fit reads this fraction of the frames, the most upright first."""
HEIGHT_PRIOR = 1.5
"""Metres: camera height the height prior centres on (hand-held or tripod)."""
HEIGHT_LOG_STD = 0.6
"""Standard deviation of the height prior in log height (a weak prior: 0.8-2.7 m at one std)."""
HEIGHT_ROW = NOISE_SCALE / HEIGHT_LOG_STD
"""Weight of the height prior row (log height) in the least-squares fit."""
GEOMETRY_SHRINK = 0.5
"""The focal length counts as measured by the geometry when its posterior std in log focal is
below this fraction of the prior's."""


@dataclass(frozen=True)
class CameraEstimate:
    """What :func:`estimate_camera_details` found.

    Attributes:
        camera: the estimated :class:`Camera` (``from_ground`` world, yaw 0).
        focal_px: focal length, pixels.
        height: camera height above the ground, metres.
        pitch_deg, roll_deg: degrees (negative pitch looks down).
        focal_source: ``"given"`` (``focal_px``), ``"geometry"`` (the motion fixed it) or
            ``"prior"`` (little motion in depth: mostly the :data:`PRIOR_HFOV` prior).
        focal_log_std: posterior standard deviation of log focal (0 when given).
        frames_used: frames the fit read: upright (:func:`_upright_frames`) with ankles, neck and
            head seen, before thinning to :data:`MAX_FRAMES`.
        residual: median residual of the fit, in person image heights.
        height_source: ``"geometry"`` (the motion fixed the height) or ``"prior"`` (the person
            stays at one depth: height and pitch trade off and the :data:`HEIGHT_PRIOR` holds them).
    """

    camera: Camera
    focal_px: float
    height: float
    pitch_deg: float
    roll_deg: float
    focal_source: str
    focal_log_std: float
    frames_used: int
    residual: float
    height_source: str = "geometry"


def estimate_camera(keypoints: Any, image_size: Any, joint_format: str = "smpl22", confidence: Any = None,
                    fps: float = 30.0, focal_px: float | None = None, person_height: float | None = None) -> Camera:
    """Estimate the camera (focal length, height, pitch, roll) from one person's 2D keypoints over time.

    Args:
        keypoints: ``(T, J, 2)`` pixels (numpy or torch) in ``joint_format``'s layout; NaN = missing.
        image_size: ``(W, H)`` pixels.
        joint_format: "smpl22", "coco17" or "h36m17".
        confidence: ``(T, J)`` in [0, 1] or ``None``; 0 or NaN = missing.
        fps: frame rate (> 0); accepted for the public contract, the fit does not depend on it.
        focal_px: known focal length in pixels (then only height, pitch and roll are estimated).
        person_height: the person's stature in metres (default :data:`STATURE_PRIOR`); sets the scale.

    Returns:
        A :class:`Camera` at ``(0, h, 0)`` looking along world -z (yaw 0), principal point at the image centre.

    Raises:
        ValueError: naming the argument: wrong shapes, bad image size / fps / focal / height, or no
        frame where both ankles and the head are seen.
    """
    return estimate_camera_details(keypoints, image_size, joint_format, confidence, fps, focal_px, person_height).camera


def _positive(value: Any, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a positive number, got {value!r}") from None
    if not (math.isfinite(v) and v > 0):
        raise ValueError(f"{name}: expected a positive finite number, got {value!r}")
    return v


def _inputs(keypoints, image_size, joint_format, confidence):
    """Validated ``(W, H)`` and per-frame ankle midpoint, neck and head ``(T, 2)`` pixels with a ``(T,)`` mask."""
    try:
        size = np.asarray(image_size, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise ValueError(f"image_size: expected (W, H) pixels, got {image_size!r}") from None
    if size.shape != (2,) or not np.isfinite(size).all() or size.min() < 1:
        raise ValueError(f"image_size: expected two positive numbers (W, H), got {image_size!r}")
    kp = keypoints.detach().cpu().numpy() if hasattr(keypoints, "detach") else np.asarray(keypoints, dtype=np.float64)
    if kp.ndim != 3 or kp.shape[-1] != 2:
        raise ValueError(f"keypoints: expected shape (T, J, 2) pixels, got {tuple(kp.shape)}")
    if kp.shape[0] < 1:
        raise ValueError("keypoints: no frames")
    if confidence is not None:
        confidence = confidence.detach().cpu().numpy() if hasattr(confidence, "detach") else np.asarray(confidence, dtype=np.float64)
        if confidence.shape != kp.shape[:2]:
            raise ValueError(f"confidence: expected shape {kp.shape[:2]}, got {tuple(confidence.shape)}")
    kp22, conf22 = to_smpl22(kp.astype(np.float64), confidence, joint_format)
    kp22, conf22 = np.asarray(kp22, dtype=np.float64), np.asarray(conf22, dtype=np.float64)
    seen = (conf22 > 0) & np.isfinite(kp22).all(-1)
    ok = seen[:, 7] & seen[:, 8] & seen[:, 15] & seen[:, 12]
    if not ok.any():
        raise ValueError("keypoints: no frame has both ankles, the neck and the head seen; cannot estimate a camera")
    ankle = 0.5 * (kp22[:, 7] + kp22[:, 8])
    neck, head = kp22[:, 12], kp22[:, 15]
    span = np.linalg.norm(head - ankle, axis=-1)
    ok &= span > 2.0  # a person under 2 px tall carries no geometry
    if not ok.any():
        raise ValueError("keypoints: the person is under 2 px tall in every frame; cannot estimate a camera")
    idx = np.flatnonzero(ok)
    keep = _upright_frames(kp22[idx], seen[idx])
    return size, ankle[idx[keep]], neck[idx[keep]], head[idx[keep]], span[idx[keep]]


def _upright_frames(kp22: np.ndarray, seen: np.ndarray) -> np.ndarray:
    """Indices of the frames the upright model may read (:data:`UPRIGHT_STRAIGHT`, :data:`UPRIGHT_TORSO`,
    :data:`UPRIGHT_TILT`), sorted; at least :data:`UPRIGHT_MIN_FRACTION` of the frames, the most upright.

    ``kp22 (T, 22, 2)`` pixels with ankles, neck and head seen in every frame, ``seen (T, 22)`` bool.
    Frames whose knees or hips are not seen are judged on what is seen.
    """
    T = len(kp22)
    seg = lambda a, b: np.linalg.norm(a - b, axis=-1)  # noqa: E731
    ankle, knee, hip = (0.5 * (kp22[:, a] + kp22[:, b]) for a, b in ((7, 8), (4, 5), (1, 2)))
    neck, head = kp22[:, 12], kp22[:, 15]
    legs_seen = seen[:, [1, 2, 4, 5]].all(-1)
    chain = seg(ankle, knee) + seg(knee, hip) + seg(hip, neck) + seg(neck, head)
    straight = np.where(legs_seen, seg(ankle, head) / np.maximum(chain, 1e-9), 1.0)
    stance = np.where(kp22[:, 7, 1] >= kp22[:, 8, 1], 0, 1)  # the lower ankle in the image (v grows down)
    r = np.arange(T)
    a_s, k_s, h_s = kp22[r, 7 + stance], kp22[r, 4 + stance], kp22[r, 1 + stance]
    leg = np.where(legs_seen, seg(a_s, h_s) / np.maximum(seg(a_s, k_s) + seg(k_s, h_s), 1e-9), 1.0)
    torso = seg(hip, neck) / np.maximum(seg(hip, ankle), 1e-9)
    axis = head - ankle
    tilt = np.degrees(np.arctan2(np.abs(axis[:, 0]), -axis[:, 1]))
    score = np.minimum(straight, leg) - np.maximum(tilt - UPRIGHT_TILT, 0.0) / 90.0
    good = (straight >= UPRIGHT_STRAIGHT) & (leg >= UPRIGHT_STRAIGHT) & (tilt <= UPRIGHT_TILT)
    if legs_seen.any() and good[legs_seen].any():
        ref = float(np.percentile(torso[good & legs_seen], 75))
        off = np.abs(torso / ref - 1)
        good &= ~legs_seen | (off <= UPRIGHT_TORSO)
        score = score - np.where(legs_seen, np.maximum(off - UPRIGHT_TORSO, 0.0), 0.0)
    need = max(1, int(math.ceil(UPRIGHT_MIN_FRACTION * T)))
    if good.sum() >= need:
        return np.flatnonzero(good)
    return np.sort(np.argsort(-score, kind="stable")[:need])


def _rotation(pitch: float, roll: float) -> np.ndarray:
    """World-to-camera rotation of :func:`mocap_fast.reference.camera.look_rotation` at yaw 0."""
    sp, cp, sr, cr = math.sin(pitch), math.cos(pitch), math.sin(roll), math.cos(roll)
    x0, y0, z0 = np.array([1.0, 0, 0]), np.array([0.0, -cp, -sp]), np.array([0.0, sp, -cp])
    return np.stack([cr * x0 - sr * y0, sr * x0 + cr * y0, z0])


def _residuals(params, size, points, span, stature, focal_px):
    """Misfit of the upright model: ``(T * 3 * 2,)``, in person image heights.

    ``points (T, 3, 2)`` are the observed ankle midpoint, neck and head. Given the camera, each
    frame's ground position (X, Z) is the linear least-squares solution of the six projection
    equations (variable projection), so only the four camera parameters are searched.
    """
    log_f, pitch, roll, log_h = params[:4]
    f = focal_px if focal_px is not None else math.exp(log_f)
    h = math.exp(log_h)
    R = _rotation(pitch, roll)
    c = size / 2
    heights = np.array([ANKLE_RATIO, NECK_RATIO, HEAD_RATIO]) * stature
    xn = (points - c) / f  # (T, 3, 2) normalised image coordinates
    A = R[:, [0, 2]]  # camera-frame coordinates = A @ (X, Z) + b_k
    b = R[:, 1][None, :] * (heights - h)[:, None]  # (3 points, 3)
    # rows (e_i - xn_i e_2) . (A s + b) = 0 for i = 0, 1
    E = (np.eye(3)[None, None, :2, :] - xn[..., None] * np.eye(3)[2]) * ROW_WEIGHT[:, None]  # (T, 3, 2, 3)
    M = (E @ A).reshape(len(points), 6, 2)
    rhs = -(E @ b[None, :, :, None])[..., 0].reshape(len(points), 6)
    MtM = M.transpose(0, 2, 1) @ M + 1e-9 * np.eye(2)
    s = np.linalg.solve(MtM, (M.transpose(0, 2, 1) @ rhs[..., None]))[..., 0]  # (T, 2)
    cam = (s @ A.T)[:, None, :] + b[None]  # (T, 3, 3)
    z = cam[..., 2]
    uv = f * cam[..., :2] / np.maximum(z, 1e-3)[..., None] + c
    r = (uv - points) / span[:, None, None] * ROW_WEIGHT
    r = np.where((z > 1e-3)[..., None], r, 10.0)  # a person behind the camera cannot be right
    return r.reshape(-1)


def estimate_camera_details(keypoints: Any, image_size: Any, joint_format: str = "smpl22", confidence: Any = None,
                            fps: float = 30.0, focal_px: float | None = None,
                            person_height: float | None = None) -> CameraEstimate:
    """:func:`estimate_camera` with what was found and how (:class:`CameraEstimate`). Same arguments."""
    _positive(fps, "fps")
    if focal_px is not None:
        focal_px = _positive(focal_px, "focal_px")
    stature = STATURE_PRIOR if person_height is None else _positive(person_height, "person_height")
    if not 0.3 <= stature <= 3.0:
        raise ValueError(f"person_height: expected a stature in metres (0.3-3), got {person_height!r}")
    size, ankle, neck, head, span = _inputs(keypoints, image_size, joint_format, confidence)
    n = len(ankle)
    if n > MAX_FRAMES:  # evenly spaced frames: neighbours add little geometry
        keep = np.linspace(0, len(ankle) - 1, MAX_FRAMES).round().astype(int)
        ankle, neck, head, span = ankle[keep], neck[keep], head[keep], span[keep]
    points = np.stack([ankle, neck, head], axis=1)
    W, H = size
    log_f0 = math.log((max(W, H) / 2) / math.tan(math.radians(PRIOR_HFOV) / 2))
    log_h0 = math.log(HEIGHT_PRIOR)
    lo = [log_f0 - 3, -1.45, -0.8, math.log(0.05)]
    hi = [log_f0 + 3, 1.2, 0.8, math.log(200.0)]

    def fit(x0, weights):
        def fun(p):
            r = weights * _residuals(p, size, points, span, stature, focal_px)
            prior = [HEIGHT_ROW * (p[3] - log_h0)]
            if focal_px is None:
                prior.append(PRIOR_ROW * (p[0] - log_f0))
            return np.concatenate([r, prior])

        return least_squares(fun, x0, x_scale=[0.3, 0.1, 0.05, 0.3], bounds=(lo, hi), max_nfev=100)

    starts = []
    mid_v = float(np.median(0.5 * (ankle[:, 1] + head[:, 1])))
    pix_h = float(np.median(span))
    foot_v = float(np.median(ankle[:, 1]))
    log_fs = [math.log(focal_px)] if focal_px is not None else [log_f0 + k for k in (-0.6, -0.3, 0.0, 0.3, 0.6)]
    for log_f in log_fs:  # a coarse grid (height from the person's image size), then refine the best few
        f = math.exp(log_f)
        aim = -math.atan((mid_v - H / 2) / f)
        for dp in np.arange(-30.0, 31.0, 5.0):
            pitch = min(max(aim + math.radians(dp), lo[1] + 0.05), hi[1] - 0.05)
            d = f * (HEAD_RATIO - ANKLE_RATIO) * stature / pix_h
            below = math.atan((foot_v - H / 2) / f) - pitch  # foot angle below the horizontal
            h0 = min(max(ANKLE_RATIO * stature + d * math.tan(below), 0.1), 100.0)
            starts.append(np.array([min(max(log_f, lo[0]), hi[0]), pitch, 0.0, math.log(h0)]))
    cost = lambda x: float(np.sum(np.minimum(_residuals(x, size, points, span, stature, focal_px) ** 2, 0.01)))  # noqa: E731
    starts = sorted(starts, key=cost)[:GRID_KEEP]
    weights = np.ones(points.size)
    best = min((fit(x0, weights) for x0 in starts), key=lambda sol: sol.cost)
    for _ in range(IRLS_ROUNDS):  # soft-L1 by reweighting, so that the prior row stays quadratic
        r = _residuals(best.x, size, points, span, stature, focal_px)
        weights = (1 + (r / LOSS_SCALE) ** 2) ** -0.25
        best = fit(best.x, weights)
    if best is None or not np.isfinite(best.x).all():
        raise ValueError("keypoints: the camera fit failed (no upright frames the model could explain)")
    log_f, pitch, roll, log_h = best.x
    f = focal_px if focal_px is not None else math.exp(log_f)
    source, log_std = "given", 0.0
    J = best.jac  # rows: data, height prior, focal prior (when the focal length is not given)
    data = J[: -2 if focal_px is None else -1]
    if focal_px is None:
        # Gauss-Newton posterior of log f, with the prior rows and from the data rows alone
        log_std = _std(J.T @ J, 0)
        source = "geometry" if _std(data.T @ data, 0) < GEOMETRY_SHRINK * PRIOR_LOG_STD else "prior"
    height_source = "geometry" if _std(data.T @ data, 3) < GEOMETRY_SHRINK * HEIGHT_LOG_STD else "prior"
    pitch_deg, roll_deg, height = math.degrees(pitch), math.degrees(roll), math.exp(log_h)
    cam = Camera.from_ground(f, f, W / 2, H / 2, (int(round(W)), int(round(H))), height=height,
                             pitch_deg=pitch_deg, roll_deg=roll_deg)
    resid = float(np.median(np.abs(_residuals(best.x, size, points, span, stature, focal_px))))
    return CameraEstimate(cam, f, height, pitch_deg, roll_deg, source, log_std, n, resid, height_source)


def _std(info: np.ndarray, k: int) -> float:
    """Std of parameter ``k`` (0 log focal, 3 log height) under ``info`` = J^T J of rows with noise
    :data:`NOISE_SCALE` (inf if singular)."""
    try:
        return NOISE_SCALE * float(math.sqrt(max(np.linalg.inv(info + 1e-12 * np.eye(len(info)))[k, k], 0.0)))
    except np.linalg.LinAlgError:
        return math.inf
