"""A simple body for the glTF export: one capsule per bone and a sphere per end (head, hands, feet).

Built in the rest (bind) pose of a :class:`~mocap_fast.io.skeleton.Skeleton` (identity rotations,
global rest positions = root start + summed offsets). Every vertex is bound rigidly (weight 1) to
the node whose rotation moves it: a bone's capsule to the bone's parent node, an end sphere to its
leaf node; so a glTF viewer's skinning reproduces the animated skeleton exactly.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..joints import SMPL22
from .skeleton import Skeleton

__all__ = ["BodyMesh", "capsule_body", "rest_positions"]

SEGMENTS = 12
"""Vertices around a capsule."""
RINGS = 4
"""Latitude rings per hemisphere (pole excluded)."""
_RADIUS = {  # metres, by the SMPL-22 joint the bone ends at (suffix after left_/right_)
    "spine1": 0.09, "spine2": 0.10, "spine3": 0.10, "neck": 0.05, "head": 0.05, "collar": 0.05,
    "hip": 0.07, "knee": 0.065, "ankle": 0.05, "foot": 0.04, "shoulder": 0.05, "elbow": 0.045, "wrist": 0.04,
}
_END_RADIUS = {"head": 0.1, "foot": 0.035, "wrist": 0.045}


@dataclass
class BodyMesh:
    """Triangle mesh bound to a skeleton: ``positions``/``normals`` ``(V, 3)`` float32 (metres, bind
    pose), ``joints`` ``(V, 4)`` uint8 node indices, ``weights`` ``(V, 4)`` float32 (rows sum to 1),
    ``indices`` ``(3 F,)`` uint16, counter-clockwise seen from outside."""

    positions: np.ndarray
    normals: np.ndarray
    joints: np.ndarray
    weights: np.ndarray
    indices: np.ndarray


def rest_positions(sk: Skeleton) -> np.ndarray:
    """``(N, 3)`` global rest position of every node (metres)."""
    rest = np.zeros((len(sk.names), 3))
    for i, p in enumerate(sk.parents):
        rest[i] = sk.root_positions[0] if p < 0 else rest[p] + sk.offsets[i]
    return rest


def _frame(axis: np.ndarray) -> np.ndarray:
    """``(3, 3)`` rotation whose third column is the unit ``axis``."""
    z = axis / np.linalg.norm(axis)
    a = np.array([1.0, 0.0, 0.0]) if abs(z[0]) < 0.9 else np.array([0.0, 1.0, 0.0])
    x = np.cross(a, z)
    x /= np.linalg.norm(x)
    return np.stack([x, np.cross(z, x), z], 1)


def _capsule(a: np.ndarray, b: np.ndarray, r: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Capsule from ``a`` to ``b`` (a sphere when they coincide): positions, normals, triangles (local indices)."""
    d = b - a
    length = float(np.linalg.norm(d))
    R = _frame(d if length > 1e-9 else np.array([0.0, 1.0, 0.0]))
    th = np.linspace(0, 2 * np.pi, SEGMENTS, endpoint=False)
    phis = np.concatenate([np.linspace(-np.pi / 2, 0, RINGS + 1)[1:], np.linspace(0, np.pi / 2, RINGS + 1)[:-1]])
    zc = np.concatenate([np.zeros(RINGS), np.full(RINGS, length)])  # ring centres along the axis
    if length <= 1e-9:  # a sphere: one equator, not a zero-height cylinder of degenerate triangles
        phis, zc = np.delete(phis, RINGS), np.delete(zc, RINGS)
    n_local = [np.array([0.0, 0.0, -1.0])]
    c_local = [np.zeros(3)]
    for phi, z in zip(phis, zc):
        for t in th:
            n_local.append(np.array([np.cos(phi) * np.cos(t), np.cos(phi) * np.sin(t), np.sin(phi)]))
            c_local.append(np.array([0.0, 0.0, z]))
    n_local.append(np.array([0.0, 0.0, 1.0]))
    c_local.append(np.array([0.0, 0.0, length]))
    n_loc = np.array(n_local)
    pos = (np.array(c_local) + r * n_loc) @ R.T + a
    nrm = n_loc @ R.T
    n_rings = len(phis)
    ring = lambda k, s: 1 + k * SEGMENTS + s % SEGMENTS  # noqa: E731
    top = 1 + n_rings * SEGMENTS
    tris = []
    for s in range(SEGMENTS):
        tris.append((0, ring(0, s + 1), ring(0, s)))
        for k in range(n_rings - 1):
            tris.append((ring(k, s), ring(k, s + 1), ring(k + 1, s + 1)))
            tris.append((ring(k, s), ring(k + 1, s + 1), ring(k + 1, s)))
        tris.append((ring(n_rings - 1, s), ring(n_rings - 1, s + 1), top))
    return pos, nrm, np.array(tris)


def _kind(smpl: int) -> str:
    return SMPL22.joint_names[smpl].replace("left_", "").replace("right_", "")


def capsule_body(sk: Skeleton) -> BodyMesh:
    """The capsule body of ``sk`` in its bind pose (module docstring)."""
    rest = rest_positions(sk)
    parts = []  # (positions, normals, triangles, node)
    for i, p in enumerate(sk.parents):
        if p < 0 or sk.smpl_index[i] < 0 or np.linalg.norm(sk.offsets[i]) < 1e-6:
            continue
        r = _RADIUS.get(_kind(sk.smpl_index[i]), 0.05)
        parts.append((*_capsule(rest[p], rest[i], r), p))
    kids = sk.children
    for i, s in enumerate(sk.smpl_index):
        if s >= 0 and not kids[i] and _kind(s) in _END_RADIUS:
            centre = rest[i] + (sk.end_sites[i] if _kind(s) == "head" else 0.0)
            parts.append((*_capsule(centre, centre, _END_RADIUS[_kind(s)]), i))
    pos, nrm, idx, jnt = [], [], [], []
    base = 0
    for P, Nn, F, node in parts:
        pos.append(P)
        nrm.append(Nn)
        idx.append(F + base)
        jnt.append(np.full(len(P), node))
        base += len(P)
    V = base
    if V > 65535 or len(sk.names) > 255:
        raise ValueError(f"skeleton: too large for the capsule body ({V} vertices, {len(sk.names)} nodes)")
    joints = np.zeros((V, 4), np.uint8)
    joints[:, 0] = np.concatenate(jnt)
    weights = np.zeros((V, 4), np.float32)
    weights[:, 0] = 1.0
    return BodyMesh(np.concatenate(pos).astype(np.float32), np.concatenate(nrm).astype(np.float32), joints, weights,
                    np.concatenate(idx).reshape(-1).astype(np.uint16))
