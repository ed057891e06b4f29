import torch
from hypothesis import given
from hypothesis import strategies as st

from helpers import points_near, random_rig
from mocap_fast.reference.camera import normalized_intrinsics, project
from mocap_fast.reference.consistency import consistency_step, decode_views, reproject_encode
from mocap_fast.reference.representation import Standardizer, encode


def scene(seed, B=2, V=4, T=6, J=22):
    gen = torch.Generator().manual_seed(seed)
    K, Tw, size = random_rig(gen, V, batch=(B,))
    Kg = normalized_intrinsics(K, size)
    X = points_near(gen, (B, T, J), spread=0.5)
    g = project(X[:, None].expand(B, V, T, J, 3).reshape(B, V, T * J, 3), Kg, Tw).reshape(B, V, T, J, 2)
    stats = Standardizer(torch.randn(2 * J + 2, generator=gen, dtype=torch.float64) * 0.1,
                         torch.rand(2 * J + 2, generator=gen, dtype=torch.float64) + 0.5)
    return gen, Kg, Tw, X, g, stats


@given(st.integers(0, 2**31 - 1))
def test_reproject_encode_matches_vectorised_encoding(seed):
    _, Kg, Tw, X, g, stats = scene(seed)
    torch.testing.assert_close(reproject_encode(X, Kg, Tw, stats), stats.standardize(encode(g)))
    torch.testing.assert_close(decode_views(stats.standardize(encode(g)), stats), g, atol=1e-10, rtol=0)


@given(st.integers(0, 2**31 - 1))
def test_consistent_prediction_is_a_fixed_point(seed):
    _, Kg, Tw, X, g, stats = scene(seed)
    x0 = stats.standardize(encode(g))
    conf = torch.ones(X.shape[:-1], dtype=torch.float64)
    x0c, Xt = consistency_step(x0, g[:, 0], conf, Kg, Tw, stats)
    torch.testing.assert_close(Xt, X, atol=1e-6, rtol=0)
    torch.testing.assert_close(x0c, x0, atol=1e-6, rtol=0)


@given(st.integers(0, 2**31 - 1))
def test_observation_overrides_view0_and_missing_joints_keep_prediction(seed):
    gen, Kg, Tw, X, g, stats = scene(seed)
    x0 = stats.standardize(encode(g))
    conf = torch.ones(X.shape[:-1], dtype=torch.float64)
    conf[:, :, 5] = 0  # joint 5 missing in the observation: garbage there must be ignored
    obs = g[:, 0].clone()
    obs[:, :, 5] += 10.0
    _, Xt = consistency_step(x0, obs, conf, Kg, Tw, stats)
    torch.testing.assert_close(Xt, X, atol=1e-6, rtol=0)
    # a wrong prediction in view 0 is replaced by the observation
    bad = g.clone()
    bad[:, 0] += 0.05
    _, Xt2 = consistency_step(stats.standardize(encode(bad)), g[:, 0], torch.ones_like(conf), Kg, Tw, stats)
    torch.testing.assert_close(Xt2, X, atol=1e-6, rtol=0)
