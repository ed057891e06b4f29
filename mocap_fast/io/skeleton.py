"""Fit a rotational skeleton (rest offsets + per-frame local rotations) to SMPL-22 joint positions.

Used by the BVH and glTF exporters. The skeleton follows the SMPL-22 parents
(:data:`mocap_fast.joints.SMPL22`) with two additions that keep every joint position exact:

* **Rest pose**: a T-pose facing +z, y up, left = +x, in metres: legs and spine straight
  (down / up), arms and collars along +-x, ankle->foot forward-down ``(0, -0.4, 1)``; each
  bone's length is its mean length over the clip (bone lengths are constant in the export).
  The hip and collar offsets are the clip's mean directions in the pelvis / spine3 frame.
* **Branch nodes**: the pelvis and spine3 have three children each, and one rotation can aim
  only one bone exactly. Their *primary* child (spine1, neck) hangs directly below them; the
  others (hips, collars) hang below zero-offset nodes ``pelvis_to_left_hip``, ...,
  ``spine3_to_right_collar`` whose own rotation aims that bone. So every bone direction is
  reproduced exactly and every joint position is exact up to the bone-length change
  (exact for a clip with constant bone lengths).

Rotations (the twist choice): the pelvis (root) and spine3 take their full orientation from
the body: up = direction to the primary child (spine1 / neck), left = the hip line
(left_hip - right_hip) / collar line (left_collar - right_collar) made orthogonal to up,
forward = left x up. Every other joint takes the **swing** (minimal-angle) rotation, relative
to its parent's frame, that turns its rest bone direction onto the observed direction: zero
twist about the bone relative to the parent (twist is not observable from joint positions).
Leaf joints (feet, head, wrists) keep the identity local rotation.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from scipy.spatial.transform import Rotation

from ..joints import SMPL22

__all__ = ["Skeleton", "fit_skeleton", "skeleton_positions", "euler_zyx_degrees", "matrix_to_quaternion"]

_UP, _DOWN = (0.0, 1.0, 0.0), (0.0, -1.0, 0.0)
_REST_DIR = {  # child SMPL index -> rest direction of the bone from its parent
    3: _UP, 6: _UP, 9: _UP, 12: _UP, 15: _UP,
    4: _DOWN, 5: _DOWN, 7: _DOWN, 8: _DOWN,
    10: (0.0, -0.4, 1.0), 11: (0.0, -0.4, 1.0),
    16: (1.0, 0.0, 0.0), 18: (1.0, 0.0, 0.0), 20: (1.0, 0.0, 0.0),
    17: (-1.0, 0.0, 0.0), 19: (-1.0, 0.0, 0.0), 21: (-1.0, 0.0, 0.0),
}
_FRAMED = {0: (3, 1, 2), 9: (12, 13, 14)}  # joint -> (primary child, left, right)
_EPS = 1e-12


@dataclass
class Skeleton:
    """A fitted skeleton and its animation.

    Attributes:
        names: node names (SMPL-22 joint names plus ``<parent>_to_<child>`` branch nodes), parents first.
        parents: parent node index per node (-1 for the root).
        offsets: ``(N, 3)`` rest offsets from the parent, metres (the root's is 0).
        smpl_index: per node, the SMPL-22 joint it stands for, or -1 for a branch node.
        local_rotations: ``(T, N, 3, 3)`` rotation of each node relative to its parent
            (the root's relative to the world).
        root_positions: ``(T, 3)`` world pelvis position, metres.
        end_sites: ``(N, 3)`` End Site offset per leaf node (zeros elsewhere).
    """

    names: tuple[str, ...]
    parents: tuple[int, ...]
    offsets: np.ndarray
    smpl_index: tuple[int, ...]
    local_rotations: np.ndarray
    root_positions: np.ndarray
    end_sites: np.ndarray

    @property
    def children(self) -> list[list[int]]:
        out: list[list[int]] = [[] for _ in self.names]
        for i, p in enumerate(self.parents):
            if p >= 0:
                out[p].append(i)
        return out


def _unit(v: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    n = np.linalg.norm(v, axis=-1, keepdims=True)
    return v / np.maximum(n, _EPS), n[..., 0]


def _swing(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """``(T, 3, 3)`` minimal rotations turning unit ``a (3,)`` onto unit ``b (T, 3)``."""
    a = np.broadcast_to(a, b.shape)
    c = (a * b).sum(-1)
    v = np.cross(a, b)
    s = np.linalg.norm(v, axis=-1)
    rotvec = v * (np.arctan2(s, c) / np.maximum(s, _EPS))[:, None]  # axis a x b, angle between a and b
    anti = (s < 1e-9) & (c < 0)  # opposite: a half-turn about any axis perpendicular to a
    if anti.any():
        ref = np.where(np.abs(a[anti, 0:1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 1.0, 0]))
        rotvec[anti] = _unit(np.cross(a[anti], ref))[0] * np.pi
    return Rotation.from_rotvec(rotvec).as_matrix()


def matrix_to_quaternion(R: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` rotations -> ``(..., 4)`` unit quaternions (w, x, y, z), w >= 0."""
    R = np.asarray(R, dtype=np.float64)
    xyzw = Rotation.from_matrix(R.reshape(-1, 3, 3)).as_quat(canonical=True)
    return xyzw[:, [3, 0, 1, 2]].reshape(R.shape[:-2] + (4,))


def euler_zyx_degrees(R: np.ndarray) -> np.ndarray:
    """``(..., 3, 3)`` -> ``(..., 3)`` angles ``(z, y, x)`` in degrees with ``R = Rz(z) @ Ry(y) @ Rx(x)``.

    At gimbal lock (``|y| = 90``) ``x = 0``.
    """
    R = np.asarray(R, dtype=np.float64)
    with warnings.catch_warnings():  # gimbal lock is expected (and handled: x = 0) for straight bones
        warnings.filterwarnings("ignore", message="Gimbal lock", category=UserWarning)
        e = Rotation.from_matrix(R.reshape(-1, 3, 3)).as_euler("ZYX", degrees=True)
    return e.reshape(R.shape[:-2] + (3,))


def _body_frame(joints: np.ndarray, j: int) -> np.ndarray:
    """``(T, 3, 3)`` frame of ``j`` in ``_FRAMED``: columns (left, up, forward)."""
    prim, l, r = _FRAMED[j]
    up, _ = _unit(joints[:, prim] - joints[:, j])
    left = joints[:, l] - joints[:, r]
    left = left - (left * up).sum(-1, keepdims=True) * up
    left, n = _unit(left)
    bad = n < 1e-9  # hip / collar line parallel to the spine: borrow any perpendicular
    if bad.any():
        ref = np.where(np.abs(up[bad, 0:1]) < 0.9, np.array([1.0, 0, 0]), np.array([0, 0, 1.0]))
        left[bad] = _unit(ref - (ref * up[bad]).sum(-1, keepdims=True) * up[bad])[0]
    fwd = np.cross(left, up)
    return np.stack([left, up, fwd], -1)


def fit_skeleton(joints: np.ndarray) -> Skeleton:
    """Fit the skeleton of the module docstring to ``(T, 22, 3)`` SMPL-22 joints (metres).

    Raises:
        ValueError: wrong shape or non-finite joints.
    """
    X = np.asarray(joints, dtype=np.float64)
    if X.ndim != 3 or X.shape[1:] != (22, 3) or X.shape[0] < 1:
        raise ValueError(f"joints: expected shape (T, 22, 3), got {X.shape}")
    if not np.isfinite(X).all():
        raise ValueError("joints: non-finite values")
    T = X.shape[0]
    P = SMPL22.parents
    kids = [[c for c in range(22) if P[c] == j] for j in range(22)]

    names: list[str] = []
    parents: list[int] = []
    offsets: list[np.ndarray] = []
    smpl_index: list[int] = []
    G_list: list[np.ndarray] = []  # global rotations (T, 3, 3) per node
    node_of: dict[int, int] = {}

    def add(name: str, parent: int, offset: np.ndarray, smpl: int) -> int:
        names.append(name)
        parents.append(parent)
        offsets.append(np.asarray(offset, dtype=np.float64))
        smpl_index.append(smpl)
        G_list.append(np.zeros((T, 3, 3)))
        return len(names) - 1

    def length(c: int) -> float:
        return float(np.linalg.norm(X[:, c] - X[:, P[c]], axis=-1).mean())

    def visit(j: int, parent_node: int, offset: np.ndarray) -> None:
        node = add(SMPL22.joint_names[j], parent_node, offset, j)
        node_of[j] = node
        Gp = G_list[parent_node] if parent_node >= 0 else np.broadcast_to(np.eye(3), (T, 3, 3))
        if j in _FRAMED:
            G = _body_frame(X, j)
            G_list[node] = G
            prim = _FRAMED[j][0]
            visit(prim, node, np.array([0.0, length(prim), 0.0]))
            for c in kids[j]:
                if c == prim:
                    continue
                d, _ = _unit(X[:, c] - X[:, j])
                local = np.einsum("tji,tj->ti", G, d)  # G^T d
                rest, n = _unit(local.mean(0))
                if n < 1e-9:
                    rest = np.array(_REST_DIR.get(c, _DOWN))
                b = add(f"{SMPL22.joint_names[j]}_to_{SMPL22.joint_names[c]}", node, np.zeros(3), -1)
                G_list[b] = G @ _swing(rest, local)
                visit(c, b, rest * length(c))
        elif kids[j]:
            (c,) = kids[j]
            rest = _unit(np.asarray(_REST_DIR[c], dtype=np.float64))[0]
            d, _ = _unit(X[:, c] - X[:, j])
            G_list[node] = Gp @ _swing(rest, np.einsum("tji,tj->ti", Gp, d))
            visit(c, node, rest * length(c))
        else:
            G_list[node] = np.array(Gp)

    visit(0, -1, np.zeros(3))
    G = np.stack(G_list, 1)  # (T, N, 3, 3)
    L = G.copy()
    par = np.array(parents)
    nonroot = par >= 0
    L[:, nonroot] = np.einsum("tnji,tnjk->tnik", G[:, par[nonroot]], G[:, nonroot])
    N = len(names)
    off = np.stack(offsets)
    ends = np.zeros((N, 3))
    for i in range(N):
        if smpl_index[i] >= 0 and not kids[smpl_index[i]]:
            d, n = _unit(off[i])
            ends[i] = d * max(0.25 * float(n), 0.02) if smpl_index[i] != 15 else np.array([0.0, 0.1, 0.0])
    return Skeleton(tuple(names), tuple(parents), off, tuple(smpl_index), L, X[:, 0].copy(), ends)


def skeleton_positions(sk: Skeleton) -> np.ndarray:
    """Forward kinematics of ``sk``: ``(T, 22, 3)`` SMPL-22 joint positions, metres."""
    T, N = sk.local_rotations.shape[:2]
    G = np.zeros((T, N, 3, 3))
    pos = np.zeros((T, N, 3))
    out = np.zeros((T, 22, 3))
    for i, p in enumerate(sk.parents):
        if p < 0:
            G[:, i] = sk.local_rotations[:, i]
            pos[:, i] = sk.root_positions
        else:
            G[:, i] = G[:, p] @ sk.local_rotations[:, i]
            pos[:, i] = pos[:, p] + G[:, p] @ sk.offsets[i]
        if sk.smpl_index[i] >= 0:
            out[:, sk.smpl_index[i]] = pos[:, i]
    return out
