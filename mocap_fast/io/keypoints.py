"""Read 2D keypoints of common detectors into ``(T, J, 2)`` pixels + ``(T, J)`` confidence.

Supported inputs (:func:`load_keypoints` detects which from the path and content):

* **OpenPose** — a folder of per-frame JSON files (``*_keypoints.json`` or any ``*.json``,
  frames in natural filename order) with ``people[].pose_keypoints_2d``: BODY_25 (75 numbers) or
  COCO-18 (54 numbers), both mapped to COCO-17 (eyes/ears/limbs/hips copied; OpenPose's extra
  neck, mid-hip and foot points are dropped). One JSON file with the same layout is one frame.
  ``(0, 0, 0)`` triples are missing joints.
* **COCO keypoint results** — a JSON list of ``{image_id, keypoints: [x, y, v] * 17, score,
  (track_id)}`` (or a COCO annotation file with an ``annotations`` list). Frame index =
  ``image_id - min(image_id)`` when every id is an integer (gaps become missing frames),
  else the rank of the id in sorted order. Third values above 1 are COCO visibility flags
  (0 = missing, 1/2 = visible -> confidence 1); otherwise they are scores in [0, 1].
* **MMPose / RTMLib** JSON — ``{"instance_info": [{"frame_id", "instances": [...]}, ...]}``
  (MMPose ``--save-predictions``), or a list of such frames, or a list of per-frame instance
  lists; an instance is ``{keypoints: [[x, y], ...], keypoint_scores: [...], (track_id)}``.
  Frame index = ``frame_id`` minus the smallest one when present, else the list position.
* **NPZ / NPY arrays** — ``(T, J, 2)``, ``(T, J, 3)`` (x, y, confidence) or multi-person
  ``(T, N, J, 2|3)``; in an ``.npz`` the first of the keys ``keypoints``, ``kp``,
  ``positions_2d``, ``pose_2d``, ``arr_0``, with confidence from ``confidence``,
  ``keypoint_scores``, ``scores`` or ``conf`` (same leading shape, no last dim), the frame rate from
  ``fps`` and a layout from ``joint_format`` when present (RTMLib outputs stacked per frame
  are this form). **VideoPose3D** ``data_2d_custom_*.npz``: ``positions_2d`` a pickled
  ``{subject: {action: [array (T, 17, 2|3) per camera]}}`` dict (the first subject, action and
  camera in sorted order are used; the ``metadata`` layout name ``coco``/``h36m`` sets the
  format). Pickled arrays are only unpickled for that key: open such files only from sources
  you trust.

Joint layout (``joint_format="auto"``): 22 joints -> ``smpl22``; 25 -> OpenPose BODY_25 and
18 -> OpenPose COCO-18, both converted to ``coco17``; 17 -> the layout the file states
(VideoPose3D metadata ``layout_name``, an npz ``joint_format``), else ``coco17`` or ``h36m17``
told apart by geometry (:mod:`mocap_fast.format_detect`: a face around joint 0, or legs); a
``ValueError`` when the geometry cannot tell (pass ``joint_format``, CLI ``--format``).

Several people per frame: with ``person=None`` the track with the largest total confidence
over the clip is used; ``person=ID`` picks the track with that id. Track ids come from the file
(COCO/MMPose ``track_id``, OpenPose ``person_id`` when not -1) when every detection has one;
otherwise detections are linked frame to frame by greedy nearest centre (confidence-weighted
mean of the observed joints), a detection joining the nearest existing track whose last centre
lies within the track's last bounding-box diagonal (at least 50 px), else starting a new one;
tracker ids are 0, 1, ... in order of first appearance. Frames where the chosen person is not
detected have NaN keypoints and confidence 0.
"""

from __future__ import annotations

import json
import math
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence, Union

import numpy as np

__all__ = [
    "Keypoints2D",
    "load_keypoints",
    "BODY25_TO_COCO17",
    "COCO18_TO_COCO17",
    "INPUT_FORMATS",
]

PathLike = Union[str, os.PathLike]

BODY25_TO_COCO17 = (0, 16, 15, 18, 17, 5, 2, 6, 3, 7, 4, 12, 9, 13, 10, 14, 11)
"""COCO-17 joint i = OpenPose BODY_25 joint ``BODY25_TO_COCO17[i]``."""
COCO18_TO_COCO17 = (0, 15, 14, 17, 16, 5, 2, 6, 3, 7, 4, 11, 8, 12, 9, 13, 10)
"""COCO-17 joint i = OpenPose COCO-18 joint ``COCO18_TO_COCO17[i]``."""

