"""Training samples: 3D motion windows seen by a random input camera and the jittered virtual rig.

Each sample: a random window of a random clip, augmented (speed change, mirroring, body scale,
yaw, placement on the ground), seen by a random input camera (height, tilt, roll, distance,
focal length, landscape or portrait image) with the person in frame, and by the virtual rig
of :mod:`mocap_fast.rig` built the way :func:`mocap_fast.lift` builds it (from the 2D ground
estimate), plus random jitter. The observed view gets detector-like corruption (2D noise,
dropped joints). Everything is in the canonical frame (input camera above the origin, yaw 0).
Samples where a camera does not see the whole person (a joint closer than ``MIN_VIEW_DEPTH`` or
beyond ``MAX_CANVAS``) are drawn again: their targets would be meaningless (up to 1e11).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields

import numpy as np
from scipy.spatial.transform import Rotation
import torch

from ..joints import SMPL22, from_smpl22, mirror, to_smpl22
from ..model.config import ModelConfig
from ..observation import observe
from ..reference.camera import ground_pointmap, intrinsics, look_rotation, normalized_intrinsics, project, rigid_transform
from ..reference.representation import Standardizer, encode
from ..rig import ground_positions, person_area, virtual_rig

IMAGE_SIZES = ((1920, 1080), (1280, 720), (1080, 1920), (720, 1280), (1440, 1080), (1080, 1080))
MIN_VIEW_DEPTH = 0.5
"""Metres: every joint must lie at least this far in front of every camera of a training sample."""
MAX_CANVAS = 3.0
"""Every joint's canvas coordinates (the image spans [-1, 1]) must lie within this bound in every view."""


@dataclass
class Augment:
    """Augmentation ranges. Angles in degrees, distances in metres, noise in pixels."""

    speed: tuple[float, float] = (0.8, 1.25)
    body_scale: tuple[float, float] = (0.85, 1.15)
    cam_height: tuple[float, float] = (0.4, 3.0)
    distance: tuple[float, float] = (2.0, 20.0)
    hfov: tuple[float, float] = (35.0, 95.0)
    roll_std: float = 3.0
    tilt_std: float = 6.0
    noise_px: tuple[float, float] = (0.0, 4.0)
    drop_prob: tuple[float, float] = (0.0, 0.15)
    corrupt_prob: float = 0.7
    rig_jitter: float = 1.0
    mirror_prob: float = 0.5
    format_probs: tuple[float, float] = (0.2, 0.1)
    """Probabilities that a sample's 2D input arrives as COCO-17 / H36M-17 (else SMPL-22)."""
    bone_scale_std: float = 0.06
    """Per-sample log-normal scaling of each bone (left/right pairs share most of it): other
    performers' proportions and other labs' / detectors' joint placement."""
    skeleton_prob: float = 0.8
    """Probability that a sample's skeleton is re-proportioned by ``bone_scale_std``."""
    placement_std: float = 0.0
    """Metres: per-sample offset (in the body's own frame) of where the pelvis, hips, spine, neck,
    collars and head joints sit (other labs' marker-to-joint rules and 2D detectors differ), applied
    with the re-proportioning. Off by default: a fine-tune with 0.02 helped HDM05 and cost on the CMU
    sets (MODEL_CARD.md, "Training recipe and cost")."""


@dataclass
class Batch:
    """A training batch (B samples, V views, T frames, J joints, C = 2 J + 2 channels).

    Attributes:
        x0: ``[B, V, T, C]`` raw (unstandardised) frame vectors of every view.
        g_obs: ``[B, T, J, 2]`` corrupted observed view, canvas-normalised, missing filled.
        conf: ``[B, T, J]`` observed-view confidence (0 = dropped).
        K_g: ``[B, V, 3, 3]``; T_w2c: ``[B, V, 4, 4]``; pointmaps: ``[B, V, R, R, 3]``.
        joints: ``[B, T, J, 3]`` canonical-frame ground truth, metres.
        frame_valid: ``[B, T]`` bool, False on frames padded by holding a short clip's ends.
    """

    x0: torch.Tensor
    g_obs: torch.Tensor
    conf: torch.Tensor
    K_g: torch.Tensor
    T_w2c: torch.Tensor
    pointmaps: torch.Tensor
    joints: torch.Tensor
    frame_valid: torch.Tensor


def clip_weights(clips: list[np.ndarray], T: int) -> np.ndarray:
    """Sampling probability of each clip: proportional to its length, at least ``T`` frames' worth."""
    w = np.array([max(c.shape[0], T) for c in clips], dtype=np.float64)
    return w / w.sum()


