"""Motion data loaders, resampling and the BVH reader (mocap_fast.data)."""

from __future__ import annotations

import json
import shutil

import numpy as np
import pytest
import torch
from hypothesis import given, strategies as st
from scipy.spatial.transform import Rotation

from helpers import SHARED_DATA, needs_shared
from mocap_fast.data import (
    bvh_to_smpl22,
    load_clip_folder,
    load_humanml3d,
    load_motion_folder,
    parse_bvh,
    read_bvh,
    resample,
)
from mocap_fast.data.bvh import MAPPINGS
from mocap_fast.joints import SMPL22
from mocap_fast.resampling import resample_axis

DATA = SHARED_DATA
MOCAP30 = DATA / "mocap30"
BVH_DIR = DATA / "bvh_samples"
needs_mocap30 = needs_shared(MOCAP30 / "index.json")
needs_bvh = needs_shared(BVH_DIR)
BVH_FILES = sorted(BVH_DIR.glob("*.bvh")) if BVH_DIR.is_dir() else []
LEGS_AND_PELVIS = [0, 1, 2, 4, 5, 7, 8, 10, 11]


def bone_lengths(joints: np.ndarray) -> np.ndarray:
    """(T, 21) SMPL-22 bone lengths."""
    parents = np.array(SMPL22.parents[1:])
    return np.linalg.norm(joints[:, 1:] - joints[:, parents], axis=-1)


def height_estimate(joints: np.ndarray) -> float:
    """mocap30 README height estimate: median leg + spine/neck/head chain lengths + 0.26 m."""
    bl = np.median(bone_lengths(joints), axis=0)
    child = {c: c - 1 for c in range(1, 22)}  # bone index of joint c
    legs = np.mean([bl[child[4]] + bl[child[7]], bl[child[5]] + bl[child[8]]])
    spine = sum(bl[child[c]] for c in (3, 6, 9, 12, 15))
    return float(legs + spine + 0.26)


# ---------------------------------------------------------------- resample


