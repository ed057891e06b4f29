"""C3D files (https://www.c3d.org): a writer for joint trajectories as markers, and a small reader.

:func:`write_c3d` writes one marker per joint (label = joint name), IEEE little-endian floats
(``POINT:SCALE = -1``, processor type 84 = Intel), no analog channels, in **millimetres**
(``POINT:UNITS = "mm"``, the C3D convention; ``units="m"`` writes metres) and mocap_fast's world
axes unchanged (**y up**, ground y = 0; most C3D viewers let one pick the up axis). A NaN joint
is written as an invalid sample (residual word -1, coordinates 0). Layout: block 1 header,
blocks 2.. parameters (groups POINT, ANALOG, TRIAL, MANUFACTURER), then the frames
(x, y, z, residual per marker per frame, float32).

Written by hand (about 200 lines of ``struct``) so plain users need no C3D package; the tests
read every file back with the ``c3d`` package (``[dev]``) as an independent check.
"""

from __future__ import annotations

import io
import os
import struct
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np

from ._atomic import write_bytes

__all__ = ["write_c3d", "read_c3d"]

PathLike = Union[str, os.PathLike]
_HEADER = "<BBHHHHHfHHf274sHHH164s44s"
_INTEL = 84
_LABEL_LEN = 16


def _param(name: str, group_id: int, kind: str, value: Any, desc: str = "") -> bytes:
    """One C3D parameter record. ``kind``: 'int16', 'int16s' (list), 'float', 'str', 'strs' (list of strings)."""
    if kind == "int16":
        elem, dims, data = 2, [], struct.pack("<h", int(value))
    elif kind == "int16s":  # unsigned 16-bit words (e.g. a 32-bit frame number as low, high)
        elem, dims, data = 2, [len(value)], struct.pack(f"<{len(value)}H", *(int(v) for v in value))
    elif kind == "float":
        elem, dims, data = 4, [], struct.pack("<f", float(value))
    elif kind == "str":
        b = str(value).encode("ascii", "replace")
        elem, dims, data = -1, [len(b)], b
    elif kind == "strs":
        width = max([_LABEL_LEN] + [len(s) for s in value])
        b = b"".join(s.encode("ascii", "replace")[:width].ljust(width) for s in value)
        elem, dims, data = -1, [width, len(value)], b
    else:  # pragma: no cover - internal
        raise ValueError(kind)
    if any(d > 255 for d in dims):
        raise ValueError(f"C3D parameter {name}: dimension {dims} exceeds 255")
    n = name.encode("ascii")
    d = desc.encode("ascii", "replace")[:255]
    body = struct.pack("<bB", elem, len(dims)) + bytes(dims) + data + struct.pack("B", len(d)) + d
    return struct.pack("<bb", len(n), group_id) + n + struct.pack("<h", 2 + len(body)) + body


def _group(name: str, group_id: int, desc: str) -> bytes:
    n, d = name.encode("ascii"), desc.encode("ascii", "replace")[:255]
    return struct.pack("<bb", len(n), -group_id) + n + struct.pack("<h", 3 + len(d)) + struct.pack("B", len(d)) + d


