"""BVH motion files: a numpy reader with forward kinematics, and conversion to SMPL-22 joints.

:func:`read_bvh` parses HIERARCHY (ROOT / JOINT / End Site, OFFSET, CHANNELS in any order, with
position channels allowed on any joint) and MOTION (Frames, Frame Time, one line of channel
values per frame) and runs forward kinematics: a joint's local rotation is the product of its
per-axis rotations in the order its CHANNELS line lists them (intrinsic; ``Zrotation Yrotation
Xrotation`` gives Rz @ Ry @ Rx), its local translation is its OFFSET with the components named
by its position channels replaced by their values.

:func:`bvh_to_smpl22` maps a motion onto the 22 SMPL joints with the CMU conventions of
``shared/data/mocap30/README.md`` (cgspeed MotionBuilder ``cmu_mb``, cgspeed 3dsMax ``cmu_max``,
Reallusion CC rig ``cmu_cc``, Bandai Namco ``bandai``), following the same conversion steps
(units, up axis, leading T-pose frames, resampling, ground), so a CMU BVH converts to what the
mocap30 clips hold.

The parser is hand-written: PyPI has no maintained BVH reader that handles position channels
on any joint and reports file line numbers; the rotations use scipy's ``Rotation``.
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Mapping, Union

import numpy as np
from scipy.spatial.transform import Rotation

from .._arrays import check_positive
from ..joints import SMPL22
from ..resampling import resample

__all__ = ["BvhMotion", "read_bvh", "parse_bvh", "MAPPINGS", "UNIT_SCALES", "detect_mapping", "bvh_to_smpl22"]

CMU_UNIT_M = 0.056444
"""Metres per cgspeed CMU BVH unit (1/0.45 inch, CMU FAQ)."""

_AXES = {"x": 0, "y": 1, "z": 2}


@dataclass
class BvhMotion:
    """A parsed BVH motion with forward-kinematics joint positions.

    Attributes:
        names: joint names in file order; an End Site is named ``<parent>_End`` (suffixed with a
            number if the parent has several).
        parents: parent index per joint, -1 for a root (parents precede children).
        offsets: ``(J, 3)`` float64 OFFSETs, file units.
        positions: ``(F, J, 3)`` float64 world positions of every joint per frame, file units.
        frame_time: seconds per frame.
        channels: per joint, its channel names as written (empty for End Sites).
        source: file path or ``"<string>"``, for messages.
        end_sites: per joint, True for an End Site.
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    positions: np.ndarray
    frame_time: float
    channels: tuple[tuple[str, ...], ...] = ()
    source: str = "<string>"
    end_sites: tuple[bool, ...] = field(default=())

    @property
    def fps(self) -> float:
        """Frames per second, snapped to the nearest integer when within 0.1% of it."""
        fps = 1.0 / self.frame_time
        return float(round(fps)) if abs(fps - round(fps)) <= 1e-3 * fps else fps

    @property
    def num_frames(self) -> int:
        """Number of frames F."""
        return int(self.positions.shape[0])

    def index(self, name: str) -> int:
        """Index of joint ``name``; ``KeyError`` if absent."""
        if name not in self.names:
            raise KeyError(f"{self.source}: no joint named {name!r}")
        return self.names.index(name)


class _Tokens:
    """Whitespace tokens of the HIERARCHY section with their 1-based line numbers."""

    def __init__(self, lines: list[str], source: str):
        self.source = source
        self.items: list[tuple[str, int]] = []
        self.pos = 0
        self.end_line = 0
        for i, line in enumerate(lines, 1):
            if line.strip().upper() == "MOTION":
                self.end_line = i
                self.items.append(("MOTION", i))
                return
            self.items.extend((tok, i) for tok in line.replace("{", " { ").replace("}", " } ").split())
        self.end_line = len(lines)

    def error(self, msg: str, line: int | None = None) -> ValueError:
        if line is None:
            line = self.items[self.pos][1] if self.pos < len(self.items) else self.end_line
        return ValueError(f"{self.source}: line {line}: {msg}")

    def next(self, what: str) -> tuple[str, int]:
        if self.pos >= len(self.items):
            raise self.error(f"unexpected end of file, expected {what}")
        tok = self.items[self.pos]
        self.pos += 1
        return tok

    def peek(self) -> str | None:
        return self.items[self.pos][0] if self.pos < len(self.items) else None

    def expect(self, word: str) -> None:
        tok, line = self.next(repr(word))
        if tok.upper() != word.upper():
            raise self.error(f"expected {word!r}, got {tok!r}", line)

    def number(self, what: str) -> float:
        tok, line = self.next(what)
        try:
            value = float(tok)
        except ValueError:
            raise self.error(f"expected a number for {what}, got {tok!r}", line) from None
        if not math.isfinite(value):
            raise self.error(f"non-finite {what} {tok!r}", line)
        return value


