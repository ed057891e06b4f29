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
(keypoints must be undistorted); non-zero ones give a warning. A minimal parser is used (no
PyYAML): top-level ``key: value`` scalars, ``!!opencv-matrix`` blocks and flow lists ``[...]``
that may span lines.

Every problem raises ``ValueError("camera: <file>: <problem>")``.
"""

from __future__ import annotations

import json
import math
import os
import re
import warnings
from pathlib import Path
from typing import Any, Union

import numpy as np

from ..reference.camera import Camera
from ._atomic import write_json

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
    stripped = text.lstrip()
    if p.suffix.lower() in (".yml", ".yaml") or stripped.startswith("%YAML") or stripped.startswith("---"):
        d = parse_opencv_yaml(text, p)
    else:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise _err(p, f"invalid JSON ({exc})") from None
    return camera_from_dict(d, p)


def write_camera(path: PathLike, cam: Camera) -> Path:
    """Atomically write ``cam`` as mocap_fast camera JSON (``K``, ``T_w2c``, ``image_size``)."""
    if not isinstance(cam, Camera):
        raise ValueError(f"cam: expected a mocap_fast.Camera, got {type(cam).__name__}")
    return write_json(path, cam.to_dict())


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


def _rodrigues(r: np.ndarray) -> np.ndarray:
    theta = float(np.linalg.norm(r))
    if theta < 1e-12:
        return np.eye(3)
    k = r / theta
    Kx = np.array([[0, -k[2], k[1]], [k[2], 0, -k[0]], [-k[1], k[0], 0]])
    return np.eye(3) + math.sin(theta) * Kx + (1 - math.cos(theta)) * Kx @ Kx


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
                R = _rodrigues(_matrix(d["rvec"], path, "rvec", (3,)))
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

_KEY = re.compile(r"^([A-Za-z_][\w\-]*)\s*:\s*(.*)$")


def _scalar(text: str) -> Any:
    t = text.strip()
    if len(t) >= 2 and t[0] == t[-1] and t[0] in "\"'":
        return t[1:-1]
    try:
        return int(t)
    except ValueError:
        pass
    try:
        return float(t)
    except ValueError:
        return t


def _flow_list(text: str, path: Any, key: str) -> list:
    inner = text.strip()
    if not (inner.startswith("[") and inner.endswith("]")):
        raise _err(path, f"{key}: expected a [ ... ] list")
    items = [x for x in inner[1:-1].replace("\n", " ").split(",") if x.strip()]
    out = []
    for x in items:
        v = _scalar(x)
        if isinstance(v, str):
            raise _err(path, f"{key}: non-numeric list item {x.strip()!r}")
        out.append(v)
    return out


def parse_opencv_yaml(text: str, path: Any = "<string>") -> dict:
    """Parse a ``cv::FileStorage`` YAML text into ``{key: number | str | list | ndarray}``."""
    lines = text.splitlines()
    out: dict[str, Any] = {}
    i = 0

    def take_value(rest: str, i: int, key: str) -> tuple[str, int]:
        """The value text, joining following lines until a ``[`` list is closed."""
        if rest.count("[") > rest.count("]"):
            buf = [rest]
            while buf and "".join(buf).count("[") > "".join(buf).count("]"):
                i += 1
                if i >= len(lines):
                    raise _err(path, f"{key}: unterminated [ list")
                buf.append(lines[i].split("#", 1)[0])
            return " ".join(buf), i
        return rest, i

    while i < len(lines):
        raw = lines[i].split("#", 1)[0] if not lines[i].lstrip().startswith("%") else ""
        line = raw.rstrip()
        if not line.strip() or line.strip() in ("---", "...") or line.startswith("%"):
            i += 1
            continue
        if line[0].isspace():
            raise _err(path, f"line {i + 1}: unexpected indented line {line.strip()[:40]!r}")
        m = _KEY.match(line)
        if not m:
            raise _err(path, f"line {i + 1}: expected 'key: value', got {line.strip()[:40]!r}")
        key, rest = m.group(1), m.group(2).strip()
        if rest.startswith("!!opencv-matrix") or rest.startswith("!<tag:yaml.org,2002:opencv-matrix>") or rest == "":
            fields: dict[str, Any] = {}
            i += 1
            while i < len(lines) and (not lines[i].strip() or lines[i][0].isspace()):
                sub = lines[i].split("#", 1)[0].strip()
                if sub:
                    mm = _KEY.match(sub)
                    if not mm:
                        raise _err(path, f"line {i + 1}: expected 'field: value' in {key}")
                    val, i = take_value(mm.group(2).strip(), i, key)
                    fields[mm.group(1)] = val
                i += 1
            if "data" not in fields:
                raise _err(path, f"{key}: matrix without 'data'")
            data = _flow_list(fields["data"], path, key)
            try:
                rows, cols = int(_scalar(fields.get("rows", "-1"))), int(_scalar(fields.get("cols", "-1")))
                out[key] = np.asarray(data, dtype=np.float64).reshape(rows, cols)
            except (TypeError, ValueError):
                raise _err(path, f"{key}: {len(data)} numbers do not fit rows={fields.get('rows')} "
                                 f"cols={fields.get('cols')}") from None
            continue
        val, i = take_value(rest, i, key)
        out[key] = _flow_list(val, path, key) if val.startswith("[") else _scalar(val)
        i += 1
    if not out:
        raise _err(path, "empty YAML")
    return out
