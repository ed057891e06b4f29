"""Camera files: mocap_fast JSON and OpenCV calibration YAML / JSON (``cv::FileStorage``).

**JSON** (``.json``)::

    {"K": [[fx, 0, cx], [0, fy, cy], [0, 0, 1]], "T_w2c": 4x4, "image_size": [W, H]}

or ``K``, ``image_size`` and ``height`` (metres), ``pitch_deg``, ``roll_deg`` (and optionally
``yaw_deg``) for :meth:`Camera.from_ground` (a camera above the world origin). An OpenCV
FileStorage JSON (``camera_matrix`` as ``{"type_id": "opencv-matrix", "rows", "cols", "data"}``)
is read like the YAML below.

**OpenCV YAML** (``.yml`` / ``.yaml``, the ``%YAML:1.0`` form written by ``cv::FileStorage``,
e.g. by ``calibrateCamera`` samples): ``camera_matrix`` (or ``K``) as ``!!opencv-matrix``;
``image_width`` and ``image_height`` (or ``image_size: [W, H]``); extrinsics as ``R`` (3x3) or
``rvec`` (Rodrigues vector) plus ``T`` / ``tvec`` (world-to-camera: ``x_cam = R x_world + t``,
metres), or ``height`` / ``pitch_deg`` / ``roll_deg`` scalars as in the JSON. The world must
be mocap_fast's (y up, ground plane y = 0, metres); ``world_up: z`` states a z-up world (ground
z = 0), converted with ``(x, y, z) -> (x, z, -y)``. ``distortion_coefficients`` are not applied
(keypoints must be undistorted); non-zero ones give a warning. Parsed with PyYAML's safe loader
plus a constructor for ``!!opencv-matrix`` (the ``%YAML:1.0`` header, which is not YAML 1.1
syntax, is read as a comment).

:func:`write_camera` writes JSON for ``.json`` and this OpenCV YAML (``camera_matrix``, ``R``,
``T``, ``image_width``, ``image_height``) for ``.yml`` / ``.yaml``, both read back exactly.

Every problem raises ``ValueError("camera: <file>: <problem>")``.
"""

from __future__ import annotations

import json
import math
import os
import warnings
from pathlib import Path
from typing import Any, Union

import numpy as np
import yaml
from scipy.spatial.transform import Rotation

from ..reference.camera import Camera
from ._atomic import write_json, write_text

__all__ = ["read_camera", "write_camera", "camera_from_dict", "parse_opencv_yaml"]

PathLike = Union[str, os.PathLike]


def _err(path: Any, msg: str) -> ValueError:
    return ValueError(f"camera: {path}: {msg}")


