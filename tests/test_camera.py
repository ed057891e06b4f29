import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers import random_rig
from mocap_fast import Camera
from mocap_fast.reference.camera import (
    ground_pointmap,
    look_at,
    normalized_intrinsics,
    normalized_to_pixels,
    pixels_to_normalized,
    pose_embedding,
    project,
)

angles = st.floats(-60, 60)


def test_from_ground_axes():
    cam = Camera.from_ground(1000, 1000, 960, 540, (1920, 1080), height=1.5, pitch_deg=0.0)
    # straight ahead, at camera height, lands on the principal point
    uv = cam.project(np.array([0.0, 1.5, -5.0]))
    np.testing.assert_allclose(uv, [960, 540], atol=1e-9)
    # world +x is image right, world +y is image up
    assert cam.project(np.array([1.0, 1.5, -5.0]))[0] > 960
    assert cam.project(np.array([0.0, 2.5, -5.0]))[1] < 540
    np.testing.assert_allclose(cam.centre.numpy(), [0, 1.5, 0], atol=1e-12)


@given(angles, st.floats(-20, 20), st.floats(-180, 180), st.floats(0.3, 5))
def test_pose_embedding_recovers_from_ground(pitch, roll, yaw, height):
    cam = Camera.from_ground(900, 900, 640, 360, (1280, 720), height=height, pitch_deg=pitch, roll_deg=roll, yaw_deg=yaw)
    tilt, r, h = cam.pose_embedding().tolist()
    assert math.degrees(tilt) == pytest.approx(pitch, abs=1e-7)
    assert math.degrees(r) == pytest.approx(roll, abs=1e-7)
    assert h == pytest.approx(height, abs=1e-12)


@given(st.integers(0, 2**31 - 1))
def test_look_at_centres_target(seed):
    gen = torch.Generator().manual_seed(seed)
    K, T, size = random_rig(gen, 4)
    target = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64)
    # the rig looks at a jittered target; re-aim exactly at `target` and check the principal point
    centre = -(T[..., :3, :3].transpose(-1, -2) @ T[..., :3, 3:]).squeeze(-1)
    T2 = look_at(centre, target.expand_as(centre))
    uv = project(target.expand(4, 1, 3), K, T2)[:, 0]
    torch.testing.assert_close(uv, K[:, :2, 2], atol=1e-6, rtol=0)
    assert pose_embedding(T2)[:, 1].abs().max() < 1e-9  # zero roll


@given(st.integers(0, 2**31 - 1))
def test_normalized_intrinsics_match_pixels(seed):
    gen = torch.Generator().manual_seed(seed)
    K, T, size = random_rig(gen, 3)
    X = torch.randn(3, 7, 3, generator=gen, dtype=torch.float64) * 0.5 + torch.tensor([0, 1.0, 0], dtype=torch.float64)
    px = project(X, K, T)
    g = project(X, normalized_intrinsics(K, size), T)
    torch.testing.assert_close(pixels_to_normalized(px, size), g, rtol=0, atol=1e-9)
    torch.testing.assert_close(normalized_to_pixels(g, size), px, rtol=0, atol=1e-6)


@pytest.mark.parametrize("size", [(1920, 1080), (1080, 1920), (640, 640)])
def test_canvas_normalised_range(size):
    W, H = size
    corners = torch.tensor([[[0.0, 0.0], [W, H]]], dtype=torch.float64)
    g = pixels_to_normalized(corners, torch.tensor([W, H], dtype=torch.float64))[0]
    side = max(W, H)
    torch.testing.assert_close(g[0], torch.tensor([(side - W) / side - 1, (side - H) / side - 1], dtype=torch.float64))
    torch.testing.assert_close(g[1], -g[0])


