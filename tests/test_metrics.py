"""Metrics (DESIGN §7): known answers, invariances, the Umeyama fit, and argument checks."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given
from hypothesis import strategies as st

from mocap_fast.metrics import (
    abs_mpjpe,
    accel_error,
    apply_similarity,
    evaluate,
    foot_sliding,
    jitter,
    mpjpe,
    pa_mpjpe,
    rte,
    similarity_align,
    t_root,
    w_mpjpe,
    wa_mpjpe,
)

KEYS = {"pa_mpjpe", "mpjpe", "w_mpjpe", "wa_mpjpe", "abs_mpjpe", "accel", "jitter", "foot_sliding", "t_root", "rte"}
FEET = [7, 8, 10, 11]
seeds = st.integers(0, 2**32 - 1)


def motion(rng: np.random.Generator, T: int = 12) -> np.ndarray:
    """A random (T, 22, 3) skeleton sequence in metres: a body-sized pose drifting and wobbling."""
    pose = rng.normal(0, 0.3, (22, 3)) + np.array([0.0, 1.0, 0.0])
    drift = np.cumsum(rng.normal(0, 0.02, (T, 1, 3)), axis=0)
    return pose + drift + rng.normal(0, 0.01, (T, 22, 3))


def rotation(rng: np.random.Generator) -> np.ndarray:
    q, r = np.linalg.qr(rng.normal(size=(3, 3)))
    q = q * np.sign(np.diag(r))
    return q if np.linalg.det(q) > 0 else -q


def static(T: int = 8) -> np.ndarray:
    return np.repeat(motion(np.random.default_rng(0), 1), T, axis=0)


# ---------------------------------------------------------------- alignment invariances


@given(seeds, st.floats(-2, 2), st.floats(-2, 2), st.floats(-2, 2))
def test_pure_translation(seed, x, y, z):
    gt = motion(np.random.default_rng(seed))
    v = np.array([x, y, z])
    pred = gt + v
    assert abs_mpjpe(pred, gt) == pytest.approx(np.linalg.norm(v) * 1000, rel=1e-9, abs=1e-6)
    assert pa_mpjpe(pred, gt) == pytest.approx(0, abs=1e-6)
    assert mpjpe(pred, gt) == pytest.approx(0, abs=1e-6)
    assert t_root(pred, gt) == pytest.approx(0, abs=1e-6)


@given(seeds, st.floats(0.2, 5.0))
def test_similarity_transform_is_aligned_away(seed, scale):
    rng = np.random.default_rng(seed)
    gt = motion(rng, T=25)
    R, t = rotation(rng), rng.normal(0, 3, 3)
    pred = (gt - t) @ R / scale
    for chunk in (100, 10, 7):
        assert w_mpjpe(pred, gt, chunk=chunk) == pytest.approx(0, abs=1e-6)
        assert wa_mpjpe(pred, gt, chunk=chunk) == pytest.approx(0, abs=1e-6)
    assert pa_mpjpe(pred, gt) == pytest.approx(0, abs=1e-6)
    assert abs_mpjpe(pred, gt) > 1.0


def test_w_and_wa_differ_on_drift():
    gt = static(20)
    drift = np.zeros((20, 1, 3))
    drift[:, 0, 0] = np.arange(20) * 0.01
    pred = gt + drift
    assert w_mpjpe(pred, gt) > wa_mpjpe(pred, gt) > 0


def test_mpjpe_known_value():
    gt = static(5)
    pred = gt.copy()
    pred[:, 15, 1] += 0.022
    assert mpjpe(pred, gt) == pytest.approx(1.0, rel=1e-9)
    assert abs_mpjpe(pred, gt) == pytest.approx(1.0, rel=1e-9)


@given(seeds)
def test_rte_invariant_to_rigid_motion_of_prediction(seed):
    rng = np.random.default_rng(seed)
    gt = motion(rng, T=15)
    pred = gt + rng.normal(0, 0.05, (15, 1, 3))
    R, t = rotation(rng), rng.normal(0, 3, 3)
    moved = pred @ R.T + t
    assert rte(moved, gt) == pytest.approx(rte(pred, gt), rel=1e-6, abs=1e-9)
    assert rte(gt @ R.T + t, gt) == pytest.approx(0, abs=1e-6)


def test_rte_known_value_and_static_gt():
    T = 11
    gt = static(T)
    gt[:, :, 0] += np.arange(T)[:, None] * 0.1
    pred = gt.copy()
    pred[T // 2, [1, 2], 1] += 0.05
    e = np.full(T, 0.05 / T)
    e[T // 2] -= 0.05
    expected = np.abs(e).mean() / 1.0 * 100
    assert rte(pred, gt) == pytest.approx(expected, rel=1e-6)
    assert math.isnan(rte(pred, static(T)))


def test_t_root_shift_and_drift():
    rng = np.random.default_rng(3)
    gt = motion(rng)
    assert t_root(gt + np.array([5.0, -1.0, 2.0]), gt) == pytest.approx(0, abs=1e-9)
    drift = np.zeros((12, 1, 3))
    drift[:, 0, 2] = np.arange(12) * 0.002
    assert t_root(gt + drift, gt) == pytest.approx(np.arange(12).mean() * 2, rel=1e-9)


# ---------------------------------------------------------------- accel, jitter, foot sliding


@given(seeds, st.floats(-1, 1))
def test_constant_velocity_has_no_accel_or_jitter(seed, speed):
    gt = static(10)
    v = np.random.default_rng(seed).normal(size=3) * speed
    pred = gt + np.arange(10)[:, None, None] * v
    assert accel_error(pred, gt) == pytest.approx(0, abs=1e-6)
    assert jitter(pred, fps=30.0) == pytest.approx(0, abs=1e-6)


def test_quadratic_trajectory_accel():
    fps, A = 30.0, 2.5
    t = np.arange(9) / fps
    gt = static(9)
    pred = gt.copy()
    pred[..., 1] += 0.5 * A * t[:, None] ** 2
    assert accel_error(pred, gt, fps=fps) == pytest.approx(A, rel=1e-6)
    assert accel_error(pred, gt) == pytest.approx(A / fps**2 * 1000, rel=1e-6)
    assert accel_error(gt, pred) == pytest.approx(accel_error(pred, gt), rel=1e-12)
    assert jitter(pred, fps) == pytest.approx(0, abs=1e-6)


def test_cubic_trajectory_jitter():
    fps, c = 25.0, 1e-4
    k = np.arange(8, dtype=np.float64)
    pred = static(8)
    pred[..., 0] += c * k[:, None] ** 3
    assert jitter(pred, fps) == pytest.approx(6 * c * fps**3 / 10, rel=1e-6)


def test_foot_sliding_zero_when_pred_matches_static_feet():
    gt = static(6)
    assert foot_sliding(gt, gt) == 0.0


def test_foot_sliding_known_value():
    T = 6
    gt = static(T)
    gt[:, 7, 0] += np.arange(T) * 0.02
    pred = gt.copy()
    pred[:, FEET, 2] += np.arange(T)[:, None] * 0.003
    assert foot_sliding(pred, gt) == pytest.approx(3.0, rel=1e-9)


def test_foot_sliding_without_contact_is_nan():
    gt = static(5)
    gt[:, FEET, 0] += np.arange(5)[:, None] * 0.05
    assert math.isnan(foot_sliding(gt, gt))


# ---------------------------------------------------------------- similarity_align


@given(seeds, st.floats(0.1, 10.0))
def test_similarity_align_recovers_similarity(seed, scale):
    rng = np.random.default_rng(seed)
    src = rng.normal(size=(4, 10, 3))
    R = np.stack([rotation(rng) for _ in range(4)])
    t = rng.normal(0, 5, (4, 3))
    dst = scale * src @ R.transpose(0, 2, 1) + t[:, None]
    s_hat, R_hat, t_hat = similarity_align(src, dst)
    assert isinstance(R_hat, np.ndarray) and R_hat.dtype == np.float64
    np.testing.assert_allclose(s_hat, scale, rtol=1e-6)
    np.testing.assert_allclose(R_hat, R, atol=1e-6)
    np.testing.assert_allclose(t_hat, t, atol=1e-6)
    np.testing.assert_allclose(apply_similarity(s_hat, R_hat, t_hat, src), dst, atol=1e-6)


@given(seeds)
def test_similarity_align_reflection_gives_proper_rotation(seed):
    rng = np.random.default_rng(seed)
    src = rng.normal(size=(3, 15, 3))
    dst = src * np.array([-1.0, 1.0, 1.0])
    s, R, t = similarity_align(src, dst)
    np.testing.assert_allclose(np.linalg.det(R), 1.0, atol=1e-9)
    np.testing.assert_allclose(R @ R.transpose(0, 2, 1), np.broadcast_to(np.eye(3), R.shape), atol=1e-9)
    assert (s > 0).all()
    gt = motion(rng, 3)
    assert pa_mpjpe(gt * np.array([-1.0, 1.0, 1.0]), gt) > 0.1


def test_similarity_align_torch_and_rigid_and_degenerate():
    rng = np.random.default_rng(5)
    src = rng.normal(size=(20, 3))
    R = rotation(rng)
    dst = 2.0 * src @ R.T + 1.0
    s, R_hat, t = similarity_align(torch.tensor(src, dtype=torch.float32), torch.tensor(dst))
    assert isinstance(R_hat, torch.Tensor) and R_hat.dtype == torch.float64 and s.shape == ()
    np.testing.assert_allclose(R_hat.numpy(), R, atol=1e-5)
    s_rigid, R_rigid, _ = similarity_align(src, dst, scale=False)
    assert s_rigid == 1.0
    np.testing.assert_allclose(R_rigid, R, atol=1e-9)
    s0, R0, t0 = similarity_align(np.ones((4, 3)), np.zeros((4, 3)))
    assert s0 == 1.0 and np.isfinite(R0).all()
    np.testing.assert_allclose(apply_similarity(s0, R0, t0, np.ones((4, 3))), 0, atol=1e-12)


# ---------------------------------------------------------------- evaluate


def test_evaluate_keys_types_and_input_kinds():
    rng = np.random.default_rng(7)
    gt = motion(rng, 30)
    pred = gt + rng.normal(0, 0.02, gt.shape)
    ref = evaluate(pred, gt, fps=30.0)
    assert set(ref) == KEYS and all(type(v) is float for v in ref.values())
    as_torch = evaluate(torch.tensor(pred, requires_grad=True), torch.tensor(gt), fps=30)
    assert as_torch == pytest.approx(ref, rel=1e-12)
    as_f32 = evaluate(pred.astype(np.float32), gt.astype(np.float32))
    assert as_f32 == pytest.approx(ref, rel=1e-4, abs=1e-3)
    assert ref["w_mpjpe"] == pytest.approx(w_mpjpe(pred, gt))
    assert ref["accel"] == pytest.approx(accel_error(pred, gt))
    assert ref["jitter"] == pytest.approx(jitter(pred, 30.0))


def test_evaluate_identity_is_zero():
    gt = motion(np.random.default_rng(8), 12)
    out = evaluate(gt, gt)
    for k in KEYS - {"jitter", "foot_sliding"}:
        assert out[k] == pytest.approx(0, abs=1e-6), k


# ---------------------------------------------------------------- argument checks

GOOD = static(6)


@pytest.mark.parametrize(
    "pred, gt, name",
    [
        (GOOD[:, :21], GOOD[:, :21], "pred"),
        (GOOD[..., :2], GOOD, "pred"),
        (GOOD[0], GOOD[0], "pred"),
        (GOOD[None], GOOD[None], "pred"),
        (GOOD, GOOD[:, :21], "gt"),
        (GOOD, GOOD[:5], "gt"),
        (None, GOOD, "pred"),
        (GOOD, "abc", "gt"),
    ],
)
def test_bad_shapes_name_the_argument(pred, gt, name):
    for fn in (evaluate, pa_mpjpe, mpjpe, w_mpjpe, wa_mpjpe, abs_mpjpe, accel_error, foot_sliding, t_root, rte):
        with pytest.raises(ValueError, match=f"^{name}"):
            fn(pred, gt)


@pytest.mark.parametrize("bad", [np.nan, np.inf, -np.inf])
def test_non_finite_values_name_the_argument(bad):
    broken = GOOD.copy()
    broken[2, 4, 1] = bad
    with pytest.raises(ValueError, match="^pred"):
        evaluate(broken, GOOD)
    with pytest.raises(ValueError, match="^gt"):
        evaluate(GOOD, broken)
    with pytest.raises(ValueError, match="^pred"):
        jitter(broken)


@pytest.mark.parametrize("fps", [0, -30.0, float("nan"), float("inf"), "fast", None])
def test_bad_fps(fps):
    with pytest.raises(ValueError, match="^fps"):
        evaluate(GOOD, GOOD, fps=fps)
    with pytest.raises(ValueError, match="^fps"):
        jitter(GOOD, fps=fps)
    if fps is not None:
        with pytest.raises(ValueError, match="^fps"):
            accel_error(GOOD, GOOD, fps=fps)


def test_too_few_frames_and_bad_chunk():
    with pytest.raises(ValueError, match="^pred: needs at least 4"):
        evaluate(GOOD[:3], GOOD[:3])
    with pytest.raises(ValueError, match="^pred: needs at least 3"):
        accel_error(GOOD[:2], GOOD[:2])
    with pytest.raises(ValueError, match="^pred: needs at least 4"):
        jitter(GOOD[:3])
    with pytest.raises(ValueError, match="^pred: needs at least 2"):
        rte(GOOD[:1], GOOD[:1])
    for chunk in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="^chunk"):
            w_mpjpe(GOOD, GOOD, chunk=chunk)


def test_similarity_align_bad_arguments():
    with pytest.raises(ValueError, match="^src"):
        similarity_align(np.zeros((4, 2)), np.zeros((4, 2)))
    with pytest.raises(ValueError, match="^dst"):
        similarity_align(np.zeros((4, 3)), np.zeros((5, 3)))
    with pytest.raises(ValueError, match="^dst"):
        similarity_align(np.zeros((4, 3)), np.full((4, 3), np.nan))
    with pytest.raises(ValueError, match="^src"):
        similarity_align(np.zeros((0, 3)), np.zeros((0, 3)))
