"""numba DLT vs the SVD reference. Tolerance: 1e-6 relative to the point's distance from the
cameras' centroid for well-conditioned inputs (float64); degenerate inputs must not crash and
must agree wherever the reference itself is well determined."""

import numpy as np
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers import noisy_views, points_near, random_rig
from mocap_fast import triangulate
from mocap_fast.kernels.triangulate_numba import triangulate_numba
from mocap_fast.reference.camera import project, projection_matrix
from mocap_fast.reference.triangulation import triangulate_dlt

seeds = st.integers(0, 2**31 - 1)


@given(seeds, st.integers(2, 8), st.integers(1, 40), st.sampled_from([0.0, 0.5, 5.0]))
def test_numba_matches_reference(seed, V, N, noise):
    uv, P, w, X = noisy_views(seed, V, N, noise)
    ref = triangulate_dlt(uv, P.expand(N, V, 3, 4), w)
    out, cond = triangulate_numba(uv.numpy(), P[None].numpy(), np.zeros(N, dtype=np.int64), w.numpy())
    scale = X.norm(dim=-1, keepdim=True) + 1
    assert ((torch.from_numpy(out) - ref).abs() / scale).max() < 1e-6
    if noise == 0:
        assert (cond > 1e3).all()


@given(seeds)
def test_zero_weight_views_are_ignored(seed):
    uv, P, w, X = noisy_views(seed, 4, 8, 0.0)
    w[:, 2:] = 0
    uv[:, 2:] = 1e6  # garbage where the weight is zero
    out, _ = triangulate_numba(uv.numpy(), P[None].numpy(), np.zeros(8, dtype=np.int64), w.numpy())
    np.testing.assert_allclose(out, X.numpy(), atol=1e-6)


def test_near_parallel_rays_flagged_by_condition():
    gen = torch.Generator().manual_seed(0)
    K, T, _ = random_rig(gen, 2)
    # second camera almost at the first one's centre: rays nearly parallel
    T2 = T.clone()
    T2[1] = T[0].clone()
    T2[1, 0, 3] += 1e-4
    X = points_near(gen, (5,))
    uv = project(X[None].expand(2, 5, 3), K, T2).transpose(0, 1) + 0.5
    P = projection_matrix(K, T2)
    _, cond_bad = triangulate_numba(uv.numpy(), P[None].numpy(), np.zeros(5, dtype=np.int64), np.ones((5, 2)))
    uv_ok = project(X[None].expand(2, 5, 3), K, T).transpose(0, 1) + 0.5
    _, cond_ok = triangulate_numba(uv_ok.numpy(), projection_matrix(K, T)[None].numpy(), np.zeros(5, dtype=np.int64), np.ones((5, 2)))
    assert cond_bad.max() < cond_ok.min()


def test_inconsistent_observations_finite_and_accurate_for_their_conditioning():
    """Arbitrary observations (all at pixel (0, 0)): finite, and equal to the reference within
    ``1e-12 / (1 - 1 / cond)`` relative (eigenvector error ~ eps / eigenvalue gap; observed < 3e-15
    at cond 1.4-5.4)."""
    for seed in range(6):
        gen = torch.Generator().manual_seed(seed)
        K, T, _ = random_rig(gen, 3)
        P = projection_matrix(K, T)
        uv = torch.zeros(1, 3, 2, dtype=torch.float64)
        out, cond = triangulate_numba(uv.numpy(), P[None].numpy(), np.zeros(1, dtype=np.int64), np.ones((1, 3)))
        ref = triangulate_dlt(uv, P[None])
        assert np.isfinite(out).all() and torch.isfinite(ref).all()
        assert cond[0] >= 1  # lambda_2 / lambda_1, second-smallest over smallest
        err = np.abs(out - ref.numpy()).max() / (ref.norm().item() + 1)
        assert err < 1e-12 / max(1 - 1 / cond[0], 1e-300), (seed, cond[0], err)


@given(seeds)
def test_public_fast_backend_broadcasts_shared_cameras(seed):
    uv, P, w, _ = noisy_views(seed, 3, 12, 1.0)
    uv = uv.reshape(3, 4, 3, 2)
    fast = triangulate(uv, P, w.reshape(3, 4, 3), backend="fast")
    ref = triangulate(uv, P, w.reshape(3, 4, 3), backend="reference")
    torch.testing.assert_close(fast, ref, atol=1e-8, rtol=1e-8)