def read_camera(path: PathLike) -> Camera:
    """Read a camera file (JSON or OpenCV YAML, see the module docstring)."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise _err(p, f"cannot read ({exc})") from None
    if _is_yaml(p, text):
        d = parse_opencv_yaml(text, p)
    else:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _err(p, f"invalid JSON ({exc})") from None
    return camera_from_dict(d, p)


def _is_yaml(p: Path, text: str) -> bool:
    stripped = text.lstrip()
    return p.suffix.lower() in (".yml", ".yaml") or stripped.startswith("%YAML") or stripped.startswith("---")


def write_camera(path: PathLike, cam: Camera) -> Path:
    """Atomically write ``cam``: OpenCV YAML for a ``.yml`` / ``.yaml`` path, else mocap_fast JSON
    (``K``, ``T_w2c``, ``image_size``). Both are read back exactly by :func:`read_camera`."""
    if not isinstance(cam, Camera):
        raise ValueError(f"cam: expected a mocap_fast.Camera, got {type(cam).__name__}")
    if Path(path).suffix.lower() in (".yml", ".yaml"):
        return write_text(path, opencv_yaml(cam))
    return write_json(path, cam.to_dict())


def _yaml_matrix(name: str, a: np.ndarray) -> str:
    data = ", ".join(repr(float(v)) for v in a.reshape(-1))
    return f"{name}: !!opencv-matrix\n   rows: {a.shape[0]}\n   cols: {a.shape[1]}\n   dt: d\n   data: [ {data} ]\n"


def opencv_yaml(cam: Camera) -> str:
    """``cam`` as ``cv::FileStorage`` YAML text (``%YAML:1.0``; ``R`` / ``T`` world-to-camera, metres)."""
    T = cam.T_w2c.detach().cpu().double().numpy()
    w, h = cam.image_size
    return ("%YAML:1.0\n---\n"
            f"image_width: {w!r}\nimage_height: {h!r}\n"
            + _yaml_matrix("camera_matrix", cam.K.detach().cpu().double().numpy())
            + _yaml_matrix("R", T[:3, :3]) + _yaml_matrix("T", T[:3, 3:]))


def _matrix(v: Any, path: Any, key: str, shape: tuple[int, ...] | None = None) -> np.ndarray:
    if isinstance(v, dict) and "data" in v:  # OpenCV FileStorage JSON matrix
        try:
            a = np.asarray(v["data"], dtype=np.float64).reshape(int(v.get("rows", -1)), int(v.get("cols", -1)))
        except (TypeError, ValueError) as exc:
            raise _err(path, f"{key}: malformed opencv-matrix ({exc})") from None
    else:
        try:
            a = np.asarray(v, dtype=np.float64)
        except (TypeError, ValueError):
            raise _err(path, f"{key}: expected numbers, got {v!r}"[:200]) from None
    if shape is not None:
        if a.size != int(np.prod(shape)):
            raise _err(path, f"{key}: expected {'x'.join(map(str, shape))} numbers, got shape {a.shape}")
        a = a.reshape(shape)
    if not np.isfinite(a).all():
        raise _err(path, f"{key}: non-finite values")
    return a


def _number(d: dict, key: str, path: Any, default: Any = None) -> float:
    v = d.get(key, default)
    if v is None:
        raise _err(path, f"missing {key!r}")
    try:
        f = float(v)
    except (TypeError, ValueError):
        raise _err(path, f"{key}: expected a number, got {v!r}") from None
    if not math.isfinite(f):
        raise _err(path, f"{key}: must be finite, got {v!r}")
    return f


def camera_from_dict(d: Any, path: Any = "<dict>") -> Camera:
    """A :class:`Camera` from a parsed camera file (mocap_fast JSON keys or OpenCV names)."""
    if not isinstance(d, dict):
        raise _err(path, f"expected a mapping of keys, got {type(d).__name__}")
    Kv = d.get("K", d.get("camera_matrix", d.get("cameraMatrix")))
    if Kv is None:
        raise _err(path, "missing 'K' (or 'camera_matrix'): 3x3 intrinsics")
    K = _matrix(Kv, path, "K", (3, 3))
    if "image_size" in d:
        size = _matrix(d["image_size"], path, "image_size", (2,))
    elif "image_width" in d and "image_height" in d:
        size = np.array([_number(d, "image_width", path), _number(d, "image_height", path)])
    else:
        raise _err(path, "missing 'image_size' [W, H] (or 'image_width' and 'image_height')")
    dist = d.get("distortion_coefficients", d.get("dist_coeffs", d.get("D")))
    if dist is not None:
        dc = _matrix(dist, path, "distortion_coefficients")
        if np.abs(dc).max(initial=0.0) > 0:
            warnings.warn(f"camera: {path}: distortion_coefficients are ignored; pass undistorted keypoints",
                          RuntimeWarning, stacklevel=2)
    up = str(d.get("world_up", "y")).lower()
    if up not in ("y", "z"):
        raise _err(path, f"world_up: expected 'y' or 'z', got {d.get('world_up')!r}")
    try:
        if "T_w2c" in d:
            T = _matrix(d["T_w2c"], path, "T_w2c", (4, 4))
        elif any(k in d for k in ("R", "rvec", "T", "tvec")):
            if "R" in d:
                R = _matrix(d["R"], path, "R", (3, 3))
            elif "rvec" in d:
                R = Rotation.from_rotvec(_matrix(d["rvec"], path, "rvec", (3,))).as_matrix()
            else:
                raise _err(path, "extrinsics need 'R' (3x3) or 'rvec' with 'T' / 'tvec'")
            tv = d.get("tvec", d.get("T"))
            if tv is None:
                raise _err(path, "extrinsics need a translation 'T' or 'tvec' beside the rotation")
            t = _matrix(tv, path, "tvec", (3,))
            T = np.eye(4)
            T[:3, :3], T[:3, 3] = R, t
        elif "height" in d:
            if up == "z":
                raise _err(path, "world_up: z needs explicit extrinsics (R/rvec and T/tvec or T_w2c)")
            return Camera.from_ground(
                K[0, 0], K[1, 1], K[0, 2], K[1, 2], size.tolist(),
                height=_number(d, "height", path), pitch_deg=_number(d, "pitch_deg", path, 0.0),
                roll_deg=_number(d, "roll_deg", path, 0.0), yaw_deg=_number(d, "yaw_deg", path, 0.0),
            )
        else:
            raise _err(path, "no extrinsics: give 'T_w2c', 'R'/'rvec' with 'T'/'tvec', or 'height' "
                             "(with 'pitch_deg', 'roll_deg')")
        if up == "z":  # world z-up -> y-up: x_y = A x_z with A = [[1,0,0],[0,0,1],[0,-1,0]]
            A = np.eye(4)
            A[:3, :3] = [[1, 0, 0], [0, 0, 1], [0, -1, 0]]
            T = T @ np.linalg.inv(A)
        return Camera(K, T, size.tolist())
    except ValueError as exc:
        msg = str(exc)
        if msg.startswith("camera: "):
            raise
        raise _err(path, msg) from None


# ------------------------------------------------------------------------------------ OpenCV YAML


class _OpenCVLoader(yaml.SafeLoader):
    """PyYAML's safe loader that also builds ``!!opencv-matrix`` nodes into ndarrays."""


