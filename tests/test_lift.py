"""lift() end to end on a tiny random-weight model (CPU)."""

import numpy as np
import pytest
import torch

from helpers import CAM, walk
from mocap_fast import Camera
from mocap_fast.lifting import lift


def test_shapes_kinds_and_world_frame(tiny):
    kp = CAM.project(walk())
    res = lift(kp, CAM, model=tiny, steps=5)
    assert isinstance(res.joints, np.ndarray) and res.joints.shape == (24, 22, 3)
    assert res.joints_cam.shape == (24, 22, 3) and res.views_2d.shape == (4, 24, 22, 2)
    assert len(res.cameras) == 4 and res.cameras[0].image_size == (1280, 720)
    assert np.isfinite(res.joints).all()
    np.testing.assert_allclose(CAM.to_camera(res.joints), res.joints_cam, atol=1e-6)
    torch.testing.assert_close(res.cameras[0].T_w2c, CAM.T_w2c, atol=1e-9, rtol=0)
    t = lift(torch.tensor(kp, dtype=torch.float32), CAM, model=tiny, steps=5)
    assert isinstance(t.joints, torch.Tensor) and t.joints.dtype == torch.float32
    np.testing.assert_allclose(t.joints.numpy(), res.joints, atol=1e-4)


def test_batch_matches_single(tiny):
    kps = np.stack([CAM.project(walk()), CAM.project(walk(offset=(0.5, -6.0)))])
    res = lift(kps, CAM, model=tiny, steps=4, seed=3)
    assert res.joints.shape == (2, 24, 22, 3) and res.views_2d.shape == (2, 4, 24, 22, 2)
    assert len(res.cameras) == 2 and len(res.cameras[0]) == 4
    one = lift(kps[1], CAM, model=tiny, steps=4, seed=4)  # clip b of a batch uses seed + b
    assert np.isfinite(one.joints).all()
    np.testing.assert_allclose(res.joints[1], one.joints, rtol=0, atol=1e-5)  # metres: float32 network rounding
    np.testing.assert_allclose(res.views_2d[1], one.views_2d, rtol=0, atol=1e-3)  # pixels
    first = lift(kps[0], CAM, model=tiny, steps=4, seed=3)
    np.testing.assert_allclose(res.joints[0], first.joints, rtol=0, atol=1e-5)


def test_deterministic_per_seed(tiny):
    kp = CAM.project(walk())
    a = lift(kp, CAM, model=tiny, steps=6, seed=7).joints
    b = lift(kp, CAM, model=tiny, steps=6, seed=7).joints
    c = lift(kp, CAM, model=tiny, steps=6, seed=8).joints
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-6


def test_fast_matches_reference_full_schedule(tiny):
    """Same seed and weights: the fast and reference loops agree to 1 mm (full 100-step DDPM)."""
    kp = CAM.project(walk(T=20))
    fast = lift(kp, CAM, model=tiny, backend="fast", seed=1).joints
    ref = lift(kp, CAM, model=tiny, backend="reference", seed=1).joints
    assert np.abs(fast - ref).max() < 1e-3


def test_horizontal_translation_of_scene_translates_output(tiny):
    X = walk()
    shift = np.array([2.0, 0.0, -1.5])
    cam2 = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=1.5, pitch_deg=-8, position_xz=(2.0, -1.5))
    a = lift(CAM.project(X), CAM, model=tiny, steps=5).joints
    b = lift(cam2.project(X + shift), cam2, model=tiny, steps=5).joints
    np.testing.assert_allclose(b, a + shift, atol=1e-4)


