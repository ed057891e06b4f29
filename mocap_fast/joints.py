"""Joint layouts (SMPL-22, COCO-17, H36M-17) and conversions between them.

The lifter always works in SMPL-22 (API.md order). 2D detectors usually emit COCO-17 or
H36M-17, so :func:`to_smpl22` maps such keypoints onto the 22 SMPL joints, marking joints with
no source as missing (confidence 0). :func:`from_smpl22` goes the other way on 3D joints, to
synthesise COCO/H36M-layout training data from SMPL-22 motion.

Confidence semantics everywhere: a joint is *missing* when its confidence is 0 (or NaN) or
any of its coordinates is NaN/inf. Missing joints come out of :func:`to_smpl22` with
confidence 0 and finite placeholder coordinates (never NaN), so downstream code can multiply
by the confidence without masking.

No detector's keypoints are SMPL's regressed joint centres, so even a one-to-one copy is only
"direct" (the same anatomical joint, centre convention a few cm off), never exact:

================  ==============================  ==============================  ====================
SMPL-22 joint     COCO-17 source                  H36M-17 source                  quality (COCO / H36M)
================  ==============================  ==============================  ====================
0  pelvis         mid(left_hip, right_hip)        pelvis                          approx / approx
1  left_hip       left_hip                        left_hip                        approx / approx
2  right_hip      right_hip                       right_hip                       approx / approx
3  spine1         --                              --                              missing / missing
4  left_knee      left_knee                       left_knee                       direct / direct
5  right_knee     right_knee                      right_knee                      direct / direct
6  spine2         --                              spine                           missing / approx
7  left_ankle     left_ankle                      left_ankle                      direct / direct
8  right_ankle    right_ankle                     right_ankle                     direct / direct
9  spine3         --                              --                              missing / missing
10 left_foot      --                              --                              missing / missing
11 right_foot     --                              --                              missing / missing
12 neck           mid(left_shoulder,              thorax                          approx / approx
                  right_shoulder)
13 left_collar    --                              --                              missing / missing
14 right_collar   --                              --                              missing / missing
15 head           mid(left_ear, right_ear)        neck_nose                       approx / approx
16 left_shoulder  left_shoulder                   left_shoulder                   direct / direct
17 right_shoulder right_shoulder                  right_shoulder                  direct / direct
18 left_elbow     left_elbow                      left_elbow                      direct / direct
19 right_elbow    right_elbow                     right_elbow                     direct / direct
20 left_wrist     left_wrist                      left_wrist                      direct / direct
21 right_wrist    right_wrist                     right_wrist                     direct / direct
================  ==============================  ==============================  ====================

Why "approx": SMPL's pelvis sits ~9 cm above its hip joints, whereas the COCO hip midpoint and
the H36M pelvis lie on the hip line; COCO hips are annotated on the outside of the hip (wider
and lower than SMPL's joint centres) and H36M's mocap hip centres are wider too; the shoulder
midpoint (COCO) and the H36M thorax sit a few cm below SMPL's neck joint; the ears' midpoint
and H36M's neck/nose lie a few cm above/in front of SMPL's head joint. No sound 2D rule exists
for the spine joints between pelvis and neck (the spine bends), the collars, or (COCO-17, H36M-17
have no toes) the feet, so those are missing; H36M's spine joint stands in for spine2. A
derived joint (a midpoint) has the mean of its two sources' coordinates and the minimum of
their confidences, so it is missing when either source is.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import torch

from ._arrays import as_tensor, check_choice, check_last_dims, like_input

__all__ = [
    "JointFormat",
    "SMPL22",
    "COCO17",
    "H36M17",
    "FORMATS",
    "get_format",
    "smpl22_mapping",
    "to_smpl22",
    "from_smpl22",
    "mirror",
]


@dataclass(frozen=True)
class JointFormat:
    """A named joint layout.

    Attributes:
        name: registry key ("smpl22", "coco17", "h36m17").
        joint_names: one name per joint; left/right joints are named ``left_*`` / ``right_*``.
        parents: parent index per joint, -1 for the root (a spanning tree of ``edges``).
        edges: (a, b) joint-index pairs to draw as bones.
        flip: index permutation that swaps left and right joints (an involution):
            ``mirrored[..., i, :] = points[..., flip[i], :]`` with x negated.
    """

    name: str
    joint_names: tuple[str, ...]
    parents: tuple[int, ...]
    edges: tuple[tuple[int, int], ...]
    flip: tuple[int, ...]

    def __post_init__(self) -> None:
        n = len(self.joint_names)
        if len(self.parents) != n or len(self.flip) != n:
            raise ValueError(f"JointFormat {self.name}: parents/flip must have {n} entries")
        if sorted(self.flip) != list(range(n)) or any(self.flip[self.flip[i]] != i for i in range(n)):
            raise ValueError(f"JointFormat {self.name}: flip must be an involutive permutation")

    @property
    def num_joints(self) -> int:
        """Number of joints J."""
        return len(self.joint_names)

    def index(self, joint_name: str) -> int:
        """Index of ``joint_name``; ``ValueError`` if the layout has no such joint."""
        try:
            return self.joint_names.index(joint_name)
        except ValueError:
            raise ValueError(f"joint_name: {joint_name!r} is not a joint of {self.name}") from None


def _flip_from_names(names: Sequence[str]) -> tuple[int, ...]:
    """Permutation mapping each ``left_*`` joint to its ``right_*`` twin and back; others fixed."""
    lookup = {n: i for i, n in enumerate(names)}
    flip = []
    for n in names:
        if n.startswith("left_"):
            flip.append(lookup["right_" + n[5:]])
        elif n.startswith("right_"):
            flip.append(lookup["left_" + n[6:]])
        else:
            flip.append(lookup[n])
    return tuple(flip)


def _tree_format(name: str, names: Sequence[str], parents: Sequence[int]) -> JointFormat:
    """A format whose bones are exactly its parent->child links."""
    edges = tuple((p, c) for c, p in enumerate(parents) if p >= 0)
    return JointFormat(name, tuple(names), tuple(parents), edges, _flip_from_names(names))


SMPL22 = _tree_format(
    "smpl22",
    (
        "pelvis", "left_hip", "right_hip", "spine1", "left_knee", "right_knee", "spine2",
        "left_ankle", "right_ankle", "spine3", "left_foot", "right_foot", "neck",
        "left_collar", "right_collar", "head", "left_shoulder", "right_shoulder",
        "left_elbow", "right_elbow", "left_wrist", "right_wrist",
    ),
    (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19),
)

_COCO_NAMES = (
    "nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder", "right_shoulder",
    "left_elbow", "right_elbow", "left_wrist", "right_wrist", "left_hip", "right_hip",
    "left_knee", "right_knee", "left_ankle", "right_ankle",
)
COCO17 = JointFormat(
    "coco17",
    _COCO_NAMES,
    (-1, 0, 0, 1, 2, 0, 0, 5, 6, 7, 8, 5, 6, 11, 12, 13, 14),
    (
        (15, 13), (13, 11), (16, 14), (14, 12), (11, 12), (5, 11), (6, 12), (5, 6), (5, 7),
        (6, 8), (7, 9), (8, 10), (1, 2), (0, 1), (0, 2), (1, 3), (2, 4), (3, 5), (4, 6),
    ),
    _flip_from_names(_COCO_NAMES),
)

H36M17 = _tree_format(
    "h36m17",
    (
        "pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle",
        "spine", "thorax", "neck_nose", "head", "left_shoulder", "left_elbow", "left_wrist",
        "right_shoulder", "right_elbow", "right_wrist",
    ),
    (-1, 0, 1, 2, 0, 4, 5, 0, 7, 8, 9, 8, 11, 12, 8, 14, 15),
)

FORMATS: dict[str, JointFormat] = {f.name: f for f in (SMPL22, COCO17, H36M17)}


def get_format(joint_format: str | JointFormat) -> JointFormat:
    """Return the :class:`JointFormat` named ``joint_format`` (a format passes through).

    Raises:
        ValueError: ``"joint_format: unknown value ..."`` for a name not in :data:`FORMATS`.
    """
    if isinstance(joint_format, JointFormat):
        return joint_format
    key = joint_format.lower() if isinstance(joint_format, str) else joint_format
    check_choice(key, "joint_format", list(FORMATS))
    return FORMATS[key]


# Per SMPL-22 joint: (quality, source joint names). Two sources = their midpoint.
_MAPPINGS: dict[str, tuple[tuple[str, tuple[str, ...]], ...]] = {
    "smpl22": tuple(("exact", (n,)) for n in SMPL22.joint_names),
    "coco17": (
        ("approx", ("left_hip", "right_hip")),
        ("approx", ("left_hip",)),
        ("approx", ("right_hip",)),
        ("missing", ()),
        ("direct", ("left_knee",)),
        ("direct", ("right_knee",)),
        ("missing", ()),
        ("direct", ("left_ankle",)),
        ("direct", ("right_ankle",)),
        ("missing", ()),
        ("missing", ()),
        ("missing", ()),
        ("approx", ("left_shoulder", "right_shoulder")),
        ("missing", ()),
        ("missing", ()),
        ("approx", ("left_ear", "right_ear")),
        ("direct", ("left_shoulder",)),
        ("direct", ("right_shoulder",)),
        ("direct", ("left_elbow",)),
        ("direct", ("right_elbow",)),
        ("direct", ("left_wrist",)),
        ("direct", ("right_wrist",)),
    ),
    "h36m17": (
        ("approx", ("pelvis",)),
        ("approx", ("left_hip",)),
        ("approx", ("right_hip",)),
        ("missing", ()),
        ("direct", ("left_knee",)),
        ("direct", ("right_knee",)),
        ("approx", ("spine",)),
        ("direct", ("left_ankle",)),
        ("direct", ("right_ankle",)),
        ("missing", ()),
        ("missing", ()),
        ("missing", ()),
        ("approx", ("thorax",)),
        ("missing", ()),
        ("missing", ()),
        ("approx", ("neck_nose",)),
        ("direct", ("left_shoulder",)),
        ("direct", ("right_shoulder",)),
        ("direct", ("left_elbow",)),
        ("direct", ("right_elbow",)),
        ("direct", ("left_wrist",)),
        ("direct", ("right_wrist",)),
    ),
}


def smpl22_mapping(joint_format: str | JointFormat) -> tuple[tuple[str, tuple[str, ...]], ...]:
    """How each SMPL-22 joint is obtained from ``joint_format`` (the module docstring's table).

    Returns 22 pairs ``(quality, sources)``: quality is "exact" (SMPL-22 input), "direct" (one
    keypoint of the same anatomical joint), "approx" (another landmark or a midpoint standing in
    for the joint) or "missing" (no source; confidence 0); sources are the input joint names
    (two names = their midpoint).
    """
    fmt = get_format(joint_format)
    if fmt.name not in _MAPPINGS:
        raise ValueError(f"joint_format: no SMPL-22 mapping for {fmt.name!r}")
    return _MAPPINGS[fmt.name]


def _source_table(fmt: JointFormat) -> tuple[list[int], list[int], list[bool]]:
    """Two source indices per SMPL-22 joint (equal for a copy) and a has-source mask."""
    a, b, present = [], [], []
    for _, src in smpl22_mapping(fmt):
        idx = [fmt.index(n) for n in src] or [0]
        a.append(idx[0])
        b.append(idx[-1])
        present.append(bool(src))
    return a, b, present


def _float_tensor(x: Any, name: str) -> torch.Tensor:
    """``x`` as a floating tensor (float64 for integer input, else its own float dtype)."""
    t = as_tensor(x, name, dtype=None)
    return t if t.is_floating_point() else t.double()


def to_smpl22(keypoints: Any, confidence: Any = None, joint_format: str | JointFormat = "smpl22") -> tuple[Any, Any]:
    """Map keypoints of ``joint_format`` onto the 22 SMPL joints.

    Args:
        keypoints: ``[..., J, D]`` (D = 2 pixels, or 3 metres; any D >= 1) in the layout of
            ``joint_format``. NaN/inf coordinates mark a missing joint.
        confidence: ``[..., J]`` in [0, 1] (values outside are clipped), or ``None`` (all 1).
            0 or NaN marks a missing joint.
        joint_format: "smpl22", "coco17", "h36m17" or a :class:`JointFormat` with a mapping.

    Returns:
        ``(kp22 [..., 22, D], conf22 [..., 22])`` of the input's kind (numpy/torch), device and
        float dtype. Copied joints keep their confidence, midpoints take the minimum of their
        sources' (see the module table). Every joint with ``conf22 == 0`` (no source, or a
        missing source) holds a finite placeholder: the centroid of the observed input joints
        of that sample, or 0 when none is observed.

    Raises:
        ValueError: unknown format, wrong shapes.
    """
    fmt = get_format(joint_format)
    kp = _float_tensor(keypoints, "keypoints")
    check_last_dims(kp, "keypoints", (fmt.num_joints, None))
    if kp.shape[-1] < 1:
        raise ValueError(f"keypoints: expected at least one coordinate, got shape {tuple(kp.shape)}")
    if confidence is None:
        conf = torch.ones(kp.shape[:-1], dtype=kp.dtype, device=kp.device)
    else:
        conf = as_tensor(confidence, "confidence", dtype=kp.dtype, device=kp.device)
        if conf.shape != kp.shape[:-1]:
            raise ValueError(
                f"confidence: expected shape {tuple(kp.shape[:-1])} (keypoints without the last dim), got {tuple(conf.shape)}"
            )
    valid = torch.isfinite(kp).all(-1) & torch.isfinite(conf) & (conf > 0)
    conf = torch.where(valid, conf.clamp(0.0, 1.0), torch.zeros_like(conf))
    kp = torch.where(valid[..., None], kp, torch.zeros_like(kp))

    a, b, present = _source_table(fmt)
    a = torch.tensor(a, device=kp.device)
    b = torch.tensor(b, device=kp.device)
    kp22 = 0.5 * (kp[..., a, :] + kp[..., b, :])
    conf22 = torch.minimum(conf[..., a], conf[..., b]) * torch.tensor(present, dtype=kp.dtype, device=kp.device)

    w = valid.to(kp.dtype)[..., None]
    centroid = (kp * w).sum(-2, keepdim=True) / w.sum(-2, keepdim=True).clamp_min(1.0)
    kp22 = torch.where(conf22[..., None] > 0, kp22, centroid)
    return like_input(kp22, keypoints), like_input(conf22, keypoints)


# Head-frame offsets (forward, up, left) in metres from SMPL's head joint, for an average adult
# head; coarse estimates (the head's own yaw is not known from joint positions, so the frame
# follows the shoulders).
_HEAD_OFFSETS: dict[str, tuple[float, float, float]] = {
    "nose": (0.10, 0.01, 0.0),
    "left_eye": (0.08, 0.05, 0.032),
    "right_eye": (0.08, 0.05, -0.032),
    "left_ear": (-0.01, 0.03, 0.075),
    "right_ear": (-0.01, 0.03, -0.075),
    "neck_nose": (0.06, 0.03, 0.0),
    "head": (0.02, 0.15, 0.0),
}


def _head_frame(j: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Unit (forward, up, left) axes ``[..., 3]`` of the head from SMPL-22 joints ``[..., 22, 3]``.

    up = neck -> head; left = right_shoulder -> left_shoulder made orthogonal to up;
    forward = left x up (a person facing +z in a y-up right-handed frame has left = +x).
    """
    eps = 1e-9
    up = j[..., 15, :] - j[..., 12, :]
    up = up / up.norm(dim=-1, keepdim=True).clamp_min(eps)
    left = j[..., 16, :] - j[..., 17, :]
    left = left - (left * up).sum(-1, keepdim=True) * up
    left = left / left.norm(dim=-1, keepdim=True).clamp_min(eps)
    forward = torch.linalg.cross(left, up)
    return forward, up, left


