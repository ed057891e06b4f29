"""Ground anchoring: keeps every joint on its camera ray, puts the feet on the ground, knows its limits."""

import pytest
import torch
from hypothesis import given, strategies as st

from mocap_fast import grounding
from mocap_fast.grounding import ground_anchor


def _walk(gen, T=40, lift_m=0.0):
    """A stick figure ``[1, T, 22, 3]`` whose lowest foot joint sits at CONTACT_HEIGHT + lift_m."""
    X = torch.zeros(1, T, 22, 3, dtype=torch.float64)
    X[..., 1] = 0.2 + 1.4 * torch.rand(1, T, 22, generator=gen, dtype=torch.float64)
    X[..., [0, 2]] = 0.3 * torch.randn(1, T, 22, 2, generator=gen, dtype=torch.float64)
    X[..., [7, 8, 11], 1] = grounding.CONTACT_HEIGHT + lift_m + 0.1
    X[..., 10, 1] = grounding.CONTACT_HEIGHT + lift_m
    X[..., 2] -= 5.0
    return X


@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.75, 1.3), cam_h=st.floats(1.0, 4.0))
def test_undoes_a_depth_scale_and_keeps_rays(seed, scale, cam_h):
    gen = torch.Generator().manual_seed(seed)
    truth = _walk(gen)
    centre = torch.tensor([[0.3, cam_h, 0.2]], dtype=torch.float64)
    c = centre[:, None, None]
    wrong = c + scale * (truth - c)  # same rays, wrong depth
    fixed, s = ground_anchor(wrong, centre)
    torch.testing.assert_close(fixed, truth, atol=1e-9, rtol=0)
    torch.testing.assert_close(s, torch.tensor([1 / scale], dtype=torch.float64))
    rays = lambda X: torch.nn.functional.normalize(X - c, dim=-1)  # noqa: E731
    torch.testing.assert_close(rays(fixed), rays(wrong), atol=1e-12, rtol=0)


def test_leaves_motion_alone_without_leverage():
    gen = torch.Generator().manual_seed(0)
    X = _walk(gen)
    for cam_h in (0.1, grounding.CONTACT_HEIGHT + 0.2):  # camera at foot level, or below the lever
        out, s = ground_anchor(X * 1.2, torch.tensor([[0.0, cam_h, 0.0]], dtype=torch.float64))
        assert s.item() == 1.0
        torch.testing.assert_close(out, X * 1.2)


def test_scale_is_clamped_and_batched():
    gen = torch.Generator().manual_seed(1)
    X = torch.cat([_walk(gen, lift_m=1.5), _walk(gen)])  # first motion's feet float 1.5 m up
    centre = torch.tensor([[0.0, 2.0, 0.0], [0.0, 2.0, 0.0]], dtype=torch.float64)
    out, s = ground_anchor(X, centre)
    assert s[0].item() == grounding.SCALE_RANGE[1]  # would need x4.2: clamped
    torch.testing.assert_close(s[1], torch.tensor(1.0, dtype=torch.float64))
    assert torch.isfinite(out).all()


@given(seed=st.integers(0, 2**31 - 1), cam_h=st.floats(1.0, 4.0))
def test_smooth_anchor_undoes_a_slowly_varying_depth_scale_on_rays(seed, cam_h):
    """A depth scale drifting 0.8 -> 1.25 over 4 s comes back within 2 % of the truth per frame
    (the Hann smoothing of a linear ramp is exact away from the edges; the 1/s curvature is not),
    every joint stays on its ray, and the scale curve is smooth (second difference < 1e-3)."""
    from mocap_fast.grounding import smooth_ground_anchor

    gen = torch.Generator().manual_seed(seed)
    T = 120
    truth = _walk(gen, T=T)
    centre = torch.tensor([[0.3, cam_h, 0.2]], dtype=torch.float64)
    c = centre[:, None, None]
    drift = torch.linspace(0.8, 1.25, T, dtype=torch.float64)[None, :, None, None]
    wrong = c + drift * (truth - c)
    fixed, k = smooth_ground_anchor(wrong, centre)
    assert k.shape == (1, T)
    torch.testing.assert_close(k * drift[..., 0, 0], torch.ones(1, T, dtype=torch.float64), atol=0.02, rtol=0)
    rays = lambda X: torch.nn.functional.normalize(X - c, dim=-1)  # noqa: E731
    torch.testing.assert_close(rays(fixed), rays(wrong), atol=1e-12, rtol=0)
    assert (k[0, 2:] - 2 * k[0, 1:-1] + k[0, :-2]).abs().max() < 1e-3


