"""Joint formats, SMPL-22 <-> COCO-17 / H36M-17 mapping and mirroring (mocap_fast.joints)."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from hypothesis.extra import numpy as hnp

from mocap_fast.joints import (
    COCO17,
    FORMATS,
    H36M17,
    SMPL22,
    from_smpl22,
    get_format,
    mirror,
    smpl22_mapping,
    to_smpl22,
)

API_SMPL22 = (
    "pelvis left_hip right_hip spine1 left_knee right_knee spine2 left_ankle right_ankle spine3 "
    "left_foot right_foot neck left_collar right_collar head left_shoulder right_shoulder "
    "left_elbow right_elbow left_wrist right_wrist"
).split()

# Approximate SMPL neutral rest joints (metres, y up, facing +z, left side at +x).
REST = np.array(
    [
        [0.0, 0.93, 0.03], [0.07, 0.84, 0.02], [-0.07, 0.84, 0.02], [0.0, 1.04, 0.0],
        [0.10, 0.48, 0.01], [-0.10, 0.48, 0.01], [0.0, 1.18, 0.03], [0.09, 0.06, -0.03],
        [-0.09, 0.06, -0.03], [0.0, 1.23, 0.03], [0.12, 0.0, 0.09], [-0.12, 0.0, 0.09],
        [0.0, 1.44, -0.01], [0.08, 1.35, 0.0], [-0.08, 1.35, 0.0], [0.01, 1.51, 0.04],
        [0.20, 1.39, -0.02], [-0.19, 1.39, -0.01], [0.45, 1.37, -0.04], [-0.45, 1.38, -0.04],
        [0.72, 1.38, -0.05], [-0.72, 1.38, -0.05],
    ]
)

format_names = st.sampled_from(sorted(FORMATS))


def test_smpl22_matches_api():
    assert SMPL22.joint_names == tuple(API_SMPL22)
    assert SMPL22.parents == (-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19)
    assert SMPL22.num_joints == 22


def test_coco_and_h36m_orders():
    assert COCO17.joint_names[:5] == ("nose", "left_eye", "right_eye", "left_ear", "right_ear")
    assert COCO17.joint_names[11:] == ("left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
    assert H36M17.joint_names[:7] == ("pelvis", "right_hip", "right_knee", "right_ankle", "left_hip", "left_knee", "left_ankle")
    assert H36M17.joint_names[11:] == ("left_shoulder", "left_elbow", "left_wrist", "right_shoulder", "right_elbow", "right_wrist")
    assert COCO17.num_joints == H36M17.num_joints == 17
    assert len(COCO17.edges) == 19


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_format_structure(name):
    fmt = FORMATS[name]
    n = fmt.num_joints
    assert fmt.name == name and get_format(name) is fmt and get_format(fmt) is fmt
    assert sum(p == -1 for p in fmt.parents) == 1
    for j in range(n):  # every joint reaches the root without cycles
        seen, k = set(), j
        while k != -1:
            assert k not in seen
            seen.add(k)
            k = fmt.parents[k]
    assert all(0 <= a < n and 0 <= b < n and a != b for a, b in fmt.edges)
    assert len(set(fmt.joint_names)) == n


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_flip_is_involution_swapping_sides(name):
    fmt = FORMATS[name]
    for i, j in enumerate(fmt.flip):
        assert fmt.flip[j] == i
        a, b = fmt.joint_names[i], fmt.joint_names[j]
        if a.startswith("left_"):
            assert b == "right_" + a[5:]
        elif a.startswith("right_"):
            assert b == "left_" + a[6:]
        else:
            assert i == j


@pytest.mark.parametrize("bad", ["openpose25", "", None, 3])
def test_unknown_format(bad):
    with pytest.raises(ValueError, match=r"^joint_format: unknown"):
        get_format(bad)
    with pytest.raises(ValueError, match=r"^joint_format: unknown"):
        to_smpl22(np.zeros((4, 17, 2)), joint_format=bad)


@pytest.mark.parametrize("name", sorted(FORMATS))
def test_mapping_table_consistent(name):
    fmt = FORMATS[name]
    table = smpl22_mapping(name)
    assert len(table) == 22
    for quality, sources in table:
        assert quality in ("exact", "direct", "approx", "missing")
        assert (quality == "missing") == (len(sources) == 0)
        assert len(sources) <= 2 and all(s in fmt.joint_names for s in sources)
    missing = {SMPL22.joint_names[i] for i, (q, _) in enumerate(table) if q == "missing"}
    if name == "coco17":
        assert missing == {"spine1", "spine2", "spine3", "left_foot", "right_foot", "left_collar", "right_collar"}
    if name == "h36m17":
        assert missing == {"spine1", "spine3", "left_foot", "right_foot", "left_collar", "right_collar"}


@st.composite
def keypoint_batches(draw):
    name = draw(format_names)
    fmt = FORMATS[name]
    lead = tuple(draw(st.lists(st.integers(1, 3), min_size=0, max_size=2)))
    dim = draw(st.sampled_from([2, 3]))
    shape = lead + (fmt.num_joints,)
    kp = draw(hnp.arrays(np.float64, shape + (dim,), elements=st.floats(-2000, 2000, allow_nan=False)))
    nan_mask = draw(hnp.arrays(np.bool_, shape))
    kp[nan_mask, 0] = np.nan
    conf = draw(hnp.arrays(np.float64, shape, elements=st.sampled_from([0.0, 0.3, 1.0, np.nan, 1.5])))
    return name, kp, conf


@given(keypoint_batches())
def test_to_smpl22_confidence_rules(batch):
    name, kp, conf = batch
    kp22, conf22 = to_smpl22(kp, conf, name)
    assert isinstance(kp22, np.ndarray) and kp22.dtype == np.float64
    assert kp22.shape == kp.shape[:-2] + (22, kp.shape[-1]) and conf22.shape == kp.shape[:-2] + (22,)
    assert np.isfinite(kp22).all() and ((conf22 >= 0) & (conf22 <= 1)).all()

    fmt = FORMATS[name]
    valid = np.isfinite(kp).all(-1) & np.isfinite(conf) & (conf > 0)
    c = np.where(valid, np.clip(np.nan_to_num(conf), 0, 1), 0.0)
    w = valid[..., None].astype(float)
    centroid = (np.where(valid[..., None], kp, 0) * w).sum(-2) / np.maximum(w.sum(-2), 1)
    for j, (quality, sources) in enumerate(smpl22_mapping(name)):
        if quality == "missing":
            np.testing.assert_array_equal(conf22[..., j], 0)
            continue
        idx = [fmt.index(s) for s in sources]
        np.testing.assert_array_equal(conf22[..., j], np.min(c[..., idx], axis=-1))
        ok = conf22[..., j] > 0
        expected = np.where(ok[..., None], np.mean(np.nan_to_num(kp[..., idx, :]), axis=-2), centroid)
        np.testing.assert_allclose(kp22[..., j, :], expected, rtol=0, atol=1e-9)
    np.testing.assert_allclose(kp22[conf22 == 0], np.broadcast_to(centroid[..., None, :], kp22.shape)[conf22 == 0], atol=1e-9)


def test_to_smpl22_identity_and_kinds():
    kp = torch.randn(2, 5, 22, 2)
    kp22, conf22 = to_smpl22(kp)
    assert isinstance(kp22, torch.Tensor) and kp22.dtype == torch.float32
    torch.testing.assert_close(kp22, kp)
    assert bool((conf22 == 1).all())
    k32, c32 = to_smpl22(np.ones((3, 17, 2), np.float32), None, "coco17")
    assert k32.dtype == np.float32 and c32.dtype == np.float32


def test_to_smpl22_all_missing_frame_is_zero():
    kp = np.full((2, 17, 2), np.nan)
    kp[1] = 100.0
    kp22, conf22 = to_smpl22(kp, None, "h36m17")
    np.testing.assert_array_equal(kp22[0], 0)
    np.testing.assert_array_equal(conf22[0], 0)
    np.testing.assert_array_equal(kp22[1], 100.0)


def test_to_smpl22_shape_errors():
    with pytest.raises(ValueError, match=r"^keypoints:"):
        to_smpl22(np.zeros((4, 22, 2)), joint_format="coco17")
    with pytest.raises(ValueError, match=r"^confidence:"):
        to_smpl22(np.zeros((4, 17, 2)), np.ones((4, 22)), "coco17")
    with pytest.raises(ValueError, match=r"^keypoints:"):
        to_smpl22(None)


@pytest.mark.parametrize("name", ["coco17", "h36m17"])
def test_from_smpl22_round_trip(name):
    joints = REST[None] + np.random.default_rng(0).normal(0, 0.02, (4, 22, 3))
    kp = from_smpl22(joints, name)
    assert kp.shape == (4, 17, 3) and np.isfinite(kp).all()
    kp22, conf22 = to_smpl22(kp, None, name)
    for j, (quality, sources) in enumerate(smpl22_mapping(name)):
        if quality == "direct" or sources in (("pelvis",), ("spine",), ("thorax",)):
            np.testing.assert_allclose(kp22[:, j], joints[:, j], atol=1e-12)
        elif quality == "approx":
            assert np.linalg.norm(kp22[:, j] - joints[:, j], axis=-1).max() < 0.15  # conventions differ by <= ~10 cm
        else:
            assert (conf22[:, j] == 0).all()


def test_from_smpl22_face_geometry():
    coco = from_smpl22(REST, "coco17")
    nose, leye, reye, lear, rear = coco[:5]
    assert nose[2] > REST[15, 2] + 0.05  # in front of the head (facing +z)
    assert leye[0] > reye[0] and lear[0] > rear[0]  # left side at +x
    assert min(p[1] for p in coco[:5]) > REST[12, 1]  # above the neck
    h36m = from_smpl22(REST, "h36m17")
    assert h36m[10, 1] > h36m[9, 1] > h36m[8, 1] > h36m[7, 1] > h36m[0, 1]


def test_from_smpl22_needs_3d():
    with pytest.raises(ValueError, match=r"^kp22:"):
        from_smpl22(np.zeros((5, 22, 2)), "coco17")
    np.testing.assert_array_equal(from_smpl22(np.ones((5, 22, 2)), "smpl22"), 1.0)


@given(st.integers(0, 2**31 - 1), format_names)
def test_mirror_twice_is_identity(seed, name):
    pts = np.random.default_rng(seed).normal(size=(3, FORMATS[name].num_joints, 3))
    np.testing.assert_array_equal(mirror(mirror(pts, name), name), pts)


def test_mirror_swaps_sides():
    m = mirror(torch.tensor(REST), "smpl22")
    assert isinstance(m, torch.Tensor)
    np.testing.assert_allclose(m[1].numpy(), REST[2] * [-1, 1, 1])
    np.testing.assert_allclose(m[15].numpy(), REST[15] * [-1, 1, 1])


@given(st.integers(0, 2**31 - 1), st.sampled_from(["coco17", "h36m17"]))
def test_from_smpl22_commutes_with_mirror(seed, name):
    joints = REST + np.random.default_rng(seed).normal(0, 0.03, (22, 3))
    a = from_smpl22(mirror(joints, "smpl22"), name)
    b = mirror(from_smpl22(joints, name), name)
    np.testing.assert_allclose(a, b, atol=1e-12)
