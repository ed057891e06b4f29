"""The one resampling rule of the library: motion along its time axis from one frame rate to another.

Used by the data loaders (:mod:`mocap_fast.data`) and by :func:`mocap_fast.lift` (keypoints to the
model's rate and the result back to the input's rate).
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import torch

from ._arrays import check_positive

__all__ = ["resample", "frame_pairs", "resample_axis"]


def _is_integral(ratio: float) -> bool:
    """True when ``ratio`` is within 0.1% of a positive integer (file frame times are rounded)."""
    k = round(ratio)
    return k >= 1 and abs(ratio - k) <= 1e-3 * ratio


def frame_pairs(T: int, fps_in: float, fps_out: float, n_out: int | None = None) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The resampling rule: for output frame k at time k / fps_out, its two neighbouring input
    frames and the blend between them.

    When fps_in / fps_out is an integer n (within 0.1%), output frame k is input frame k * n; else
    times within 1e-6 frame of an input frame snap to it. Times after the last input frame hold it.

    Args:
        T: input frames, >= 1.
        fps_in, fps_out: frame rates, > 0 (not checked here).
        n_out: output frames; default every k with k / fps_out <= (T - 1) / fps_in, i.e.
            ``floor((T - 1) * fps_out / fps_in) + 1`` (``ceil(T / n)`` when subsampling by n).

    Returns:
        ``i0, i1`` int64 ``[n_out]`` (``i1 = min(i0 + 1, T - 1)``) and the blend ``w`` float64
        ``[n_out]`` in [0, 1]: output = ``(1 - w) * x[i0] + w * x[i1]``.
    """
    ratio = fps_in / fps_out
    if n_out is None:
        n_out = int(math.floor((T - 1) / ratio + 1e-9)) + 1
    if _is_integral(ratio):
        t = np.arange(n_out, dtype=np.float64) * round(ratio)
    else:
        t = np.arange(n_out, dtype=np.float64) * fps_in / fps_out
        t = np.where(np.abs(t - np.rint(t)) < 1e-6, np.rint(t), t)
    t = np.minimum(t, T - 1)
    i0 = np.floor(t).astype(np.int64)
    i1 = np.minimum(i0 + 1, T - 1)
    return i0, i1, t - i0


def resample_axis(x: Any, fps_in: float, fps_out: float, axis: int = 0, n_out: int | None = None) -> Any:
    """:func:`frame_pairs` applied along ``axis`` of a floating numpy array or torch tensor.

    The blend is computed in float64 and cast back to ``x``'s dtype; output frames that fall on an
    input frame are that frame exactly. Returns the input's kind, on its device.
    """
    i0, i1, w = frame_pairs(x.shape[axis], fps_in, fps_out, n_out)
    shape = [1] * x.ndim
    shape[axis] = len(w)
    exact = w == 0
    if isinstance(x, torch.Tensor):
        j0, j1 = torch.from_numpy(i0).to(x.device), torch.from_numpy(i1).to(x.device)
        x0, x1 = x.index_select(axis, j0), x.index_select(axis, j1)
        wt = torch.from_numpy(w.reshape(shape)).to(x.device)
        out = ((1.0 - wt) * x0 + wt * x1).to(x.dtype)
        keep = torch.from_numpy(exact.reshape(shape)).to(x.device)
        return torch.where(keep, x0, out)
    x0, x1 = np.take(x, i0, axis), np.take(x, i1, axis)
    out = (x0 * (1.0 - w.reshape(shape)) + x1 * w.reshape(shape)).astype(x.dtype)
    return np.where(exact.reshape(shape), x0, out)


def resample(joints: Any, fps_in: float, fps_out: float) -> Any:
    """Resample a motion along its first axis from ``fps_in`` to ``fps_out``.

    Frame k of the output is at time k / fps_out; it is linearly interpolated between the two
    neighbouring input frames, for every time up to the last input frame. When fps_in / fps_out
    is an integer n (within 0.1%), the output is exactly every n-th input frame; when
    fps_out / fps_in is an integer, every input frame appears unchanged in the output
    (:func:`frame_pairs` is the rule).

    Args:
        joints: ``(T, ...)`` array (numpy or torch), T >= 1.
        fps_in, fps_out: frame rates, > 0.

    Returns:
        ``(T', ...)`` of the input's kind; floating input keeps its dtype, other input becomes
        float64. ``T' = floor((T - 1) * fps_out / fps_in) + 1`` (``ceil(T / n)`` when subsampling).

    Raises:
        ValueError: bad rates or an empty/0-d array.
    """
    fps_in = check_positive(fps_in, "fps_in")
    fps_out = check_positive(fps_out, "fps_out")
    is_torch = isinstance(joints, torch.Tensor)
    x = joints.detach().cpu().numpy() if is_torch else np.asarray(joints)
    if x.ndim < 1 or x.shape[0] < 1:
        raise ValueError(f"joints: expected shape (T, ...) with T >= 1, got {x.shape}")
    if not np.issubdtype(x.dtype, np.floating):
        x = x.astype(np.float64)
    out = np.ascontiguousarray(resample_axis(x, fps_in, fps_out))
    return torch.from_numpy(out).to(joints.device) if is_torch else out
