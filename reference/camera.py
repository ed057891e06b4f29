"""Pinhole cameras, projection, the square canvas and the ground pointmap (plain PyTorch).

Conventions (see API.md):
- World: right-handed, y up, metres, ground plane y = 0.
- Camera: OpenCV (x right, y down, z forward). ``T_w2c`` maps world to camera:
  ``X_c = R X_w + t`` with ``T_w2c = [[R, t], [0, 0, 0, 1]]``.
- Pixels: (u, v), u to the right, v down, origin at the top-left pixel corner.
- Square canvas (DESIGN §2): an image of size (W, H) sits centred in a square of side
  ``max(W, H)``; canvas pixels = image pixels + ``canvas_offset``. Canvas-normalised coordinates
  ``g = 2 p_canvas / side - 1`` lie in [-1, 1] over the canvas.

The functional core works on batched tensors; :class:`Camera` wraps one camera for users.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from mocap_fast._arrays import as_tensor, check_finite, check_last_dims, check_positive, like_input


def project(points: torch.Tensor, K: torch.Tensor, T_w2c: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """Project world points to pixels.

    Args:
        points: ``[..., N, 3]`` world points, metres.
        K: ``[..., 3, 3]`` intrinsics (pixels); batch dims broadcast against ``points``' leading dims.
        T_w2c: ``[..., 4, 4]`` world-to-camera transforms.
        eps: depths below this are clamped to it (points behind the camera project, but far away).

    Returns:
        ``[..., N, 2]`` pixel coordinates.
    """
    cam = to_camera_frame(points, T_w2c)
    return camera_to_pixels(cam, K, eps)


def to_camera_frame(points: torch.Tensor, T_w2c: torch.Tensor) -> torch.Tensor:
    """World points ``[..., N, 3]`` to the camera frame with ``T_w2c`` ``[..., 4, 4]``."""
    R = T_w2c[..., :3, :3]
    t = T_w2c[..., :3, 3]
    return points @ R.transpose(-1, -2) + t.unsqueeze(-2)


def camera_to_pixels(cam: torch.Tensor, K: torch.Tensor, eps: float = 1e-9) -> torch.Tensor:
    """Camera-frame points ``[..., N, 3]`` to pixels ``[..., N, 2]`` with intrinsics ``[..., 3, 3]``."""
    z = cam[..., 2:3].clamp_min(eps)
    uv1 = torch.cat([cam[..., :2] / z, torch.ones_like(z)], dim=-1)
    return (uv1 @ K.transpose(-1, -2))[..., :2]


def projection_matrix(K: torch.Tensor, T_w2c: torch.Tensor) -> torch.Tensor:
    """``P = K [R | t]``: ``[..., 3, 3]`` and ``[..., 4, 4]`` to ``[..., 3, 4]``."""
    return K @ T_w2c[..., :3, :]


def canvas_offset(image_size: torch.Tensor) -> torch.Tensor:
    """Shift from image to canvas pixels for images ``[..., 2]`` = (W, H): ``[..., 2]`` pixels."""
    side = image_size.max(dim=-1, keepdim=True).values
    return (side - image_size) / 2


def canvas_side(image_size: torch.Tensor) -> torch.Tensor:
    """Canvas side ``max(W, H)`` in pixels for image sizes ``[..., 2]``; returns ``[...]``."""
    return image_size.max(dim=-1).values


def normalized_intrinsics(K: torch.Tensor, image_size: torch.Tensor) -> torch.Tensor:
    """Intrinsics that map camera rays straight to canvas-normalised coordinates ``g``.

    ``g = 2 (p + offset) / side - 1`` is affine in the pixel ``p``, so ``K_g = A K`` with
    ``A = [[2/s, 0, 2 o_x / s - 1], [0, 2/s, 2 o_y / s - 1], [0, 0, 1]]``.

    Args:
        K: ``[..., 3, 3]`` pixel intrinsics.
        image_size: ``[..., 2]`` (W, H) pixels, same dtype as ``K``.

    Returns:
        ``[..., 3, 3]``.
    """
    s = canvas_side(image_size)[..., None]
    o = canvas_offset(image_size)
    A = torch.zeros(K.shape, dtype=K.dtype, device=K.device)
    A[..., 0, 0] = (2 / s)[..., 0]
    A[..., 1, 1] = (2 / s)[..., 0]
    A[..., :2, 2] = 2 * o / s - 1
    A[..., 2, 2] = 1
    return A @ K


def pixels_to_normalized(pixels: torch.Tensor, image_size: torch.Tensor) -> torch.Tensor:
    """Image pixels ``[..., N, 2]`` to canvas-normalised coordinates; ``image_size`` ``[..., 2]``."""
    s = canvas_side(image_size)[..., None, None]
    return 2 * (pixels + canvas_offset(image_size).unsqueeze(-2)) / s - 1


def normalized_to_pixels(g: torch.Tensor, image_size: torch.Tensor) -> torch.Tensor:
    """Inverse of :func:`pixels_to_normalized`."""
    s = canvas_side(image_size)[..., None, None]
    return (g + 1) * s / 2 - canvas_offset(image_size).unsqueeze(-2)


def ground_pointmap(K: torch.Tensor, T_w2c: torch.Tensor, image_size: torch.Tensor, resolution: int = 224) -> torch.Tensor:
    """World point where each canvas pixel's ray meets the ground plane y = 0 (DESIGN §3).

    The canvas (square, side ``max(W, H)``) is sampled on a ``resolution x resolution`` grid at
    pixel centres. A ray parallel to the ground, pointing up, or meeting the ground behind the
    camera gives zeros, as do canvas pixels outside the image.

    Args:
        K: ``[..., 3, 3]``; T_w2c: ``[..., 4, 4]``; image_size: ``[..., 2]`` (W, H).
        resolution: grid size per side.

    Returns:
        ``[..., resolution, resolution, 3]`` world points (metres), row-major (row = v).
    """
    dtype, device = K.dtype, K.device
    side = canvas_side(image_size)
    off = canvas_offset(image_size)
    step = (side / resolution)[..., None]
    idx = torch.arange(resolution, dtype=dtype, device=device) + 0.5
    u = idx * step - off[..., 0:1]
    v = idx * step - off[..., 1:2]
    uu = u[..., None, :].expand(*u.shape[:-1], resolution, resolution)
    vv = v[..., :, None].expand(*v.shape[:-1], resolution, resolution)
    pix = torch.stack([uu, vv, torch.ones_like(uu)], dim=-1)
    rays_cam = pix @ torch.linalg.inv(K).transpose(-1, -2)[..., None, :, :]
    R = T_w2c[..., :3, :3]
    t = T_w2c[..., :3, 3]
    centre = -(R.transpose(-1, -2) @ t.unsqueeze(-1)).squeeze(-1)
    rays_w = rays_cam @ R[..., None, :, :]
    dy = rays_w[..., 1]
    cy = centre[..., 1][..., None, None]
    with torch.no_grad():
        safe = torch.where(dy.abs() > 1e-12, dy, torch.ones_like(dy))
    lam = -cy / safe
    hits = centre[..., None, None, :] + lam[..., None] * rays_w
    inside = (uu >= 0) & (uu <= image_size[..., 0, None, None]) & (vv >= 0) & (vv <= image_size[..., 1, None, None])
    valid = (dy.abs() > 1e-12) & (lam > 0) & inside
    return torch.where(valid[..., None], hits, torch.zeros_like(hits))


def pose_embedding(T_w2c: torch.Tensor) -> torch.Tensor:
    """Camera pose features (tilt, roll, height) of DESIGN §3/§5, yaw-invariant.

    tilt = asin of the optical axis' world-y component (radians, negative looking down);
    roll = rotation about the optical axis (radians, 0 when the image x axis is horizontal);
    height = camera centre's world y (metres).

    Args:
        T_w2c: ``[..., 4, 4]``.

    Returns:
        ``[..., 3]``.
    """
    R = T_w2c[..., :3, :3]
    t = T_w2c[..., :3, 3]
    centre = -(R.transpose(-1, -2) @ t.unsqueeze(-1)).squeeze(-1)
    forward_y = R[..., 2, 1]
    right_y = R[..., 0, 1]
    down_y = R[..., 1, 1]
    tilt = torch.asin(forward_y.clamp(-1, 1))
    roll = torch.atan2(right_y, -down_y)
    return torch.stack([tilt, roll, centre[..., 1]], dim=-1)


def look_rotation(pitch: torch.Tensor, roll: torch.Tensor, yaw: torch.Tensor) -> torch.Tensor:
    """World-to-camera rotation of a camera with the given pitch, roll and yaw (radians).

    Yaw 0, pitch 0, roll 0 looks along world -z with image x along world +x. Yaw turns the
    camera about world +y (counter-clockwise seen from above), pitch tilts the optical axis up
    (positive) or down (negative), roll turns the image about the optical axis.
    ``R = Rz(roll) @ Rx_cam(pitch) @ R0 @ Ry_world(-yaw)``.

    Args:
        pitch, roll, yaw: broadcastable tensors ``[...]``.

    Returns:
        ``[..., 3, 3]``.
    """
    # torch, not scipy's Rotation: batched, on any device, differentiable; elementary rotations need no roma
    pitch, roll, yaw = torch.broadcast_tensors(pitch, roll, yaw)
    sp, cp = torch.sin(pitch), torch.cos(pitch)
    sr, cr = torch.sin(roll), torch.cos(roll)
    sy, cy = torch.sin(yaw), torch.cos(yaw)
    zero, one = torch.zeros_like(pitch), torch.ones_like(pitch)
    # rows of the yaw-0 rotation: camera x, y (down), z (forward) in world coordinates
    x0 = torch.stack([one, zero, zero], -1)
    y0 = torch.stack([zero, -cp, -sp], -1)
    z0 = torch.stack([zero, sp, -cp], -1)
    x1 = cr[..., None] * x0 - sr[..., None] * y0
    y1 = sr[..., None] * x0 + cr[..., None] * y0
    R_pr = torch.stack([x1, y1, z0], dim=-2)
    # world yaw: a camera turned by +yaw sees the world turned by -yaw about +y
    Ry = torch.stack(
        [
            torch.stack([cy, zero, sy], -1),
            torch.stack([zero, one, zero], -1),
            torch.stack([-sy, zero, cy], -1),
        ],
        dim=-2,
    )
    return R_pr @ Ry.transpose(-1, -2)


def look_at(centre: torch.Tensor, target: torch.Tensor, roll: torch.Tensor | float = 0.0) -> torch.Tensor:
    """``T_w2c`` ``[..., 4, 4]`` of cameras at ``centre`` ``[..., 3]`` whose optical axis passes through
    ``target`` ``[..., 3]`` (world, metres), with ``roll`` (radians) about that axis. Image x stays
    horizontal at roll 0. The direction must not be vertical.
    """
    d = target - centre
    d = d / d.norm(dim=-1, keepdim=True)
    pitch = torch.asin(d[..., 1].clamp(-1, 1))
    yaw = torch.atan2(-d[..., 0], -d[..., 2])
    roll_t = torch.as_tensor(roll, dtype=centre.dtype, device=centre.device)
    return rigid_transform(look_rotation(pitch, roll_t, yaw), centre)


def rigid_transform(R: torch.Tensor, centre: torch.Tensor) -> torch.Tensor:
    """``T_w2c`` ``[..., 4, 4]`` from a rotation ``[..., 3, 3]`` and a camera centre ``[..., 3]`` (world)."""
    T = torch.zeros(*R.shape[:-2], 4, 4, dtype=R.dtype, device=R.device)
    T[..., :3, :3] = R
    T[..., :3, 3] = -(R @ centre.unsqueeze(-1)).squeeze(-1)
    T[..., 3, 3] = 1
    return T


def intrinsics(fx, fy, cx, cy, dtype=torch.float64) -> torch.Tensor:
    """``[..., 3, 3]`` pinhole intrinsics from broadcastable focal lengths and principal point (pixels)."""
    fx, fy, cx, cy = torch.broadcast_tensors(*(torch.as_tensor(v, dtype=dtype) for v in (fx, fy, cx, cy)))
    K = torch.zeros(*fx.shape, 3, 3, dtype=dtype)
    K[..., 0, 0], K[..., 1, 1], K[..., 0, 2], K[..., 1, 2], K[..., 2, 2] = fx, fy, cx, cy, 1
    return K


MIN_FOCAL = 1e-3
"""Pixels: the least focal length :class:`Camera` accepts (smaller is numerically singular)."""
MAX_FOCAL = 1e7
"""Pixels: the largest focal length :class:`Camera` accepts."""
MAX_ASPECT = 100.0
"""The largest fx / fy ratio (and |skew| / fx) :class:`Camera` accepts."""
MAX_IMAGE_SIDE = 100_000
"""Pixels: the largest image width or height :class:`Camera` accepts."""
MAX_COORD = 1e5
"""Metres: the largest |translation| component of ``T_w2c`` :class:`Camera` accepts (100 km)."""


@dataclass(frozen=True, eq=False)
class Camera:
    """One calibrated pinhole camera.

    Args:
        K: ``(3, 3)`` intrinsics in pixels (numpy or torch).
        T_w2c: ``(4, 4)`` world-to-camera rigid transform (OpenCV camera axes, metres).
        image_size: ``(W, H)`` pixels.

    Stored as float64 CPU tensors. Raises ``ValueError`` naming the argument for wrong shapes,
    non-finite values, a singular or skewed K, a non-rigid ``T_w2c`` or a bad image size.
    """

    K: torch.Tensor
    T_w2c: torch.Tensor
    image_size: tuple[int, int]

    def __init__(self, K: Any, T_w2c: Any, image_size: Any):
        K_t = as_tensor(K, "K", dtype=torch.float64, device="cpu")
        T_t = as_tensor(T_w2c, "T_w2c", dtype=torch.float64, device="cpu")
        if K_t.shape != (3, 3):
            raise ValueError(f"K: expected shape (3, 3), got {tuple(K_t.shape)}")
        if T_t.shape != (4, 4):
            raise ValueError(f"T_w2c: expected shape (4, 4), got {tuple(T_t.shape)}")
        check_finite(K_t, "K")
        check_finite(T_t, "T_w2c")
        if K_t[0, 0] <= 0 or K_t[1, 1] <= 0:
            raise ValueError(f"K: focal lengths must be > 0, got fx={float(K_t[0, 0])}, fy={float(K_t[1, 1])}")
        if not torch.allclose(K_t[2], torch.tensor([0.0, 0.0, 1.0], dtype=torch.float64)) or K_t[1, 0] != 0:
            raise ValueError("K: expected [[fx, s, cx], [0, fy, cy], [0, 0, 1]]")
        fx, fy = float(K_t[0, 0]), float(K_t[1, 1])
        if not (MIN_FOCAL <= fx <= MAX_FOCAL and MIN_FOCAL <= fy <= MAX_FOCAL) or max(fx, fy) / min(fx, fy) > MAX_ASPECT:
            raise ValueError(
                f"K: singular or ill-conditioned intrinsics (fx={fx:g}, fy={fy:g}; need {MIN_FOCAL:g} <= f <= "
                f"{MAX_FOCAL:g} pixels and fx/fy within {MAX_ASPECT:g}x)"
            )
        if abs(float(K_t[0, 1])) > MAX_ASPECT * fx:
            raise ValueError(f"K: skew {float(K_t[0, 1]):g} is implausibly large for fx={fx:g}")
        R = T_t[:3, :3]
        if not torch.allclose(R @ R.T, torch.eye(3, dtype=torch.float64), atol=1e-5) or float(torch.linalg.det(R)) < 0.5:
            raise ValueError("T_w2c: the 3x3 block is not a rotation (orthonormal with det +1)")
        if not torch.allclose(T_t[3], torch.tensor([0.0, 0.0, 0.0, 1.0], dtype=torch.float64)):
            raise ValueError("T_w2c: last row must be [0, 0, 0, 1]")
        if float(T_t[:3, 3].abs().max()) > MAX_COORD:
            raise ValueError(f"T_w2c: translation {T_t[:3, 3].tolist()} is beyond {MAX_COORD:g} m (metres expected)")
        try:
            sz = np.asarray(image_size, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"image_size: expected (W, H), got {image_size!r}") from None
        if sz.shape != (2,) or not np.isfinite(sz).all() or sz.min() < 0.5 or sz.max() > MAX_IMAGE_SIDE:
            raise ValueError(
                f"image_size: expected two positive integers (W, H) up to {MAX_IMAGE_SIDE}, got {image_size!r}"
            )
        size = tuple(int(round(float(v))) for v in sz)
        cx, cy = float(K_t[0, 2]), float(K_t[1, 2])
        if not (0 <= cx <= size[0] and 0 <= cy <= size[1]):
            raise ValueError(f"image_size: principal point ({cx:.1f}, {cy:.1f}) lies outside the {size[0]}x{size[1]} image")
        object.__setattr__(self, "K", K_t)
        object.__setattr__(self, "T_w2c", T_t)
        object.__setattr__(self, "image_size", size)

    @classmethod
    def from_ground(
        cls,
        fx: float,
        fy: float,
        cx: float,
        cy: float,
        image_size: Any,
        height: float = 1.6,
        pitch_deg: float = -10.0,
        roll_deg: float = 0.0,
        yaw_deg: float = 0.0,
        position_xz: tuple[float, float] = (0.0, 0.0),
    ) -> "Camera":
        """Camera at ``(x, height, z)`` looking along world -z (yaw 0), tilted by pitch (negative = down).

        Args:
            fx, fy, cx, cy: intrinsics, pixels.
            image_size: (W, H) pixels.
            height: camera height above the ground, metres (> 0).
            pitch_deg: optical axis elevation, degrees (negative looks down).
            roll_deg: rotation about the optical axis, degrees.
            yaw_deg: heading about world +y, degrees (0 looks along -z).
            position_xz: camera (x, z) on the ground plane, metres.
        """
        if check_positive(height, "height") > MAX_COORD:
            raise ValueError(f"height: {height!r} m is beyond {MAX_COORD:g} m")
        for name, v in (("fx", fx), ("fy", fy), ("cx", cx), ("cy", cy)):
            _finite_number(v, name)
        for name, v in (("pitch_deg", pitch_deg), ("roll_deg", roll_deg), ("yaw_deg", yaw_deg)):
            _finite_number(v, name)
        try:
            pxz = np.asarray(position_xz, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise ValueError(f"position_xz: expected (x, z) metres, got {position_xz!r}") from None
        if pxz.shape != (2,) or not np.isfinite(pxz).all():
            raise ValueError(f"position_xz: expected two finite numbers (x, z), got {position_xz!r}")
        position_xz = (float(pxz[0]), float(pxz[1]))
        if not -90.0 < float(pitch_deg) < 90.0:
            raise ValueError(f"pitch_deg: must lie in (-90, 90), got {pitch_deg!r}")
        rad = lambda d: torch.tensor(math.radians(float(d)), dtype=torch.float64)  # noqa: E731
        R = look_rotation(rad(pitch_deg), rad(roll_deg), rad(yaw_deg))
        centre = torch.tensor([float(position_xz[0]), float(height), float(position_xz[1])], dtype=torch.float64)
        return cls(intrinsics(fx, fy, cx, cy), rigid_transform(R, centre), image_size)

    @property
    def R(self) -> torch.Tensor:
        """``(3, 3)`` world-to-camera rotation."""
        return self.T_w2c[:3, :3]

    @property
    def centre(self) -> torch.Tensor:
        """``(3,)`` camera centre in world coordinates, metres."""
        return -(self.R.T @ self.T_w2c[:3, 3])

    @property
    def P(self) -> torch.Tensor:
        """``(3, 4)`` projection matrix ``K [R | t]``."""
        return projection_matrix(self.K, self.T_w2c)

    @property
    def size_tensor(self) -> torch.Tensor:
        """``(2,)`` float64 (W, H)."""
        return torch.tensor(self.image_size, dtype=torch.float64)

    def project(self, points: Any) -> Any:
        """World points ``(..., 3)`` metres to pixels ``(..., 2)``; same array kind as the input."""
        X = as_tensor(points, "points", dtype=torch.float64)
        check_last_dims(X, "points", (3,))
        flat = X.reshape(-1, 3).cpu()
        uv = project(flat, self.K, self.T_w2c).reshape(*X.shape[:-1], 2)
        out = uv.to(points.dtype if isinstance(points, torch.Tensor) else torch.float64)
        return like_input(out, points)

    def to_camera(self, points: Any) -> Any:
        """World points ``(..., 3)`` to the camera frame ``(..., 3)``, metres."""
        X = as_tensor(points, "points", dtype=torch.float64)
        check_last_dims(X, "points", (3,))
        cam = to_camera_frame(X.reshape(-1, 3).cpu(), self.T_w2c).reshape(X.shape)
        out = cam.to(points.dtype if isinstance(points, torch.Tensor) else torch.float64)
        return like_input(out, points)

    def pose_embedding(self) -> torch.Tensor:
        """``(3,)`` (tilt rad, roll rad, height m); see :func:`pose_embedding`."""
        return pose_embedding(self.T_w2c)

    def ground_pointmap(self, resolution: int = 224) -> torch.Tensor:
        """``(resolution, resolution, 3)`` ground hits of the canvas grid; see :func:`ground_pointmap`."""
        return ground_pointmap(self.K, self.T_w2c, self.size_tensor, resolution)

    def sees_ground(self) -> bool:
        """True when some pixel of the image sees the ground plane in front of the camera."""
        return bool((self.ground_pointmap(32).abs().sum(-1) > 0).any())

    def to_dict(self) -> dict:
        """JSON-ready dict: ``K``, ``T_w2c`` (nested lists) and ``image_size``."""
        return {"K": self.K.tolist(), "T_w2c": self.T_w2c.tolist(), "image_size": list(self.image_size)}

    @classmethod
    def from_dict(cls, d: dict) -> "Camera":
        """Inverse of :meth:`to_dict`."""
        for key in ("K", "T_w2c", "image_size"):
            if key not in d:
                raise ValueError(f"camera: missing key {key!r}")
        return cls(d["K"], d["T_w2c"], d["image_size"])

    def __repr__(self) -> str:
        tilt, roll, h = (float(v) for v in self.pose_embedding())
        fx, fy = float(self.K[0, 0]), float(self.K[1, 1])
        return (
            f"Camera(image_size={self.image_size}, f=({fx:.1f}, {fy:.1f}), height={h:.3f} m, "
            f"tilt={math.degrees(tilt):.1f} deg, roll={math.degrees(roll):.1f} deg)"
        )


def _finite_number(v: Any, name: str) -> float:
    """``float(v)``; ``ValueError`` naming ``name`` unless it is a finite real number."""
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise ValueError(f"{name}: expected a number, got {v!r}") from None
    if not math.isfinite(f):
        raise ValueError(f"{name}: must be finite, got {v!r}")
    return f