def _opencv_matrix(loader: _OpenCVLoader, node: yaml.Node) -> np.ndarray:
    fields = loader.construct_mapping(node, deep=True)
    where = f"line {node.start_mark.line + 1}: opencv-matrix"
    if "data" not in fields:
        raise _err(loader._mf_path, f"{where}: matrix without 'data'")
    try:
        data = np.asarray(fields["data"], dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _err(loader._mf_path, f"{where}: non-numeric matrix data") from None
    try:
        return data.reshape(int(fields.get("rows", -1)), int(fields.get("cols", -1)))
    except (TypeError, ValueError):
        raise _err(loader._mf_path, f"{where}: {data.size} numbers do not fit rows={fields.get('rows')} "
                                    f"cols={fields.get('cols')}") from None


_OpenCVLoader.add_constructor("tag:yaml.org,2002:opencv-matrix", _opencv_matrix)


def parse_opencv_yaml(text: str, path: Any = "<string>") -> dict:
    """Parse a ``cv::FileStorage`` YAML text (PyYAML, ``!!opencv-matrix`` -> float64 ndarray) into a dict.

    Raises:
        ValueError: ``"camera: <path>: ..."`` for invalid YAML (with the line), a malformed matrix,
            or a document that is not a mapping.
    """
    lines = text.splitlines()
    if lines and lines[0].startswith("%YAML:"):  # OpenCV's header is not YAML 1.1: keep it as a comment
        lines[0] = "#" + lines[0]
    loader = _OpenCVLoader("\n".join(lines))
    loader._mf_path = path
    try:
        out = loader.get_single_data()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f"line {mark.line + 1}: " if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise _err(path, f"invalid YAML ({where}{problem})") from None
    finally:
        loader.dispose()
    if out is None:
        raise _err(path, "empty YAML")
    if not isinstance(out, dict):
        raise _err(path, f"expected a mapping of keys, got {type(out).__name__}")
    return out
