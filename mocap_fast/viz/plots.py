"""Matplotlib pictures of a :class:`~mocap_fast.lifting.LiftResult` (Agg backend, no display needed).

- :func:`plot_views`: a PNG grid, one panel per view (the synthesized 2D skeleton of that view over
  a few frames, in that view's pixel frame); view 0 also shows the 2D input keypoints.
- :func:`animate`: a 3D skeleton animation with the ground grid, the cameras' frusta and the root
  trajectory; GIF (pillow writer) or MP4 (when the path ends in ``.mp4`` and ffmpeg exists).
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import torch

from ..joints import SMPL22, get_format

__all__ = ["plot_views", "animate", "frustum_lines", "result_arrays"]

_LEFT = {i for i, n in enumerate(SMPL22.joint_names) if n.startswith("left_")}
_RIGHT = {i for i, n in enumerate(SMPL22.joint_names) if n.startswith("right_")}


def _pyplot():
    try:
        import matplotlib
    except ImportError as e:  # pragma: no cover - depends on the environment
        raise ImportError("mocap_fast.viz needs matplotlib: pip install matplotlib") from e
    if matplotlib.get_backend().lower() != "agg":
        matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _np(x: Any) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        return x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def result_arrays(result, clip: int = 0):
    """``(joints (T,22,3), views_2d (V,T,22,2), cameras [V], fps)`` of one clip of a result as numpy."""
    joints, views = _np(result.joints), _np(result.views_2d)
    cams = result.cameras
    if joints.ndim == 4:  # batch
        joints, views, cams = joints[clip], views[clip], cams[clip]
    if joints.ndim != 3 or joints.shape[1:] != (22, 3):
        raise ValueError(f"result.joints: expected shape (T, 22, 3), got {joints.shape}")
    return joints, views, list(cams), float(getattr(result, "fps", 30.0) or 30.0)


def _bone_color(a: int, b: int) -> str:
    if b in _LEFT or a in _LEFT:
        return "tab:blue"
    if b in _RIGHT or a in _RIGHT:
        return "tab:red"
    return "0.25"


def frustum_lines(cam, depth: float = 0.4) -> np.ndarray:
    """``(8, 2, 3)`` world segments drawing a camera's frustum (apex to 4 corners, 4 image edges)."""
    K = _np(cam.K)
    T = _np(cam.T_w2c)
    R, t = T[:3, :3], T[:3, 3]
    C = -R.T @ t
    W, H = cam.image_size
    pix = np.array([[0, 0, 1], [W, 0, 1], [W, H, 1], [0, H, 1]], dtype=np.float64)
    rays = pix @ np.linalg.inv(K).T  # camera frame, z = 1
    corners = (rays * depth) @ R + C  # R^T x + C
    segs = [(C, c) for c in corners] + [(corners[i], corners[(i + 1) % 4]) for i in range(4)]
    return np.array(segs)


def _frames(T: int, n: int) -> np.ndarray:
    return np.unique(np.linspace(0, T - 1, max(1, min(n, T))).round().astype(int))


def plot_views(
    result,
    keypoints: Any = None,
    path: str | Path = "views.png",
    num_frames: int = 4,
    joint_format: str = "smpl22",
    clip: int = 0,
    dpi: int = 80,
) -> Path:
    """Write a PNG grid with one panel per view of ``result``.

    Each panel draws the view's synthesized 2D skeleton (``result.views_2d[v]``) at ``num_frames``
    evenly spaced frames (later frames darker) inside that view's image rectangle (pixels, y down).
    Panel 0 (the input camera) also draws the 2D input ``keypoints`` (``(T, J, 2)`` pixels in
    ``joint_format``; NaN = missing) as orange dashed skeletons.

    Returns:
        the path written.
    """
    plt = _pyplot()
    joints, views, cams, _ = result_arrays(result, clip)
    V, T = views.shape[:2]
    frames = _frames(T, num_frames)
    kp = None
    if keypoints is not None:
        kp = _np(keypoints)
        if kp.ndim == 4:
            kp = kp[clip]
        if kp.ndim != 3 or kp.shape[-1] != 2:
            raise ValueError(f"keypoints: expected shape (T, J, 2), got {kp.shape}")
        fmt = get_format(joint_format)
        if kp.shape[1] != fmt.num_joints:
            raise ValueError(f"keypoints: format {joint_format!r} has {fmt.num_joints} joints, got {kp.shape[1]}")
    cols = min(V, 4)
    rows = math.ceil(V / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(3.2 * cols, 3.0 * rows), squeeze=False)
    for v in range(rows * cols):
        ax = axes[v // cols][v % cols]
        if v >= V:
            ax.axis("off")
            continue
        W, H = cams[v].image_size if v < len(cams) else (np.nanmax(views[v, ..., 0]), np.nanmax(views[v, ..., 1]))
        ax.add_patch(plt.Rectangle((0, 0), W, H, fill=False, lw=0.8, ec="0.6"))
        for i, t in enumerate(frames):
            alpha = 0.35 + 0.65 * (i + 1) / len(frames)
            p = views[v, t]
            for a, b in SMPL22.edges:
                ax.plot(p[[a, b], 0], p[[a, b], 1], color=_bone_color(a, b), lw=1.5, alpha=alpha)
            if v == 0 and kp is not None and t < len(kp):
                q = kp[t]
                for a, b in get_format(joint_format).edges:
                    if np.isfinite(q[[a, b]]).all():
                        ax.plot(q[[a, b], 0], q[[a, b], 1], color="tab:orange", lw=1.0, ls="--", alpha=alpha)
        ax.set_xlim(0, W)
        ax.set_ylim(H, 0)
        ax.set_aspect("equal")
        ax.set_title("view 0 (input)" if v == 0 else f"view {v}", fontsize=9)
        ax.tick_params(labelsize=6)
    if kp is not None:
        axes[0][0].plot([], [], color="tab:orange", ls="--", label="2D input")
        axes[0][0].plot([], [], color="0.25", label="lifted")
        axes[0][0].legend(fontsize=6, loc="lower right")
    fig.suptitle(f"frames {', '.join(str(int(f)) for f in frames)}", fontsize=9)
    fig.tight_layout()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=dpi)
    plt.close(fig)
    return path


