"""Reference DLT and the public ``triangulate``. Tolerance: exact projections from well-conditioned
rigs are recovered to 1e-4 relative (float64 input) / 1e-3 relative (float32 pixels)."""

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers import points_near, random_rig
from mocap_fast import triangulate
from mocap_fast.reference.camera import project, projection_matrix
from mocap_fast.reference.triangulation import dlt_rows, triangulate_dlt, triangulation_angle

seeds = st.integers(0, 2**31 - 1)


def views_of(X, K, T):
    """Project ``X [N, 3]`` into V cameras: ``[N, V, 2]``, and ``P [V, 3, 4]``."""
    uv = project(X[None].expand(K.shape[0], *X.shape), K, T)  # [V, N, 2]
    return uv.transpose(0, 1), projection_matrix(K, T)


@given(seeds, st.integers(2, 8))
def test_recovers_exact_projections(seed, V):
    gen = torch.Generator().manual_seed(seed)
    K, T, _ = random_rig(gen, V)
    X = points_near(gen, (64,))
    uv, P = views_of(X, K, T)
    out = triangulate_dlt(uv, P.expand(64, V, 3, 4))
    assert ((out - X).norm(dim=-1) / X.norm(dim=-1)).max() < 1e-4


@given(seeds)
def test_weights_scale_invariant_and_zero_weight_ignores_view(seed):
    gen = torch.Generator().manual_seed(seed)
    K, T, _ = random_rig(gen, 4)
    X = points_near(gen, (16,))
    uv, P = views_of(X, K, T)
    P = P.expand(16, 4, 3, 4)
    w = torch.rand(16, 4, generator=gen, dtype=torch.float64) + 0.1
    torch.testing.assert_close(triangulate_dlt(uv, P, w), triangulate_dlt(uv, P, 7.5 * w))
    bad = uv.clone()
    bad[:, 3] += 200.0  # corrupt view 3, then give it zero weight
    w0 = torch.tensor([1.0, 1.0, 1.0, 0.0], dtype=torch.float64).expand(16, 4)
    torch.testing.assert_close(triangulate_dlt(bad, P, w0), X, atol=1e-6, rtol=0)


def test_rows_are_the_authors_layout():
    P = torch.arange(24, dtype=torch.float64).reshape(2, 3, 4)
    uv = torch.tensor([[2.0, 3.0], [5.0, 7.0]], dtype=torch.float64)
    A = dlt_rows(uv, P, torch.tensor([1.0, 0.5], dtype=torch.float64))
    torch.testing.assert_close(A[0], 2 * P[0, 2] - P[0, 0])
    torch.testing.assert_close(A[1], 3 * P[0, 2] - P[0, 1])
    torch.testing.assert_close(A[3], 0.5 * (7 * P[1, 2] - P[1, 1]))


@given(seeds)
def test_public_matches_reference_and_kinds(seed):
    gen = torch.Generator().manual_seed(seed)
    K, T, _ = random_rig(gen, 3)
    X = points_near(gen, (2, 5))
    uv = project(X.reshape(1, 10, 3).expand(3, 10, 3), K, T).transpose(0, 1).reshape(2, 5, 3, 2)
    P = projection_matrix(K, T)  # broadcast over the (2, 5) leading dims
    out_np = triangulate(uv.numpy(), P.numpy())
    assert isinstance(out_np, np.ndarray) and out_np.shape == (2, 5, 3)
    np.testing.assert_allclose(out_np, X.numpy(), atol=1e-6)
    out_t = triangulate(uv.float(), P.float())
    assert isinstance(out_t, torch.Tensor) and out_t.dtype == torch.float32
    torch.testing.assert_close(out_t.double(), X, atol=1e-3, rtol=1e-3)


@pytest.mark.parametrize(
    "pts, proj, weights, name",
    [
        (np.zeros((5, 1, 2)), np.zeros((5, 1, 3, 4)), None, "points_2d"),  # one view
        (np.zeros((5, 2, 3)), np.zeros((5, 2, 3, 4)), None, "points_2d"),
        (np.zeros((5, 2, 2)), np.zeros((5, 3, 3, 4)), None, "proj"),
        (np.zeros((5, 2, 2)), np.zeros((5, 2, 4, 4)), None, "proj"),
        (np.full((5, 2, 2), np.nan), np.zeros((5, 2, 3, 4)), None, "points_2d"),
        (np.zeros((5, 2, 2)), np.zeros((5, 2, 3, 4)), -np.ones((5, 2)), "weights"),
        (np.zeros((5, 2, 2)), np.zeros((5, 2, 3, 4)), np.array([1.0, 0.0]), "weights"),
        (np.zeros((5, 2, 2)), np.zeros((4, 2, 3, 4)), None, "proj"),
        (np.zeros((5, 2, 2)), np.zeros((5, 2, 3, 4)), None, "backend"),
    ],
)
def test_public_rejects_bad_arguments(pts, proj, weights, name):
    backend = "gpu" if name == "backend" else "auto"
    with pytest.raises(ValueError, match=f"^{name}"):
        triangulate(pts, proj, weights, backend=backend)


def _angle_between_centres(X, K, T):
    C = [-(T[v, :3, :3].T @ T[v, :3, 3]) for v in range(T.shape[0])]
    a, b = (X - C[0]), (X - C[1])
    return torch.rad2deg(torch.arccos((a * b).sum(-1) / (a.norm(dim=-1) * b.norm(dim=-1))))


