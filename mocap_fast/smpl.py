"""SMPLify-style fit of the SMPL body model to lifted SMPL-22 joints (optional extra ``smpl``).

:func:`fit` finds, for a motion of ``T`` frames, one shape ``betas`` and per frame a global
orientation, a body pose (axis-angle, SMPL's 23 body joints; the two hand joints stay at 0) and a
translation, such that SMPL's first 22 regressed joints (the SMPL-22 order of API.md) match the
lifted joints. The loss is

- joint term: mean squared 3D distance over the 22 joints (optionally weighted by confidence),
- pose prior: ``w_pose`` * mean squared body-pose axis-angle (simple L2 towards the rest pose),
- shape prior: ``w_shape`` * mean squared betas,
- temporal smoothness: ``w_smooth`` * mean squared acceleration of the fitted joints and of the pose,
- foot contact: ``w_contact`` * mean squared frame-to-frame displacement of the fitted ankle/foot
  joints (7, 8, 10, 11) over consecutive contact frames (contacts from
  :func:`mocap_fast.footlock.detect_contacts` unless given),

optimised with Adam (two stages: orientation + translation on the torso, then everything), all
frames in one batch, on the GPU when available.

Needs ``smplx`` (``pip install "mocap_fast[smpl]"`` or ``pip install smplx``) and the SMPL model
files, which are licensed and not shipped: register and download them from
https://smpl.is.tue.mpg.de (``SMPL_NEUTRAL.pkl`` / ``SMPL_MALE.pkl`` / ``SMPL_FEMALE.pkl``).
Official ``.pkl`` files pickle ``chumpy`` arrays; either ``pip install chumpy`` or convert them once
to ``.npz`` (same keys: ``v_template, shapedirs, posedirs, J_regressor, weights, kintree_table, f``),
which this module loads without chumpy.
"""

from __future__ import annotations

import contextlib
import io
import os
import pickle
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch
from scipy.spatial.transform import Rotation

from .metrics import similarity_align

__all__ = ["SMPLFit", "check_model", "fit", "load_smpl"]

SMPL_URL = "https://smpl.is.tue.mpg.de"
_KEYS = ("v_template", "shapedirs", "posedirs", "J_regressor", "weights", "kintree_table", "f")
_TORSO = [0, 1, 2, 3, 6, 9, 12, 13, 14, 16, 17]
_FEET = [7, 8, 10, 11]


@dataclass
class SMPLFit:
    """Result of :func:`fit` (numpy arrays, float32).

    Attributes:
        global_orient: ``(T, 3)`` root orientation, axis-angle.
        body_pose: ``(T, 69)`` axis-angle of SMPL's 23 body joints (hand joints 22, 23 are 0).
        betas: ``(num_betas,)`` shape coefficients, one for the whole clip.
        transl: ``(T, 3)`` translation, metres.
        joints: ``(T, 22, 3)`` the fitted model's SMPL-22 joints (world, metres).
        vertices: ``(T, V, 3)`` mesh vertices when ``return_vertices=True``, else ``None``.
        faces: ``(F, 3)`` mesh triangles.
        error_mm: mean per-joint distance of ``joints`` to the target, millimetres.
    """

    global_orient: np.ndarray
    body_pose: np.ndarray
    betas: np.ndarray
    transl: np.ndarray
    joints: np.ndarray
    vertices: np.ndarray | None
    faces: np.ndarray
    error_mm: float


class _Struct:
    def __init__(self, **kw):
        self.__dict__.update(kw)


def _import_smplx():
    try:
        import smplx  # noqa: F401
    except ImportError as e:
        raise ImportError(
            "mocap_fast.smpl needs the 'smplx' package: pip install \"mocap_fast[smpl]\" (or pip install smplx)"
        ) from e
    return smplx