def random_window(
    clips: list[np.ndarray], T: int, rng: np.random.Generator, aug: Augment, weights: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A ``[T, 22, 3]`` window of a random clip at a random playback speed (linear resampling).

    Clips are drawn with ``weights`` (default :func:`clip_weights`). A clip shorter than the
    window (HDM05 single repetitions) is placed at a random offset and padded by holding its
    first / last frame; the returned ``[T]`` bool mask is False on those padded frames, which
    the training loss ignores.
    """
    weights = clip_weights(clips, T) if weights is None else weights
    clip = clips[rng.choice(len(clips), p=weights)]
    speed = rng.uniform(*aug.speed)
    need = (T - 1) * speed + 1
    valid = np.ones(T, dtype=bool)
    if clip.shape[0] >= need:
        t = rng.uniform(0, clip.shape[0] - need) + speed * np.arange(T)
    else:
        n = int((clip.shape[0] - 1) / speed) + 1  # output frames the clip covers
        offset = rng.integers(0, T - n + 1)
        t = speed * (np.arange(T) - offset)
        valid = (t >= 0) & (t <= clip.shape[0] - 1)
        t = np.clip(t, 0, clip.shape[0] - 1)
    i0 = np.minimum(np.floor(t).astype(int), clip.shape[0] - 1)
    i1 = np.minimum(i0 + 1, clip.shape[0] - 1)
    a = (t - i0)[:, None, None]
    return ((1 - a) * clip[i0] + a * clip[i1]).astype(np.float64), valid


_PAIRS = {1: 2, 4: 5, 7: 8, 10: 11, 13: 14, 16: 17, 18: 19, 20: 21}


def reproportion(X: np.ndarray, rng: np.random.Generator, aug: Augment) -> np.ndarray:
    """Scale every bone of ``X [T, 22, 3]`` by its own factor, then put the feet back on the ground.

    Bone vectors (child minus parent) are scaled and re-accumulated from the pelvis, so each bone
    keeps its direction and gets a new, constant length: limb lengths, hip and shoulder width,
    and where the pelvis, spine, neck, collars and head sit along the body all change. The
    window is shifted vertically so its lowest foot joint is as high as before.
    """
    parents = SMPL22.parents
    log_s = rng.normal(0, aug.bone_scale_std, 22)
    for a, b in _PAIRS.items():  # left and right mostly alike: one shared factor, a small difference
        shared = 0.5 * (log_s[a] + log_s[b])
        diff = rng.normal(0, aug.bone_scale_std / 4)
        log_s[a], log_s[b] = shared + diff, shared - diff
    scale = np.exp(log_s)
    out = X.copy()
    for j in range(1, 22):  # parents precede children in SMPL-22 order
        p = parents[j]
        out[:, j] = out[:, p] + scale[j] * (X[:, j] - X[:, p])
    feet = [7, 8, 10, 11]
    out[..., 1] += X[:, feet, 1].min() - out[:, feet, 1].min()
    return out


PLACED_JOINTS = (0, 1, 2, 3, 6, 9, 12, 13, 14, 15)
"""SMPL-22 joints whose placement :func:`shift_joint_placement` jitters: pelvis, hips, spine 1-3,
neck, collars, head (the joints that labs and detectors place most differently)."""


def body_frames(X: np.ndarray) -> np.ndarray:
    """Per-frame body axes ``[T, 3, 3]`` (rows: left, up, forward) of ``X [T, 22, 3]`` (y up):
    left along the hips (made horizontal), up the world vertical, forward their cross product."""
    left = X[:, 1] - X[:, 2]
    left[:, 1] = 0.0
    left /= np.maximum(np.linalg.norm(left, axis=-1, keepdims=True), 1e-9)
    up = np.broadcast_to(np.array([0.0, 1.0, 0.0]), left.shape)
    return np.stack([left, up, np.cross(left, up)], axis=1)


def shift_joint_placement(X: np.ndarray, rng: np.random.Generator, aug: Augment) -> np.ndarray:
    """Move each of :data:`PLACED_JOINTS` of ``X [T, 22, 3]`` by its own constant offset in the body
    frame (:func:`body_frames`), ``N(0, placement_std)`` per axis, left/right pairs mirrored; the
    other joints stay. A new copy is returned."""
    offsets = rng.normal(0, aug.placement_std, (22, 3))
    for a, b in _PAIRS.items():  # the two sides of a pair move as mirror images (left axis flipped)
        if a in PLACED_JOINTS:
            offsets[b] = offsets[a] * np.array([-1.0, 1.0, 1.0])
    out = X.copy()
    frames = body_frames(X)
    for j in PLACED_JOINTS:
        out[:, j] += offsets[j] @ frames
    return out


def place_motion(X: np.ndarray, rng: np.random.Generator, aug: Augment) -> tuple[np.ndarray, float]:
    """Re-proportion, mirror, scale, turn and place a window in front of a camera at the origin looking along -z.

    Returns ``(X [T, 22, 3], camera height)``.
    """
    if aug.bone_scale_std > 0 and rng.random() < aug.skeleton_prob:
        X = reproportion(X, rng, aug)
        if aug.placement_std > 0:
            X = shift_joint_placement(X, rng, aug)
    if rng.random() < aug.mirror_prob:
        X = mirror(X, SMPL22)
    X = X * rng.uniform(*aug.body_scale)
    yaw = rng.uniform(-math.pi, math.pi)
    X = X @ Rotation.from_euler("y", yaw).as_matrix().T
    centre = X[:, 0, [0, 2]].mean(0)
    dist = math.exp(rng.uniform(math.log(aug.distance[0]), math.log(aug.distance[1])))
    bearing = rng.uniform(-0.35, 0.35)
    target = np.array([dist * math.sin(bearing), -dist * math.cos(bearing)])
    X[..., 0] += target[0] - centre[0]
    X[..., 2] += target[1] - centre[1]
    return X, rng.uniform(*aug.cam_height)


def input_camera(X: np.ndarray, height: float, rng: np.random.Generator, aug: Augment):
    """A camera at ``(0, height, 0)``, yaw 0, aimed near the person; ``None`` if the person leaves the frame.

    Returns ``(K [3, 3], T_w2c [4, 4], size [2])`` float64 tensors or ``None``.
    """
    W, H = IMAGE_SIZES[rng.integers(len(IMAGE_SIZES))]
    centre = X[:, 0].mean(0)
    dist = math.hypot(centre[0], centre[2])
    pitch = math.atan2(0.9 - height, dist) + math.radians(rng.normal(0, aug.tilt_std))
    yaw = math.atan2(-centre[0], -centre[2]) + rng.normal(0, 0.05)
    roll = math.radians(rng.normal(0, aug.roll_std))
    R = look_rotation(torch.tensor(pitch), torch.tensor(roll), torch.tensor(yaw)).double()
    T = rigid_transform(R, torch.tensor([0.0, height, 0.0], dtype=torch.float64))
    f = (max(W, H) / 2) / math.tan(math.radians(rng.uniform(*aug.hfov)) / 2)
    K = intrinsics(f, f, W / 2 + rng.normal(0, 5), H / 2 + rng.normal(0, 5))
    Xt = torch.from_numpy(X).reshape(-1, 3)
    depth = (Xt @ T[:3, :3].T + T[:3, 3])[:, 2]
    uv = project(Xt, K, T)
    inside = (uv[:, 0] > 0) & (uv[:, 0] < W) & (uv[:, 1] > 0) & (uv[:, 1] < H) & (depth > 0.3)
    if float(inside.double().mean()) < 0.97 or float(depth.min()) < 0.3:
        return None
    return K, T, torch.tensor([float(W), float(H)], dtype=torch.float64)


def _input_format(rng: np.random.Generator, aug: Augment) -> str:
    u = rng.random()
    coco, h36m = aug.format_probs
    return "coco17" if u < coco else "h36m17" if u < coco + h36m else "smpl22"


def observed_keypoints(X: np.ndarray, K: torch.Tensor, T_w2c: torch.Tensor, joint_format: str) -> tuple[np.ndarray, np.ndarray]:
    """What :func:`~mocap_fast.lift` receives for motion ``X [T, 22, 3]`` seen in a ``joint_format`` detector.

    The format's joints are synthesised from SMPL-22 (:func:`~mocap_fast.joints.from_smpl22`),
    projected, and mapped back with :func:`~mocap_fast.joints.to_smpl22`, so the model learns the
    approximated joints and the ones with confidence 0 exactly as ``lift()`` will present them.

    Returns ``(kp [T, 22, 2] pixels, conf [T, 22])``.
    """
    Xt = torch.from_numpy(X)
    src = from_smpl22(Xt, joint_format) if joint_format != "smpl22" else Xt
    kp = project(src.reshape(-1, 3), K, T_w2c).reshape(X.shape[0], -1, 2)
    kp22, conf = to_smpl22(kp, None, joint_format)
    return kp22.numpy(), conf.numpy()


def corrupt(
    kp: np.ndarray, size: np.ndarray, rng: np.random.Generator, aug: Augment, conf: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Detector-like corruption of ``kp [T, J, 2]`` pixels: Gaussian noise and dropped joints.

    ``conf [T, J]`` (default all 1) is the incoming confidence; dropped joints get 0."""
    conf = np.ones(kp.shape[:-1]) if conf is None else conf.copy()
    if rng.random() > aug.corrupt_prob:
        return kp, conf
    scale = max(size) / 1920
    kp = kp + rng.normal(0, rng.uniform(*aug.noise_px) * scale, kp.shape)
    drop = rng.random(conf.shape) < rng.uniform(*aug.drop_prob)
    if rng.random() < 0.2:  # a whole limb hidden for a stretch of frames
        j = rng.integers(kp.shape[1])
        a = rng.integers(kp.shape[0])
        drop[a : a + rng.integers(1, kp.shape[0]), j] = True
    conf[drop] = 0
    return kp, conf


def make_batch(
    clips: list[np.ndarray],
    batch_size: int,
    cfg: ModelConfig,
    stats: Standardizer,
    rng: np.random.Generator,
    aug: Augment | None = None,
) -> Batch:
    """Draw ``batch_size`` samples (see the module docstring)."""
    aug = aug or Augment()
    T = cfg.window
    joints, Ks, Ts, sizes, kps, confs, valids = [], [], [], [], [], [], []
    weights = clip_weights(clips, T)
    while len(joints) < batch_size:
        window, frame_valid = random_window(clips, T, rng, aug, weights)
        X, height = place_motion(window, rng, aug)
        cam = input_camera(X, height, rng, aug)
        if cam is None:
            continue
        K, Tw, size = cam
        kp, conf = observed_keypoints(X, K, Tw, _input_format(rng, aug))
        kp, conf = corrupt(kp, size.numpy(), rng, aug, conf)
        joints.append(torch.from_numpy(X))
        valids.append(torch.from_numpy(frame_valid))
        Ks.append(K), Ts.append(Tw), sizes.append(size)
        kps.append(torch.from_numpy(kp)), confs.append(torch.from_numpy(conf))
    X = torch.stack(joints)
    K0, T0, size0 = torch.stack(Ks), torch.stack(Ts), torch.stack(sizes)
    kp, conf = torch.stack(kps), torch.stack(confs)
    pos, valid = ground_positions(kp, conf, K0, T0)
    fallback = X[:, :, 0].clone()
    fallback[..., 1] = 0
    valid_any = valid.any(-1)
    pos = torch.where(valid_any[:, None, None], pos, fallback)
    valid = torch.where(valid_any[:, None], valid, torch.ones_like(valid))
    centre, radius = person_area(pos, valid)
    jitter = aug.rig_jitter * torch.from_numpy(rng.standard_normal((batch_size, 3, 6)))
    K, Tw, size = virtual_rig(K0, T0, size0, centre, radius, jitter)
    K_g = normalized_intrinsics(K, size)
    V = K.shape[1]
    Xv = X[:, None].expand(-1, V, -1, -1, -1).reshape(batch_size, V, -1, 3)
    g = project(Xv, K_g, Tw).reshape(batch_size, V, T, -1, 2)
    depth = (Xv @ Tw[..., :3, :3].transpose(-1, -2) + Tw[..., None, :3, 3])[..., 2]
    seen = (depth.amin((1, 2)) > MIN_VIEW_DEPTH) & (g.abs().flatten(1).amax(1) < MAX_CANVAS)
    g_obs, _ = observe(kp, conf, size0, stats.to("cpu", torch.float64))
    pm = ground_pointmap(K, Tw, size, cfg.pointmap_res) if cfg.use_pointmap else torch.zeros(batch_size, V, 1, 1, 3)
    batch = Batch(encode(g).float(), g_obs.float(), conf.float(), K_g.float(), Tw.float(), pm.float(), X.float(), torch.stack(valids))
    if bool(seen.all()):
        return batch
    # a virtual camera that does not see the whole person (a far-off ground estimate put the rig
    # elsewhere): its targets are meaningless, so such samples are drawn again
    keep = Batch(*(getattr(batch, f.name)[seen] for f in fields(Batch)))
    more = make_batch(clips, int((~seen).sum()), cfg, stats, rng, aug)
    return Batch(*(torch.cat([getattr(keep, f.name), getattr(more, f.name)]) for f in fields(Batch)))
