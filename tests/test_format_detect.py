"""COCO-17 vs H36M-17 by geometry (mocap_fast.format_detect): real motion, random cameras."""

from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from mocap_fast import Camera
from mocap_fast.cli import load_demo
from mocap_fast.format_detect import detect_17, resolve_auto
from mocap_fast.joints import from_smpl22

CLIPS = sorted(Path("/work/shared/data/mocap30/clips").glob("*.npy"))


def motion(i: int) -> np.ndarray:
    if CLIPS:
        X = np.load(CLIPS[i % len(CLIPS)]).astype(np.float64)
        start = (37 * i) % max(1, len(X) - 60)
        return X[start:start + 60]
    return load_demo()[0][:60]


@given(st.integers(0, 10_000), st.floats(-180, 180), st.floats(0.3, 3.0), st.floats(-25, 5), st.floats(3, 12),
       st.sampled_from(["coco17", "h36m17"]))
def test_layout_told_by_geometry(i, yaw, height, pitch, dist, fmt):
    X = motion(i)
    X = X - X[:1, :1] * np.array([1.0, 0.0, 1.0])
    c, s = np.cos(np.radians(yaw)), np.sin(np.radians(yaw))
    X = X @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T + np.array([0.0, 0.0, -dist])
    cam = Camera.from_ground(1000, 1000, 960, 540, (1920, 1080), height=height, pitch_deg=pitch)
    kp = cam.project(from_smpl22(X, fmt))
    assert detect_17(kp) == fmt
    assert resolve_auto(kp) == fmt


def test_missing_joints_and_undecided():
    X = motion(0) + np.array([0.0, 0.0, -5.0])
    cam = Camera.from_ground(1000, 1000, 960, 540, (1920, 1080), height=1.5)
    kp = cam.project(from_smpl22(X, "h36m17"))
    conf = np.ones(kp.shape[:2])
    conf[::2, 3] = 0  # ankle missing every other frame: still told
    assert detect_17(kp, conf) == "h36m17"
    with pytest.raises(ValueError, match="joint_format: cannot tell"):
        resolve_auto(np.full((10, 17, 2), np.nan))
    with pytest.raises(ValueError, match="joint_format: cannot tell"):
        resolve_auto(np.ones((10, 17, 2)))  # a collapsed detection
    assert resolve_auto(np.zeros((10, 22, 2))) == "smpl22"
    with pytest.raises(ValueError, match="joint_format"):
        resolve_auto(np.zeros((10, 18, 2)))
