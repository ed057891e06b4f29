"""Exports: BVH (read back by mocap_fast.data.bvh and an independent FK), GLB, C3D, JSON, NPZ; atomic writes."""

import json
import os
import struct

import numpy as np
import pytest
from scipy.spatial.transform import Rotation

from helpers import SHARED_DATA, glb_joint_positions, have_shared

from mocap_fast import Camera
from mocap_fast.data.bvh import read_bvh
from mocap_fast.io import _atomic
from mocap_fast.io.c3d import read_c3d, write_c3d
from mocap_fast.io.export import export_result, parse_formats, read_glb, write_bvh, write_gltf
from mocap_fast.io.skeleton import _swing, euler_zyx_degrees, fit_skeleton, matrix_to_quaternion, skeleton_positions
from mocap_fast.joints import SMPL22
from mocap_fast.lifting import LiftResult

MOCAP30 = SHARED_DATA / "mocap30" / "clips"
NAMES = SMPL22.joint_names


def _clip(name: str, frames: int = 60) -> np.ndarray:
    """A real mocap30 clip; the packaged demo clip (CMU 131_02) when the data folder is absent."""
    p = MOCAP30 / f"{name}.npy"
    if have_shared(p):
        X = np.load(p).astype(np.float64)
    else:
        from mocap_fast.cli import load_demo

        X = load_demo()[0]
    return X[:frames]


def _rigid_reference(X: np.ndarray) -> np.ndarray:
    """Positions with every bone at its clip-mean length and its observed direction (root as given)."""
    P = SMPL22.parents
    out = np.zeros_like(X)
    out[:, 0] = X[:, 0]
    for c in range(1, 22):
        d = X[:, c] - X[:, P[c]]
        L = np.linalg.norm(d, axis=-1)
        out[:, c] = out[:, P[c]] + L.mean() * d / L[:, None]
    return out


def _independent_bvh_fk(text: str):
    """Tiny BVH parser + FK with scipy's intrinsic Euler rotations; ({name: (T, 3)}, fps)."""
    tokens = text.split()
    i = tokens.index("HIERARCHY") + 1
    nodes, stack = [], []  # (name, parent, offset, channels)
    while tokens[i] != "MOTION":
        tok = tokens[i]
        if tok in ("ROOT", "JOINT"):
            nodes.append([tokens[i + 1], stack[-1] if stack else -1, None, []])
            i += 2
        elif tok == "End":
            nodes.append([nodes[stack[-1]][0] + "_End", stack[-1], None, []])
            i += 2
        elif tok == "{":
            stack.append(len(nodes) - 1)
            i += 1
        elif tok == "}":
            stack.pop()
            i += 1
        elif tok == "OFFSET":
            nodes[stack[-1]][2] = np.array([float(v) for v in tokens[i + 1:i + 4]])
            i += 4
        elif tok == "CHANNELS":
            n = int(tokens[i + 1])
            nodes[stack[-1]][3] = tokens[i + 2:i + 2 + n]
            i += 2 + n
        else:
            raise AssertionError(tok)
    frames = int(tokens[i + 2])
    frame_time = float(tokens[i + 5])
    vals = np.array(tokens[i + 6:], dtype=float).reshape(frames, -1)
    col, pos, rot, out = 0, {}, {}, {}
    for k, (name, parent, off, chans) in enumerate(nodes):
        t = np.tile(off, (frames, 1))
        axes, angles = "", []
        for ch in chans:
            if ch.endswith("position"):
                t[:, "XYZ".index(ch[0])] = vals[:, col]
            else:
                axes += ch[0]
                angles.append(vals[:, col])
            col += 1
        R = Rotation.from_euler(axes, np.stack(angles, 1), degrees=True).as_matrix() if axes else np.eye(3)[None]
        if parent < 0:
            rot[k], pos[k] = np.broadcast_to(R, (frames, 3, 3)), t
        else:
            rot[k] = rot[parent] @ R
            pos[k] = pos[parent] + np.einsum("fab,fb->fa", rot[parent], t)
        out[name] = pos[k]
    assert col == vals.shape[1]
    return out, 1.0 / frame_time