@dataclass
class _Hierarchy:
    names: list[str] = field(default_factory=list)
    parents: list[int] = field(default_factory=list)
    offsets: list[tuple[float, float, float]] = field(default_factory=list)
    channels: list[tuple[str, ...]] = field(default_factory=list)
    end_sites: list[bool] = field(default_factory=list)


_CHANNEL_NAMES = {f"{a}{k}" for a in "XYZ" for k in ("position", "rotation")}


def _parse_joint(tk: _Tokens, h: _Hierarchy, name: str, parent: int, is_end: bool) -> None:
    """Parse ``{ OFFSET ... [CHANNELS ...] children }`` of one joint into ``h``."""
    index = len(h.names)
    h.names.append(name)
    h.parents.append(parent)
    h.end_sites.append(is_end)
    tk.expect("{")
    tk.expect("OFFSET")
    h.offsets.append(tuple(tk.number("OFFSET") for _ in range(3)))
    chans: tuple[str, ...] = ()
    if not is_end and (tk.peek() or "").upper() == "CHANNELS":
        tk.next("CHANNELS")
        n = tk.number("the channel count")
        if n != int(n) or not 0 <= n <= 6:
            raise tk.error(f"bad channel count {n:g} for joint {name!r}")
        tokens = [tk.next("a channel name") for _ in range(int(n))]
        for c, line in tokens:
            if c.capitalize() not in _CHANNEL_NAMES:
                raise tk.error(f"unknown channel {c!r} for joint {name!r}", line)
        chans = tuple(c for c, _ in tokens)
    h.channels.append(tuple(c.capitalize() for c in chans))
    n_end = 0
    while True:
        tok, line = tk.next("'}'")
        up = tok.upper()
        if tok == "}":
            return
        if is_end:
            raise tk.error(f"unexpected {tok!r} inside End Site", line)
        if up == "JOINT":
            child, _ = tk.next("a joint name")
            _parse_joint(tk, h, child, index, False)
        elif up == "END":
            tk.expect("Site")
            n_end += 1
            _parse_joint(tk, h, f"{name}_End" + (str(n_end) if n_end > 1 else ""), index, True)
        else:
            raise tk.error(f"expected JOINT, End Site or '}}', got {tok!r}", line)


def _parse_hierarchy(lines: list[str], source: str) -> tuple[_Hierarchy, int]:
    """Parse the HIERARCHY section; return it and the index of the MOTION line in ``lines``."""
    tk = _Tokens(lines, source)
    tk.expect("HIERARCHY")
    h = _Hierarchy()
    while (tk.peek() or "").upper() == "ROOT":
        tk.next("ROOT")
        name, _ = tk.next("the root name")
        _parse_joint(tk, h, name, -1, False)
    if not h.names:
        raise tk.error("expected ROOT")
    tk.expect("MOTION")
    return h, tk.end_line


def _header_value(lines: list[str], i: int, key: str, source: str) -> float:
    """The number after ``key`` (e.g. ``Frames:``) on line ``i`` (0-based)."""
    if i >= len(lines):
        raise ValueError(f"{source}: line {i + 1}: unexpected end of file, expected {key!r}")
    text = lines[i].strip()
    if not text.lower().startswith(key.lower()):
        raise ValueError(f"{source}: line {i + 1}: expected {key!r}, got {text[:40]!r}")
    try:
        return float(text[len(key):].strip())
    except ValueError:
        raise ValueError(f"{source}: line {i + 1}: expected a number after {key!r}, got {text[:40]!r}") from None


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