INPUT_FORMATS = ("auto", "smpl22", "coco17", "h36m17")
_NPZ_KP_KEYS = ("keypoints", "kp", "positions_2d", "pose_2d", "arr_0")
_NPZ_CONF_KEYS = ("confidence", "keypoint_scores", "scores", "conf")
MIN_GATE_PX = 50.0


@dataclass
class Keypoints2D:
    """2D keypoints of one person, ready for :func:`mocap_fast.lifting.lift`.

    Attributes:
        keypoints: ``(T, J, 2)`` float64 pixels; NaN where missing.
        confidence: ``(T, J)`` float64 in [0, 1]; 0 where missing.
        joint_format: ``"smpl22"``, ``"coco17"`` or ``"h36m17"``.
        fps: frame rate stated by the file, else ``None``.
        source: the detected input kind (``"openpose"``, ``"coco"``, ``"mmpose"``, ``"npz"``, ...).
        info: extra facts (number of tracks, the chosen track id, raw layout ...).
    """

    keypoints: np.ndarray
    confidence: np.ndarray
    joint_format: str
    fps: float | None = None
    source: str = ""
    info: dict = field(default_factory=dict)


@dataclass
class _Det:
    kp: np.ndarray  # (J, 2)
    conf: np.ndarray  # (J,)
    track: Any = None


def _err(path: PathLike, msg: str) -> ValueError:
    return ValueError(f"INPUT: {path}: {msg}")


def load_keypoints(
    path: PathLike,
    joint_format: str = "auto",
    person: int | str | None = None,
) -> Keypoints2D:
    """Read a keypoint file or OpenPose folder (see the module docstring for formats and rules).

    Args:
        path: a file (``.json``, ``.npz``, ``.npy``) or a folder of OpenPose JSON files.
        joint_format: ``"auto"`` or the layout of the keypoints (after OpenPose conversion).
        person: track id to keep when a frame holds several people (``None``: most confident).

    Raises:
        ValueError: ``"INPUT: <path>: <problem>"`` for missing, unreadable or malformed input.
    """
    if joint_format not in INPUT_FORMATS:
        raise ValueError(f"format: unknown value {joint_format!r}; expected one of {list(INPUT_FORMATS)}")
    p = Path(path)
    if p.is_dir():
        frames, source, layout = _read_openpose_dir(p)
        fps = None
    elif p.is_file():
        suffix = p.suffix.lower()
        if suffix == ".json":
            frames, source, layout, fps = _read_json_file(p)
        elif suffix in (".npz", ".npy"):
            return _read_array_file(p, joint_format, person)
        else:
            raise _err(p, f"unsupported file type {p.suffix!r} (expected a folder of OpenPose JSON, .json, .npz or .npy)")
    else:
        raise _err(p, "no such file or folder")
    kp, conf, info = _select_person(frames, person, p)
    if joint_format == "auto" and source == "coco" and kp.shape[1] == 17:
        joint_format = "coco17"  # the COCO keypoint format defines its 17 joints' order
    kp, conf, fmt, info["layout"] = _convert_layout(kp, conf, joint_format, layout, p)
    return Keypoints2D(kp, conf, fmt, fps, source, info)


# --------------------------------------------------------------------------------------------- JSON


def _natural_key(name: str) -> list:
    return [int(t) if t.isdigit() else t for t in re.split(r"(\d+)", name)]


def _load_json(p: Path) -> Any:
    try:
        return json.loads(p.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError) as exc:
        raise _err(p, f"cannot read ({exc})") from None
    except json.JSONDecodeError as exc:
        raise _err(p, f"invalid JSON ({exc})") from None


def _flat_triples(values: Any, p: Path, what: str) -> tuple[np.ndarray, np.ndarray]:
    try:
        a = np.asarray(values, dtype=np.float64).reshape(-1)
    except (TypeError, ValueError):
        raise _err(p, f"{what}: expected a list of numbers") from None
    if a.size == 0 or a.size % 3:
        raise _err(p, f"{what}: expected 3 numbers (x, y, c) per joint, got {a.size} numbers")
    a = a.reshape(-1, 3)
    return a[:, :2].copy(), a[:, 2].copy()


