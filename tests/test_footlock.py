"""foot_lock: contact detection and sliding removal on real mocap with synthetic sliding noise."""

from importlib import resources

import numpy as np
import pytest
import torch

from helpers import CAM, SHARED_DATA, approaching_walk, shared_or_skip, slid_along_rays
from mocap_fast.footlock import FOOT_JOINTS, detect_contacts, foot_lock, ray_ground_speed
from mocap_fast.metrics import foot_sliding

CLIPS = SHARED_DATA / "mocap30" / "clips"  # the shared CMU training set


def _clip(name: str) -> np.ndarray:
    if name == "demo":  # packaged CMU 131 clip, always available
        with resources.as_file(resources.files("mocap_fast") / "assets" / "demo_clip.npz") as p:
            return np.load(p)["joints"].astype(np.float64)
    shared_or_skip(CLIPS / f"{name}.npy")
    return np.load(CLIPS / f"{name}.npy").astype(np.float64)


def _noisy(X: np.ndarray, seed: int = 0) -> np.ndarray:
    """X plus a slow horizontal whole-body drift and opposite wobble of the two feet (sliding)."""
    T = len(X)
    t = np.arange(T) / 30.0
    rng = np.random.default_rng(seed)
    ph = rng.uniform(0, 2 * np.pi, 2)
    drift = np.zeros((T, 3))
    drift[:, 0] = np.cumsum(0.15 * np.sin(2 * np.pi * 0.7 * t + ph[0])) / 30.0
    drift[:, 2] = np.cumsum(0.15 * np.sin(2 * np.pi * 0.5 * t + ph[1])) / 30.0
    N = X + drift[:, None, :]
    wob = 0.01 * np.sin(2 * np.pi * 1.3 * t)[:, None] * np.array([1.0, 0.0, 1.0])
    N[:, [7, 10]] += wob[:, None]
    N[:, [8, 11]] -= wob[:, None]
    return N


@pytest.mark.parametrize("clip,frames", [("demo", slice(None)), ("cmu_01_01", slice(0, 300)), ("cmu_131_02", slice(None))])
def test_foot_lock_reduces_sliding(clip, frames):
    X = _clip(clip)[frames]
    N = _noisy(X)
    Y, C = foot_lock(N, fps=30.0)
    assert Y.shape == N.shape and C.shape == (len(N), 4) and C.dtype == bool
    fs_before, fs_after = foot_sliding(N, X), foot_sliding(Y, X)
    fs_clean = foot_sliding(X, X)  # mocap's own foot motion on "contacts" (steps < 1 cm)
    # at most half the noisy sliding, and less than the clean motion itself
    assert fs_after < min(0.5 * fs_before, fs_clean), (fs_before, fs_after, fs_clean)
    # contacts found on the noisy motion agree with those of the clean one
    Cg = detect_contacts(X, 30.0)
    assert (C == Cg).mean() > 0.9
    # bone lengths of the legs are kept
    for a, b in [(1, 4), (4, 7), (7, 10), (2, 5), (5, 8), (8, 11)]:
        bl = lambda Z: np.linalg.norm(Z[:, a] - Z[:, b], axis=-1)  # noqa: E731
        np.testing.assert_allclose(bl(Y), bl(N), atol=1e-6)
    # frames away from every contact (farther than the blend length) move < 5 mm
    B = int(round(0.15 * 30)) + 1
    near = np.zeros(len(N), bool)
    for i in np.flatnonzero(C.any(1)):
        near[max(0, i - B):i + B + 1] = True
    move = np.linalg.norm(Y - N, axis=-1).max(1)
    if clip == "cmu_01_01":  # forward jumps: has flight phases
        assert (~near).sum() >= 5
    assert move[~near].max(initial=0.0) < 0.005
    # locked contacts are pinned: joint motion inside contact runs is ~0
    for k, j in enumerate(FOOT_JOINTS):
        both = C[1:, k] & C[:-1, k]
        if both.any():
            steps = np.linalg.norm(np.diff(Y[:, j], axis=0), axis=-1)[both]
            assert np.median(steps) < 1e-3


