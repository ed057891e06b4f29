"""Motion metrics (DESIGN §7), computed in float64 on the CPU.

Inputs are ``(T, 22, 3)`` SMPL-22 joint arrays in metres (numpy, torch on any device, or nested
lists), prediction ``pred`` and ground truth ``gt`` of the same shape. The "root" is the hip
midpoint, the mean of joints 1 and 2 (left/right hip). Units follow the tables DESIGN §8 compares
with (WHAM / GVHMR / Mocap-2-to-3), so our numbers can be set beside theirs:

| key | definition | unit |
|---|---|---|
| ``pa_mpjpe`` | per frame: centre both at the root, similarity Procrustes, mean joint distance | mm |
| ``mpjpe`` | per frame: centre both at the root, mean joint distance | mm |
| ``w_mpjpe`` | 100-frame chunks; similarity fitted on the chunk's first two frames, applied to it | mm |
| ``wa_mpjpe`` | 100-frame chunks; similarity fitted on all frames of the chunk | mm |
| ``abs_mpjpe`` | no alignment | mm |
| ``accel`` | mean norm of (2nd difference of pred - 2nd difference of gt) | mm/frame^2 |
| ``jitter`` | mean norm of the 3rd difference of pred, times fps^3 | 10 m/s^3 |
| ``foot_sliding`` | joints 7, 8, 10, 11: mean pred step where the gt step is < 1 cm (contact) | mm |
| ``t_root`` | both roots translated to start at the origin; mean root distance | mm |
| ``rte`` | rigid fit of the root trajectories; mean error / gt path length | % |

Accel in mm/frame^2 is what WHAM and GVHMR report; multiply by ``fps^2 / 1000`` for m/s^2 (0.9 at
30 fps). It depends on the frame rate, so compare it only between clips of equal fps (RICH and
the §8 table: 30 fps). Jitter is GVHMR's: m/s^3 divided by 10.

Bad input raises ``ValueError`` whose message starts with the argument's name.
"""

from __future__ import annotations

from typing import Any

import torch

from ._arrays import as_tensor, check_finite, check_last_dims, check_positive, like_input

NUM_JOINTS = 22
HIPS = (1, 2)
FEET = (7, 8, 10, 11)
CHUNK = 100
CONTACT_M = 0.01
MIN_FRAMES_EVALUATE = 4
_F64 = torch.float64
_ZERO_VAR = 1e-30
_ZERO_PATH_M = 1e-9


# ---------------------------------------------------------------- similarity (Umeyama) fit


# The one Umeyama fit of the package (metrics, SMPL initialisation). Hand-written because it is batched
# over frames / chunks in torch; scipy's align_vectors / orthogonal_procrustes fit one set, without scale.
def _umeyama(src: torch.Tensor, dst: torch.Tensor, with_scale: bool) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    n = src.shape[-2]
    mu_s = src.mean(-2, keepdim=True)
    mu_d = dst.mean(-2, keepdim=True)
    a, b = src - mu_s, dst - mu_d
    cov = b.transpose(-1, -2) @ a / n
    U, S, Vh = torch.linalg.svd(cov)
    sign = torch.sign(torch.linalg.det(U @ Vh))
    D = torch.ones_like(S)
    D[..., -1] = torch.where(sign == 0, torch.ones_like(sign), sign)
    R = U @ (D[..., :, None] * Vh)
    var = a.square().sum((-2, -1)) / n
    if with_scale:
        s = torch.where(var > _ZERO_VAR, (S * D).sum(-1) / var.clamp_min(_ZERO_VAR), torch.ones_like(var))
    else:
        s = torch.ones_like(var)
    t = mu_d[..., 0, :] - s[..., None] * (R @ mu_s[..., 0, :, None])[..., 0]
    return s, R, t