def test_bvh_round_trip_exact_on_constant_bone_clip(tmp_path):
    X = _clip("cmu_02_03", 44)  # CMU ASF/AMC skeleton: bone lengths constant to float32 precision
    path = write_bvh(tmp_path / "a.bvh", X, fps=30.0)
    m = read_bvh(path)
    idx = [m.names.index(n) for n in NAMES]
    tol = 1e-3  # 1 mm
    if MOCAP30.is_dir():
        np.testing.assert_allclose(m.positions[:, idx], X, atol=tol, rtol=0)
    np.testing.assert_allclose(m.positions[:, idx], _rigid_reference(X), atol=tol, rtol=0)
    fk, fps = _independent_bvh_fk(path.read_text())
    assert fps == pytest.approx(30.0)
    np.testing.assert_allclose(np.stack([fk[n] for n in NAMES], 1), m.positions[:, idx], atol=tol, rtol=0)
    assert m.num_frames == X.shape[0] and m.fps == 30.0
    assert {"pelvis_to_left_hip", "spine3_to_left_collar", "head_End"} <= set(m.names)


def test_bvh_non_rigid_clip_keeps_directions_and_mean_lengths(tmp_path):
    X = _clip("cmu_131_02", 90)  # cgspeed BVH conversion: bone lengths vary by up to ~9 mm
    path = write_bvh(tmp_path / "b.bvh", X, fps=30.0)
    m = read_bvh(path)
    got = m.positions[:, [m.names.index(n) for n in NAMES]]
    np.testing.assert_allclose(got, _rigid_reference(X), atol=1e-3, rtol=0)  # exact up to the export's 1e-6 text
    assert np.abs(got - X).max() < 0.02  # vs the raw joints: only the bone-length variation (stated: < 2 cm)
    fk, _ = _independent_bvh_fk(path.read_text())
    np.testing.assert_allclose(np.stack([fk[n] for n in NAMES], 1), got, atol=1e-3, rtol=0)
    cm = read_bvh(write_bvh(tmp_path / "c.bvh", X, fps=30.0, units="cm"))
    np.testing.assert_allclose(cm.positions[:, [cm.names.index(n) for n in NAMES]] / 100, got, atol=1e-5)


def test_skeleton_rotation_helpers():
    rng = np.random.default_rng(0)
    R = Rotation.random(200, random_state=1).as_matrix()
    R[:3] = Rotation.from_euler("ZYX", [[10, 90, 0], [-30, -90, 0], [170, 89.9999, 5]], degrees=True).as_matrix()
    e = euler_zyx_degrees(R)
    back = Rotation.from_euler("ZYX", e, degrees=True).as_matrix()
    np.testing.assert_allclose(back, R, atol=1e-7)
    a = np.array([0.0, 1.0, 0.0])
    b = rng.normal(size=(50, 3))
    b[0] = -a  # antiparallel
    b[1] = a
    b[2] = -a + np.array([1e-7, 0.0, 0.0])  # near-antiparallel (about 180 degrees)
    b[3] = a + np.array([0.0, 0.0, 1e-12])  # near-identity
    b /= np.linalg.norm(b, axis=-1, keepdims=True)
    S = _swing(a, b)
    np.testing.assert_allclose(np.einsum("tij,j->ti", S, a), b, atol=1e-12)
    np.testing.assert_allclose(np.linalg.det(S), 1.0, atol=1e-12)
    np.testing.assert_allclose(S[1], np.eye(3), atol=1e-15)
    q = matrix_to_quaternion(np.stack([np.eye(3), np.diag([1.0, -1.0, -1.0]), R[5]]))  # identity, half-turn, any
    np.testing.assert_allclose(q[:2], [[1, 0, 0, 0], [0, 1, 0, 0]], atol=1e-15)
    assert q[2, 0] >= 0
    np.testing.assert_allclose(Rotation.from_quat(q[2, [1, 2, 3, 0]]).as_matrix(), R[5], atol=1e-12)
    X = _clip("cmu_02_03", 10)
    sk = fit_skeleton(X)
    np.testing.assert_allclose(skeleton_positions(sk), _rigid_reference(X), atol=1e-9)
    with pytest.raises(ValueError, match="joints"):
        fit_skeleton(np.zeros((4, 17, 3)))


