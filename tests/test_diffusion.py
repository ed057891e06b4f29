import math

import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers import random_rig
from mocap_fast.reference.diffusion import cosine_schedule, ddim_step, posterior_step, q_sample, world_noise


def test_cosine_schedule_values():
    s = cosine_schedule(100)
    f = lambda u: math.cos((u / 100 + 0.008) / 1.008 * math.pi / 2) ** 2  # noqa: E731
    assert float(s.alphas_cumprod[0]) == pytest.approx(f(1) / f(0))
    assert float(s.alphas_cumprod[49]) == pytest.approx(f(50) / f(0))
    assert float(s.betas.max()) <= 0.999
    assert (s.alphas_cumprod[1:] < s.alphas_cumprod[:-1]).all()
    assert float(s.alphas_cumprod[-1]) < 1e-3


@given(st.integers(0, 2**31 - 1))
def test_world_noise_is_consistent_across_views(seed):
    gen = torch.Generator().manual_seed(seed)
    _, T, _ = random_rig(gen, 4, batch=(2,))
    R = T[..., :3, :3]
    n = world_noise(R, (2, 7, 46), torch.Generator().manual_seed(seed))
    assert n.shape == (2, 4, 7, 46)
    # rebuild the 3D noise from views 0 and 1 (4 equations, 3 unknowns): exact, and it explains views 2, 3
    pairs = n.unflatten(-1, (23, 2))  # [B, V, T, K, 2]
    A = torch.cat([R[:, 0, :2], R[:, 1, :2]], dim=-2)  # [B, 4, 3]
    rhs = torch.cat([pairs[:, 0], pairs[:, 1]], dim=-1)  # [B, T, K, 4]
    n3 = torch.linalg.lstsq(A[:, None, None].expand(2, 7, 23, 4, 3), rhs.unsqueeze(-1)).solution.squeeze(-1)
    for v in (2, 3):
        pred = torch.einsum("bij,btkj->btki", R[:, v, :2], n3)
        torch.testing.assert_close(pred, pairs[:, v], atol=1e-9, rtol=0)


def test_world_noise_is_standard_normal_per_view():
    gen = torch.Generator().manual_seed(0)
    _, T, _ = random_rig(gen, 4)
    n = world_noise(T[None, :, :3, :3], (1, 4000, 46), torch.Generator().manual_seed(1))
    for v in range(4):
        x = n[0, v].reshape(-1, 2)
        assert x.mean(0).abs().max() < 0.02
        torch.testing.assert_close(torch.cov(x.T), torch.eye(2, dtype=torch.float64), atol=0.03, rtol=0)


def test_world_noise_deterministic():
    R = torch.eye(3, dtype=torch.float64).expand(1, 2, 3, 3)
    a = world_noise(R, (1, 3, 4), torch.Generator().manual_seed(5))
    b = world_noise(R, (1, 3, 4), torch.Generator().manual_seed(5))
    torch.testing.assert_close(a, b)
    torch.testing.assert_close(a[:, 0], a[:, 1])  # identical cameras see identical noise


@given(st.integers(0, 99))
def test_posterior_with_true_x0_is_unbiased(step):
    """If the model predicts the true x0, averaging posterior samples from q(x_s|x0) gives q(x_{s-1}|x0)'s mean."""
    s = cosine_schedule(100)
    gen = torch.Generator().manual_seed(step)
    x0 = torch.randn(1, 8, dtype=torch.float64, generator=gen).expand(20000, 8)
    x_t = q_sample(x0, torch.full((20000,), step), torch.randn(20000, 8, generator=gen, dtype=torch.float64), s)
    x_prev = posterior_step(x_t, x0, step, torch.randn(20000, 8, generator=gen, dtype=torch.float64), s)
    want = s.alphas_cumprod_prev[step].sqrt() * x0[0]
    assert (x_prev.mean(0) - want).abs().max() < 0.05
    want_std = (1 - s.alphas_cumprod_prev[step]).sqrt()
    assert (x_prev.std(0) - want_std).abs().max() < 0.05


def test_step_zero_returns_x0_and_ddim_deterministic():
    s = cosine_schedule(100)
    x0 = torch.randn(3, 5, dtype=torch.float64)
    x_t = torch.randn(3, 5, dtype=torch.float64)
    torch.testing.assert_close(posterior_step(x_t, x0, 0, torch.randn(3, 5, dtype=torch.float64), s), x0)
    torch.testing.assert_close(ddim_step(x_t, x0, 10, -1, None, s), x0)
    # DDIM (eta 0) from q_sample(x0, eps) with the true x0 lands exactly on q_sample(x0, eps) at the earlier step
    eps = torch.randn(3, 5, dtype=torch.float64)
    xt = q_sample(x0, torch.full((3,), 60), eps, s)
    torch.testing.assert_close(ddim_step(xt, x0, 60, 30, None, s), q_sample(x0, torch.full((3,), 30), eps, s))