def test_smooth_anchor_ignores_short_flights_and_low_cameras():
    from mocap_fast.grounding import smooth_ground_anchor

    gen = torch.Generator().manual_seed(3)
    X = _walk(gen, T=90)
    X[:, 40:48, :, 1] += 0.4  # a 0.27 s jump: both feet 40 cm up
    centre = torch.tensor([[0.0, 1.6, 0.0]], dtype=torch.float64)
    out, k = smooth_ground_anchor(X, centre)
    torch.testing.assert_close(k, torch.ones_like(k), atol=1e-9, rtol=0)  # the median ignores the jump
    torch.testing.assert_close(out, X)
    low, k_low = smooth_ground_anchor(X * 1.2, torch.tensor([[0.0, 0.1, 0.0]], dtype=torch.float64))
    torch.testing.assert_close(k_low, torch.ones_like(k_low))  # camera at foot level: no leverage
    short, _ = smooth_ground_anchor(X[:, :5], centre)  # shorter than the filters: edges replicated
    assert short.shape == (1, 5, 22, 3) and torch.isfinite(short).all()


def _ray_case(gen, scale, cam_h, T=40):
    """Truth: a vertical figure (pelvis straight above the ankles) whose ankles (7, 8) stand at
    ANKLE_HEIGHT; its keypoints seen by a level camera at height ``cam_h`` (so pelvis and ankles share
    a camera depth); the same figure scaled by ``scale`` about the camera centre (same rays, wrong depth)."""
    from mocap_fast import Camera
    from mocap_fast.rig import ANKLE_HEIGHT

    X = _walk(gen, T)
    X[..., [7, 8], 1] = ANKLE_HEIGHT
    X[..., [7, 8], 0] = X[..., [0], 0]
    X[..., [7, 8], 2] = X[..., [0], 2]  # ankles under the pelvis: the flat figure's depth is exact
    cam = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=cam_h, pitch_deg=0)
    kp = cam.project(X[0].reshape(-1, 3)).reshape(1, T, 22, 2)
    centre = torch.linalg.inv(cam.T_w2c)[:3, 3].to(X)
    wrong = centre + scale * (X - centre)
    return X, wrong, kp, cam, centre


@given(seed=st.integers(0, 2**31 - 1), scale=st.floats(0.75, 1.3), cam_h=st.floats(1.0, 4.0),
       weights=st.sampled_from([grounding.RAY_WEIGHTS, (1.0, 0.0), (0.0, 1.0)]))
def test_ray_anchor_moves_the_depth_towards_both_ray_depths_and_keeps_rays(seed, scale, cam_h, weights):
    X, wrong, kp, cam, centre = _ray_case(torch.Generator().manual_seed(seed), scale, cam_h)
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(grounding, "RAY_WEIGHTS", weights)
        fixed, k = grounding.ray_ground_anchor(wrong, kp, torch.ones(kp.shape[:-1]), cam.K[None], cam.T_w2c[None])
    expected = 1 + sum(weights) * (1 / scale - 1)  # both ray depths are exact here; the lifted one keeps its share
    torch.testing.assert_close(k, torch.full_like(k, expected), atol=1e-9, rtol=0)
    torch.testing.assert_close(fixed, centre + expected * (wrong - centre), atol=1e-9, rtol=0)
    if sum(weights) == 1.0:
        torch.testing.assert_close(fixed, X, atol=1e-9, rtol=0)
    rays = lambda P: torch.nn.functional.normalize(P - centre, dim=-1)  # noqa: E731
    torch.testing.assert_close(rays(fixed), rays(wrong), atol=1e-12, rtol=0)


def test_ray_anchor_fills_frames_without_a_ray_and_keeps_the_lifted_depth_without_any():
    X, wrong, kp, cam, _ = _ray_case(torch.Generator().manual_seed(1), 1.2, 2.0)
    conf = torch.ones(kp.shape[:-1])
    conf[:, 10:20, [7, 8]] = 0  # no ankle seen in frames 10-19: the neighbours' scale holds
    fixed, k = grounding.ray_ground_anchor(wrong, kp, conf, cam.K[None], cam.T_w2c[None])
    assert torch.isfinite(fixed).all()
    torch.testing.assert_close(k, torch.full_like(k, 1 + sum(grounding.RAY_WEIGHTS) * (1 / 1.2 - 1)), atol=1e-9, rtol=0)
    conf[:] = 0
    kept, k = grounding.ray_ground_anchor(wrong, kp, conf, cam.K[None], cam.T_w2c[None])
    torch.testing.assert_close(k, torch.ones_like(k), atol=1e-12, rtol=0)
    torch.testing.assert_close(kept, wrong, atol=1e-12, rtol=0)