def _accessor(gltf, binary, k):
    acc = gltf["accessors"][k]
    view = gltf["bufferViews"][acc["bufferView"]]
    n = {"SCALAR": 1, "VEC3": 3, "VEC4": 4, "MAT4": 16}[acc["type"]]
    assert acc["componentType"] == 5126
    assert view["byteOffset"] % 4 == 0 and view["byteOffset"] + view["byteLength"] <= len(binary)
    assert view["byteLength"] == acc["count"] * n * 4
    return np.frombuffer(binary, "<f4", acc["count"] * n, view["byteOffset"]).reshape(acc["count"], n).astype(float)


def test_gltf_structure_and_forward_kinematics(tmp_path):
    X = _clip("cmu_02_03", 40)
    path = write_gltf(tmp_path / "m.glb", X, fps=30.0, extras={"version": "x", "model": "m"})
    raw = path.read_bytes()
    magic, version, length = struct.unpack("<4sII", raw[:12])
    assert magic == b"glTF" and version == 2 and length == len(raw) and length % 4 == 0
    jlen, jtype = struct.unpack("<I4s", raw[12:20])
    assert jtype == b"JSON" and jlen % 4 == 0
    gltf, binary = read_glb(path)
    assert gltf["asset"]["version"] == "2.0" and gltf["extras"]["model"] == "m"
    assert gltf["buffers"][0]["byteLength"] == len(binary)
    nodes = gltf["nodes"]
    assert len(nodes) == 27 and {n["name"] for n in nodes} >= set(NAMES)  # 26 skeleton nodes + the body mesh
    assert nodes[26] == {"name": "body", "mesh": 0, "skin": 0} and gltf["scenes"][0]["nodes"] == [0, 26]
    anim = gltf["animations"][0]
    T = X.shape[0]
    times = _accessor(gltf, binary, anim["samplers"][0]["input"])[:, 0]
    np.testing.assert_allclose(times, np.arange(T) / 30.0, atol=1e-6)
    assert gltf["accessors"][anim["samplers"][0]["input"]]["max"][0] == pytest.approx((T - 1) / 30.0)
    rot = {}
    trans = None
    for ch in anim["channels"]:
        out = _accessor(gltf, binary, anim["samplers"][ch["sampler"]]["output"])
        assert out.shape[0] == T
        if ch["target"]["path"] == "rotation":
            np.testing.assert_allclose(np.linalg.norm(out, axis=-1), 1.0, atol=1e-6)
            assert ((out[1:] * out[:-1]).sum(-1) >= 0).all()  # sign-continuous
            rot[ch["target"]["node"]] = out
        else:
            assert ch["target"] == {"node": 0, "path": "translation"}
            trans = out
    assert len(rot) == 26 and trans is not None
    skin = gltf["skins"][0]
    assert _accessor(gltf, binary, skin["inverseBindMatrices"]).shape == (26, 16)
    got = glb_joint_positions(path)  # independent FK from the GLB's nodes and channels
    np.testing.assert_allclose(np.stack([got[n] for n in NAMES], 1), _rigid_reference(X), atol=1e-3)
    import pygltflib  # independent loaders, in the [dev] extra
    import trimesh

    assert len(pygltflib.GLTF2().load(str(path)).nodes) == 27
    assert trimesh.load(str(path)) is not None