def _parse_motion(lines: list[str], start: int, num_channels: int, source: str) -> tuple[np.ndarray, float]:
    """Parse ``Frames:``, ``Frame Time:`` and the frame lines after the MOTION line ``start``.

    Returns ``(values (F, C) float64, frame_time)``.
    """
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    frames = _header_value(lines, i, "Frames:", source)
    if frames != int(frames) or frames < 1:
        raise ValueError(f"{source}: line {i + 1}: Frames must be a positive integer, got {frames:g}")
    frame_time = _header_value(lines, i + 1, "Frame Time:", source)
    if not (math.isfinite(frame_time) and frame_time > 0):
        raise ValueError(f"{source}: line {i + 2}: Frame Time must be > 0, got {frame_time:g}")
    rows = [(k, ln) for k, ln in enumerate(lines[i + 2:], i + 3) if ln.strip()]
    n = int(frames)
    if len(rows) < n:
        raise ValueError(f"{source}: line {len(lines)}: truncated, Frames: {n} but only {len(rows)} frame line(s)")
    if len(rows) > n:
        raise ValueError(f"{source}: line {rows[n][0]}: Frames: {n} but more frame lines follow")
    tokens: list[str] = []
    for k, ln in rows:
        parts = ln.split()
        if len(parts) != num_channels:
            raise ValueError(f"{source}: line {k}: expected {num_channels} channel values, got {len(parts)}")
        tokens.extend(parts)
    try:
        values = np.array(tokens, dtype=np.float64).reshape(n, num_channels)
    except ValueError:
        bad = next(k for k, ln in rows if not all(_is_number(p) for p in ln.split()))
        raise ValueError(f"{source}: line {bad}: non-numeric channel value") from None
    if not np.isfinite(values).all():
        bad = int(np.argwhere(~np.isfinite(values))[0, 0])
        raise ValueError(f"{source}: line {rows[bad][0]}: non-finite channel value")
    return values, frame_time


def _axis_rotations(axis: int, degrees: np.ndarray) -> np.ndarray:
    """``(F, 3, 3)`` rotation matrices about coordinate ``axis`` by ``degrees`` (F,)."""
    return Rotation.from_euler("xyz"[axis], np.asarray(degrees, dtype=np.float64)[:, None], degrees=True).as_matrix()


def _forward_kinematics(h: _Hierarchy, values: np.ndarray) -> np.ndarray:
    """World positions ``(F, J, 3)`` of every joint from channel values ``(F, C)``."""
    n_frames, n_joints = values.shape[0], len(h.names)
    pos = np.zeros((n_frames, n_joints, 3))
    rot = np.zeros((n_frames, n_joints, 3, 3))
    col = 0
    for j in range(n_joints):
        local_t = np.tile(np.asarray(h.offsets[j], dtype=np.float64), (n_frames, 1))
        local_r = np.broadcast_to(np.eye(3), (n_frames, 3, 3))
        for ch in h.channels[j]:
            axis, kind = _AXES[ch[0].lower()], ch[1:]
            if kind == "position":
                local_t[:, axis] = values[:, col]
            else:
                local_r = local_r @ _axis_rotations(axis, values[:, col])
            col += 1
        p = h.parents[j]
        if p < 0:
            rot[:, j] = local_r
            pos[:, j] = local_t
        else:
            rot[:, j] = rot[:, p] @ local_r
            pos[:, j] = pos[:, p] + np.einsum("fab,fb->fa", rot[:, p], local_t)
    return pos


def parse_bvh(text: str, source: str = "<string>") -> BvhMotion:
    """Parse BVH ``text`` and run forward kinematics (see the module docstring).

    Raises:
        ValueError: ``"<source>: line N: <problem>"`` for malformed or truncated text.
    """
    lines = text.splitlines()
    h, motion_line = _parse_hierarchy(lines, source)
    num_channels = sum(len(c) for c in h.channels)
    values, frame_time = _parse_motion(lines, motion_line, num_channels, source)
    return BvhMotion(
        names=tuple(h.names),
        parents=tuple(h.parents),
        offsets=np.asarray(h.offsets, dtype=np.float64),
        positions=_forward_kinematics(h, values),
        frame_time=float(frame_time),
        channels=tuple(h.channels),
        source=source,
        end_sites=tuple(h.end_sites),
    )


