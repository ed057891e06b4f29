import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mocap_fast.reference.representation import MIN_BOX, Standardizer, box_side, channels, decode, encode


def random_g(seed: int, shape=(3, 5), J=22, spread=None):
    gen = torch.Generator().manual_seed(seed)
    root = 1.6 * torch.rand(*shape, 1, 2, generator=gen, dtype=torch.float64) - 0.8
    s = spread if spread is not None else 0.01 + 0.5 * torch.rand(*shape, 1, 1, generator=gen, dtype=torch.float64)
    return root + s * torch.randn(*shape, J, 2, generator=gen, dtype=torch.float64)


@given(st.integers(0, 2**31 - 1), st.sampled_from([17, 22]))
def test_round_trip_exact(seed, J):
    g = random_g(seed, J=J)
    x = encode(g)
    assert x.shape == (3, 5, channels(J))
    torch.testing.assert_close(decode(x), g, rtol=0, atol=1e-12)


@given(st.integers(0, 2**31 - 1))
def test_round_trip_float32(seed):
    g = random_g(seed).float()
    torch.testing.assert_close(decode(encode(g)), g, rtol=0, atol=2e-6)


@given(st.integers(0, 2**31 - 1))
def test_local_coordinates_bounded_and_translation_invariant(seed):
    g = random_g(seed)
    x = encode(g)
    local = x[..., 2:-2]
    assert local.abs().max() <= 1 / 1.2 + 1e-12
    shift = torch.tensor([0.1, -0.2], dtype=torch.float64)
    x2 = encode(g + shift)
    torch.testing.assert_close(x2[..., 2:], x[..., 2:], rtol=0, atol=1e-12)
    torch.testing.assert_close(x2[..., :2], x[..., :2] + shift, rtol=0, atol=1e-12)


def test_box_definition():
    g = torch.tensor([[0.0, 0.0], [0.1, 0.0], [-0.05, 0.3]], dtype=torch.float64)
    S = box_side(g)
    assert float(S) == pytest.approx(1.2 * 2 * 0.3)
    x = encode(g)
    assert float(x[-1]) == pytest.approx(float(S) - 1)
    assert x[2:4].tolist() == pytest.approx([2 * 0.1 / float(S), 0.0])


def test_degenerate_pose_is_finite():
    g = torch.zeros(4, 22, 2, dtype=torch.float64) + 0.3
    x = encode(g)
    assert torch.isfinite(x).all()
    assert float(x[0, -1]) == pytest.approx(MIN_BOX - 1)
    torch.testing.assert_close(decode(x), g)


@given(st.integers(0, 2**31 - 1))
def test_standardizer_round_trip(seed):
    x = encode(random_g(seed, shape=(50,))).float()
    stats = Standardizer.fit(x)
    z = stats.standardize(x)
    assert z.mean(0).abs().max() < 1e-4
    torch.testing.assert_close(stats.destandardize(z), x, rtol=0, atol=1e-5)


def test_standardizer_rejects_mismatch():
    with pytest.raises(ValueError, match="^std"):
        Standardizer(torch.zeros(46), torch.ones(45))
