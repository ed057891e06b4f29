"""estimate_camera: recover a known camera from synthetic upright motion; bad input raises ValueError."""

import math

import numpy as np
import pytest
import torch

from mocap_fast import Camera, estimate_camera
from mocap_fast.camera_estimation import ANKLE_RATIO, HEAD_RATIO, HEIGHT_PRIOR, NECK_RATIO, estimate_camera_details

SIZE = (1920, 1080)


def upright_walk(T: int = 60, stature: float = 1.70, depth=(-12.0, -4.0), seed: int = 0) -> np.ndarray:
    """``(T, 22, 3)`` an upright person walking from ``depth[0]`` to ``depth[1]`` (z) while crossing
    sideways; the joints the estimator reads sit at the heights of its body model, the rest near the body."""
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, T)
    x = -2.0 + 4.0 * t
    z = depth[0] + (depth[1] - depth[0]) * t
    X = np.zeros((T, 22, 3))
    X[..., 0] = x[:, None] + rng.normal(0, 0.1, 22)
    X[..., 2] = z[:, None] + rng.normal(0, 0.1, 22)
    X[..., 1] = stature * rng.uniform(0.1, 0.9, 22)
    for j, ratio in ((7, ANKLE_RATIO), (8, ANKLE_RATIO), (12, NECK_RATIO), (15, HEAD_RATIO), (4, 0.28), (5, 0.28),
                     (1, 0.53), (2, 0.53)):
        X[:, j, 0], X[:, j, 2], X[:, j, 1] = x, z, ratio * stature
    X[:, [1, 4, 7], 0] -= 0.1  # straight legs under the hips
    X[:, [2, 5, 8], 0] += 0.1
    return X


def true_camera(f=1100.0, height=2.2, pitch=-9.0, roll=2.5) -> Camera:
    return Camera.from_ground(f, f, SIZE[0] / 2, SIZE[1] / 2, SIZE, height=height, pitch_deg=pitch, roll_deg=roll)


def pose(cam: Camera):
    tilt, roll, h = (float(v) for v in cam.pose_embedding())
    return float(cam.K[0, 0]), h, math.degrees(tilt), math.degrees(roll)


CAMERAS = [(1100.0, 2.2, -9.0, 2.5), (700.0, 1.0, 3.0, -1.5), (1800.0, 3.0, -15.0, 0.0), (900.0, 1.6, -15.0, -2.0)]


@pytest.mark.parametrize("f,height,pitch,roll", CAMERAS)
def test_focal_known_recovers_pose(f, height, pitch, roll):
    cam = true_camera(f, height, pitch, roll)
    est = estimate_camera(cam.project(upright_walk()), SIZE, focal_px=f)
    fe, he, pe, re = pose(est)
    assert fe == pytest.approx(f) and abs(he - height) < 0.01 and abs(pe - pitch) < 0.3 and abs(re - roll) < 0.2, (he, pe, re)
    # the world convention of Camera.from_ground: above the origin, yaw 0 (optical axis in the y-z plane)
    assert torch.allclose(est.centre, torch.tensor([0.0, he, 0.0], dtype=torch.float64), atol=1e-9)
    assert abs(float(est.R[2, 0])) < 1e-9


@pytest.mark.parametrize("f,height,pitch,roll", [c for c in CAMERAS if c[1] > 1.0])
def test_focal_unknown_height_and_angles(f, height, pitch, roll):
    # the focal length is weakly observable (it leans on the 60 deg prior); height and roll are not.
    # A 1 m high camera looking up at a wide angle (CAMERAS[1]) is not recovered without the focal length.
    cam = true_camera(f, height, pitch, roll)
    est = estimate_camera_details(cam.project(upright_walk(depth=(-14.0, -3.0))), SIZE)
    assert abs(est.height - height) < 0.05 and abs(est.roll_deg - roll) < 0.5, est
    assert abs(est.pitch_deg - pitch) < 2.5 and abs(math.log(est.focal_px / f)) < 0.5, est


def test_steep_wide_camera_measures_focal():
    cam = true_camera(700.0, 3.0, -25.0, 1.0)
    est = estimate_camera_details(cam.project(upright_walk(depth=(-14.0, -3.0))), SIZE)
    assert est.focal_source == "geometry" and abs(est.focal_px / 700.0 - 1) < 0.08, est
    assert abs(est.height - 3.0) < 0.05 and abs(est.pitch_deg + 25.0) < 1.5, est


def test_focal_given_and_person_height_scale():
    cam = true_camera()
    X = upright_walk(stature=1.85)
    kp = cam.project(X)
    est = estimate_camera(kp, SIZE, focal_px=1100.0, person_height=1.85)
    fe, he, pe, re = pose(est)
    assert fe == pytest.approx(1100.0) and abs(he - 2.2) < 0.01 and abs(pe + 9.0) < 0.2
    # wrong stature prior: the height (scale) is off by the same ratio, the angles are not
    fe, he2, pe2, _ = pose(estimate_camera(kp, SIZE, focal_px=1100.0))
    assert he2 / he == pytest.approx(1.70 / 1.85, rel=0.03) and abs(pe2 - pe) < 0.5