def _openpose_frame(d: Any, p: Path) -> list[_Det]:
    if not isinstance(d, dict) or not isinstance(d.get("people"), list):
        raise _err(p, "not an OpenPose frame (no 'people' list)")
    dets = []
    for i, person in enumerate(d["people"]):
        if not isinstance(person, dict) or "pose_keypoints_2d" not in person:
            raise _err(p, f"people[{i}] has no 'pose_keypoints_2d'")
        if not person["pose_keypoints_2d"]:  # a face- or hand-only detection: no body
            continue
        kp, conf = _flat_triples(person["pose_keypoints_2d"], p, f"people[{i}].pose_keypoints_2d")
        pid = person.get("person_id")
        if isinstance(pid, list):
            pid = pid[0] if pid else None
        track = None if pid is None or pid == -1 else pid
        dets.append(_Det(kp, conf, track))
    return dets


def _read_openpose_dir(p: Path) -> tuple[list[list[_Det]], str, str]:
    files = sorted(p.glob("*_keypoints.json"), key=lambda f: _natural_key(f.name))
    if not files:
        files = sorted(p.glob("*.json"), key=lambda f: _natural_key(f.name))
    if not files:
        raise _err(p, "folder holds no OpenPose JSON files (*_keypoints.json)")
    frames = [_openpose_frame(_load_json(f), f) for f in files]
    return frames, "openpose", _layout_of(frames, p)


def _layout_of(frames: list[list[_Det]], p: Path) -> str:
    counts = {d.kp.shape[0] for f in frames for d in f}
    if len(counts) > 1:
        raise _err(p, f"detections have different joint counts {sorted(counts)}")
    if not counts:
        raise _err(p, "no person detected in any frame")
    return str(counts.pop())


def _read_json_file(p: Path) -> tuple[list[list[_Det]], str, str, float | None]:
    d = _load_json(p)
    fps = None
    if isinstance(d, dict) and "people" in d:
        frames = [_openpose_frame(d, p)]
        return frames, "openpose", _layout_of(frames, p), None
    if isinstance(d, dict):
        meta = d.get("meta_info") or d.get("meta") or {}
        fps = _maybe_fps(d.get("fps", meta.get("fps") if isinstance(meta, dict) else None))
        if "instance_info" in d:
            frames = _mmpose_frames(d["instance_info"], p)
            return frames, "mmpose", _layout_of(frames, p), fps
        if "annotations" in d:
            frames = _coco_frames(d["annotations"], p)
            return frames, "coco", _layout_of(frames, p), fps
        raise _err(p, "unknown JSON layout (expected OpenPose 'people', COCO results list, "
                      "COCO 'annotations' or MMPose 'instance_info')")
    if isinstance(d, list):
        if not d:
            raise _err(p, "empty list: no detections")
        first = d[0]
        if isinstance(first, dict) and "image_id" in first:
            frames = _coco_frames(d, p)
            return frames, "coco", _layout_of(frames, p), None
        if isinstance(first, list) or (isinstance(first, dict) and "instances" in first):
            frames = _mmpose_frames(d, p)
            return frames, "mmpose", _layout_of(frames, p), None
    raise _err(p, "unknown JSON layout (expected OpenPose 'people', COCO results list, "
                  "COCO 'annotations' or MMPose 'instance_info')")


def _maybe_fps(v: Any) -> float | None:
    try:
        f = float(v)
    except (TypeError, ValueError):
        return None
    return f if math.isfinite(f) and f > 0 else None


def _frame_index(ids: Sequence[Any]) -> tuple[list[int], int]:
    """Frame index per entry and the frame count (integer ids: offset from the smallest)."""
    if all(isinstance(i, (int, np.integer)) and not isinstance(i, bool) for i in ids):
        lo = min(ids)
        idx = [int(i) - int(lo) for i in ids]
        return idx, max(idx) + 1
    order = {v: k for k, v in enumerate(sorted(set(map(str, ids)), key=_natural_key))}
    idx = [order[str(i)] for i in ids]
    return idx, len(order)


def _coco_frames(anns: Any, p: Path) -> list[list[_Det]]:
    if not isinstance(anns, list) or not anns:
        raise _err(p, "COCO: expected a non-empty list of detections")
    ids, dets = [], []
    for i, a in enumerate(anns):
        if not isinstance(a, dict) or "image_id" not in a or "keypoints" not in a:
            raise _err(p, f"COCO: entry {i} needs 'image_id' and 'keypoints'")
        kp, c = _flat_triples(a["keypoints"], p, f"entry {i} keypoints")
        if (c > 1).any():  # visibility flags 0/1/2
            c = (c > 0).astype(np.float64)
        kp[c <= 0] = np.nan
        ids.append(a["image_id"])
        dets.append(_Det(kp, np.clip(c, 0.0, 1.0), a.get("track_id")))
    idx, n = _frame_index(ids)
    frames: list[list[_Det]] = [[] for _ in range(n)]
    for k, det in zip(idx, dets):
        frames[k].append(det)
    return frames