def test_long_sequence_windows_blend_without_seam(tiny, monkeypatch):
    """Windows whose outputs disagree (a stub sampler: one fixed pose, odd windows 0.4 m to the side)
    blend without a jump: every frame-to-frame step stays under 0.4 m / ramp (the tent's ramp is
    window // 4 frames; observed 0.065 m). A hard switch at a window edge steps by 0.2 m."""
    import mocap_fast.lifting as lift_mod
    from mocap_fast.model.config import TINY

    def stub(model, problem, steps, seed, backend, progress=None):
        n, w = problem.observed.shape[:2]
        off = torch.zeros(n, 1, 1, 3)
        off[1::2, 0, 0, 0] = 0.4
        return torch.tensor(walk(T=1)[0], dtype=torch.float32).expand(n, w, 22, 3) + off

    X = walk(T=50)
    res = lift(CAM.project(X), CAM, model=tiny, steps=3)
    assert res.joints.shape == (50, 22, 3) and np.isfinite(res.joints).all()
    monkeypatch.setattr(lift_mod, "sample_fast", stub)
    out = lift(CAM.project(X), CAM, model=tiny, steps=1, smooth=0, anchor=False).joints
    step = np.linalg.norm(np.diff(out, axis=0), axis=-1).max()
    assert 0 < step < 0.4 / (TINY.window // 4), step


def test_missing_joints_and_other_fps(tiny):
    kp = CAM.project(walk(T=30))
    conf = np.ones(kp.shape[:-1])
    kp[5:12, 4] = np.nan
    conf[:, 10] = 0
    res = lift(kp, CAM, confidence=conf, model=tiny, steps=3, fps=25.0)
    assert res.joints.shape == (30, 22, 3) and np.isfinite(res.joints).all()
    assert res.confidence[6, 4] == 0 and res.confidence[0, 10] == 0 and res.confidence[0, 0] == 1


def test_coco_input(tiny):
    from mocap_fast.joints import from_smpl22

    coco = CAM.project(from_smpl22(walk(), "coco17"))
    res = lift(coco, CAM, joint_format="coco17", model=tiny, steps=3)
    assert res.joints.shape == (24, 22, 3) and np.isfinite(res.joints).all()


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(keypoints=np.zeros((24, 21, 2))), "keypoints"),
        (dict(keypoints=np.zeros((24, 22))), "keypoints"),
        (dict(keypoints=np.zeros((3, 22, 2))), "keypoints"),
        (dict(keypoints=np.full((24, 22, 2), np.nan)), "keypoints"),
        (dict(cam="camera"), "cam"),
        (dict(joint_format="openpose"), "joint_format"),
        (dict(confidence=np.full((24, 22), 2.0)), "confidence"),
        (dict(confidence=np.ones((23, 22))), "confidence"),
        (dict(fps=0), "fps"),
        (dict(steps=0), "steps"),
        (dict(backend="cuda"), "backend"),
        (dict(cam=Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=1.5, pitch_deg=60)), "cam"),
    ],
)
def test_bad_input_names_the_argument(tiny, kwargs, name):
    args = dict(keypoints=CAM.project(walk()), cam=CAM, steps=2)
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{name}"):
        lift(model=tiny, **args)


def test_foot_lock_option_post_processes_world_joints(tiny):
    from mocap_fast.footlock import foot_lock
    from mocap_fast.skeleton_fit import bone_lengths

    kp = CAM.project(walk(T=40))
    plain = lift(kp, CAM, model=tiny, steps=3)
    locked = lift(kp, CAM, model=tiny, steps=3, foot_lock=True)
    # the lock runs after the one-skeleton fit, with the observation, and keeps every bone's length
    np.testing.assert_allclose(locked.joints, foot_lock(plain.joints, plain.fps, keypoints=kp, camera=CAM)[0], atol=1e-6)
    lengths = bone_lengths(torch.from_numpy(locked.joints).double())
    np.testing.assert_allclose(lengths, lengths[:1].expand_as(lengths), atol=1e-6)
    np.testing.assert_allclose(CAM.to_camera(locked.joints), locked.joints_cam, atol=1e-6)
    np.testing.assert_allclose(locked.views_2d[0], CAM.project(locked.joints), atol=1e-4)


def test_smooth_is_a_gaussian_in_time_of_the_unfiltered_output(tiny):
    import torch as _torch

    from mocap_fast.lifting import _gaussian_in_time

    kp = CAM.project(walk(T=40))
    raw = lift(kp, CAM, model=tiny, steps=3, smooth=0, skeleton="free").joints
    out = lift(kp, CAM, model=tiny, steps=3, skeleton="free").joints  # default smooth = 1 frame; no skeleton fit after it
    ref = _gaussian_in_time(_torch.from_numpy(raw)[None], 1.0)[0].numpy()
    np.testing.assert_allclose(out, ref, atol=1e-9)
    line = _torch.linspace(0, 1, 50, dtype=_torch.float64)[None, :, None, None].expand(1, 50, 22, 3)
    torch.testing.assert_close(_gaussian_in_time(line, 2.0)[:, 6:-6], line[:, 6:-6])  # keeps constant velocity
    for bad in (-1.0, float("nan"), 100.0, "1"):
        with pytest.raises(ValueError, match="smooth"):
            lift(kp, CAM, model=tiny, steps=3, smooth=bad)


def test_samples_average_the_window_draws(tiny):
    """samples=2 is the mean of the window's two draws; draw 1 of the first window is what seed
    ``_window_seed(seed, 0, 1)`` gives alone (anchor, filter and skeleton fit off: the rest is linear)."""
    from mocap_fast.lifting import _window_seed

    kp = CAM.project(walk())
    raw = dict(model=tiny, steps=3, anchor=False, smooth=0, skeleton="free")
    two = lift(kp, CAM, seed=5, samples=2, **raw).joints
    a = lift(kp, CAM, seed=5, **raw).joints
    b = lift(kp, CAM, seed=_window_seed(5, 0, 1), **raw).joints
    assert np.abs(a - b).max() > 1e-3  # metres: the draws differ
    np.testing.assert_allclose(two, (a + b) / 2, rtol=0, atol=1e-5)  # metres: float32 network rounding
    np.testing.assert_array_equal(lift(kp, CAM, seed=5, samples=1, **raw).joints, a)
    with pytest.raises(ValueError, match="samples"):
        lift(kp, CAM, samples=0, **raw)
    from dataclasses import replace

    res = lift(kp, CAM, seed=5, **{**raw, "model": replace(tiny, samples=2)})  # samples=None: the model's recommendation
    assert res.samples == 2
    np.testing.assert_array_equal(res.joints, two)
