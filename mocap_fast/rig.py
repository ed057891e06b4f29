"""Where the person stands, the canonical world frame, and the virtual camera rig (DESIGN §5).

**Canonical frame.** The model works in the frame of DESIGN §5: origin on the ground below the
input camera, the input camera's yaw removed (its optical axis in the x = 0 plane, looking
towards -z). :func:`canonical_transform` maps a user's world (y up, ground y = 0) into it.

**Ground estimate.** :func:`ground_positions`: each frame, the ray through the lower ankle meets
the plane y = ``ANKLE_HEIGHT``: a first guess of where the person stands.

**Virtual rig.** :func:`virtual_rig`, deterministic: the person's area is the box of the robust
(10th-90th percentile) ground positions; its centre ``c`` and radius ``r``. Three cameras stand
at azimuths +90, 180 and 270 degrees from the input camera around ``c``, at horizontal distance
``d = clip(distance of the input camera, 3, 8) + r`` and height ``clip(input height, 1, 2.5)`` m,
aim at ``c + (0, 0.9, 0)`` with zero roll, on a 1000 x 1000 image whose focal length makes a
``2 r + 2.4`` m wide region fill 80 % of the image. Training samples the same generator with
random jitter (:func:`jitter_rig`).
"""

from __future__ import annotations

import logging
import math
import warnings
from dataclasses import dataclass

import torch

from .reference.camera import intrinsics, look_at

log = logging.getLogger("mocap_fast")
ANKLE_HEIGHT = 0.08
"""Height of the ankle joint centre above the ground when standing, metres."""
VIRTUAL_IMAGE = 1000
VIRTUAL_AZIMUTHS_DEG = (90.0, 180.0, 270.0)
AIM_HEIGHT = 0.9


def camera_centre(T_w2c: torch.Tensor) -> torch.Tensor:
    """``[..., 4, 4]`` -> ``[..., 3]`` camera centres (world)."""
    R = T_w2c[..., :3, :3]
    return -(R.transpose(-1, -2) @ T_w2c[..., :3, 3:]).squeeze(-1)


def canonical_transform(T_w2c: torch.Tensor) -> torch.Tensor:
    """World-to-canonical rigid transform ``[..., 4, 4]`` for input cameras ``T_w2c [..., 4, 4]``.

    Translates the camera's ground point to the origin and turns about +y so the camera's
    optical axis projected on the ground points along -z. Undefined (raises) for a camera
    looking straight up or down.
    """
    R = T_w2c[..., :3, :3]
    fwd = R[..., 2, :]  # optical axis in world coordinates
    horiz = torch.stack([fwd[..., 0], fwd[..., 2]], -1)
    if bool((horiz.norm(dim=-1) < 1e-6).any()):
        raise ValueError("camera: optical axis is vertical; the heading is undefined")
    yaw = torch.atan2(-fwd[..., 0], -fwd[..., 2])
    # torch, not scipy's Rotation: batched on the cameras' device; one elementary rotation needs no roma
    c, s = torch.cos(yaw), torch.sin(yaw)
    zero, one = torch.zeros_like(c), torch.ones_like(c)
    # rotation by -yaw about +y
    Rm = torch.stack(
        [torch.stack([c, zero, -s], -1), torch.stack([zero, one, zero], -1), torch.stack([s, zero, c], -1)], -2
    )
    centre = camera_centre(T_w2c)
    ground = torch.stack([centre[..., 0], zero, centre[..., 2]], -1)
    M = torch.zeros_like(T_w2c)
    M[..., :3, :3] = Rm
    M[..., :3, 3] = -(Rm @ ground.unsqueeze(-1)).squeeze(-1)
    M[..., 3, 3] = 1
    return M