def test_foot_lock_static_and_torch():
    # a person standing still at ground level: everything is a contact, nothing moves much
    rng = np.random.default_rng(1)
    base = np.zeros((22, 3))
    base[:, 1] = np.linspace(0.0, 1.6, 22)
    base[[1, 2], 1], base[[4, 5], 1], base[[7, 8], 1], base[[10, 11], 1] = 0.9, 0.5, 0.08, 0.02
    base[[1, 4, 7, 10], 0], base[[2, 5, 8, 11], 0] = 0.1, -0.1
    base[[4, 5], 2] = 0.06
    base[[10, 11], 2] = 0.12
    X = np.repeat(base[None], 40, 0) + rng.normal(0, 0.002, (40, 22, 3))
    Y, C = foot_lock(torch.tensor(X, dtype=torch.float32), fps=30.0)
    assert isinstance(Y, torch.Tensor) and Y.dtype == torch.float32 and C.dtype == torch.bool
    assert bool(C.all())
    Y = Y.double().numpy()
    step = lambda Z: np.median(np.linalg.norm(np.diff(Z[:, [7, 8, 10, 11]], axis=0), axis=-1))  # noqa: E731
    assert step(Y) < 0.3 * step(X)  # per-frame bone-length noise limits exact pinning


def test_foot_lock_errors():
    with pytest.raises(ValueError, match="joints"):
        foot_lock(np.zeros((10, 17, 3)))
    with pytest.raises(ValueError, match="root_share"):
        foot_lock(np.zeros((10, 22, 3)), root_share=2.0)
    with pytest.raises(ValueError, match="contacts"):
        foot_lock(np.zeros((10, 22, 3)), contacts=np.zeros((9, 4), bool))


def test_observed_rays_find_contacts_of_feet_sliding_along_their_rays():
    # a walk towards the camera whose lifted depth swells and shrinks smoothly (1.5 m/s along the rays
    # at 8 m): the planted feet slide in 3D, but stand still in the image and where their rays meet the ground
    X = approaching_walk()
    Y = slid_along_rays(X, CAM)
    kp = CAM.project(X)  # == CAM.project(Y)
    truth = detect_contacts(X, 30.0)
    alone = detect_contacts(Y, 30.0)
    seen = detect_contacts(Y, 30.0, keypoints=kp, camera=CAM)
    recall = lambda C: (C & truth).sum() / truth.sum()  # noqa: E731
    assert recall(alone) < 0.5 and recall(seen) > 0.85, (recall(alone), recall(seen))
    assert (seen & truth).sum() / seen.sum() > 0.65  # few false contacts (the stance's first/last frames)
    v = ray_ground_speed(Y, kp, CAM)
    assert np.median(v[truth]) < 0.01 and np.median(v[~truth]) > 1.0  # m/s
    fs_3d = foot_sliding(foot_lock(Y, 30.0)[0], X)
    fs_seen = foot_sliding(foot_lock(Y, 30.0, keypoints=kp, camera=CAM)[0], X)
    assert fs_seen < 0.4 * fs_3d, (fs_3d, fs_seen)
    # missing keypoints (NaN or confidence 0) fall back to the 3D speed on their frames
    gone = kp.copy()
    gone[:, list(FOOT_JOINTS)] = np.nan
    np.testing.assert_array_equal(detect_contacts(Y, 30.0, keypoints=gone, camera=CAM), alone)
    conf = np.ones(kp.shape[:2])
    conf[:, list(FOOT_JOINTS)] = 0.0
    np.testing.assert_array_equal(detect_contacts(Y, 30.0, keypoints=kp, camera=CAM, confidence=conf), alone)
    assert np.isinf(ray_ground_speed(Y, gone, CAM)).all()


def test_observed_contacts_errors():
    X = approaching_walk(T=20)
    kp = CAM.project(X)
    with pytest.raises(ValueError, match="^keypoints, camera"):
        detect_contacts(X, keypoints=kp)
    with pytest.raises(ValueError, match="^keypoints"):
        foot_lock(X, keypoints=kp[:, :17], camera=CAM)
    with pytest.raises(ValueError, match="^confidence"):
        detect_contacts(X, keypoints=kp, camera=CAM, confidence=np.ones((20, 17)))
    with pytest.raises(ValueError, match="^camera"):
        detect_contacts(X, keypoints=kp, camera="cam.json")