@given(st.integers(0, 2**31 - 1), st.sampled_from(["reference", "fast"]))
def test_return_angle_is_the_ray_angle_and_flags_degenerate_points(seed, backend):
    """``return_angle``: the angle between the two rays (checked against camera centres, 1e-6 deg);
    a 1 mm baseline gives < 0.1 deg (exact observations: with noise, near-parallel rays can put the
    estimate anywhere, close to the cameras included), a zero-weight view leaves only the coincident
    views, a point behind a camera gives 0."""
    gen = torch.Generator().manual_seed(seed)
    K, T, _ = random_rig(gen, 2)
    X = points_near(gen, (7,))
    uv = project(X[None].expand(2, 7, 3), K, T).transpose(0, 1)
    P = projection_matrix(K, T)
    Xt, ang = triangulate(uv, P, backend=backend, return_angle=True)
    assert ang.dtype == torch.float64 and ang.shape == (7,)
    torch.testing.assert_close(ang, _angle_between_centres(Xt.double(), K, T), atol=1e-6, rtol=0)
    assert (ang > 10).all()  # random_rig spreads views by >= ~20 degrees
    near = T.clone()
    near[1] = T[0].clone()
    near[1, 0, 3] += 1e-3
    uv_n = project(X[None].expand(2, 7, 3), K, near).transpose(0, 1)
    _, ang_n = triangulate(uv_n.numpy(), projection_matrix(K, near).numpy(), backend=backend, return_angle=True)
    assert isinstance(ang_n, np.ndarray) and (ang_n < 0.1).all()
    w = torch.tensor([[1.0, 0.0, 1.0]]).expand(7, 3)
    K3, T3 = torch.cat([K, K[:1]]), torch.cat([T, T[:1]])
    T3[2, 0, 3] += 1e-3
    uv3 = project(X[None].expand(3, 7, 3), K3, T3).transpose(0, 1)
    _, ang_w = triangulate(uv3, projection_matrix(K3, T3), weights=w, backend=backend, return_angle=True)
    assert (ang_w < 0.1).all()  # only the two coincident views count
    C0 = -(T[0, :3, :3].T @ T[0, :3, 3])
    assert (triangulation_angle(2 * C0 - X, P) == 0).all()  # mirrored through camera 0's centre: behind it


def test_public_per_point_float32_is_the_bare_kernel():
    """Per-point float32 cameras: the public function returns exactly what the numba kernel gives
    on the same arrays (its checks and conversions change nothing), as float32."""
    from mocap_fast.kernels.triangulate_numba import triangulate_numba

    gen = torch.Generator().manual_seed(5)
    K, T, _ = random_rig(gen, 4)
    X = points_near(gen, (300,))
    uv, P = views_of(X, K, T)
    u32, P32 = uv.float(), P.expand(300, 4, 3, 4).float().contiguous()
    w32 = torch.rand(300, 4, generator=gen).float() + 0.1
    out = triangulate(u32, P32, w32, backend="fast")
    assert out.dtype == torch.float32 and out.shape == (300, 3)
    bare, _ = triangulate_numba(u32.numpy(), P32.numpy(), None, w32.numpy(), condition=False)
    np.testing.assert_array_equal(out.numpy(), bare)


def test_public_value_checks_find_one_bad_point_among_many():
    """The checks read whole tensors at once: a single bad value anywhere is found, and named."""
    gen = torch.Generator().manual_seed(6)
    K, T, _ = random_rig(gen, 4)
    uv, P = views_of(points_near(gen, (1000,)), K, T)
    P = P.expand(1000, 4, 3, 4).contiguous()
    w = torch.ones(1000, 4, dtype=torch.float64)
    for name, arr, index, value in [
        ("points_2d", uv, (517, 2, 1), np.inf), ("proj", P, (998, 3, 2, 0), np.nan),
        ("weights", w, (3, 1), np.nan), ("weights", w, (999, 0), -1e-30),
    ]:
        bad = arr.clone()
        bad[index] = value
        args = {"points_2d": uv, "proj": P, "weights": w, name: bad}
        with pytest.raises(ValueError, match=f"^{name}"):
            triangulate(args["points_2d"], args["proj"], args["weights"])
    one_view = w.clone()
    one_view[401] = torch.tensor([0.0, 0.0, 0.5, 0.0])
    with pytest.raises(ValueError, match="^weights: every point needs at least 2 views"):
        triangulate(uv, P, one_view)


def test_public_huge_finite_values_are_not_rejected():
    """The fast check sums each tensor: a sum that overflows on finite values is a false alarm that
    the exact checks clear (no ValueError); the torch path (bfloat16, which numpy lacks) raises on
    NaN as the numpy one does."""
    gen = torch.Generator().manual_seed(7)
    K, T, _ = random_rig(gen, 2)
    uv, P = views_of(points_near(gen, (64,)), K, T)
    huge = torch.full((64, 2, 2), 3e38, dtype=torch.float32)
    assert not torch.isfinite(huge.sum())
    assert triangulate(huge, P.float()).shape == (64, 3)
    assert triangulate(uv.bfloat16(), P.bfloat16()).dtype == torch.bfloat16
    bad = uv.bfloat16()
    bad[10, 1, 0] = float("nan")
    with pytest.raises(ValueError, match="^points_2d"):
        triangulate(bad, P.bfloat16())
    with pytest.raises(ValueError, match="^weights"):
        triangulate(uv.bfloat16(), P.bfloat16(), torch.tensor([1.0, -1.0]).bfloat16())