def _mmpose_instance(inst: Any, p: Path, where: str) -> _Det:
    if not isinstance(inst, dict) or "keypoints" not in inst:
        raise _err(p, f"{where}: instance has no 'keypoints'")
    try:
        kp = np.asarray(inst["keypoints"], dtype=np.float64)
    except (TypeError, ValueError):
        raise _err(p, f"{where}: keypoints are not numbers") from None
    if kp.ndim == 3 and kp.shape[0] == 1:
        kp = kp[0]
    if kp.ndim != 2 or kp.shape[1] not in (2, 3):
        raise _err(p, f"{where}: keypoints must be (J, 2) or (J, 3), got shape {kp.shape}")
    scores = inst.get("keypoint_scores", inst.get("scores"))
    if scores is not None:
        try:
            conf = np.asarray(scores, dtype=np.float64).reshape(-1)
        except (TypeError, ValueError):
            raise _err(p, f"{where}: keypoint_scores are not numbers") from None
        if conf.shape != (kp.shape[0],):
            raise _err(p, f"{where}: {conf.size} keypoint_scores for {kp.shape[0]} keypoints")
    elif kp.shape[1] == 3:
        conf = kp[:, 2].copy()
    else:
        conf = np.ones(kp.shape[0])
    return _Det(kp[:, :2].copy(), np.clip(np.nan_to_num(conf, nan=0.0), 0.0, 1.0), inst.get("track_id"))


def _mmpose_frames(items: Any, p: Path) -> list[list[_Det]]:
    if not isinstance(items, list) or not items:
        raise _err(p, "MMPose: expected a non-empty list of frames")
    ids, per = [], []
    for k, fr in enumerate(items):
        if isinstance(fr, dict):
            inst = fr.get("instances")
            if not isinstance(inst, list):
                raise _err(p, f"MMPose: frame {k} has no 'instances' list")
            ids.append(fr.get("frame_id", k))
        elif isinstance(fr, list):
            inst = fr
            ids.append(k)
        else:
            raise _err(p, f"MMPose: frame {k} is neither a dict with 'instances' nor a list")
        per.append([_mmpose_instance(x, p, f"frame {k}") for x in inst])
    if any(not isinstance(i, (int, np.integer)) for i in ids):
        ids = list(range(len(items)))
    idx, n = _frame_index(ids)
    frames: list[list[_Det]] = [[] for _ in range(n)]
    for k, dets in zip(idx, per):
        frames[k].extend(dets)
    return frames


# --------------------------------------------------------------------------------------------- arrays