def animate(
    result,
    path: str | Path = "motion.gif",
    fps: float | None = None,
    clip: int = 0,
    stride: int = 1,
    max_frames: int | None = None,
    frustum_depth: float = 0.4,
    dpi: int = 72,
    size: Sequence[float] = (5.0, 5.0),
) -> Path:
    """Write a 3D animation of the lifted skeleton.

    Shows the ground grid (y = 0), every camera of ``result.cameras`` as a frustum (view 0 in
    orange), the root (pelvis) trajectory of the whole clip and the skeleton of the current frame.
    World y is drawn as the plot's vertical axis.

    Args:
        result: a :class:`~mocap_fast.lifting.LiftResult` (one clip of a batch via ``clip``).
        path: ``.gif`` (pillow writer) or ``.mp4`` (ffmpeg writer; needs ffmpeg on PATH, otherwise
            ``ValueError``).
        fps: playback frame rate; default ``result.fps / stride``.
        stride: draw every ``stride``-th frame.
        max_frames: at most this many frames (after ``stride``).
        frustum_depth: frustum size, metres.

    Returns:
        the path written.
    """
    plt = _pyplot()
    from matplotlib import animation

    joints, _, cams, res_fps = result_arrays(result, clip)
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".gif", ".mp4"):
        raise ValueError(f"path: expected a .gif or .mp4 file name, got {str(path)!r}")
    if suffix == ".mp4" and shutil.which("ffmpeg") is None:
        raise ValueError("path: writing .mp4 needs ffmpeg on PATH; install it or write a .gif")
    if int(stride) < 1:
        raise ValueError(f"stride: must be a positive integer, got {stride!r}")
    frames = np.arange(0, len(joints), int(stride))
    if max_frames is not None:
        frames = frames[: max(1, int(max_frames))]
    play_fps = float(fps) if fps is not None else res_fps / stride

    def w2p(X):  # world (x, y, z) -> plot (x, z, y): world y is the plot's vertical axis
        X = np.asarray(X)
        return X[..., 0], X[..., 2], X[..., 1]

    fig = plt.figure(figsize=tuple(size))
    ax = fig.add_subplot(111, projection="3d")
    root = joints[:, 0]
    centres = [(-_np(c.T_w2c)[:3, :3].T @ _np(c.T_w2c)[:3, 3]) for c in cams]
    pts = np.concatenate([joints.reshape(-1, 3), np.array(centres).reshape(-1, 3)], 0)
    lo, hi = pts.min(0), pts.max(0)
    mid, half = (lo + hi) / 2, max(float((hi - lo).max()) / 2, 1.0) * 1.05
    # ground grid
    g = np.linspace(-half, half, 9)
    for s in g:
        ax.plot(*w2p(np.array([[mid[0] + s, 0, mid[2] - half], [mid[0] + s, 0, mid[2] + half]])), color="0.85", lw=0.6)
        ax.plot(*w2p(np.array([[mid[0] - half, 0, mid[2] + s], [mid[0] + half, 0, mid[2] + s]])), color="0.85", lw=0.6)
    for v, cam in enumerate(cams):
        for seg in frustum_lines(cam, frustum_depth):
            ax.plot(*w2p(seg), color="tab:orange" if v == 0 else "tab:green", lw=0.8)
    ax.plot(*w2p(root * np.array([1, 0, 1])), color="tab:purple", lw=1.0, ls=":")  # root path on the ground
    ax.plot(*w2p(root), color="tab:purple", lw=1.2)
    lines = [ax.plot([], [], [], color=_bone_color(a, b), lw=2)[0] for a, b in SMPL22.edges]
    title = ax.set_title("")
    ax.set_xlim(mid[0] - half, mid[0] + half)
    ax.set_ylim(mid[2] - half, mid[2] + half)
    top = max(float(hi[1]), 2.0) * 1.05
    ax.set_zlim(0, top)
    ax.set_box_aspect((2 * half, 2 * half, top))  # metric: equal units on all axes
    ax.set_xlabel("x")
    ax.set_ylabel("z")
    ax.set_zlabel("y (up)")

    def draw(i):
        t = frames[i]
        for line, (a, b) in zip(lines, SMPL22.edges):
            x, y, z = w2p(joints[t, [a, b]])
            line.set_data(x, y)
            line.set_3d_properties(z)
        title.set_text(f"frame {t}")
        return lines

    anim = animation.FuncAnimation(fig, draw, frames=len(frames), interval=1000.0 / play_fps, blit=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = animation.PillowWriter(fps=play_fps) if suffix == ".gif" else animation.FFMpegWriter(fps=play_fps)
    anim.save(str(path), writer=writer, dpi=dpi)
    plt.close(fig)
    return path
