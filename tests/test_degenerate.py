"""Degenerate geometry, missing data and argument checks of lift() (issue 8), on the tiny model."""

from __future__ import annotations

import warnings

import numpy as np
import pytest

import mocap_fast.lifting as lift_mod
from helpers import CAM, walk
from mocap_fast import Camera
from mocap_fast.lifting import MAX_DISTANCE, VIEW_MARGIN, lift


def sane(res, cam=CAM):
    """Finite, within MAX_DISTANCE of the camera, views bounded."""
    for a in (res.joints, res.joints_cam, res.views_2d, res.confidence):
        assert np.isfinite(a).all()
    assert np.linalg.norm(res.joints - cam.centre.numpy(), axis=-1).max() <= MAX_DISTANCE
    assert np.abs(res.views_2d).max() <= (1 + VIEW_MARGIN) * 1280
    assert ((res.confidence >= 0) & (res.confidence <= 1)).all()


def run(kp, tiny, cam=CAM, **kw):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        res = lift(kp, cam, model=tiny, steps=kw.pop("steps", 2), **kw)
    return res, [str(w.message) for w in caught]


# ---------------------------------------------------------------- degenerate geometry


@pytest.mark.parametrize("distance", [150.0, 400.0])
def test_far_person_stays_bounded(tiny, distance):
    res, msgs = run(CAM.project(walk(offset=(0.0, -distance))), tiny)
    sane(res)
    if distance > 200:
        assert any("clamped" in m for m in msgs)


def test_no_legs_observed_falls_back_to_hips(tiny):
    kp = CAM.project(walk())
    kp[:, [4, 5, 7, 8, 10, 11]] = np.nan
    res, msgs = run(kp, tiny)
    sane(res)
    assert any("located by joints (0, 1, 2)" in m for m in msgs)
    assert (res.confidence[:, [4, 5, 7, 8, 10, 11]] == 0).all() and (res.confidence[:, 0] == 1).all()


def test_person_above_the_horizon_uses_default_distance(tiny):
    kp = CAM.project(walk())
    kp[..., 1] -= 300.0  # every joint above the horizon: no ray meets the ground
    res, msgs = run(kp, tiny)
    sane(res)
    assert any("default distance" in m for m in msgs)


def test_very_low_and_very_steep_cameras(tiny):
    low = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=0.05, pitch_deg=-2)
    sane(run(low.project(walk()), tiny, cam=low)[0], low)
    steep = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=10, pitch_deg=-85)
    sane(run(steep.project(walk(offset=(0.0, -0.5))), tiny, cam=steep)[0], steep)


def test_points_behind_virtual_cameras_are_clipped_with_a_warning(tiny):
    res, msgs = run(CAM.project(walk(offset=(0.0, -150.0))), tiny)
    sane(res)
    assert any("behind a view's camera" in m for m in msgs)


def _corrupting(kind):
    real = lift_mod.sample_fast

    def fake(model, problem, steps, seed, backend, progress=None):
        X = real(model, problem, steps, seed, backend).clone()
        if kind == "nan_window":
            X[0] = float("nan")
        elif kind == "huge_joints":
            X[:, :, 3] = 1e7
        elif kind == "inf_frames":
            X[:, 2:5] = float("inf")
        elif kind == "all_nan":
            X[:] = float("nan")
        return X

    return fake


@pytest.mark.parametrize("kind", ["nan_window", "huge_joints", "inf_frames", "all_nan"])
def test_sampler_failures_are_repaired(tiny, monkeypatch, kind):
    """Whatever the network/triangulation returns, lift's output is finite, bounded, and says so."""
    monkeypatch.setattr(lift_mod, "sample_fast", _corrupting(kind))
    kp = CAM.project(walk(T=40))
    res, msgs = run(kp, tiny, smooth=0, skeleton="free")  # unfiltered, unfitted: the fallback's own placement
    sane(res)
    assert any("degenerate geometry" in m for m in msgs)
    if kind == "all_nan":  # fallback on the input rays: reprojects onto the observation
        np.testing.assert_allclose(CAM.project(res.joints), kp, atol=1e-3)
    else:  # placed near the person, not at the origin
        d = np.linalg.norm(res.joints - CAM.centre.numpy(), axis=-1)
        assert d.min() > 1.0 and d.max() < 50.0


def test_healthy_windows_cover_a_failed_one(tiny, monkeypatch):
    kp = CAM.project(walk(T=40))
    # anchor=False, smooth=0, skeleton="free": the clip-level anchor, filter and skeleton fit would couple
    # frames across the window boundary
    ref = lift(kp, CAM, model=tiny, steps=2, anchor=False, smooth=0, skeleton="free").joints
    monkeypatch.setattr(lift_mod, "sample_fast", _corrupting("nan_window"))
    with pytest.warns(RuntimeWarning, match="degenerate geometry"):
        res = lift(kp, CAM, model=tiny, steps=2, anchor=False, smooth=0, skeleton="free")
    # window 0 = frames 0-15; frames 8-15 are also in window 1 and take its values alone
    assert np.isfinite(res.joints).all()
    assert np.abs(res.joints[16:] - ref[16:]).max() < 1e-9


# ---------------------------------------------------------------- missing data