def read_bvh(path: Union[str, os.PathLike]) -> BvhMotion:
    """Read and parse the BVH file at ``path``; ``ValueError`` naming the file and line if invalid."""
    p = Path(path)
    try:
        text = p.read_text(encoding="utf-8", errors="replace")
    except OSError as exc:
        raise ValueError(f"path: cannot read BVH file {str(p)!r} ({exc})") from None
    return parse_bvh(text, source=str(p))


Lerp = tuple[str, str, float]
"""``(a, b, t)``: the point ``(1 - t) * a + t * b`` between BVH joints ``a`` and ``b``."""

MAPPINGS: dict[str, tuple[Union[str, Lerp], ...]] = {
    "cmu_mb": (
        "Hips", "LeftUpLeg", "RightUpLeg", "Spine", "LeftLeg", "RightLeg", "Spine1", "LeftFoot",
        "RightFoot", ("Spine1", "Neck1", 0.5), "LeftToeBase", "RightToeBase", "Neck1",
        ("Spine1", "LeftArm", 0.45), ("Spine1", "RightArm", 0.45), "Head", "LeftArm", "RightArm",
        "LeftForeArm", "RightForeArm", "LeftHand", "RightHand",
    ),
    "cmu_max": (
        "Hips", "LeftHip", "RightHip", "Chest", "LeftKnee", "RightKnee", "Chest2", "LeftAnkle",
        "RightAnkle", ("Chest2", "Neck", 0.5), "LeftToe", "RightToe", "Neck",
        ("Chest2", "LeftShoulder", 0.45), ("Chest2", "RightShoulder", 0.45), "Head", "LeftShoulder",
        "RightShoulder", "LeftElbow", "RightElbow", "LeftWrist", "RightWrist",
    ),
    "cmu_cc": (
        "CC_Base_Pelvis", "CC_Base_L_Thigh", "CC_Base_R_Thigh", "CC_Base_Waist", "CC_Base_L_Calf",
        "CC_Base_R_Calf", "CC_Base_Spine01", "CC_Base_L_Foot", "CC_Base_R_Foot", "CC_Base_Spine02",
        "CC_Base_L_ToeBase", "CC_Base_R_ToeBase", "CC_Base_NeckTwist01", "CC_Base_L_Clavicle",
        "CC_Base_R_Clavicle", "CC_Base_Head", "CC_Base_L_Upperarm", "CC_Base_R_Upperarm",
        "CC_Base_L_Forearm", "CC_Base_R_Forearm", "CC_Base_L_Hand", "CC_Base_R_Hand",
    ),
    "bandai": (
        "Hips", "UpperLeg_L", "UpperLeg_R", "Spine", "LowerLeg_L", "LowerLeg_R", "Chest", "Foot_L",
        "Foot_R", ("Chest", "Neck", 0.35), "Toes_L", "Toes_R", "Neck", "Shoulder_L", "Shoulder_R",
        "Head", "UpperArm_L", "UpperArm_R", "LowerArm_L", "LowerArm_R", "Hand_L", "Hand_R",
    ),
}
"""SMPL-22 joint (in order) -> BVH joint name or lerp, per skeleton convention (mocap30 README)."""

UNIT_SCALES: dict[str, float] = {"cmu_mb": CMU_UNIT_M, "cmu_max": CMU_UNIT_M, "cmu_cc": 0.01, "bandai": 0.01}
"""Metres per file unit of each known convention."""

_FOOT_JOINTS = (7, 8, 10, 11)
_TPOSE_JUMP_M = 0.25


def _required_names(mapping: tuple[Union[str, Lerp], ...]) -> set[str]:
    names: set[str] = set()
    for m in mapping:
        names.update([m] if isinstance(m, str) else [m[0], m[1]])
    return names


def detect_mapping(motion: BvhMotion) -> str:
    """Name of the first known convention in :data:`MAPPINGS` whose joints all exist in ``motion``.

    Raises:
        ValueError: ``"mapping: ..."`` when no known convention matches.
    """
    present = set(motion.names)
    for name, mapping in MAPPINGS.items():
        if _required_names(mapping) <= present:
            return name
    raise ValueError(
        f"mapping: cannot detect the skeleton convention of {motion.source} "
        f"(known: {list(MAPPINGS)}); pass mapping= as a name or a 22-entry table"
    )