def _read_array_file(p: Path, joint_format: str, person: int | str | None) -> Keypoints2D:
    fps = None
    stated = None
    conf = None
    source = "npy"
    try:
        if p.suffix.lower() == ".npy":
            arr = np.load(p, allow_pickle=False)
        else:
            source = "npz"
            with np.load(p, allow_pickle=False) as d:
                keys = list(d.keys())
                key = next((k for k in _NPZ_KP_KEYS if k in keys), None)
                if key is None:
                    raise _err(p, f"no keypoint array (expected one of {list(_NPZ_KP_KEYS)}, found {keys})")
                try:
                    arr = d[key]
                except ValueError:  # object array: VideoPose3D custom dataset (pickled dict)
                    arr = None
                ckey = next((k for k in _NPZ_CONF_KEYS if k in keys), None)
                conf = d[ckey] if ckey is not None else None
                if "fps" in keys:
                    fps = _maybe_fps(np.asarray(d["fps"]).reshape(-1)[0] if np.asarray(d["fps"]).size else None)
                if "joint_format" in keys:
                    stated = str(np.asarray(d["joint_format"]).reshape(-1)[0])
            if arr is None:
                arr, stated, source = _videopose3d(p)
    except ValueError as exc:
        if str(exc).startswith("INPUT: "):
            raise
        raise _err(p, f"cannot read ({exc})") from None
    except Exception as exc:  # zipfile / pickle / format errors
        raise _err(p, f"cannot read ({type(exc).__name__}: {exc})") from None
    arr = np.asarray(arr)
    if not np.issubdtype(arr.dtype, np.number):
        raise _err(p, f"keypoints: expected a numeric array, got dtype {arr.dtype}")
    arr = arr.astype(np.float64)
    if arr.ndim not in (3, 4) or arr.shape[-1] not in (2, 3):
        raise _err(p, f"keypoints: expected shape (T, J, 2|3) or (T, N, J, 2|3), got {arr.shape}")
    if conf is not None:
        conf = np.asarray(conf, dtype=np.float64)
        if conf.shape != arr.shape[:-1]:
            raise _err(p, f"confidence: expected shape {arr.shape[:-1]}, got {conf.shape}")
    elif arr.shape[-1] == 3:
        conf = arr[..., 2]
    kp = arr[..., :2]
    if conf is None:
        conf = np.ones(kp.shape[:-1])
    if np.isinf(kp).any():
        raise _err(p, "keypoints: infinite values (use NaN for missing joints)")
    conf = np.nan_to_num(conf, nan=0.0, posinf=0.0, neginf=0.0)
    if ((conf < 0) | (conf > 1)).any():
        conf = np.clip(conf, 0.0, 1.0)
    if kp.ndim == 4:  # several people per frame
        frames = []
        for t in range(kp.shape[0]):
            dets = []
            for n in range(kp.shape[1]):
                ok = (conf[t, n] > 0) & np.isfinite(kp[t, n]).all(-1)
                if ok.any():
                    dets.append(_Det(kp[t, n], conf[t, n], None))
            frames.append(dets)
        kp, conf, info = _select_person(frames, person, p)
    else:
        info = {"tracks": 1}
        if person not in (None, 0, "0"):
            raise ValueError(f"person: {p} holds one person per frame; got --person {person}")
    if stated is not None and joint_format == "auto":
        stated = {"coco": "coco17", "h36m": "h36m17", "smpl": "smpl22"}.get(stated.lower(), stated.lower())
        if stated in INPUT_FORMATS:
            joint_format = stated
    kp, conf, fmt, info["layout"] = _convert_layout(kp, conf, joint_format, str(kp.shape[1]), p)
    return Keypoints2D(kp, conf, fmt, fps, source, info)


def _videopose3d(p: Path) -> tuple[np.ndarray, str | None, str]:
    """The first sequence of a VideoPose3D custom ``positions_2d`` dict (pickled in the npz)."""
    with np.load(p, allow_pickle=True) as d:
        pos = d["positions_2d"].item() if "positions_2d" in d else None
        meta = d["metadata"].item() if "metadata" in d and d["metadata"].dtype == object else {}
    if not isinstance(pos, dict) or not pos:
        raise _err(p, "positions_2d: expected an array or a {subject: {action: [arrays]}} dict")
    subject = sorted(pos, key=str)[0]
    actions = pos[subject]
    if not isinstance(actions, dict) or not actions:
        raise _err(p, f"positions_2d[{subject!r}]: expected a non-empty {{action: [arrays]}} dict")
    action = sorted(actions, key=str)[0]
    seqs = actions[action]
    arr = seqs[0] if isinstance(seqs, (list, tuple)) else seqs
    layout = meta.get("layout_name") if isinstance(meta, dict) else None
    return np.asarray(arr), layout, "videopose3d"


# --------------------------------------------------------------------------------------------- people


def _centre_and_scale(det: _Det) -> tuple[np.ndarray, float] | None:
    ok = (det.conf > 0) & np.isfinite(det.kp).all(-1)
    if not ok.any():
        return None
    pts, w = det.kp[ok], det.conf[ok]
    centre = (pts * w[:, None]).sum(0) / w.sum()
    diag = float(np.hypot(*(pts.max(0) - pts.min(0))))
    return centre, max(diag, MIN_GATE_PX)