def ray_plane_hits(pixels: torch.Tensor, K: torch.Tensor, T_w2c: torch.Tensor,
                   height: float | torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Where the rays through ``pixels [..., N, 2]`` meet the plane y = ``height``.

    Args:
        K: ``[..., 3, 3]``; T_w2c: ``[..., 4, 4]`` (batch dims match ``pixels``' leading dims).
        height: metres, one plane for all, or a tensor broadcast against ``[..., N]`` (a plane per point).

    Returns:
        ``(points [..., N, 3] world, valid [..., N] bool)``: valid where the hit is in front of the camera.
    """
    ones = torch.ones_like(pixels[..., :1])
    rays_c = torch.cat([pixels, ones], -1) @ torch.linalg.inv(K).transpose(-1, -2)
    R = T_w2c[..., :3, :3]
    rays_w = rays_c @ R  # R^T d per row
    centre = camera_centre(T_w2c)[..., None, :]
    dy = rays_w[..., 1]
    safe = torch.where(dy.abs() > 1e-9, dy, torch.ones_like(dy))
    lam = (height - centre[..., 1]) / safe
    valid = (dy.abs() > 1e-9) & (lam > 0)
    return centre + lam[..., None] * rays_w, valid


def lower_ankle(keypoints: torch.Tensor, confidence: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Per frame, the observed SMPL-22 ankle (7 left, 8 right) lowest in the image.

    Args:
        keypoints: ``[..., T, 22, 2]`` pixels; confidence: ``[..., T, 22]``.

    Returns:
        ``(pixels [..., T, 2], observed [..., T] bool, joint [..., T] int64: 7 or 8)``.
    """
    ank = keypoints[..., [7, 8], :]
    conf = confidence[..., [7, 8]]
    v = torch.where(conf > 0, ank[..., 1], torch.full_like(ank[..., 1], -math.inf))
    idx = v.argmax(-1)
    pix = torch.gather(ank, -2, idx[..., None, None].expand(*idx.shape, 1, 2)).squeeze(-2)
    return pix, (conf > 0).any(-1), idx + 7


def ground_positions(keypoints: torch.Tensor, confidence: torch.Tensor, K: torch.Tensor, T_w2c: torch.Tensor):
    """First guess of where the person stands each frame: lower-ankle ray meets y = ANKLE_HEIGHT.

    Args:
        keypoints: ``[B, T, 22, 2]`` pixels; confidence ``[B, T, 22]``; K ``[B, 3, 3]``; T_w2c ``[B, 4, 4]``.

    Returns:
        ``(points [B, T, 3] world, valid [B, T] bool)``.
    """
    pix, seen, _ = lower_ankle(keypoints, confidence)
    hits, valid = ray_plane_hits(pix, K, T_w2c, ANKLE_HEIGHT)
    return hits, valid & seen


def person_area(points: torch.Tensor, valid: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Centre ``[B, 3]`` (on the ground) and radius ``[B]`` (metres) of the robust box of ground positions.

    Args:
        points: ``[B, T, 3]`` per-frame ground positions; valid: ``[B, T]`` bool, at least one per clip.
    """
    centres, radii = [], []
    for p, ok in zip(points, valid):
        q = p[ok][:, [0, 2]]
        lo = torch.quantile(q, 0.1, dim=0)
        hi = torch.quantile(q, 0.9, dim=0)
        mid = (lo + hi) / 2
        centres.append(torch.stack([mid[0], torch.zeros_like(mid[0]), mid[1]]))
        radii.append(((hi - lo) / 2).norm())
    return torch.stack(centres), torch.stack(radii)


def virtual_rig(
    K0: torch.Tensor,
    T0: torch.Tensor,
    size0: torch.Tensor,
    centre: torch.Tensor,
    radius: torch.Tensor,
    jitter: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """The V = 4 cameras: the input camera and 3 virtual ones (see the module docstring).

    Args:
        K0: ``[B, 3, 3]``; T0: ``[B, 4, 4]``; size0: ``[B, 2]`` input camera, float64.
        centre: ``[B, 3]`` person area centre on the ground; radius: ``[B]`` metres.
        jitter: ``[B, 3, 6]`` standard-normal draws (azimuth, distance, height, focal, aim x, aim z)
            for training, or ``None`` for the deterministic rig of :func:`mocap_fast.lift`.

    Returns:
        ``(K [B, 4, 3, 3], T_w2c [B, 4, 4, 4], image_size [B, 4, 2])``.
    """
    B = K0.shape[0]
    dtype = K0.dtype
    cam0 = camera_centre(T0)
    rel = cam0 - centre
    base_az = torch.atan2(rel[:, 0], rel[:, 2])  # azimuth of the input camera around the centre
    dist0 = torch.stack([rel[:, 0], rel[:, 2]], -1).norm(dim=-1)
    dist = dist0.clamp(3.0, 8.0) + radius
    height = cam0[:, 1].clamp(1.0, 2.5)
    n = torch.zeros(B, 3, 6, dtype=dtype) if jitter is None else jitter.to(dtype)
    az = base_az[:, None] + torch.deg2rad(torch.tensor(VIRTUAL_AZIMUTHS_DEG, dtype=dtype)) + math.radians(15) * n[..., 0]
    d = dist[:, None] * torch.exp(0.15 * n[..., 1])
    h = (height[:, None] + 0.3 * n[..., 2]).clamp_min(0.3)
    cv = torch.stack([centre[:, None, 0] + d * torch.sin(az), h, centre[:, None, 2] + d * torch.cos(az)], -1)
    aim = centre[:, None] + torch.tensor([0.0, AIM_HEIGHT, 0.0], dtype=dtype)
    aim = aim + 0.3 * torch.stack([n[..., 4], torch.zeros_like(n[..., 4]), n[..., 5]], -1)
    Tv = look_at(cv, aim)
    span = 2 * radius[:, None] + 2.4
    f = 0.8 * VIRTUAL_IMAGE * d / span * torch.exp(0.1 * n[..., 3])
    Kv = intrinsics(f, f, VIRTUAL_IMAGE / 2, VIRTUAL_IMAGE / 2, dtype=dtype)
    K = torch.cat([K0[:, None], Kv], 1)
    T = torch.cat([T0[:, None], Tv], 1)
    sizes = torch.cat([size0[:, None], torch.full((B, 3, 2), float(VIRTUAL_IMAGE), dtype=dtype)], 1)
    return K, T, sizes


MAX_GROUND_DISTANCE = 200.0
"""Metres: ground positions farther than this from the input camera (rays near the horizon) are not trusted."""
DEFAULT_DISTANCE = 5.0
"""Metres: where :func:`rig_for` assumes the person stands when nothing else locates them."""
GROUND_FALLBACKS = (((4, 5), 0.5), ((0, 1, 2), 0.93), ((12, 16, 17), 1.42))
"""When no ankle locates the person: (SMPL-22 joints, typical height above the ground in metres) tried in order."""


def _locate(keypoints, confidence, K0, T0) -> tuple[torch.Tensor, torch.Tensor, str | None]:
    """Ground positions ``[T, 3]`` and validity ``[T]`` for ONE clip, with the degenerate fallbacks of
    :func:`rig_for`; the third item says which fallback was used (``None``: the ankles)."""
    cam = camera_centre(T0)
    near = lambda p: torch.stack([p[..., 0] - cam[..., 0], p[..., 2] - cam[..., 2]], -1).norm(dim=-1) <= MAX_GROUND_DISTANCE  # noqa: E731
    pos, valid = ground_positions(keypoints, confidence, K0, T0)
    ok = valid & near(pos) & torch.isfinite(pos).all(-1)
    if bool(ok.any()):
        return pos[0], ok[0], None
    first_far = (pos, valid)
    for joints, height in GROUND_FALLBACKS:
        kp = keypoints[..., list(joints), :]
        cf = confidence[..., list(joints)]
        v = torch.where(cf > 0, kp[..., 1], torch.full_like(kp[..., 1], -math.inf))
        idx = v.argmax(-1)
        pix = torch.gather(kp, -2, idx[..., None, None].expand(*idx.shape, 1, 2)).squeeze(-2)
        hits, hv = ray_plane_hits(pix, K0, T0, height)
        hits = hits.clone()
        hits[..., 1] = ANKLE_HEIGHT
        ok = hv & (cf > 0).any(-1) & near(hits) & torch.isfinite(hits).all(-1)
        if bool(ok.any()):
            return hits[0], ok[0], f"joints {joints} at {height} m"
    pos, valid = first_far
    heading = torch.nn.functional.normalize(torch.stack([T0[..., 2, 0], T0[..., 2, 2]], -1), dim=-1)  # optical axis on the ground
    if bool(valid.any()):  # only hits beyond MAX_GROUND_DISTANCE: pull them in to it
        d = torch.stack([pos[..., 0] - cam[..., 0, None], pos[..., 2] - cam[..., 2, None]], -1)
        d = torch.nan_to_num(d, nan=0.0, posinf=0.0, neginf=0.0)
        d = torch.where(d.norm(dim=-1, keepdim=True) > 0, d, heading[:, None])
        d = torch.nn.functional.normalize(d, dim=-1) * MAX_GROUND_DISTANCE
        p = torch.stack([cam[..., 0, None] + d[..., 0], torch.full_like(d[..., 0], ANKLE_HEIGHT), cam[..., 2, None] + d[..., 1]], -1)
        return p[0], valid[0], f"ground positions clamped to {MAX_GROUND_DISTANCE:g} m"
    T = keypoints.shape[-3]
    p = torch.stack([cam[0, 0] + DEFAULT_DISTANCE * heading[0, 0], torch.tensor(ANKLE_HEIGHT, dtype=cam.dtype),
                     cam[0, 2] + DEFAULT_DISTANCE * heading[0, 1]])
    return p.expand(T, 3), torch.ones(T, dtype=torch.bool), f"a default distance of {DEFAULT_DISTANCE:g} m"


@dataclass
class Located:
    """Where the person of each clip stands, in the canonical frame of the input camera.

    Attributes:
        M: ``[4, 4]`` world-to-canonical transform.
        K0: ``[B, 3, 3]``; T0: ``[B, 4, 4]`` (canonical); size0: ``[B, 2]``: the input camera.
        pos: ``[B, T, 3]`` per-frame ground positions (metres); valid: ``[B, T]`` bool.
    """

    M: torch.Tensor
    K0: torch.Tensor
    T0: torch.Tensor
    size0: torch.Tensor
    pos: torch.Tensor
    valid: torch.Tensor


def locate(keypoints: torch.Tensor, confidence: torch.Tensor, cam) -> Located:
    """The canonical frame and the per-frame ground positions of a batch of clips.

    Args:
        keypoints: ``[B, T, 22, 2]`` SMPL-22 pixels of ``cam``; confidence: ``[B, T, 22]``.
        cam: the input :class:`~mocap_fast.Camera`.

    Degenerate clips (no observed ankle whose ray meets the ground within ``MAX_GROUND_DISTANCE``)
    are located by the fallbacks of ``GROUND_FALLBACKS`` (knees, hips, shoulders at typical
    heights), then by clamping far hits, then at ``DEFAULT_DISTANCE`` along the camera's heading,
    with a ``RuntimeWarning``.

    Raises:
        ValueError: a camera that sees no ground.
    """
    if not cam.sees_ground():
        raise ValueError("cam: the camera sees no ground plane (y = 0) in front of it")
    B = keypoints.shape[0]
    M = canonical_transform(cam.T_w2c)
    T0 = (cam.T_w2c @ torch.linalg.inv(M))[None].expand(B, 4, 4)
    K0 = cam.K[None].expand(B, 3, 3)
    size0 = cam.size_tensor[None].expand(B, 2)
    located = [_locate(keypoints[b:b + 1], confidence[b:b + 1], K0[b:b + 1], T0[b:b + 1]) for b in range(B)]
    for b, (_, _, how) in enumerate(located):
        if how is not None:
            msg = f"rig: clip {b}: no observed ankle meets the ground within {MAX_GROUND_DISTANCE:g} m; located by {how}"
            log.info(msg)
            warnings.warn(msg, RuntimeWarning, stacklevel=4)
    pos = torch.stack([p for p, _, _ in located])
    valid = torch.stack([v for _, v, _ in located])
    return Located(M, K0, T0, size0, pos, valid)


def rig_for(keypoints: torch.Tensor, confidence: torch.Tensor, cam) -> tuple[torch.Tensor, ...]:
    """The canonical frame and one 4-camera rig per clip, around the whole clip's area (:func:`locate`).

    Returns:
        ``(M [4, 4] world-to-canonical, K [B, 4, 3, 3], T_w2c [B, 4, 4, 4] canonical, image_size [B, 4, 2])``.
    """
    loc = locate(keypoints, confidence, cam)
    centre, radius = person_area(loc.pos, loc.valid)
    return (loc.M, *virtual_rig(loc.K0, loc.T0, loc.size0, centre, radius))


def window_rigs(loc: Located, rows: list[tuple[int, int, int]]) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One 4-camera rig per window ``(clip, start, end)`` of ``rows``, around that window's area.

    Training draws the rig from the ground positions of its 64-frame window, so a person who
    walks across a long clip meets the rig the model knows in every window, not one stretched
    over the whole walk. A window without a valid ground position takes its clip's area. All rows
    go through one batched :func:`person_area` (each row's frames gathered and masked to the
    longest row's length).

    Args:
        loc: the located clips; rows: ``n >= 1`` windows ``(clip, start, end)``, ``0 <= start <= end <= T``.

    Returns:
        ``(K [n, 4, 3, 3], T_w2c [n, 4, 4, 4], image_size [n, 4, 2])`` for the ``n`` rows, float64.
    """
    b, s, e = torch.tensor(rows, dtype=torch.long).reshape(-1, 3).unbind(1)
    T = loc.valid.shape[1]
    seen = torch.nn.functional.pad(loc.valid.cumsum(1), (1, 0))  # [B, T + 1] valid frames before each frame
    empty = seen[b, e] == seen[b, s]  # windows without a valid position take their whole clip
    s, e = torch.where(empty, 0, s), torch.where(empty, T, e)
    k = torch.arange(int((e - s).max()))
    frame = (s[:, None] + k).clamp_max(T - 1)  # [n, L]: each row's frames, padded (masked) to the longest
    valid = loc.valid[b[:, None], frame] & (k < (e - s)[:, None])
    centre, radius = person_area(loc.pos[b[:, None], frame], valid)
    return virtual_rig(loc.K0[b], loc.T0[b], loc.size0[b], centre, radius)


__all__ = [
    "ANKLE_HEIGHT", "MAX_GROUND_DISTANCE", "camera_centre", "canonical_transform", "ground_positions", "lower_ankle", "person_area",
    "ray_plane_hits", "rig_for", "virtual_rig", "Located", "locate", "window_rigs",
]
