"""Reprojection overlay: the 2D input and the lift reprojected into the input camera, frame by frame.

:func:`write_overlay` draws, on a blank frame of the input image size or over the frames of the
input video, the input keypoints (green dots and bones, in their own joint format) and the lifted
joints projected into the input camera (``result.views_2d[0]``: orange SMPL-22 bones), with the
frame number and the median distance in pixels between the input joints and their SMPL-22
counterparts. Where the two disagree, the lift does not explain the footage.

Writes an MP4 (``.mp4``: needs the optional extra ``mocap_fast[video]``, imageio with ffmpeg) or a
GIF (``.gif``: Pillow). Reading ``video`` always needs imageio.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Iterator

import numpy as np

from ..joints import SMPL22, get_format, to_smpl22
from .plots import result_arrays

__all__ = ["write_overlay", "overlay_frames", "default_overlay_name"]

LIMITS = {".mp4": (960, 1800), ".gif": (480, 300)}
"""Per output kind: frames wider than the first number of pixels are scaled down, and clips longer
than the second are drawn every k-th frame (file size; a GIF is held in memory while written)."""
INPUT_COLOR = (40, 170, 60)
LIFT_COLOR = (240, 110, 20)


def _video_module():
    try:
        import imageio.v3 as iio
    except ImportError:
        raise ValueError("video: reading or writing video needs imageio: pip install 'mocap_fast[video]'") from None
    return iio


def _has_ffmpeg() -> bool:
    try:
        import imageio.v3  # noqa: F401
        import imageio_ffmpeg  # noqa: F401
    except ImportError:
        return False
    return True


def default_overlay_name() -> str:
    """``overlay.mp4`` when imageio with ffmpeg is installed, else ``overlay.gif``."""
    return "overlay.mp4" if _has_ffmpeg() else "overlay.gif"


def _video_frames(video: str | Path, size: tuple[int, int]) -> Iterator[np.ndarray]:
    iio = _video_module()
    if not Path(video).is_file():
        raise ValueError(f"video: no such file {str(video)!r}")
    try:
        for frame in iio.imiter(video):
            if frame.shape[1] != size[0] or frame.shape[0] != size[1]:
                raise ValueError(f"video: frames are {frame.shape[1]}x{frame.shape[0]}, the camera's image is "
                                 f"{size[0]}x{size[1]}")
            yield np.asarray(frame[..., :3], dtype=np.uint8)
    except (OSError, RuntimeError) as exc:
        raise ValueError(f"video: cannot read {str(video)!r} ({exc})") from None


def overlay_frames(result, keypoints: Any, joint_format: str = "smpl22", confidence: Any = None,
                   video: str | Path | None = None, max_width: int = 960, max_frames: int = 1800) -> Iterator[np.ndarray]:
    """``(H', W', 3)`` uint8 frames of the overlay (module docstring): every ``ceil(T / max_frames)``-th
    frame, scaled to at most ``max_width`` pixels wide.

    Args:
        result: a one-clip :class:`~mocap_fast.lifting.LiftResult`.
        keypoints: ``(T, J, 2)`` the 2D input in pixels of the input camera, in ``joint_format``; NaN = missing;
            None: the reprojected lift alone.
        confidence: ``(T, J)`` or None; joints with confidence 0 are not drawn.
        video: optional video file whose frames (the input camera's image size) are the background.
    """
    from PIL import Image, ImageDraw

    _, views, cams, _ = result_arrays(result)
    W, H = (int(v) for v in cams[0].image_size)
    fmt = get_format(joint_format)
    T = views.shape[1]
    kp = np.full((T, fmt.num_joints, 2), np.nan) if keypoints is None else np.asarray(keypoints, dtype=np.float64)
    if kp.shape != (T, fmt.num_joints, 2):
        raise ValueError(f"keypoints: expected shape ({T}, {fmt.num_joints}, 2), got {kp.shape}")
    conf = np.ones(kp.shape[:2]) if confidence is None else np.nan_to_num(np.asarray(confidence, dtype=np.float64))
    seen = (conf > 0) & np.isfinite(kp).all(-1)
    kp22, conf22 = to_smpl22(np.nan_to_num(kp), np.where(seen, conf, 0.0), fmt.name)
    kp22, conf22 = np.asarray(kp22), np.asarray(conf22)
    reproj = views[0]  # (T, 22, 2)
    stride = max(1, -(-T // max_frames))
    scale = min(1.0, max_width / W)
    out_size = (max(2, int(round(W * scale / 2)) * 2), max(2, int(round(H * scale / 2)) * 2))  # even: H.264
    back = _video_frames(video, (W, H)) if video is not None else None
    r = max(2, int(round(3 / max(scale, 0.25))))
    for t in range(T):
        bg = next(back, None) if back is not None else None
        if t % stride:
            continue
        img = Image.fromarray(bg) if bg is not None else Image.new("RGB", (W, H), (255, 255, 255))
        d = ImageDraw.Draw(img)
        lw = max(2, int(round(2 / scale)))
        for a, b in fmt.edges:
            if seen[t, a] and seen[t, b]:
                d.line([tuple(kp[t, a]), tuple(kp[t, b])], fill=INPUT_COLOR, width=lw)
        for a, b in SMPL22.edges:
            d.line([tuple(reproj[t, a]), tuple(reproj[t, b])], fill=LIFT_COLOR, width=lw)
        for j in np.flatnonzero(seen[t]):
            x, y = kp[t, j]
            d.ellipse([x - r, y - r, x + r, y + r], fill=INPUT_COLOR)
        ok = conf22[t] > 0
        err = float(np.median(np.linalg.norm(kp22[t, ok] - reproj[t, ok], axis=-1))) if ok.any() else float("nan")
        d.text((10 / scale, 10 / scale), f"frame {t}  input (green) vs lift (orange): median {err:.1f} px",
               fill=(0, 0, 0) if bg is None else (255, 255, 255))
        if scale < 1.0:
            img = img.resize(out_size, Image.BILINEAR)
        yield np.asarray(img, dtype=np.uint8)


def write_overlay(result, keypoints: Any, path: str | Path, joint_format: str = "smpl22", confidence: Any = None,
                  video: str | Path | None = None) -> Path:
    """Write the overlay of :func:`overlay_frames` to ``path`` (``.mp4`` or ``.gif``); returns the path."""
    p = Path(path)
    if p.suffix.lower() not in (".mp4", ".gif"):
        raise ValueError(f"path: overlay must end in .mp4 or .gif, got {str(p)!r}")
    fps = float(result.fps)
    max_width, max_frames = LIMITS[p.suffix.lower()]
    stride = max(1, -(-np.shape(result.views_2d)[-3] // max_frames))
    frames = overlay_frames(result, keypoints, joint_format, confidence, video, max_width, max_frames)
    p.parent.mkdir(parents=True, exist_ok=True)
    tmp = p.with_name(p.stem + ".tmp" + p.suffix)
    if p.suffix.lower() == ".mp4":
        if not _has_ffmpeg():
            raise ValueError("path: writing .mp4 needs imageio-ffmpeg: pip install 'mocap_fast[video]' (or use .gif)")
        import imageio

        with imageio.get_writer(str(tmp), format="FFMPEG", fps=fps / stride, macro_block_size=2) as w:
            for f in frames:  # streamed: memory stays one frame
                w.append_data(f)
    else:
        from PIL import Image

        imgs = [Image.fromarray(f) for f in frames]
        imgs[0].save(tmp, format="GIF", save_all=True, append_images=imgs[1:],
                     duration=int(round(1000 * stride / fps)), loop=0)
    tmp.replace(p)
    return p