def _track(frames: list[list[_Det]]) -> list[list[tuple[int, _Det]]]:
    """Greedy nearest-centre linking: per frame a list of ``(track_id, det)``."""
    last: dict[int, tuple[np.ndarray, float]] = {}
    out = []
    for dets in frames:
        cs = [_centre_and_scale(d) for d in dets]
        pairs = []
        for i, c in enumerate(cs):
            if c is None:
                continue
            for tid, (tc, ts) in last.items():
                dist = float(np.linalg.norm(c[0] - tc))
                if dist <= ts:
                    pairs.append((dist, i, tid))
        pairs.sort()
        used_d, used_t, assign = set(), set(), {}
        for dist, i, tid in pairs:
            if i in used_d or tid in used_t:
                continue
            used_d.add(i)
            used_t.add(tid)
            assign[i] = tid
        row = []
        for i, c in enumerate(cs):
            if c is None:
                continue
            tid = assign.get(i)
            if tid is None:
                tid = len(last)
                while tid in last:
                    tid += 1
            last[tid] = c
            row.append((tid, dets[i]))
        out.append(row)
    return out


def _select_person(frames: list[list[_Det]], person: int | str | None, p: Path) -> tuple[np.ndarray, np.ndarray, dict]:
    """One person's ``(T, J, 2)`` keypoints (NaN where absent) and ``(T, J)`` confidence."""
    J = int(_layout_of(frames, p))
    T = len(frames)
    all_dets = [d for f in frames for d in f]
    if all(d.track is not None for d in all_dets):
        tracked = [[(d.track, d) for d in f] for f in frames]
        ids_from = "file"
    else:
        tracked = _track(frames)
        ids_from = "tracker"
    totals: dict[Any, float] = {}
    for row in tracked:
        for tid, d in row:
            totals[tid] = totals.get(tid, 0.0) + float(d.conf.sum())
    if not totals:
        raise _err(p, "no person with an observed joint in any frame")
    if person is None:
        chosen = max(sorted(totals, key=_as_sort_key), key=lambda k: totals[k])  # ties: the smallest id
    else:
        chosen = next((k for k in totals if str(k) == str(person)), None)
        if chosen is None:
            listing = ", ".join(str(k) for k in sorted(totals, key=_as_sort_key)[:20])
            raise ValueError(f"person: no track {person!r} in {p} (track ids: {listing})")
    kp = np.full((T, J, 2), np.nan)
    conf = np.zeros((T, J))
    for t, row in enumerate(tracked):
        best = None
        for tid, d in row:
            if tid == chosen and (best is None or d.conf.sum() > best.conf.sum()):
                best = d
        if best is not None:
            ok = (best.conf > 0) & np.isfinite(best.kp).all(-1)
            kp[t, ok] = best.kp[ok]
            conf[t, ok] = best.conf[ok]
    info = {"tracks": len(totals), "person": chosen if not isinstance(chosen, np.generic) else chosen.item(),
            "track_ids_from": ids_from, "frames_with_person": int((conf.max(-1) > 0).sum())}
    return kp, conf, info


def _as_sort_key(k: Any) -> tuple:
    try:
        return (0, float(k), "")
    except (TypeError, ValueError):
        return (1, 0.0, str(k))


def _convert_layout(kp: np.ndarray, conf: np.ndarray, joint_format: str, layout: str, p: Path):
    J = kp.shape[1]
    raw = {25: "body25", 18: "coco18"}.get(J, f"{J} joints")
    if J == 25:
        kp, conf = kp[:, BODY25_TO_COCO17], conf[:, BODY25_TO_COCO17]
    elif J == 18:
        kp, conf = kp[:, COCO18_TO_COCO17], conf[:, COCO18_TO_COCO17]
    J2 = kp.shape[1]
    if joint_format == "auto":
        if J2 not in (22, 17):
            raise _err(p, f"cannot tell the joint layout of {J} joints (supported: 22 SMPL, 17 COCO/H36M, "
                          "25 OpenPose BODY_25, 18 OpenPose COCO-18)")
        if J in (25, 18):
            fmt = "coco17"
        else:
            from ..format_detect import resolve_auto

            try:  # 17 joints: COCO-17 or H36M-17 by geometry, never by count alone
                fmt = resolve_auto(np.where((conf > 0)[..., None], kp, np.nan), conf)
            except ValueError as exc:
                raise _err(p, str(exc)) from None
    else:
        fmt = joint_format
        need = 22 if fmt == "smpl22" else 17
        if J2 != need:
            raise _err(p, f"format {fmt} has {need} joints but the keypoints have {J}")
        if J in (25, 18) and fmt != "coco17":
            raise _err(p, f"OpenPose {raw} keypoints convert to coco17, not {fmt}")
    conf = np.where(np.isfinite(kp).all(-1), conf, 0.0)
    kp = np.where(conf[..., None] > 0, kp, np.nan)
    return np.ascontiguousarray(kp), np.ascontiguousarray(conf), fmt, raw