def from_smpl22(kp22: Any, joint_format: str | JointFormat) -> Any:
    """Synthesise ``joint_format`` keypoints from SMPL-22 joint positions (training data).

    Args:
        kp22: ``[..., 22, 3]`` SMPL-22 joints, metres, y up (any D for "smpl22", a copy).
        joint_format: "smpl22", "coco17" or "h36m17".

    Returns:
        ``[..., J, 3]`` of the input's kind, device and float dtype. Limb joints, hips and
        shoulders are copied from the SMPL joint of the same name; H36M pelvis, spine and
        thorax copy SMPL pelvis, spine2 and neck (the inverse of :func:`to_smpl22`); COCO
        nose/eyes/ears and H36M neck_nose/head are SMPL's head joint plus fixed offsets in a
        head frame (up = neck->head, left from the shoulders; see ``_HEAD_OFFSETS``). These
        are approximations of each dataset's annotation conventions, good to a few cm.

    Raises:
        ValueError: unknown format, wrong shapes (3D is needed except for "smpl22").
    """
    fmt = get_format(joint_format)
    j = _float_tensor(kp22, "kp22")
    if fmt.name == "smpl22":
        check_last_dims(j, "kp22", (22, None))
        return like_input(j.clone(), kp22)
    check_last_dims(j, "kp22", (22, 3))
    if fmt.name not in ("coco17", "h36m17"):
        raise ValueError(f"joint_format: from_smpl22 does not support {fmt.name!r}")
    copy_from = {"pelvis": "pelvis", "spine": "spine2", "thorax": "neck"}
    forward, up, left = _head_frame(j)
    head = j[..., 15, :]
    out = []
    for name in fmt.joint_names:
        if name in _HEAD_OFFSETS:
            f, u, l = _HEAD_OFFSETS[name]
            out.append(head + f * forward + u * up + l * left)
        else:
            out.append(j[..., SMPL22.index(copy_from.get(name, name)), :])
    return like_input(torch.stack(out, dim=-2), kp22)


def mirror(points: Any, joint_format: str | JointFormat = "smpl22") -> Any:
    """Left/right mirror image of a pose: negate x and swap left and right joints.

    Args:
        points: ``[..., J, D]`` joints of ``joint_format`` (D >= 1; the first coordinate is x,
            e.g. world metres or camera-centred coordinates, the mirror plane being x = 0).
        joint_format: layout name or :class:`JointFormat`.

    Returns:
        ``[..., J, D]`` of the input's kind; ``mirror(mirror(p)) == p`` exactly.
    """
    fmt = get_format(joint_format)
    p = _float_tensor(points, "points")
    check_last_dims(p, "points", (fmt.num_joints, None))
    out = p[..., list(fmt.flip), :].clone()
    out[..., 0] = -out[..., 0]
    return like_input(out, points)