def test_missing_data_everywhere_gives_finite_output_and_confidence_map(tiny):
    T = 40
    kp = CAM.project(walk(T=T))
    conf = np.ones((T, 22))
    kp[:5] = np.nan  # nobody in the first frames
    conf[20:26] = 0  # nor in a middle block
    kp[:, 15] = np.nan  # head never seen
    conf[:30, 20] = 0  # left wrist missing for most of the clip
    kp[::3, 7] = np.nan  # left ankle flickers
    conf[10, 3] = np.nan
    res, _ = run(kp, tiny, confidence=conf)
    sane(res)
    c = res.confidence
    assert c.shape == (T, 22)
    assert (c[:5] == 0).all() and (c[20:26] == 0).all() and (c[:, 15] == 0).all()
    assert (c[:30, 20] == 0).all() and (c[30:, 20] == 1).all()
    assert (c[::3, 7] == 0).all() and c[10, 3] == 0
    assert c[6, 0] == 1 and c[30, 12] == 1


def test_missing_data_with_resampling_and_partial_confidence(tiny):
    T = 30
    kp = CAM.project(walk(T=T))
    conf = np.full((T, 22), 0.6)
    conf[8:20] = 0
    res, _ = run(kp, tiny, confidence=conf, fps=24.0)
    sane(res)
    assert res.joints.shape == (T, 22, 3)
    assert (res.confidence[8:20] == 0).all() and np.allclose(res.confidence[:8], 0.6)


def test_far_outside_joints_become_missing(tiny):
    kp = CAM.project(walk())
    kp[3, 4] = [1e9, 5.0]
    res, msgs = run(kp, tiny)
    sane(res)
    assert res.confidence[3, 4] == 0 and any("treated as missing" in m for m in msgs)


# ---------------------------------------------------------------- argument checks


def _bad_cameras():
    K = CAM.K.numpy()
    below = np.eye(4)
    below[1, 3] = 1.0  # centre at y = -1
    down = np.array([[1.0, 0, 0, 0], [0, 0, 1, 0], [0, -1, 0, 2], [0, 0, 0, 1]])  # looks straight down from 2 m
    return [(Camera(K, below, (1280, 720)), "below the ground"), (Camera(K, down, (1280, 720)), "vertical")]


@pytest.mark.parametrize("i", [0, 1])
def test_bad_cameras_for_lift(tiny, i):
    cam, what = _bad_cameras()[i]
    with pytest.raises(ValueError, match=f"^cam: .*{what}"):
        lift(CAM.project(walk()), cam, model=tiny, steps=1)


@pytest.mark.parametrize(
    "kwargs, pattern",
    [
        (dict(keypoints=CAM.project(walk()) + 5000.0), "^keypoints: .*outside"),
        (dict(confidence=np.full((24, 22), np.inf)), "^confidence: .*infinite"),
        (dict(confidence=np.full((24, 22), -0.1)), "^confidence: "),
        (dict(fps=0.5), "^fps: "),
        (dict(fps=float("nan")), "^fps: "),
        (dict(fps=float("inf")), "^fps: "),
        (dict(fps="fast"), "^fps: "),
        (dict(fps=500.0), "^keypoints: .*fps"),
        (dict(steps=float("nan")), "^steps: "),
        (dict(steps=float("inf")), "^steps: "),
        (dict(seed=-1), "^seed: "),
        (dict(seed=1.5), "^seed: "),
        (dict(device="not-a-device"), "^device: "),
        (dict(model=3.5), "^model: "),
        (dict(model="/nonexistent/model.safetensors"), "^model: "),
        (dict(max_batch_windows=0), "^max_batch_windows: "),
        (dict(keypoints=np.zeros((0, 24, 22, 2))), "^keypoints: .*at least one clip"),
        (dict(keypoints=np.full((24, 22, 2), np.nan)), "^keypoints: .*no observed joint"),
        (dict(joint_format=None), "^joint_format: "),
    ],
)
def test_bad_arguments_name_themselves(tiny, kwargs, pattern):
    args = dict(keypoints=CAM.project(walk()), cam=CAM, steps=1, model=tiny)
    args.update(kwargs)
    with pytest.raises(ValueError, match=pattern):
        lift(**args)


@pytest.mark.parametrize(
    "K, T, size, pattern",
    [
        (np.diag([1e-9, 1e-9, 1.0]), None, (1280, 720), "^K: "),
        (np.array([[1e3, 0, 640], [0, 1.0, 360], [0, 0, 1]]), None, (1280, 720), "^K: "),
        (np.array([[1e3, 0, 640], [0, np.nan, 360], [0, 0, 1]]), None, (1280, 720), "^K: "),
        (None, np.diag([2.0, 2.0, 2.0, 1.0]), (1280, 720), "^T_w2c: .*rotation"),
        (None, np.diag([-1.0, -1.0, -1.0, 1.0]), (1280, 720), "^T_w2c: .*rotation"),
        (None, np.array([[1.0, 0, 0, 0], [0, 1, 0, 0], [0, 0, 1, 0], [0, 0, 1, 1]]), (1280, 720), "^T_w2c: .*last row"),
        (None, None, (600, 300), "^image_size: .*principal point"),
        (None, None, (float("inf"), 720), "^image_size: "),
        (None, None, (1280, 720, 3), "^image_size: "),
    ],
)
def test_camera_checks(K, T, size, pattern):
    K = CAM.K.numpy() if K is None else K
    T = CAM.T_w2c.numpy() if T is None else T
    with pytest.raises(ValueError, match=pattern):
        Camera(K, T, size)


def test_from_ground_checks():
    with pytest.raises(ValueError, match="^position_xz: "):
        Camera.from_ground(1000, 1000, 640, 360, (1280, 720), position_xz=(1.0,))
    with pytest.raises(ValueError, match="^pitch_deg: "):
        Camera.from_ground(1000, 1000, 640, 360, (1280, 720), pitch_deg="down")
    with pytest.raises(ValueError, match="^fx: "):
        Camera.from_ground(float("nan"), 1000, 640, 360, (1280, 720))
