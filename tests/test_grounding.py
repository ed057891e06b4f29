"""Ground anchoring: keeps every joint on its camera ray, puts the feet on the ground, knows its limits."""

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