def _resolve_path(model_path: Any, gender: str) -> Path:
    if model_path is None:
        raise ValueError(
            "model_path: SMPL model files are licensed and not shipped with mocap_fast; register and download "
            f"them from {SMPL_URL} and pass the .pkl/.npz file or the folder holding SMPL_{gender.upper()}.pkl"
        )
    p = Path(os.fspath(model_path)).expanduser()
    if p.is_dir():
        for ext in ("pkl", "npz"):
            cand = p / f"SMPL_{gender.upper()}.{ext}"
            if cand.exists():
                return cand
        raise ValueError(
            f"model_path: no SMPL_{gender.upper()}.pkl or .npz in {str(p)!r}; the SMPL files are licensed and "
            f"not shipped, download them from {SMPL_URL}"
        )
    if not p.exists():
        raise ValueError(
            f"model_path: {str(p)!r} does not exist; the SMPL files are licensed and not shipped, "
            f"download them from {SMPL_URL}"
        )
    return p


def check_model(model_path: Any, gender: str = "neutral") -> Path:
    """The SMPL file :func:`fit` would use, checked before any heavy work.

    Raises:
        ValueError: ``smplx`` is not installed, or no model file for ``gender`` at ``model_path``
            (the message says where to get the licensed files).
    """
    try:
        _import_smplx()
    except ImportError as e:
        raise ValueError(f"smpl: {e}") from None
    return _resolve_path(model_path, gender)


def _read_model(path: Path) -> _Struct:
    if path.suffix == ".npz":
        with np.load(path, allow_pickle=False) as d:
            data = {k: d[k] for k in d.files}
    else:
        try:
            with open(path, "rb") as fh:
                data = pickle.load(fh, encoding="latin1")
        except ModuleNotFoundError as e:
            raise ValueError(
                f"model_path: {str(path)!r} needs the '{e.name}' package to unpickle (official SMPL .pkl files use "
                "chumpy): pip install chumpy, or convert the file to .npz with the keys " + ", ".join(_KEYS)
            ) from e
    missing = [k for k in _KEYS if k not in data]
    if missing:
        raise ValueError(f"model_path: {str(path)!r} is not an SMPL model file (missing {missing})")
    data = {k: (np.asarray(v.r) if hasattr(v, "r") else v) for k, v in data.items()}  # chumpy -> numpy
    if hasattr(data["J_regressor"], "toarray"):  # scipy sparse in official files
        data["J_regressor"] = data["J_regressor"].toarray()
    data = {k: np.asarray(v) for k, v in data.items() if k in _KEYS}
    if data["kintree_table"].shape[-1] < 22 or data["J_regressor"].shape[0] < 22:
        raise ValueError(f"model_path: {str(path)!r} has fewer than 22 joints")
    return _Struct(**data)


def load_smpl(model_path: Any, gender: str = "neutral", num_betas: int = 10, device: Any = None):
    """An ``smplx.SMPL`` module (float32, batch size 1) from a ``.pkl``/``.npz`` file or a folder.

    Raises ``ImportError`` when smplx is missing and ``ValueError`` (with the download address) when the
    model file is.
    """
    smplx = _import_smplx()
    path = _resolve_path(model_path, gender)
    data = _read_model(path)
    with contextlib.redirect_stdout(io.StringIO()):  # smplx prints a warning for 10-beta models (all SMPL files)
        model = smplx.SMPL(str(path), data_struct=data, num_betas=num_betas, gender=gender)
    return model.to(device if device is not None else "cpu")


def _orientation_rotvec(A: torch.Tensor, B: torch.Tensor) -> torch.Tensor:
    """Axis-angle ``(T, 3)`` (B's dtype and device) of the rotations best mapping ``A (N, 3)`` onto
    ``B (T, N, 3)``: the rigid Umeyama fit of :func:`mocap_fast.metrics.similarity_align` (a proper
    rotation, never a reflection) converted by scipy's ``Rotation`` (exact at 180 degrees too)."""
    _, R, _ = similarity_align(A.expand(B.shape), B, scale=False)
    return torch.from_numpy(Rotation.from_matrix(R.cpu().numpy()).as_rotvec()).to(B)