@given(st.floats(-60, -5), st.floats(-10, 10), st.floats(0.5, 4), st.integers(4, 40))
def test_pointmap_on_ground_and_reprojects(pitch, roll, height, res):
    cam = Camera.from_ground(800, 800, 640, 360, (1280, 720), height=height, pitch_deg=pitch, roll_deg=roll)
    pm = cam.ground_pointmap(res)
    assert pm.shape == (res, res, 3)
    hit = pm.abs().sum(-1) > 0
    assert hit.any()
    assert pm[..., 1].abs().max() < 1e-9
    # hits are in front of the camera and project back to the grid's pixel centres
    side, off = 1280.0, torch.tensor([0.0, 280.0], dtype=torch.float64)
    idx = (torch.arange(res, dtype=torch.float64) + 0.5) * side / res
    grid = torch.stack(torch.meshgrid(idx, idx, indexing="xy"), -1) - off
    uv = cam.project(pm[hit])
    torch.testing.assert_close(uv, grid[hit], atol=1e-5, rtol=0)
    assert (cam.to_camera(pm[hit])[:, 2] > 0).all()


def test_pointmap_zero_when_looking_up():
    cam = Camera.from_ground(800, 800, 640, 360, (1280, 720), height=1.0, pitch_deg=70)
    assert not cam.sees_ground()
    assert ground_pointmap(cam.K, cam.T_w2c, cam.size_tensor, 16).abs().max() == 0


def test_batched_pointmap_matches_single():
    cams = [Camera.from_ground(800, 800, 640, 360, (1280, 720), pitch_deg=p) for p in (-10, -30)]
    K = torch.stack([c.K for c in cams])
    T = torch.stack([c.T_w2c for c in cams])
    size = torch.stack([c.size_tensor for c in cams])
    pm = ground_pointmap(K, T, size, 12)
    for i, c in enumerate(cams):
        torch.testing.assert_close(pm[i], c.ground_pointmap(12))


def test_project_returns_input_kind():
    cam = Camera.from_ground(800, 800, 640, 360, (1280, 720))
    X = np.zeros((5, 4, 3)) + [0, 1, -3]
    assert isinstance(cam.project(X), np.ndarray) and cam.project(X).shape == (5, 4, 2)
    Xt = torch.tensor(X, dtype=torch.float32)
    out = cam.project(Xt)
    assert isinstance(out, torch.Tensor) and out.dtype == torch.float32


def test_dict_round_trip():
    cam = Camera.from_ground(800, 810, 640, 360, (1280, 720), height=2.0, pitch_deg=-15, roll_deg=2)
    cam2 = Camera.from_dict(cam.to_dict())
    torch.testing.assert_close(cam2.K, cam.K)
    torch.testing.assert_close(cam2.T_w2c, cam.T_w2c)
    assert cam2.image_size == cam.image_size


@pytest.mark.parametrize(
    "kwargs, name",
    [
        (dict(K=np.eye(2)), "K"),
        (dict(K=np.diag([np.nan, 1, 1])), "K"),
        (dict(K=np.diag([-5.0, 5, 1])), "K"),
        (dict(T_w2c=np.eye(3)), "T_w2c"),
        (dict(T_w2c=np.diag([2.0, 1, 1, 1])), "T_w2c"),
        (dict(T_w2c=np.diag([-1.0, 1, 1, 1])), "T_w2c"),
        (dict(image_size=(0, 10)), "image_size"),
        (dict(image_size="big"), "image_size"),
        (dict(image_size=(100, 100)), "image_size"),  # principal point (640, 360) outside
    ],
)
def test_camera_rejects_bad_arguments(kwargs, name):
    args = dict(K=np.array([[800.0, 0, 640], [0, 800, 360], [0, 0, 1]]), T_w2c=np.eye(4), image_size=(1280, 720))
    args.update(kwargs)
    with pytest.raises(ValueError, match=f"^{name}"):
        Camera(**args)


@pytest.mark.parametrize("kwargs, name", [(dict(height=-1), "height"), (dict(pitch_deg=95), "pitch_deg"), (dict(roll_deg=float("nan")), "roll_deg")])
def test_from_ground_rejects_bad_arguments(kwargs, name):
    with pytest.raises(ValueError, match=f"^{name}"):
        Camera.from_ground(800, 800, 640, 360, (1280, 720), **kwargs)