def test_in_place_falls_back_to_prior_and_says_so():
    cam = true_camera()
    X = upright_walk(depth=(-8.0, -8.0))
    X[..., 0] = X[..., 0] * 0.0 + X[:1, :, 0]  # standing still
    est = estimate_camera_details(cam.project(X), SIZE)
    assert est.focal_source == "prior"
    assert abs(est.pitch_deg - -9.0) < 10 and 0.5 < est.height < 5


def test_coco17_torch_and_confidence():
    from mocap_fast.joints import from_smpl22

    cam = true_camera()
    kp = torch.as_tensor(cam.project(upright_walk()))
    conf = torch.ones(kp.shape[:2])
    conf[::3, 15] = 0  # some heads missing
    a = estimate_camera_details(kp, SIZE, confidence=conf)
    assert a.frames_used == kp.shape[0] - len(range(0, kp.shape[0], 3))
    coco = cam.project(from_smpl22(upright_walk(), "coco17"))
    b = estimate_camera(coco, SIZE, joint_format="coco17")
    assert isinstance(b, Camera) and b.image_size == SIZE


@pytest.mark.parametrize(
    "kwargs,match",
    [
        (dict(keypoints=np.zeros((10, 22))), "keypoints"),
        (dict(keypoints=np.zeros((0, 22, 2))), "keypoints"),
        (dict(image_size=(1920,)), "image_size"),
        (dict(image_size=(0, 1080)), "image_size"),
        (dict(focal_px=-5.0), "focal_px"),
        (dict(focal_px=float("nan")), "focal_px"),
        (dict(person_height=17.0), "person_height"),
        (dict(fps=0.0), "fps"),
        (dict(joint_format="mpii"), "format"),
        (dict(confidence=np.ones((3, 22))), "confidence"),
        (dict(keypoints=np.full((10, 22, 2), np.nan)), "keypoints"),
    ],
)
def test_bad_input(kwargs, match):
    args = dict(keypoints=true_camera().project(upright_walk(T=10)), image_size=SIZE)
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        estimate_camera(**args)


def test_cli_camera_auto(tmp_path, capsys):
    from mocap_fast.cli import main

    kp = true_camera().project(upright_walk(T=40))
    np.save(tmp_path / "kp.npy", kp)
    base = ["lift", str(tmp_path / "kp.npy"), "--camera", "auto", "--out", str(tmp_path / "o")]
    assert main(base + ["--quiet"]) == 2
    assert "image-size" in capsys.readouterr().err
    assert main(base + ["--image-size", "1920", "1080", "--fov", "0", "--quiet"]) == 2
    assert "fov" in capsys.readouterr().err
    assert main(base + ["--image-size", "1920", "1080", "--person-height", "1.7", "--steps", "1", "--force"]) == 0
    out = capsys.readouterr().out
    assert "camera auto: focal" in out and (tmp_path / "o" / "lifted.npz").exists()


def test_bent_frames_are_left_out():
    # a third of the frames squat (knees forward, head and neck lowered): the upright model must not read them
    cam = true_camera()
    X = upright_walk(T=90)
    bent = np.arange(0, 90, 3)
    Xb = X[bent]
    Xb[:, [12, 15], 1] -= 0.45
    Xb[:, [4, 5], 0] += 0.3
    Xb[:, [4, 5], 1] -= 0.1
    Xb[:, [0, 1, 2], 1] -= 0.4
    X[bent] = Xb
    est = estimate_camera_details(cam.project(X), SIZE, focal_px=1100.0)
    assert est.frames_used == 90 - len(bent), est
    assert abs(est.height - 2.2) < 0.01 and abs(est.pitch_deg + 9.0) < 0.2 and abs(est.roll_deg - 2.5) < 0.2, est


def test_one_depth_leans_on_height_prior(monkeypatch):
    # standing still: camera height and pitch trade off along a valley; the height prior pulls the
    # height towards HEIGHT_PRIOR, says so, and the fit stays on the valley (the feet's viewing angle)
    import mocap_fast.camera_estimation as ce

    cam = true_camera(f=1100.0, height=2.6, pitch=-10.0, roll=0.0)
    X = upright_walk(depth=(-8.0, -8.0))
    X[..., 0] = X[..., 0] * 0.0 + X[:1, :, 0]
    kp = cam.project(X)
    est = estimate_camera_details(kp, SIZE, focal_px=1100.0)
    assert est.height_source == "prior", est
    below = math.atan((2.6 - 0.105) / 8.0) + math.radians(-10.0)
    assert abs(below - math.atan((est.height - 0.105) / 8.0) - math.radians(est.pitch_deg)) < math.radians(1.0), est
    monkeypatch.setattr(ce, "HEIGHT_ROW", 0.0)
    free = estimate_camera_details(kp, SIZE, focal_px=1100.0)
    assert abs(est.height - HEIGHT_PRIOR) < abs(free.height - HEIGHT_PRIOR) - 0.03, (est, free)