def _optimise(loss_fn, first, params, iters: int, lr: float) -> None:
    """Adam: ``max(10, iters // 5)`` steps on ``first`` with the torso loss, then ``iters`` on everything."""
    opt = torch.optim.Adam(first, lr=lr)
    for _ in range(max(10, iters // 5)):
        opt.zero_grad()
        loss_fn(True).backward()
        opt.step()
    opt = torch.optim.Adam(params, lr=lr)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, iters, eta_min=lr * 0.05)
    for _ in range(iters):
        opt.zero_grad()
        loss_fn(False).backward()
        opt.step()
        sched.step()


def fit(
    joints: Any,
    model_path: Any,
    gender: str = "neutral",
    fps: float = 30.0,
    contacts: Any = None,
    confidence: Any = None,
    num_betas: int = 10,
    iters: int = 300,
    lr: float = 0.05,
    w_pose: float = 1e-4,
    w_shape: float = 1e-4,
    w_smooth: float = 0.1,
    w_contact: float = 1.0,
    device: Any = None,
    return_vertices: bool = False,
) -> SMPLFit:
    """Fit SMPL (pose, shape, translation) to lifted SMPL-22 joints; see the module docstring.

    Args:
        joints: ``(T, 22, 3)`` world joints, metres (a :class:`LiftResult`'s ``joints``).
        model_path: SMPL ``.pkl``/``.npz`` file or the folder holding ``SMPL_<GENDER>.pkl``
            (licensed, from https://smpl.is.tue.mpg.de).
        gender: ``"neutral"``, ``"male"`` or ``"female"`` (selects the file in a folder).
        fps: frame rate (for contact detection).
        contacts: ``(T, 4)`` bool contacts of joints (7, 8, 10, 11); ``None`` = detect them
            (:func:`mocap_fast.footlock.detect_contacts`); ``False`` = no contact term.
        confidence: optional ``(T, 22)`` weights of the joint term.
        num_betas: shape coefficients to fit.
        iters: Adam iterations (a fifth of them, at least 10, fit orientation/translation first).
        lr: Adam learning rate.
        w_pose, w_shape, w_smooth, w_contact: weights of the loss terms.
        device: torch device; default CUDA when available, else CPU.
        return_vertices: also return the mesh vertices (``T x 6890 x 3`` for SMPL).

    Returns:
        :class:`SMPLFit`.
    """
    _import_smplx()
    if isinstance(joints, torch.Tensor):
        X = joints.detach().cpu().float()
    else:
        X = torch.as_tensor(np.asarray(joints, dtype=np.float32))
    if X.ndim != 3 or X.shape[1:] != (22, 3):
        raise ValueError(f"joints: expected shape (T, 22, 3), got {tuple(X.shape)}")
    if not bool(torch.isfinite(X).all()):
        raise ValueError("joints: contains non-finite values")
    if int(iters) < 1:
        raise ValueError(f"iters: must be a positive integer, got {iters!r}")
    T = X.shape[0]
    if device is None:
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    model = load_smpl(model_path, gender, num_betas, device)
    from smplx.lbs import lbs

    nb = model.num_betas
    n_body = model.NUM_BODY_JOINTS  # 23

    if contacts is None:
        from .footlock import detect_contacts

        C = torch.as_tensor(detect_contacts(X.double().numpy(), fps))
    elif contacts is False:
        C = torch.zeros(T, 4, dtype=torch.bool)
    else:
        C = torch.as_tensor(np.asarray(contacts.cpu() if isinstance(contacts, torch.Tensor) else contacts)).bool()
        if C.shape != (T, 4):
            raise ValueError(f"contacts: expected shape ({T}, 4), got {tuple(C.shape)}")
    W = torch.ones(T, 22) if confidence is None else torch.as_tensor(np.asarray(confidence), dtype=torch.float32)
    if W.shape != (T, 22):
        raise ValueError(f"confidence: expected shape ({T}, 22), got {tuple(W.shape)}")
    X, W, C = X.to(device), W.to(device), C.to(device)
    pair = (C[1:] & C[:-1]).float()  # (T-1, 4) consecutive contact frames

    bufs = (model.v_template, model.shapedirs, model.posedirs, model.J_regressor, model.parents, model.lbs_weights)

    def run(betas, orient, pose, transl, verts=False):
        full = torch.cat([orient, pose], 1)
        v, j = lbs(betas.expand(full.shape[0], -1), full, *bufs)
        j = j[:, :22] + transl[:, None]
        return (j, v + transl[:, None]) if verts else (j, None)

    with torch.no_grad():  # initialise: rest pose, orientation by Kabsch on torso joints, translation
        J0, _ = run(torch.zeros(1, nb, device=device), torch.zeros(1, 3, device=device),
                    torch.zeros(1, n_body * 3, device=device), torch.zeros(1, 3, device=device))
        J0 = J0[0]
        A = J0[_TORSO] - J0[_TORSO].mean(0)
        B = X[:, _TORSO] - X[:, _TORSO].mean(1, keepdim=True)
        orient0 = _orientation_rotvec(A, B).float()
    betas = torch.zeros(1, nb, device=device, requires_grad=True)
    orient = orient0.clone().requires_grad_(True)
    pose = torch.zeros(T, n_body * 3, device=device, requires_grad=True)
    with torch.no_grad():
        j_init, _ = run(betas, orient, pose, torch.zeros(T, 3, device=device))
        transl0 = (X[:, _TORSO] - j_init[:, _TORSO]).mean(1)
    transl = transl0.clone().requires_grad_(True)
    body_mask = torch.ones(1, n_body * 3, device=device)
    body_mask[:, 21 * 3:] = 0  # hand joints (SMPL 22, 23) are not observed: keep them at rest

    def loss_fn(use_torso: bool):
        j, _ = run(betas, orient, pose * body_mask, transl)
        d2 = ((j - X) ** 2).sum(-1)
        if use_torso:
            return (d2[:, _TORSO] * W[:, _TORSO]).mean()
        loss = (d2 * W).mean()
        loss = loss + w_pose * (pose**2).mean() + w_shape * (betas**2).mean()
        if T >= 3:
            acc = j[2:] - 2 * j[1:-1] + j[:-2]
            pacc = pose[2:] - 2 * pose[1:-1] + pose[:-2]
            loss = loss + w_smooth * ((acc**2).sum(-1).mean() + 1e-3 * (pacc**2).mean())
        if w_contact > 0 and bool(pair.any()):
            step = ((j[1:, _FEET] - j[:-1, _FEET]) ** 2).sum(-1)
            loss = loss + w_contact * (step * pair).sum() / pair.sum()
        return loss

    threads = torch.get_num_threads()
    small = device.type == "cpu" and T * model.v_template.shape[0] < 100_000
    if small:  # tiny ops: threading only adds overhead (and contention on shared machines)
        torch.set_num_threads(1)
    try:
        _optimise(loss_fn, [orient, transl], [orient, transl, pose, betas], int(iters), lr)
    finally:
        torch.set_num_threads(threads)

    with torch.no_grad():
        pose_out = pose * body_mask
        j, v = run(betas, orient, pose_out, transl, verts=return_vertices)
        err = float(torch.linalg.norm(j - X, dim=-1).mean()) * 1000.0
    cpu = lambda t: t.detach().cpu().numpy().astype(np.float32)  # noqa: E731
    return SMPLFit(
        global_orient=cpu(orient), body_pose=cpu(pose_out), betas=cpu(betas[0]), transl=cpu(transl),
        joints=cpu(j), vertices=cpu(v) if v is not None else None,
        faces=np.asarray(model.faces, dtype=np.int64), error_mm=err,
    )