def _resolve_mapping(mapping: Any, motion: BvhMotion) -> tuple[str, tuple[Union[str, Lerp], ...]]:
    """``(name, table)`` from ``mapping``: None (detect), a key of MAPPINGS, or a table.

    A table is a sequence of 22 entries or a dict keyed by SMPL-22 joint name; an entry is a
    BVH joint name or ``(a, b, t)``.
    """
    if mapping is None:
        name = detect_mapping(motion)
        return name, MAPPINGS[name]
    if isinstance(mapping, str):
        if mapping not in MAPPINGS:
            raise ValueError(f"mapping: unknown value {mapping!r}; expected one of {list(MAPPINGS)} or a table")
        return mapping, MAPPINGS[mapping]
    if isinstance(mapping, Mapping):
        missing = [n for n in SMPL22.joint_names if n not in mapping]
        if missing:
            raise ValueError(f"mapping: no entry for SMPL-22 joint(s) {missing}")
        table = tuple(mapping[n] for n in SMPL22.joint_names)
    else:
        table = tuple(mapping)
    if len(table) != 22:
        raise ValueError(f"mapping: expected 22 entries, got {len(table)}")
    for m in table:
        if not (isinstance(m, str) or (isinstance(m, (tuple, list)) and len(m) == 3)):
            raise ValueError(f"mapping: entries must be joint names or (a, b, t), got {m!r}")
    return "custom", tuple(m if isinstance(m, str) else (str(m[0]), str(m[1]), float(m[2])) for m in table)


def _map_joints(motion: BvhMotion, table: tuple[Union[str, Lerp], ...]) -> np.ndarray:
    """``(F, 22, 3)`` SMPL-22 joints in file units from the motion's joint positions."""
    missing = sorted(n for n in _required_names(table) if n not in motion.names)
    if missing:
        raise ValueError(f"mapping: {motion.source} has no joint(s) {missing}")
    pos = motion.positions
    out = []
    for m in table:
        if isinstance(m, str):
            out.append(pos[:, motion.index(m)])
        else:
            a, b, t = m
            out.append((1.0 - t) * pos[:, motion.index(a)] + t * pos[:, motion.index(b)])
    return np.stack(out, axis=1)


def _chain_length(offsets: np.ndarray, parents: tuple[int, ...], joint: int, stop: int) -> float:
    """Sum of OFFSET lengths from ``joint`` up the tree to its ancestor ``stop``."""
    total = 0.0
    while joint != stop and joint >= 0:
        total += float(np.linalg.norm(offsets[joint]))
        joint = parents[joint]
    return total


def _guess_unit_scale(motion: BvhMotion, table: tuple[Union[str, Lerp], ...]) -> float:
    """Metres per unit among m, cm, mm, inch and CMU units making the rest skeleton ~1.7 m tall.

    Height in file units = OFFSET chain from head to pelvis plus ankle to pelvis, plus 15%
    for the crown and the foot.
    """
    def idx(m: Union[str, Lerp]) -> int:
        return motion.index(m if isinstance(m, str) else m[0])

    pelvis = idx(table[0])
    height = 1.15 * (
        _chain_length(motion.offsets, motion.parents, idx(table[15]), pelvis)
        + _chain_length(motion.offsets, motion.parents, idx(table[7]), pelvis)
    )
    if height <= 0:
        raise ValueError(f"unit_scale: cannot guess the units of {motion.source}; pass unit_scale=")
    candidates = (1.0, 0.01, 0.001, 0.0254, CMU_UNIT_M)
    return min(candidates, key=lambda s: abs(math.log(height * s / 1.7)))


