"""Export lifted motion: BVH, glTF binary (GLB), C3D, JSON and NPZ. Every write is atomic.

* **BVH** (:func:`write_bvh`): the skeleton of :mod:`mocap_fast.io.skeleton` (SMPL-22 parents,
  T-pose rest offsets with the clip's mean bone lengths, zero-offset ``<parent>_to_<child>``
  branch joints under the pelvis and spine3), root ``Xposition Yposition Zposition Zrotation
  Yrotation Xrotation``, other joints ``Zrotation Yrotation Xrotation`` (local rotation
  ``Rz @ Ry @ Rx``, degrees, unwrapped over time), y up, **metres** by default (``units="cm"``
  multiplies offsets and root positions by 100). Forward kinematics of the file gives back
  every joint at the input's bone directions and the mean bone lengths.
* **glTF** (:func:`write_gltf`, ``.glb``): one node per skeleton node (translation = rest
  offset; rest rotations identity = the T-pose), a skin listing them (inverse bind matrices of
  the rest pose), one animation with a LINEAR ``translation`` channel on the root and a
  ``rotation`` channel (unit quaternions x, y, z, w, sign-continuous) on every node; times
  ``t / fps`` seconds; metres, y up (glTF's own convention). A mesh node ``body`` draws the
  body: capsules per bone bound to the skin (:mod:`mocap_fast.io.body_mesh`), material
  :data:`BODY_COLOR`.
* **C3D** (:func:`write_c3d_joints`): one marker per SMPL-22 joint, millimetres, y up
  (:mod:`mocap_fast.io.c3d`).
* **JSON** / **NPZ** (:func:`write_json`, :func:`write_npz`): ``joints`` (T, 22, 3) world metres,
  ``joints_cam`` (T, 22, 3) input-camera metres, ``confidence`` (T, 22), ``fps``, ``joint_names``,
  the cameras (``K``, ``T_w2c``, ``image_size`` per view, index 0 = input) and ``metadata``
  (``version``, ``model``, and whatever the caller adds); NPZ adds ``views_2d``.

The glTF / BVH writers build the files directly (a few hundred lines, no dependency for plain
users); the tests load the GLB with ``pygltflib`` and ``trimesh`` (``[dev]``) as independent checks.
"""

from __future__ import annotations

import json
import os
import struct
from pathlib import Path
from typing import Any, Iterable, Sequence, Union

import numpy as np

from .._arrays import check_positive
from ..joints import SMPL22
from ._atomic import write_bytes, write_json as _write_json_file, write_npz as _write_npz_file, write_text
from .c3d import write_c3d
from .body_mesh import capsule_body, rest_positions
from .skeleton import Skeleton, euler_zyx_degrees, fit_skeleton, matrix_to_quaternion

__all__ = [
    "EXPORT_FORMATS",
    "EXPORT_FILES",
    "export_result",
    "write_bvh",
    "write_gltf",
    "read_glb",
    "write_c3d_joints",
    "write_json",
    "write_npz",
    "metadata",
]

EXPORT_FORMATS = ("bvh", "gltf", "c3d", "json", "npz", "html", "png", "gif", "overlay")
EXPORT_FILES = {"bvh": "lifted.bvh", "gltf": "lifted.glb", "c3d": "lifted.c3d", "json": "lifted.json", "npz": "lifted.npz",
                "html": "viewer.html", "png": "views.png", "gif": "motion.gif", "overlay": "overlay.mp4"}
"""Pictures: ``html`` = interactive viewer, ``png`` = 2D input over every view, ``gif`` = 3D animation,
``overlay`` = the 2D input and the reprojected lift over blank frames or the input video
(``overlay.gif`` instead of ``.mp4`` without imageio-ffmpeg) (:mod:`mocap_fast.viz`)."""
PathLike = Union[str, os.PathLike]
BODY_COLOR = (0.85, 0.25, 0.15, 1.0)
"""Base colour (linear RGBA) of the GLB body."""
_COMPONENT = {"<f4": 5126, "u1": 5121, "<u2": 5123}
_ARRAY_BUFFER, _ELEMENT_ARRAY_BUFFER = 34962, 34963


