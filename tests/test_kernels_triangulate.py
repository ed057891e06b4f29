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



@given(seeds, st.integers(2, 6), st.integers(1, 300))
def test_float32_input_gives_its_float64_copys_result(seed, V, N):
    """float32 points, per-point cameras and weights go into the kernels as they are and are widened
    before any arithmetic: the same result as the float64 copies, rounded to float32 (exactly); a
    ``None`` camera index or weights is the same as an explicit one."""
    uv, P, w, _ = noisy_views(seed, V, N, 1.0)
    u32, P32, w32 = uv.float().numpy(), P.expand(N, V, 3, 4).float().contiguous().numpy(), w.float().numpy()
    u64, P64, w64 = (a.astype(np.float64) for a in (u32, P32, w32))
    for condition in (False, True):
        out32, cond32 = triangulate_numba(u32, P32, None, w32, condition=condition)
        out64, cond64 = triangulate_numba(u64, P64, np.arange(N), w64, condition=condition)
        assert out32.dtype == np.float32 and out64.dtype == np.float64
        np.testing.assert_array_equal(out32, out64.astype(np.float32))
        if condition:
            np.testing.assert_array_equal(cond32, cond64)
        ones, _ = triangulate_numba(u32, P32, None, None, condition=condition)
        explicit, _ = triangulate_numba(u32, P32, np.arange(N), np.ones((N, V), np.float32), condition=condition)
        np.testing.assert_array_equal(ones, explicit)


def test_flat_op_keeps_float32_and_takes_bfloat16():
    """The CPU ``"triangulate"`` op returns float32 for float32 input (no float64 round trip) and
    reads bfloat16 (which numpy lacks) instead of failing, which would retire it for the process."""
    from mocap_fast.kernels.triangulate_numba import triangulate_flat

    uv, P, w, X = noisy_views(3, 3, 20, 0.0)
    out = triangulate_flat(uv.float(), P[None].float(), None, w.float())
    assert out.dtype == torch.float32
    torch.testing.assert_close(out.double(), X, atol=1e-3, rtol=1e-4)
    out_bf = triangulate_flat(uv.bfloat16(), P[None].bfloat16(), None, None)
    assert out_bf.dtype == torch.float64 and torch.isfinite(out_bf).all()