def _rotate_up_to_y(joints: np.ndarray) -> tuple[np.ndarray, str]:
    """Rotate ``(F, 22, 3)`` joints so the mean pelvis->head direction's axis becomes +y.

    The direction is snapped to the nearest signed coordinate axis and mapped onto +y by a
    proper 90/180 degree rotation. Returns the joints and the source up axis ("+y", "-z", ...).
    """
    d = np.nanmean(joints[:, 15] - joints[:, 0], axis=0)
    axis = int(np.argmax(np.abs(d)))
    sign = 1.0 if d[axis] >= 0 else -1.0
    label = ("+" if sign > 0 else "-") + "xyz"[axis]
    if label == "+y":
        return joints, label
    rotations = {
        "-y": np.diag([1.0, -1.0, -1.0]),
        "+z": np.array([[1.0, 0, 0], [0, 0, 1], [0, -1, 0]]),
        "-z": np.array([[1.0, 0, 0], [0, 0, -1], [0, 1, 0]]),
        "+x": np.array([[0.0, -1, 0], [1, 0, 0], [0, 0, 1]]),
        "-x": np.array([[0.0, 1, 0], [-1, 0, 0], [0, 0, 1]]),
    }
    return joints @ rotations[label].T, label


def _drop_leading_discontinuous(joints: np.ndarray, threshold: float = _TPOSE_JUMP_M) -> tuple[np.ndarray, int]:
    """Drop leading frames from which some joint jumps > ``threshold`` metres to the next frame."""
    dropped = 0
    while joints.shape[0] - dropped > 1:
        step = np.linalg.norm(joints[dropped + 1] - joints[dropped], axis=-1).max()
        if step <= threshold:
            break
        dropped += 1
    return joints[dropped:], dropped


def bvh_to_smpl22(
    path_or_motion: Union[str, os.PathLike, BvhMotion],
    mapping: Any = None,
    fps_out: float = 30.0,
    unit_scale: float | None = None,
    *,
    ground: bool = True,
    return_info: bool = False,
) -> Union[np.ndarray, tuple[np.ndarray, dict]]:
    """Convert a BVH file (or parsed motion) to SMPL-22 joint positions, mocap30 conventions.

    Steps: map joints (``mapping``; lerps where the rig has no equivalent joint), scale to
    metres, rotate the mean pelvis->head direction onto +y, drop leading frames discontinuous
    with the next (> 0.25 m jump of any joint: cgspeed's T-pose frame 0), resample to
    ``fps_out`` (exact sub-sampling for integral rate ratios), and with ``ground`` shift y so
    the lowest ankle/foot joint over the clip is at 0.

    Args:
        path_or_motion: BVH file path or a :class:`BvhMotion`.
        mapping: None (auto-detect from joint names), a key of :data:`MAPPINGS`, or a table of
            22 entries (sequence in SMPL-22 order, or dict by SMPL-22 joint name), each a BVH
            joint name or ``(a, b, t)`` for ``lerp(a, b, t)``.
        fps_out: output frame rate (frames per second).
        unit_scale: metres per file unit; None = the convention's unit (CMU cgspeed 0.056444,
            CC rig and Bandai centimetres) or, for a custom table, guessed from the skeleton size.
        ground: subtract the clip's minimum ankle/foot height from y.
        return_info: also return a dict (mapping, unit_scale, src_fps, up_axis_in_source,
            leading_frames_dropped, src_frames).

    Returns:
        ``(T, 22, 3)`` float32 joints, metres, y up, SMPL-22 order (and the info dict).

    Raises:
        ValueError: unreadable or malformed BVH (naming file and line), unknown or unmatched
            mapping, bad ``fps_out`` / ``unit_scale``.
    """
    motion = path_or_motion if isinstance(path_or_motion, BvhMotion) else read_bvh(path_or_motion)
    fps_out = check_positive(fps_out, "fps_out")
    name, table = _resolve_mapping(mapping, motion)
    if unit_scale is None:
        scale = UNIT_SCALES.get(name) or _guess_unit_scale(motion, table)
    else:
        scale = check_positive(unit_scale, "unit_scale")
    joints = _map_joints(motion, table) * scale
    joints, up_axis = _rotate_up_to_y(joints)
    joints, dropped = _drop_leading_discontinuous(joints)
    joints = resample(joints, motion.fps, fps_out)
    if ground:
        joints = joints - np.array([0.0, joints[:, _FOOT_JOINTS, 1].min(), 0.0])
    joints = joints.astype(np.float32)
    if not return_info:
        return joints
    info = {
        "mapping": name,
        "unit_scale": scale,
        "src_fps": motion.fps,
        "src_frames": motion.num_frames,
        "up_axis_in_source": up_axis,
        "leading_frames_dropped": dropped,
    }
    return joints, info