def test_c3d_round_trip_own_reader_and_c3d_package(tmp_path):
    X = _clip("cmu_02_03", 30)
    X[4, 7] = np.nan
    labels = list(NAMES)
    path = write_c3d(tmp_path / "m.c3d", X, labels, fps=30.0)
    assert path.stat().st_size % 512 == 0
    d = read_c3d(path)
    assert d["labels"] == labels and d["units"] == "mm" and d["fps"] == 30.0
    np.testing.assert_allclose(d["points"] / 1000.0, X, atol=1e-6)  # float32 mm; NaN where invalid
    assert np.isnan(d["points"][4, 7]).all()
    m = read_c3d(write_c3d(tmp_path / "m2.c3d", X, labels, fps=25.0, units="m"))
    assert m["units"] == "m" and m["fps"] == 25.0
    with pytest.raises(ValueError, match="labels"):
        write_c3d(tmp_path / "x.c3d", X, labels[:3], fps=30.0)
    c3d = pytest.importorskip("c3d")
    import warnings

    with open(path, "rb") as fh, warnings.catch_warnings():
        warnings.simplefilter("ignore")
        r = c3d.Reader(fh)
        frames = [(p[:, :3].copy(), p[:, 3].copy()) for _, p, _ in r.read_frames()]
        assert [s.strip() for s in r.point_labels] == labels
        assert r.point_rate == 30.0 and r.get("POINT:UNITS").string_value.strip() == "mm"
    pts = np.stack([f[0] for f in frames])
    res = np.stack([f[1] for f in frames])
    assert pts.shape == X.shape and (res < 0).sum() == 1 and res[4, 7] < 0
    ok = res >= 0
    np.testing.assert_allclose(pts[ok] / 1000.0, X[ok], atol=1e-6)


def _fake_result(T=12):
    X = _clip("cmu_02_03", T)
    cam = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=1.5, pitch_deg=-8)
    return LiftResult(X, cam.to_camera(X), np.zeros((4, T, 22, 2)), [cam] * 4, np.ones((T, 22)), 30.0)


def test_json_npz_and_export_result(tmp_path):
    res = _fake_result()
    meta = {"version": "0.1.0", "model": "tiny"}
    written = export_result(res, tmp_path / "o", "all", meta)
    assert set(written) == {"bvh", "gltf", "c3d", "json", "npz", "html", "png", "gif", "overlay"}
    assert sorted(p.name for p in (tmp_path / "o").iterdir()) == sorted(p.name for p in written.values())
    d = json.loads(written["json"].read_text())
    assert d["metadata"] == meta and d["fps"] == 30.0 and d["joint_names"] == list(NAMES)
    np.testing.assert_allclose(d["joints"], res.joints, atol=1e-6)
    np.testing.assert_allclose(d["joints_cam"], res.joints_cam, atol=1e-6)
    assert len(d["cameras"]) == 4 and np.asarray(d["confidence"]).shape == (12, 22)
    z = np.load(written["npz"])
    assert {"joints", "joints_cam", "confidence", "fps", "views_2d", "camera_K", "camera_T_w2c",
            "camera_image_size", "joint_names", "metadata"} <= set(z.files)
    assert json.loads(str(z["metadata"]))["model"] == "tiny" and z["camera_K"].shape == (4, 3, 3)
    assert parse_formats("BVH, glb,npz") == ["bvh", "gltf", "npz"]
    with pytest.raises(ValueError, match="unknown format"):
        parse_formats("bvh,fbx")


def test_writes_are_atomic(tmp_path, monkeypatch):
    target = tmp_path / "m.bvh"
    target.write_text("old")
    X = _clip("cmu_02_03", 10)

    def boom(*a, **k):
        raise RuntimeError("disk full")

    monkeypatch.setattr(np, "concatenate", boom)  # fail in the middle of building the BVH text
    with pytest.raises(RuntimeError):
        write_bvh(target, X, 30.0)
    monkeypatch.undo()
    real_replace = _atomic.os.replace
    monkeypatch.setattr(_atomic.os, "replace", boom)  # fail at the rename: the old file must survive
    with pytest.raises(RuntimeError):
        write_gltf(tmp_path / "m.bvh", X, 30.0)
    monkeypatch.setattr(_atomic.os, "replace", real_replace)
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["m.bvh"]  # no temporary left behind
    fresh = write_bvh(tmp_path / "new.bvh", X, 30.0)
    mask = os.umask(0)
    os.umask(mask)
    assert fresh.stat().st_mode & 0o777 == 0o666 & ~mask  # usual permissions, not mkstemp's 0600