@given(
    st.integers(1, 40),
    st.integers(2, 5),
    st.sampled_from([10.0, 20.0, 24.0, 30.0]),
    st.integers(0, 2**31 - 1),
)
def test_resample_round_trip_integral(frames, k, fps, seed):
    x = np.random.default_rng(seed).normal(size=(frames, 22, 3)).astype(np.float32)
    up = resample(x, fps, fps * k)
    assert up.shape[0] == (frames - 1) * k + 1 and up.dtype == np.float32
    np.testing.assert_array_equal(resample(up, fps * k, fps), x)
    sub = resample(x, fps * k, fps)
    np.testing.assert_array_equal(sub, x[::k])
    assert sub.shape[0] == -(-frames // k)


@given(st.integers(2, 60), st.sampled_from([(20.0, 30.0), (30.0, 20.0), (25.0, 30.0), (50.0, 30.0)]))
def test_resample_linear_motion_exact(frames, rates):
    fps_in, fps_out = rates
    t_in = np.arange(frames) / fps_in
    x = np.stack([t_in, 2 * t_in - 1, np.zeros_like(t_in)], -1)[:, None, :]
    y = resample(x, fps_in, fps_out)
    t_out = np.arange(y.shape[0]) / fps_out
    assert t_out[-1] <= t_in[-1] + 1e-9 and t_out[-1] + 1 / fps_out > t_in[-1] - 1e-9
    np.testing.assert_allclose(y[:, 0, 0], t_out, atol=1e-12)
    np.testing.assert_allclose(y[:, 0, 1], 2 * t_out - 1, atol=1e-12)


def test_resample_tolerates_rounded_frame_time_and_torch():
    x = torch.arange(12.0).reshape(12, 1)
    y = resample(x, 1 / 0.008333, 30.0)
    assert isinstance(y, torch.Tensor)
    torch.testing.assert_close(y, x[::4])


@pytest.mark.parametrize("rates", [(25.0, 30.0), (30.0, 15.0), (30.0, 60.0)])
def test_resample_axis_is_resample_per_row_and_holds_the_last_frame(rates):
    # lift() resamples [B, T, ...] along axis 1 and back to the input length: the same rule as resample
    x = torch.randn(2, 13, 4, 3, dtype=torch.float64)
    y = resample_axis(x, *rates, axis=1)
    for b in range(2):
        torch.testing.assert_close(y[b], resample(x[b], *rates), rtol=0, atol=0)
    longer = resample_axis(x, *rates, axis=1, n_out=y.shape[1] + 3)
    torch.testing.assert_close(longer[:, : y.shape[1]], y, rtol=0, atol=0)
    assert (longer[:, y.shape[1]:] == x[:, -1:]).all()


@pytest.mark.parametrize("args", [(np.zeros((0, 22, 3)), 30, 20), (np.zeros((5, 22, 3)), 0, 30), (np.zeros((5, 2)), 30, float("nan"))])
def test_resample_errors(args):
    with pytest.raises(ValueError, match=r"^(joints|fps_in|fps_out):"):
        resample(*args)


# ---------------------------------------------------------------- clip folders


@needs_mocap30
def test_load_mocap30():
    index = json.loads((MOCAP30 / "index.json").read_text())
    clips = load_clip_folder(MOCAP30)
    assert len(clips) == len(index["clips"]) == 67
    for c, e in zip(clips, index["clips"]):
        assert c.joints.shape == (e["frames"], 22, 3) and c.joints.dtype == np.float32
        assert c.fps == 30 and c.split == e["split"] and c.subject == e["subject"] and c.skeleton == e["skeleton"]
        assert c.meta["bvh_skeleton"] == e["bvh_skeleton"]
    assert sum(c.num_frames for c in clips) == 19274
    train, val = load_clip_folder(MOCAP30, "train"), load_clip_folder(MOCAP30, "val")
    assert (len(train), len(val)) == (52, 15)
    assert {c.subject for c in val} == {"07", "131"}
    assert len(load_clip_folder(MOCAP30, ["train", "val"])) == 67
    assert len(load_motion_folder(MOCAP30, "val")) == 15
    with pytest.raises(ValueError, match=r"^split:"):
        load_clip_folder(MOCAP30, "test")


def test_npy_folder_and_errors(tmp_path):
    rng = np.random.default_rng(0)
    for name, frames in (("b", 7), ("a", 3)):
        np.save(tmp_path / f"{name}.npy", rng.normal(size=(frames, 22, 3)))
    clips = load_clip_folder(tmp_path)
    assert [c.name for c in clips] == ["a", "b"] and clips[1].joints.shape == (7, 22, 3)
    assert clips[0].joints.dtype == np.float32 and clips[0].split is None
    assert [c.name for c in load_motion_folder(tmp_path)] == ["a", "b"]
    with pytest.raises(ValueError, match=r"^split:"):
        load_clip_folder(tmp_path, "train")
    np.save(tmp_path / "c.npy", np.zeros((5, 24, 3)))
    with pytest.raises(ValueError, match=r"c\.npy.*\(T, 22, 3\)"):
        load_clip_folder(tmp_path)
    np.save(tmp_path / "c.npy", np.full((5, 22, 3), np.nan))
    with pytest.raises(ValueError, match=r"c\.npy.*non-finite"):
        load_clip_folder(tmp_path)
    (tmp_path / "c.npy").write_text("not numpy")
    with pytest.raises(ValueError, match=r"c\.npy"):
        load_clip_folder(tmp_path)
    with pytest.raises(ValueError, match=r"^root:"):
        load_motion_folder(tmp_path / "nothing")


def test_index_folder(tmp_path):
    (tmp_path / "clips").mkdir()
    np.save(tmp_path / "clips" / "x.npy", np.zeros((4, 22, 3), np.float32))
    index = {"fps": 30, "clips": [{"file": "clips/x.npy", "name": "x", "split": "train", "subject": "9", "fps": 30, "extra": 1}]}
    (tmp_path / "index.json").write_text(json.dumps(index))
    (clip,) = load_motion_folder(tmp_path)
    assert (clip.name, clip.split, clip.subject, clip.meta["extra"]) == ("x", "train", "9", 1)
    index["clips"][0]["file"] = "clips/missing.npy"
    (tmp_path / "index.json").write_text(json.dumps(index))
    with pytest.raises(ValueError, match=r"missing\.npy"):
        load_clip_folder(tmp_path)


def test_humanml3d(tmp_path):
    joints_dir = tmp_path / "new_joints"
    joints_dir.mkdir()
    t = np.arange(21) / 20.0
    linear = np.broadcast_to(np.stack([t, 0 * t, -t], -1)[:, None, :], (21, 22, 3)).astype(np.float32)
    np.save(joints_dir / "000001.npy", linear)
    np.save(joints_dir / "M000001.npy", np.zeros((2, 22, 3), np.float32))
    (tmp_path / "train.txt").write_text("000001\nM000001\n")
    (tmp_path / "val.txt").write_text("000001\n999999\n")
    clips = load_humanml3d(tmp_path)
    assert [c.name for c in clips] == ["000001", "M000001"]
    assert clips[0].joints.shape == (31, 22, 3) and clips[0].fps == 30.0 and clips[1].num_frames == 2
    np.testing.assert_allclose(clips[0].joints[:, 5, 0], np.arange(31) / 30.0, atol=1e-6)
    assert [c.split for c in load_humanml3d(joints_dir, "train")] == ["train", "train"]
    with pytest.warns(UserWarning, match="1 id"):
        assert [c.name for c in load_humanml3d(tmp_path, "val")] == ["000001"]
    with pytest.raises(ValueError, match=r"^split:"):
        load_humanml3d(tmp_path, "test")
    assert len(load_motion_folder(tmp_path, "train")) == 2


# ---------------------------------------------------------------- BVH reader

TINY_BVH = """HIERARCHY
ROOT root
{
  OFFSET 0 0 0
  CHANNELS 6 Xposition Yposition Zposition Zrotation Xrotation Yrotation
  JOINT arm
  {
    OFFSET 1 0 0
    CHANNELS 4 Yposition Yrotation Zrotation Xrotation
    End Site
    {
      OFFSET 0 2 0
    }
  }
}
MOTION
Frames: 2
Frame Time: 0.5
1 2 3 30 40 50 7 10 20 30
0 0 0 0 0 0 0 0 0 0
"""


def test_bvh_forward_kinematics_channel_order():
    m = parse_bvh(TINY_BVH)
    assert m.names == ("root", "arm", "arm_End") and m.parents == (-1, 0, 1)
    assert m.channels[1] == ("Yposition", "Yrotation", "Zrotation", "Xrotation") and m.fps == 2.0
    r_root = Rotation.from_euler("ZXY", [30, 40, 50], degrees=True).as_matrix()
    r_arm = Rotation.from_euler("YZX", [10, 20, 30], degrees=True).as_matrix()
    arm = np.array([1, 2, 3]) + r_root @ np.array([1.0, 7.0, 0.0])
    end = arm + r_root @ r_arm @ np.array([0.0, 2.0, 0.0])
    np.testing.assert_allclose(m.positions[0], [[1, 2, 3], arm, end], atol=1e-12)
    np.testing.assert_allclose(m.positions[1], [[0, 0, 0], [1, 0, 0], [1, 2, 0]], atol=1e-12)


@pytest.mark.parametrize(
    "mutate, pattern",
    [
        (lambda s: s.replace("OFFSET 1 0 0", "OFFSET 1 zero 0"), r"line 8: expected a number for OFFSET"),
        (lambda s: s.replace("Zrotation Xrotation Yrotation", "Zrotation Xrotation Wrotation"), r"line 5: unknown channel"),
        (lambda s: s.replace("CHANNELS 4", "CHANNELS 9"), r"line 9: bad channel count"),
        (lambda s: s.rsplit("\n", 2)[0] + "\n", r"truncated, Frames: 2 but only 1"),
        (lambda s: s.replace("7 10 20 30", "7 10 20"), r"line 19: expected 10 channel values, got 9"),
        (lambda s: s.replace("7 10 20 30", "7 10 20 nan"), r"line 19: non-finite"),
        (lambda s: s.replace("0 0 0 0 0 0 0 0 0 0", "0 0 0 0 0 0 0 0 0 x"), r"line 20: non-numeric"),
        (lambda s: s.replace("Frame Time: 0.5", "Frame Time: -1"), r"line 18: Frame Time must be > 0"),
        (lambda s: s.replace("Frames: 2", "Frames: two"), r"line 17: expected a number after 'Frames:'"),
        (lambda s: s.split("MOTION")[0], r"unexpected end of file"),
        (lambda s: s.replace("    }\n  }\n}", "    }\n  }\n"), r"line 16: expected JOINT, End Site or '}', got 'MOTION'"),
        (lambda s: s.replace("HIERARCHY", "HIERARCHIE"), r"line 1: expected 'HIERARCHY'"),
        (lambda s: s + "1 2 3 4 5 6 7 8 9 10\n", r"line 21: Frames: 2 but more frame lines follow"),
    ],
)
def test_bvh_errors_name_file_and_line(tmp_path, mutate, pattern):
    path = tmp_path / "broken.bvh"
    path.write_text(mutate(TINY_BVH))
    with pytest.raises(ValueError, match=r"broken\.bvh: .*(" + pattern + ")"):
        read_bvh(path)


def test_bvh_missing_file(tmp_path):
    with pytest.raises(ValueError, match=r"^path:"):
        read_bvh(tmp_path / "none.bvh")


@needs_bvh
def test_bvh_truncated_sample(tmp_path):
    text = BVH_FILES[0].read_text()
    path = tmp_path / "cut.bvh"
    path.write_text(text[: int(len(text) * 0.9)])
    with pytest.raises(ValueError, match=r"cut\.bvh: line \d+: (truncated|expected \d+ channel values)"):
        bvh_to_smpl22(path)


@needs_bvh
@pytest.mark.parametrize("path", BVH_FILES, ids=lambda p: p.stem)
def test_bvh_samples_convert(path):
    joints, info = bvh_to_smpl22(path, return_info=True)
    src_frames = info["src_frames"] - info["leading_frames_dropped"]
    step = round(info["src_fps"] / 30)
    assert joints.shape == (-(-src_frames // step), 22, 3) and joints.dtype == np.float32
    assert np.isfinite(joints).all()
    assert info["up_axis_in_source"] == "+y"
    assert info["leading_frames_dropped"] == (1 if "tpose0" in path.name else 0)
    assert info["mapping"] == {"mb": "cmu_mb", "max": "cmu_max", "ccrig60fps": "cmu_cc"}[path.stem.split("_")[4]]
    assert 1.3 <= height_estimate(joints) <= 2.1
    assert bone_lengths(joints).std(axis=0).max() < 0.01
    assert abs(joints[:, [7, 8, 10, 11], 1].min()) < 1e-6
    assert (joints[:, 15, 1] > joints[:, 0, 1] + 0.3).all()
    left = joints[:, 1] - joints[:, 2]  # left hip on the +x side of a +z-facing body: up x forward
    forward = joints[:, 10] - joints[:, 7] + joints[:, 11] - joints[:, 8]
    assert (np.cross(np.array([0, 1, 0]), forward)[:, [0, 2]] * left[:, [0, 2]]).sum(-1).mean() > 0


@needs_bvh
@needs_mocap30
@pytest.mark.parametrize("sample, clip", [("cmu_131_03_hop_max_first120", "131_03"), ("cmu_07_01_walk_ccrig60fps_first40", "07_01")])
def test_bvh_matches_mocap30(sample, clip):
    """Same source file and conversion as mocap30: equal up to mocap30's whole-clip ground shift."""
    ours = bvh_to_smpl22(BVH_DIR / f"{sample}.bvh")
    ref = np.load(MOCAP30 / "clips" / f"cmu_{clip}.npy")[: len(ours)]
    diff = ours - ref
    shift = diff[..., 1].mean()
    assert shift <= 1e-5  # mocap30 grounds over the whole clip, whose lowest foot is at most ours
    np.testing.assert_allclose(diff, np.broadcast_to([0.0, shift, 0.0], diff.shape), atol=1e-4)


@needs_bvh
@needs_mocap30
def test_bvh_tpose_drop_matches_asf_legs():
    """01_01 MB BVH = ASF/AMC original (mocap30) on pelvis and legs once the T-pose frame 0 is dropped."""
    ours = bvh_to_smpl22(BVH_DIR / "cmu_01_01_jump_mb_first120_tpose0.bvh", ground=False)
    ref = np.load(MOCAP30 / "clips" / "cmu_01_01.npy")[: len(ours)]
    diff = (ours - ref)[:, LEGS_AND_PELVIS]
    np.testing.assert_allclose(diff, np.broadcast_to(diff.mean(axis=(0, 1)), diff.shape), atol=1e-3)


@needs_bvh
def test_bvh_up_axis_custom_mapping_and_units():
    motion = read_bvh(BVH_DIR / "cmu_131_03_hop_max_first120.bvh")
    ref = bvh_to_smpl22(motion)
    z_up = motion.positions[..., [0, 2, 1]] * [1, -1, 1]
    motion.positions = z_up
    table = dict(zip(SMPL22.joint_names, MAPPINGS["cmu_max"]))
    out, info = bvh_to_smpl22(motion, mapping=table, return_info=True)
    assert info["up_axis_in_source"] == "+z" and info["mapping"] == "custom"
    assert info["unit_scale"] == pytest.approx(0.056444)
    np.testing.assert_allclose(out, ref, atol=1e-5)
    np.testing.assert_allclose(bvh_to_smpl22(motion, "cmu_max", unit_scale=0.1), ref * (0.1 / 0.056444), atol=1e-4)
    assert bvh_to_smpl22(motion, fps_out=120).shape[0] == 120
    with pytest.raises(ValueError, match=r"^mapping:"):
        bvh_to_smpl22(motion, mapping="cmu_cc")
    with pytest.raises(ValueError, match=r"^mapping:"):
        bvh_to_smpl22(parse_bvh(TINY_BVH))
    with pytest.raises(ValueError, match=r"^unit_scale:"):
        bvh_to_smpl22(motion, unit_scale=-1)


@needs_bvh
def test_load_bvh_folder(tmp_path):
    for p in BVH_FILES:
        shutil.copy(p, tmp_path / p.name)
    clips = load_motion_folder(tmp_path)
    assert [c.name for c in clips] == [p.stem for p in BVH_FILES]
    assert all(c.fps == 30.0 and c.joints.shape[1:] == (22, 3) for c in clips)
    assert {c.skeleton for c in clips} == {"cmu_mb", "cmu_max", "cmu_cc"}
    with pytest.raises(ValueError, match=r"^split:"):
        load_motion_folder(tmp_path, "train")


@needs_bvh
@pytest.mark.parametrize("up", ["+x", "-x", "-y", "+z", "-z"])
def test_bvh_up_axis_detection(up):
    motion = read_bvh(BVH_DIR / "cmu_02_01_walk_mb_first120.bvh")
    ref = bvh_to_smpl22(motion)
    axis = "xyz".index(up[1])
    rot = Rotation.align_vectors([[0.0, 1.0, 0.0]], [np.eye(3)[axis] * (1 if up[0] == "+" else -1)])[0]
    motion.positions = rot.inv().apply(motion.positions.reshape(-1, 3)).reshape(motion.positions.shape)
    out, info = bvh_to_smpl22(motion, return_info=True)
    assert info["up_axis_in_source"] == up
    np.testing.assert_allclose(out[..., 1], ref[..., 1], atol=1e-5)
    np.testing.assert_allclose(bone_lengths(out), bone_lengths(ref), atol=1e-5)
