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

__all__ = ["resample"]


def _is_integral(ratio: float) -> bool:
    """True when ``ratio`` is within 0.1% of a positive integer (file frame times are rounded)."""
    k = round(ratio)
    return k >= 1 and abs(ratio - k) <= 1e-3 * ratio


def resample(joints: Any, fps_in: float, fps_out: float) -> Any:
    """Resample a motion along its first axis from ``fps_in`` to ``fps_out``.

    Frame k of the output is at time k / fps_out; it is linearly interpolated between the two
    neighbouring input frames, for every time up to the last input frame. When fps_in / fps_out
    is an integer n (within 0.1%), the output is exactly every n-th input frame; when
    fps_out / fps_in is an integer, every input frame appears unchanged in the output.

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
    ratio = fps_in / fps_out
    if _is_integral(ratio):
        out = x[:: round(ratio)].copy()
    else:
        n = int(math.floor((x.shape[0] - 1) / ratio + 1e-9)) + 1
        t = np.arange(n, dtype=np.float64) * fps_in / fps_out
        t = np.where(np.abs(t - np.rint(t)) < 1e-6, np.rint(t), t)
        i0 = np.minimum(np.floor(t).astype(np.int64), x.shape[0] - 1)
        i1 = np.minimum(i0 + 1, x.shape[0] - 1)
        # hand-written lerp: np.interp is 1-D, and the snapped times above keep frames exact
        w = (t - i0).reshape((n,) + (1,) * (x.ndim - 1))
        out = (x[i0] * (1.0 - w) + x[i1] * w).astype(x.dtype)
    return torch.from_numpy(out).to(joints.device) if is_torch else out