def _np(x: Any) -> np.ndarray:
    if hasattr(x, "detach"):
        x = x.detach().cpu().numpy()
    return np.asarray(x, dtype=np.float64)


def _joints(joints: Any) -> np.ndarray:
    X = _np(joints)
    if X.ndim != 3 or X.shape[1:] != (22, 3) or X.shape[0] < 1:
        raise ValueError(f"joints: expected shape (T, 22, 3) (one clip, SMPL-22), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("joints: non-finite values")
    return X


def metadata(model: Any = None, **extra: Any) -> dict:
    """``{"version": mocap_fast version, "model": ..., "units": "m", "world": ..., **extra}``."""
    from .. import __version__

    d = {"version": __version__, "model": None if model is None else str(model), "units": "m",
         "world": "right-handed, y up, metres, ground plane y = 0",
         "camera_frame": "OpenCV (x right, y down, z forward)", "joint_format": "smpl22"}
    d.update(extra)
    return d


# ----------------------------------------------------------------------------------------------- BVH


def write_bvh(path: PathLike, joints: Any, fps: float, units: str = "m", skeleton: Skeleton | None = None) -> Path:
    """Atomically write SMPL-22 ``joints`` ``(T, 22, 3)`` (metres) as BVH (see the module docstring)."""
    X = _joints(joints)
    fps = check_positive(fps, "fps")
    if units not in ("m", "cm"):
        raise ValueError(f"units: expected 'm' or 'cm', got {units!r}")
    s = 100.0 if units == "cm" else 1.0
    sk = skeleton if skeleton is not None else fit_skeleton(X)
    kids = sk.children
    out: list[str] = ["HIERARCHY"]
    fmt = lambda v: " ".join(f"{float(c) * s:.6f}" for c in v)  # noqa: E731

    def node(i: int, depth: int) -> None:
        ind = "\t" * depth
        head = "ROOT" if sk.parents[i] < 0 else "JOINT"
        out.append(f"{ind}{head} {sk.names[i]}")
        out.append(f"{ind}{{")
        out.append(f"{ind}\tOFFSET {fmt(sk.offsets[i])}")
        if sk.parents[i] < 0:
            out.append(f"{ind}\tCHANNELS 6 Xposition Yposition Zposition Zrotation Yrotation Xrotation")
        else:
            out.append(f"{ind}\tCHANNELS 3 Zrotation Yrotation Xrotation")
        for c in kids[i]:
            node(c, depth + 1)
        if not kids[i]:
            out.append(f"{ind}\tEnd Site")
            out.append(f"{ind}\t{{")
            out.append(f"{ind}\t\tOFFSET {fmt(sk.end_sites[i])}")
            out.append(f"{ind}\t}}")
        out.append(f"{ind}}}")

    order: list[int] = []

    def walk(i: int) -> None:
        order.append(i)
        for c in kids[i]:
            walk(c)

    node(0, 0)
    walk(0)
    T = X.shape[0]
    eul = euler_zyx_degrees(sk.local_rotations[:, order])  # (T, N, 3)
    eul = np.unwrap(eul, period=360.0, axis=0)
    eul[np.abs(eul) < 5e-7] = 0.0
    cols = [sk.root_positions * s, eul.reshape(T, -1)]
    values = np.concatenate(cols, 1)
    out.append("MOTION")
    out.append(f"Frames: {T}")
    out.append(f"Frame Time: {1.0 / fps:.9f}")
    out.extend(" ".join(f"{v:.6f}" for v in row) for row in values)
    return write_text(path, "\n".join(out) + "\n")


# ---------------------------------------------------------------------------------------------- glTF


def _continuous(q: np.ndarray) -> np.ndarray:
    """Flip quaternion signs ``(T, ..., 4)`` so consecutive frames have a non-negative dot product."""
    if q.shape[0] < 2:
        return q
    dots = (q[1:] * q[:-1]).sum(-1)
    sign = np.concatenate([np.ones((1,) + dots.shape[1:]), np.cumprod(np.where(dots < 0, -1.0, 1.0), axis=0)])
    return q * sign[..., None]


def write_gltf(path: PathLike, joints: Any, fps: float, extras: dict | None = None,
               skeleton: Skeleton | None = None) -> Path:
    """Atomically write SMPL-22 ``joints`` ``(T, 22, 3)`` as a skeletal-animation GLB (module docstring)."""
    X = _joints(joints)
    fps = check_positive(fps, "fps")
    sk = skeleton if skeleton is not None else fit_skeleton(X)
    T, N = sk.local_rotations.shape[:2]
    kids = sk.children
    blob = bytearray()
    views: list[dict] = []
    accessors: list[dict] = []

    def add(arr: np.ndarray, gl_type: str, minmax: bool = False, dtype: str = "<f4", target: int | None = None) -> int:
        a = np.ascontiguousarray(arr, dtype=dtype)
        while len(blob) % 4:
            blob.append(0)
        view = {"buffer": 0, "byteOffset": len(blob), "byteLength": a.nbytes}
        if target is not None:
            view["target"] = target
        views.append(view)
        blob.extend(a.tobytes())
        acc = {"bufferView": len(views) - 1, "componentType": _COMPONENT[dtype], "count": int(a.shape[0]),
               "type": gl_type}
        if minmax:
            flat = a.reshape(a.shape[0], -1)
            acc["min"] = [float(v) for v in flat.min(0)]
            acc["max"] = [float(v) for v in flat.max(0)]
        accessors.append(acc)
        return len(accessors) - 1

    times = add(np.arange(T) / fps, "SCALAR", minmax=True)
    root_t = add(sk.root_positions, "VEC3", minmax=True)
    q = _continuous(matrix_to_quaternion(sk.local_rotations))[..., [1, 2, 3, 0]]  # (T, N, xyzw)
    rest = rest_positions(sk)  # bind pose: identity rotations
    ibm = np.tile(np.eye(4), (N, 1, 1))
    ibm[:, :3, 3] = -rest
    ibm_acc = add(ibm.transpose(0, 2, 1).reshape(N, 16), "MAT4")  # column-major
    nodes = []
    for i in range(N):
        n: dict[str, Any] = {"name": sk.names[i]}
        n["translation"] = [float(v) for v in (sk.root_positions[0] if sk.parents[i] < 0 else sk.offsets[i])]
        if kids[i]:
            n["children"] = kids[i]
        nodes.append(n)
    samplers = [{"input": times, "output": root_t, "interpolation": "LINEAR"}]
    channels = [{"sampler": 0, "target": {"node": 0, "path": "translation"}}]
    for i in range(N):
        samplers.append({"input": times, "output": add(q[:, i], "VEC4"), "interpolation": "LINEAR"})
        channels.append({"sampler": len(samplers) - 1, "target": {"node": i, "path": "rotation"}})
    body = capsule_body(sk)
    attributes = {
        "POSITION": add(body.positions, "VEC3", minmax=True, target=_ARRAY_BUFFER),
        "NORMAL": add(body.normals, "VEC3", target=_ARRAY_BUFFER),
        "JOINTS_0": add(body.joints, "VEC4", dtype="u1", target=_ARRAY_BUFFER),
        "WEIGHTS_0": add(body.weights, "VEC4", target=_ARRAY_BUFFER),
    }
    indices = add(body.indices, "SCALAR", dtype="<u2", target=_ELEMENT_ARRAY_BUFFER)
    nodes.append({"name": "body", "mesh": 0, "skin": 0})
    while len(blob) % 4:
        blob.append(0)
    gltf = {
        "asset": {"version": "2.0", "generator": "mocap_fast"},
        "scene": 0,
        "scenes": [{"name": "mocap_fast", "nodes": [0, N]}],
        "nodes": nodes,
        "meshes": [{"name": "body", "primitives": [{"attributes": attributes, "indices": indices, "material": 0}]}],
        "materials": [{"name": "body", "pbrMetallicRoughness": {"baseColorFactor": list(BODY_COLOR), "metallicFactor": 0.0,
                                                                 "roughnessFactor": 0.8}}],
        "skins": [{"name": "smpl22", "joints": list(range(N)), "skeleton": 0, "inverseBindMatrices": ibm_acc}],
        "animations": [{"name": "lifted", "samplers": samplers, "channels": channels}],
        "accessors": accessors,
        "bufferViews": views,
        "buffers": [{"byteLength": len(blob)}],
    }
    if extras:
        gltf["extras"] = json.loads(json.dumps(extras, default=str))
    js = json.dumps(gltf, separators=(",", ":")).encode("utf-8")
    js += b" " * (-len(js) % 4)
    body = struct.pack("<I4s", len(js), b"JSON") + js + struct.pack("<I4s", len(blob), b"BIN\0") + bytes(blob)
    return write_bytes(path, struct.pack("<4sII", b"glTF", 2, 12 + len(body)) + body)


def read_glb(path: PathLike) -> tuple[dict, bytes]:
    """The JSON chunk (parsed) and the binary chunk of a GLB file; ``ValueError`` if malformed."""
    buf = Path(path).read_bytes()
    if len(buf) < 20 or buf[:4] != b"glTF":
        raise ValueError(f"{path}: not a GLB file (bad magic)")
    magic, version, length = struct.unpack("<4sII", buf[:12])
    if version != 2 or length != len(buf):
        raise ValueError(f"{path}: GLB version {version} / length {length} (file has {len(buf)} bytes)")
    jlen, jtype = struct.unpack("<I4s", buf[12:20])
    if jtype != b"JSON":
        raise ValueError(f"{path}: first GLB chunk is not JSON")
    gltf = json.loads(buf[20:20 + jlen].decode("utf-8"))
    rest = buf[20 + jlen:]
    binary = b""
    if len(rest) >= 8:
        blen, btype = struct.unpack("<I4s", rest[:8])
        if btype != b"BIN\0":
            raise ValueError(f"{path}: second GLB chunk is not BIN")
        binary = rest[8:8 + blen]
    return gltf, binary


# ----------------------------------------------------------------------------------- C3D, JSON, NPZ


def write_c3d_joints(path: PathLike, joints: Any, fps: float, units: str = "mm") -> Path:
    """Atomically write SMPL-22 ``joints`` as C3D markers named after the joints (mm, y up)."""
    return write_c3d(path, _joints(joints), list(SMPL22.joint_names), check_positive(fps, "fps"), units=units)


def _cameras(cameras: Sequence[Any] | None) -> list[dict]:
    return [c.to_dict() for c in (cameras or [])]


def write_json(path: PathLike, joints: Any, fps: float, joints_cam: Any = None, confidence: Any = None,
               cameras: Sequence[Any] | None = None, meta: dict | None = None) -> Path:
    """Atomically write the motion as JSON (numbers rounded to 1e-6 m / 1e-4 confidence)."""
    X = _joints(joints)
    d = {
        "metadata": meta if meta is not None else metadata(),
        "fps": check_positive(fps, "fps"),
        "joint_names": list(SMPL22.joint_names),
        "joints": np.round(X, 6).tolist(),
        "joints_cam": None if joints_cam is None else np.round(_np(joints_cam), 6).tolist(),
        "confidence": None if confidence is None else np.round(_np(confidence), 4).tolist(),
        "cameras": _cameras(cameras),
    }
    return _write_json_file(path, d, indent=None)


def write_npz(path: PathLike, joints: Any, fps: float, joints_cam: Any = None, confidence: Any = None,
              cameras: Sequence[Any] | None = None, meta: dict | None = None, views_2d: Any = None,
              extra: dict[str, Any] | None = None) -> Path:
    """Atomically write the motion as a compressed NPZ (``metadata`` is a JSON string); ``extra``: more
    named arrays (e.g. the demo's ``keypoints`` and ``ground_truth``), names other than the standard keys."""
    X = _joints(joints)
    arrays: dict[str, Any] = {"joints": X, "fps": np.float64(check_positive(fps, "fps")),
                              "joint_names": np.array(SMPL22.joint_names)}
    if joints_cam is not None:
        arrays["joints_cam"] = _np(joints_cam)
    if confidence is not None:
        arrays["confidence"] = _np(confidence)
    if views_2d is not None:
        arrays["views_2d"] = _np(views_2d)
    if cameras:
        arrays["camera_K"] = np.stack([_np(c.K) for c in cameras])
        arrays["camera_T_w2c"] = np.stack([_np(c.T_w2c) for c in cameras])
        arrays["camera_image_size"] = np.array([list(c.image_size) for c in cameras], dtype=np.int64)
    arrays["metadata"] = np.array(json.dumps(meta if meta is not None else metadata(), default=str))
    for k, v in (extra or {}).items():
        if k in arrays or k in ("joints_cam", "confidence", "views_2d") or k.startswith("camera_"):
            raise ValueError(f"extra: {k!r} is a standard key of the NPZ")
        arrays[k] = _np(v) if not isinstance(v, (str, np.str_)) else np.array(v)
    return _write_npz_file(path, **arrays)


def parse_formats(spec: str | Iterable[str]) -> list[str]:
    """``"bvh,gltf"`` -> ``["bvh", "gltf"]`` (``glb`` = ``gltf``, ``all`` = every format); ``ValueError`` if unknown."""
    items = spec.split(",") if isinstance(spec, str) else list(spec)
    out: list[str] = []
    for it in items:
        f = str(it).strip().lower()
        if not f:
            continue
        f = "gltf" if f == "glb" else f
        if f == "all":
            out.extend(x for x in EXPORT_FORMATS if x not in out)
            continue
        if f not in EXPORT_FORMATS:
            raise ValueError(f"export: unknown format {it!r}; expected a comma list of {', '.join(EXPORT_FORMATS)}")
        if f not in out:
            out.append(f)
    return out


def export_result(res: Any, out_dir: PathLike, formats: str | Iterable[str] = "npz", meta: dict | None = None,
                  names: dict[str, str] | None = None, keypoints: Any = None,
                  joint_format: str = "smpl22", keypoint_confidence: Any = None, video: PathLike | None = None,
                  npz_extra: dict[str, Any] | None = None) -> dict[str, Path]:
    """Write a :class:`~mocap_fast.lifting.LiftResult` of one clip in every format of ``formats``.

    ``keypoints`` ``(T, J, 2)`` (in ``joint_format``, confidence ``keypoint_confidence`` ``(T, J)`` or
    None) is the 2D input, drawn over view 0 by ``png`` and by ``overlay`` (over the frames of
    ``video`` when given, see :func:`mocap_fast.viz.overlay.write_overlay`). ``npz_extra``: more arrays
    for the NPZ (:func:`write_npz`).

    Returns ``{format: path}``; file names are :data:`EXPORT_FILES` unless ``names`` overrides them.
    """
    fmts = parse_formats(formats)
    X = _joints(res.joints)
    fps = check_positive(res.fps, "fps")
    meta = meta if meta is not None else metadata()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    files = {**EXPORT_FILES, **(names or {})}
    sk = fit_skeleton(X) if ("bvh" in fmts or "gltf" in fmts) else None
    written: dict[str, Path] = {}
    for f in fmts:
        p = out / files[f]
        if f == "bvh":
            written[f] = write_bvh(p, X, fps, skeleton=sk)
        elif f == "gltf":
            written[f] = write_gltf(p, X, fps, extras=meta, skeleton=sk)
        elif f == "c3d":
            written[f] = write_c3d_joints(p, X, fps)
        elif f == "json":
            written[f] = write_json(p, X, fps, res.joints_cam, res.confidence, res.cameras, meta)
        elif f == "npz":
            written[f] = write_npz(p, X, fps, res.joints_cam, res.confidence, res.cameras, meta, res.views_2d, npz_extra)
        elif f == "html":
            from ..viz.html import write_html

            written[f] = write_html(res, p)
        elif f == "png":
            from ..viz.plots import plot_views

            written[f] = plot_views(res, keypoints, p, joint_format=joint_format)
        elif f == "gif":
            from ..viz.plots import animate

            written[f] = animate(res, p, stride=max(1, X.shape[0] // 150))
        elif f == "overlay":
            from ..viz.overlay import default_overlay_name, write_overlay

            if "overlay" not in (names or {}):
                p = out / default_overlay_name()
            written[f] = write_overlay(res, keypoints, p, joint_format, keypoint_confidence, video)
    return written