def write_c3d(
    path: PathLike,
    points: Any,
    labels: Sequence[str],
    fps: float,
    units: str = "mm",
    software: str = "mocap_fast",
) -> Path:
    """Atomically write ``points`` ``(T, M, 3)`` (metres) as a C3D file of M markers.

    Args:
        path: output file.
        points: ``(T, M, 3)`` marker positions in metres; NaN marks an invalid sample.
        labels: M marker labels (ASCII, up to 255 characters; 16 is conventional).
        fps: frame rate (``POINT:RATE``).
        units: ``"mm"`` (values scaled by 1000) or ``"m"``.
        software: written to ``MANUFACTURER:SOFTWARE``.

    Raises:
        ValueError: wrong shapes, too many frames (> 65535) or markers (> 255 labels), bad units / fps.
    """
    X = np.asarray(points, dtype=np.float64)
    if X.ndim != 3 or X.shape[-1] != 3 or X.shape[0] < 1 or X.shape[1] < 1:
        raise ValueError(f"points: expected shape (T, M, 3), got {X.shape}")
    T, M = X.shape[:2]
    if len(labels) != M:
        raise ValueError(f"labels: expected {M} labels, got {len(labels)}")
    if T > 65535:
        raise ValueError(f"points: C3D frame numbers are 16-bit; {T} frames is more than 65535")
    if M > 255:
        raise ValueError(f"points: at most 255 markers supported, got {M}")
    if units not in ("mm", "m"):
        raise ValueError(f"units: expected 'mm' or 'm', got {units!r}")
    fps = float(fps)
    if not np.isfinite(fps) or fps <= 0:
        raise ValueError(f"fps: must be > 0, got {fps!r}")
    scale = 1000.0 if units == "mm" else 1.0

    def params(data_start: int) -> bytes:
        recs = [
            _group("POINT", 1, "3-D point parameters"),
            _param("USED", 1, "int16", M, "Number of markers"),
            _param("SCALE", 1, "float", -1.0, "Negative: IEEE float data"),
            _param("RATE", 1, "float", fps, "Frames per second"),
            _param("DATA_START", 1, "int16", data_start, "First block of point data"),
            _param("FRAMES", 1, "int16", T if T < 32768 else T - 65536, "Number of frames"),
            _param("UNITS", 1, "str", units, "Point units"),
            _param("LABELS", 1, "strs", list(labels), "Joint names"),
            _param("DESCRIPTIONS", 1, "strs", [f"joint {s}" for s in labels], "Joint descriptions"),
            _param("X_SCREEN", 1, "str", "+X", "Screen x axis"),
            _param("Y_SCREEN", 1, "str", "+Y", "Screen y (up) axis"),
            _group("ANALOG", 2, "Analog parameters"),
            _param("USED", 2, "int16", 0, "No analog channels"),
            _param("RATE", 2, "float", 0.0, "Analog rate"),
            _group("TRIAL", 3, "Trial parameters"),
            _param("ACTUAL_START_FIELD", 3, "int16s", [1, 0], "First frame (low, high word)"),
            _param("ACTUAL_END_FIELD", 3, "int16s", [T & 0xFFFF, T >> 16], "Last frame (low, high word)"),
            _group("MANUFACTURER", 4, "Software that wrote the file"),
            _param("COMPANY", 4, "str", "mocap_fast", ""),
            _param("SOFTWARE", 4, "str", software, ""),
        ]
        return b"".join(recs)

    nblocks = (4 + len(params(0)) + 2 + 511) // 512  # + 2 bytes of terminating zeros
    data_start = 2 + nblocks
    par = struct.pack("BBBB", 1, 0x50, nblocks, _INTEL) + params(data_start)
    par = par.ljust(512 * nblocks, b"\0")
    header = struct.pack(_HEADER, 2, 0x50, M, 0, 1, T, 0, -1.0, data_start, 0, fps, b"", 0, 0, 0, b"", b"")
    assert len(header) == 512
    valid = np.isfinite(X).all(-1)
    frames = np.zeros((T, M, 4), dtype="<f4")
    frames[..., :3] = np.where(valid[..., None], X * scale, 0.0)
    frames[..., 3] = np.where(valid, 0.0, -1.0)
    data = frames.tobytes()
    data = data.ljust((len(data) + 511) // 512 * 512, b"\0")
    return write_bytes(path, header + par + data)


def read_c3d(path: PathLike) -> dict:
    """Read a float or integer C3D file (Intel byte order) written by :func:`write_c3d` or others.

    Returns:
        ``{"points": (T, M, 3) float64 in the file's units (NaN for invalid samples), "labels": [M],
        "units": str, "fps": float, "params": {"GROUP:NAME": value}}``.

    Raises:
        ValueError: naming the file, for a truncated or non-C3D file or a non-Intel processor type.
    """
    p = Path(path)
    try:
        buf = p.read_bytes()
    except OSError as exc:
        raise ValueError(f"path: cannot read {p} ({exc})") from None
    if len(buf) < 1024 or buf[1] != 0x50:
        raise ValueError(f"{p}: not a C3D file (bad header key)")
    h = struct.unpack(_HEADER, buf[:512])
    pblock, n_points, n_analog, first, last, scale, dblock, fps = h[0], h[2], h[3], h[4], h[5], h[7], h[8], h[10]
    pstart = (pblock - 1) * 512
    _, key, nblocks, proc = struct.unpack("BBBB", buf[pstart:pstart + 4])
    if proc != _INTEL:
        raise ValueError(f"{p}: processor type {proc} not supported (only 84 = Intel)")
    params: dict[str, Any] = {}
    groups: dict[int, str] = {}
    raw: list[tuple[int, str, Any]] = []
    f = io.BytesIO(buf[pstart + 4:pstart + 512 * nblocks])
    while True:
        hdr = f.read(2)
        if len(hdr) < 2:
            break
        nlen, gid = struct.unpack("<bb", hdr)
        if nlen == 0 or gid == 0:
            break
        name = f.read(abs(nlen)).decode("ascii", "replace").upper()
        (nxt,) = struct.unpack("<h", f.read(2))
        start = f.tell()
        if gid < 0:
            groups[-gid] = name
        else:
            elem, ndim = struct.unpack("<bB", f.read(2))
            dims = list(f.read(ndim))
            count = int(np.prod(dims)) if dims else 1
            data = f.read(abs(elem) * count)
            if elem == -1:
                if len(dims) <= 1:
                    val: Any = data.decode("ascii", "replace").rstrip()
                else:
                    w = dims[0]
                    val = [data[i * w:(i + 1) * w].decode("ascii", "replace").rstrip() for i in range(count // w)]
            else:
                dt = {1: "<i1", 2: "<i2", 4: "<f4"}.get(elem)
                if dt is None:
                    raise ValueError(f"{p}: parameter {name}: bad element size {elem}")
                arr = np.frombuffer(data, dtype=dt)
                val = arr[0].item() if not dims else arr.reshape(dims[::-1])
            raw.append((gid, name, val))
        if nxt == 0:
            break
        f.seek(start - 2 + nxt)
    for gid, name, val in raw:
        params[f"{groups.get(gid, str(gid))}:{name}"] = val
    T = last - first + 1
    is_float = scale < 0
    word = 4 if is_float else 2
    per_frame = 4 * n_points * word + n_analog * word  # analog samples are skipped
    off = (dblock - 1) * 512
    need = off + per_frame * T
    if len(buf) < need:
        raise ValueError(f"{p}: truncated: {T} frames need {need} bytes, file has {len(buf)}")
    rows = np.frombuffer(buf, dtype=np.uint8, count=per_frame * T, offset=off).reshape(T, per_frame)
    pts_bytes = rows[:, :4 * n_points * word].copy().tobytes()
    if is_float:
        w = np.frombuffer(pts_bytes, dtype="<f4").reshape(T, n_points, 4).astype(np.float64)
        xyz, resid = w[..., :3], w[..., 3]
    else:
        w = np.frombuffer(pts_bytes, dtype="<i2").reshape(T, n_points, 4).astype(np.float64)
        xyz, resid = w[..., :3] * abs(scale), w[..., 3]
    xyz = np.where((resid < 0)[..., None], np.nan, xyz)
    labels = params.get("POINT:LABELS", [f"P{i}" for i in range(n_points)])
    if isinstance(labels, str):
        labels = [labels]
    return {"points": xyz, "labels": list(labels)[:n_points], "units": str(params.get("POINT:UNITS", "")),
            "fps": float(params.get("POINT:RATE", fps)), "params": params}