def _apply(s: torch.Tensor, R: torch.Tensor, t: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
    return s[..., None, None] * (x @ R.transpose(-1, -2)) + t[..., None, :]


def similarity_align(src: Any, dst: Any, *, scale: bool = True) -> tuple[Any, Any, Any]:
    """Least-squares fit of ``dst ~ scale * R @ src + t`` (Umeyama 1991), batched.

    ``R`` is always a proper rotation (det +1): a mirrored ``dst`` gets the best rotation, never
    a reflection. Points with zero spread get ``scale = 1``.

    Args:
        src, dst: ``(..., N, 3)`` point sets of the same shape, N >= 1, finite; numpy arrays or
            torch tensors (``dst`` is moved to ``src``'s device).
        scale: fit the scale (similarity); ``False`` keeps ``scale = 1`` (rigid fit).

    Returns:
        ``(scale (...), R (..., 3, 3), t (...,  3))`` in float64, numpy arrays for numpy/list
        ``src``, else tensors on ``src``'s device. Apply with :func:`apply_similarity`.

    Raises:
        ValueError: naming ``src`` or ``dst`` for a wrong or mismatched shape or non-finite values.
    """
    s_t = as_tensor(src, "src", dtype=_F64).detach()
    d_t = as_tensor(dst, "dst", dtype=_F64, device=s_t.device).detach()
    for name, x in (("src", s_t), ("dst", d_t)):
        check_last_dims(x, name, (None, 3))
        check_finite(x, name)
    if s_t.shape[-2] < 1:
        raise ValueError(f"src: needs at least one point, got shape {tuple(s_t.shape)}")
    if d_t.shape != s_t.shape:
        raise ValueError(f"dst: shape {tuple(d_t.shape)} does not match src's shape {tuple(s_t.shape)}")
    return tuple(like_input(v, src) for v in _umeyama(s_t, d_t, scale))


def apply_similarity(scale: Any, R: Any, t: Any, x: Any) -> Any:
    """Return ``scale * R @ x + t`` for points ``x (..., N, 3)``, parameters as from
    :func:`similarity_align` (``scale (...)``, ``R (..., 3, 3)``, ``t (..., 3)``), float64, same
    kind (numpy / torch on ``x``'s device) as ``x``."""
    xt = as_tensor(x, "x", dtype=_F64)
    check_last_dims(xt, "x", (None, 3))
    s, Rt, tt = (as_tensor(v, n, dtype=_F64, device=xt.device) for v, n in ((scale, "scale"), (R, "R"), (t, "t")))
    return like_input(_apply(s, Rt, tt, xt), x)


# ---------------------------------------------------------------- input checks


def _joints(x: Any, name: str) -> torch.Tensor:
    t = as_tensor(x, name, dtype=_F64, device="cpu").detach()
    check_last_dims(t, name, (None, NUM_JOINTS, 3))
    if t.ndim != 3:
        raise ValueError(f"{name}: expected shape (T, {NUM_JOINTS}, 3), got {tuple(t.shape)}")
    check_finite(t, name)
    return t


def _pair(pred: Any, gt: Any, min_frames: int = 1, what: str = "") -> tuple[torch.Tensor, torch.Tensor]:
    p = _joints(pred, "pred")
    g = _joints(gt, "gt")
    if g.shape != p.shape:
        raise ValueError(f"gt: shape {tuple(g.shape)} does not match pred's shape {tuple(p.shape)}")
    _check_frames(p, min_frames, what)
    return p, g


def _check_frames(p: torch.Tensor, min_frames: int, what: str) -> None:
    if p.shape[0] < min_frames:
        suffix = f" for {what}" if what else ""
        raise ValueError(f"pred: needs at least {min_frames} frames{suffix}, got {p.shape[0]}")


def _check_chunk(chunk: Any) -> int:
    if isinstance(chunk, bool) or not isinstance(chunk, int) or chunk < 1:
        raise ValueError(f"chunk: expected a positive integer, got {chunk!r}")
    return chunk


# ---------------------------------------------------------------- metric kernels (float64 tensors)


def _root(x: torch.Tensor) -> torch.Tensor:
    return x[:, list(HIPS)].mean(1)


def _mm(a: torch.Tensor, b: torch.Tensor) -> float:
    return float(torch.linalg.norm(a - b, dim=-1).mean()) * 1000.0


def _pa_mpjpe(p: torch.Tensor, g: torch.Tensor) -> float:
    p = p - _root(p)[:, None]
    g = g - _root(g)[:, None]
    return _mm(_apply(*_umeyama(p, g, True), p), g)


def _mpjpe(p: torch.Tensor, g: torch.Tensor) -> float:
    return _mm(p - _root(p)[:, None], g - _root(g)[:, None])


def _chunked(p: torch.Tensor, g: torch.Tensor, fit_frames: int | None, chunk: int) -> float:
    errors = []
    for start in range(0, p.shape[0], chunk):
        pc, gc = p[start : start + chunk], g[start : start + chunk]
        n = pc.shape[0] if fit_frames is None else min(fit_frames, pc.shape[0])
        fit = _umeyama(pc[:n].reshape(-1, 3), gc[:n].reshape(-1, 3), True)
        errors.append(torch.linalg.norm(_apply(*fit, pc) - gc, dim=-1))
    return float(torch.cat(errors).mean()) * 1000.0


def _second_diff(x: torch.Tensor) -> torch.Tensor:
    return x[2:] - 2 * x[1:-1] + x[:-2]


def _accel(p: torch.Tensor, g: torch.Tensor) -> float:
    return _mm(_second_diff(p), _second_diff(g))


def _jitter(p: torch.Tensor, fps: float) -> float:
    d3 = p[3:] - 3 * p[2:-1] + 3 * p[1:-2] - p[:-3]
    return float(torch.linalg.norm(d3, dim=-1).mean()) * fps**3 / 10.0


def _foot_sliding(p: torch.Tensor, g: torch.Tensor) -> float:
    step_g = torch.linalg.norm(torch.diff(g[:, list(FEET)], dim=0), dim=-1)
    step_p = torch.linalg.norm(torch.diff(p[:, list(FEET)], dim=0), dim=-1)
    contact = step_g < CONTACT_M
    if not bool(contact.any()):
        return float("nan")
    return float(step_p[contact].mean()) * 1000.0


def _t_root(p: torch.Tensor, g: torch.Tensor) -> float:
    rp, rg = _root(p), _root(g)
    return _mm(rp - rp[:1], rg - rg[:1])


def _rte(p: torch.Tensor, g: torch.Tensor) -> float:
    rp, rg = _root(p), _root(g)
    length = float(torch.linalg.norm(torch.diff(rg, dim=0), dim=-1).sum())
    if length < _ZERO_PATH_M:
        return float("nan")
    aligned = _apply(*_umeyama(rp, rg, False), rp)
    return float(torch.linalg.norm(aligned - rg, dim=-1).mean()) / length * 100.0


# ---------------------------------------------------------------- public metrics


def pa_mpjpe(pred: Any, gt: Any) -> float:
    """Procrustes-aligned MPJPE in mm.

    Per frame, both skeletons are centred at the hip midpoint (mean of joints 1, 2), ``pred`` is
    fitted to ``gt`` by a similarity (scale, proper rotation, translation), and the joint
    distances are averaged over frames and joints.

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 1.
    """
    return _pa_mpjpe(*_pair(pred, gt))


def mpjpe(pred: Any, gt: Any) -> float:
    """Root-relative MPJPE in mm: per frame both centred at the hip midpoint (mean of joints 1,
    2), no rotation or scale; mean joint distance over frames and joints.

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 1.
    """
    return _mpjpe(*_pair(pred, gt))


def w_mpjpe(pred: Any, gt: Any, chunk: int = CHUNK) -> float:
    """World MPJPE in mm (WHAM / GVHMR).

    The sequence is cut into ``chunk``-frame pieces (the last may be shorter); in each, one
    similarity is fitted from all joints of the piece's first two frames of ``pred`` to those of
    ``gt`` and applied to the whole piece. Mean joint distance over all frames and joints.

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 1.
        chunk: piece length in frames, a positive int (field convention: 100).
    """
    chunk = _check_chunk(chunk)
    return _chunked(*_pair(pred, gt), 2, chunk)


def wa_mpjpe(pred: Any, gt: Any, chunk: int = CHUNK) -> float:
    """World-aligned MPJPE in mm (WHAM / GVHMR): as :func:`w_mpjpe` but the similarity of each
    ``chunk``-frame piece is fitted on all of its frames.

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 1.
        chunk: piece length in frames, a positive int (field convention: 100).
    """
    chunk = _check_chunk(chunk)
    return _chunked(*_pair(pred, gt), None, chunk)


def abs_mpjpe(pred: Any, gt: Any) -> float:
    """Absolute MPJPE in mm: mean joint distance with no alignment at all.

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 1.
    """
    return _mm(*_pair(pred, gt))


def accel_error(pred: Any, gt: Any, fps: float | None = None) -> float:
    """Acceleration error: mean over frames and joints of
    ``|(pred[t+1] - 2 pred[t] + pred[t-1]) - (same for gt)|``.

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 3.
        fps: ``None`` (default, what :func:`evaluate` reports) gives mm/frame^2, the unit of
            WHAM / GVHMR tables; a frame rate > 0 gives m/s^2 instead (mm/frame^2 x fps^2 / 1000).
    """
    p, g = _pair(pred, gt, 3, "accel")
    if fps is None:
        return _accel(p, g)
    fps = check_positive(fps, "fps")
    return _accel(p, g) * fps**2 / 1000.0


def jitter(pred: Any, fps: float = 30.0) -> float:
    """Jitter of the prediction in units of 10 m/s^3 (GVHMR's convention): mean over frames and
    joints of ``|pred[t+2] - 3 pred[t+1] + 3 pred[t] - pred[t-1]| * fps^3 / 10``.

    Args:
        pred: ``(T, 22, 3)`` joints in metres, T >= 4.
        fps: frame rate in Hz, > 0.
    """
    p = _joints(pred, "pred")
    _check_frames(p, 4, "jitter")
    return _jitter(p, check_positive(fps, "fps"))


def foot_sliding(pred: Any, gt: Any) -> float:
    """Foot sliding in mm (per frame step).

    For each of joints 7, 8 (ankles) and 10, 11 (feet) and each pair of consecutive frames, a
    ground-truth displacement below 1 cm marks a contact; the result is the mean predicted
    displacement of that joint over all contacts. ``nan`` when ``gt`` has no contact.

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 2.
    """
    return _foot_sliding(*_pair(pred, gt, 2, "foot_sliding"))


def t_root(pred: Any, gt: Any) -> float:
    """Root translation error in mm (MVLift's T_root).

    The root is the hip midpoint (mean of joints 1, 2). Both root trajectories are translated so
    their first frame is at the origin; the result is the mean root distance over frames.

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 1.
    """
    return _t_root(*_pair(pred, gt))


def rte(pred: Any, gt: Any) -> float:
    """Root trajectory error in % of the ground-truth path length (GVHMR's RTE).

    The root is the hip midpoint (mean of joints 1, 2). The predicted root trajectory is fitted
    to the ground-truth one by one rigid transform (rotation + translation, no scale) over the
    whole sequence; the mean per-frame root distance is divided by the length of the
    ground-truth root path (sum of its frame-to-frame steps) and multiplied by 100.
    ``nan`` when the ground-truth root does not move (path length < 1e-9 m).

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 2.
    """
    return _rte(*_pair(pred, gt, 2, "rte"))


def evaluate(pred: Any, gt: Any, fps: float = 30.0) -> dict[str, float]:
    """Every metric of the module table, as plain floats.

    Args:
        pred, gt: ``(T, 22, 3)`` joints in metres, T >= 4 (jitter needs four frames).
        fps: frame rate in Hz, > 0; used by jitter (accel is in mm/frame^2).

    Returns:
        ``{"pa_mpjpe", "mpjpe", "w_mpjpe", "wa_mpjpe", "abs_mpjpe", "t_root"}`` in mm,
        ``"accel"`` in mm/frame^2, ``"jitter"`` in 10 m/s^3, ``"foot_sliding"`` in mm (``nan``
        without gt contacts), ``"rte"`` in % (``nan`` for a static gt root).
    """
    p, g = _pair(pred, gt, MIN_FRAMES_EVALUATE, "evaluate")
    fps = check_positive(fps, "fps")
    return {
        "pa_mpjpe": _pa_mpjpe(p, g),
        "mpjpe": _mpjpe(p, g),
        "w_mpjpe": _chunked(p, g, 2, CHUNK),
        "wa_mpjpe": _chunked(p, g, None, CHUNK),
        "abs_mpjpe": _mm(p, g),
        "accel": _accel(p, g),
        "jitter": _jitter(p, fps),
        "foot_sliding": _foot_sliding(p, g),
        "t_root": _t_root(p, g),
        "rte": _rte(p, g),
    }


__all__ = [
    "abs_mpjpe", "accel_error", "apply_similarity", "evaluate", "foot_sliding", "jitter", "mpjpe",
    "pa_mpjpe", "rte", "similarity_align", "t_root", "w_mpjpe", "wa_mpjpe",
]
