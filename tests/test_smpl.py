"""mocap_fast.smpl.fit on a tiny synthetic SMPL-structured model (the real files are licensed)."""

import sys
from importlib import resources

import numpy as np
import pytest
import torch

from helpers import tiny_smpl_model as _tiny_model
from mocap_fast import smpl



def test_missing_smplx_message(monkeypatch, tmp_path):
    monkeypatch.setitem(sys.modules, "smplx", None)  # import smplx -> ImportError
    with pytest.raises(ImportError, match="pip install"):
        smpl.fit(np.zeros((4, 22, 3)), tmp_path / "SMPL_NEUTRAL.pkl")


def test_missing_model_message(tmp_path):
    pytest.importorskip("smplx", reason="smplx not installed (optional extra 'smpl')")
    for path in (None, tmp_path / "nope.pkl", tmp_path):
        with pytest.raises(ValueError, match=r"smpl\.is\.tue\.mpg\.de"):
            smpl.fit(np.zeros((4, 22, 3)), path)


@pytest.mark.parametrize("ext", ["pkl", "npz"])
def test_fit_recovers_synthetic_motion(tmp_path, ext):
    pytest.importorskip("smplx", reason="smplx not installed (optional extra 'smpl')")
    from smplx.lbs import lbs

    path = _tiny_model(tmp_path / f"SMPL_NEUTRAL.{ext}")
    model = smpl.load_smpl(path)
    T = 16
    gen = torch.Generator().manual_seed(0)
    t = torch.linspace(0, 1, T)[:, None]
    pose = 0.25 * torch.sin(2 * np.pi * t + torch.rand(1, 69, generator=gen) * 6) * (torch.rand(1, 69, generator=gen) < 0.5)
    pose[:, 63:] = 0
    orient = torch.tensor([[0.0, 0.6, 0.0]]) + 0.1 * t * torch.tensor([[0.0, 1.0, 0.2]])
    betas = 0.8 * torch.randn(1, 10, generator=gen)
    transl = torch.cat([0.5 * t, 0.9 + 0 * t, -0.3 * t], 1)
    with torch.no_grad():
        _, J = lbs(betas.expand(T, -1), torch.cat([orient, pose], 1), model.v_template, model.shapedirs,
                   model.posedirs, model.J_regressor, model.parents, model.lbs_weights)
        target = (J[:, :22] + transl[:, None]).numpy()
    res = smpl.fit(target, path, iters=150, device="cpu", return_vertices=True)
    assert res.joints.shape == (T, 22, 3) and res.body_pose.shape == (T, 69) and res.betas.shape == (10,)
    assert res.vertices.shape == (T, 100, 3) and res.transl.shape == (T, 3)
    assert np.isfinite(res.joints).all()
    err = np.linalg.norm(res.joints - target, axis=-1).mean() * 1000
    assert err < 15.0, err
    assert abs(err - res.error_mm) < 1e-2
    assert np.abs(res.body_pose[:, 63:]).max() == 0  # hand joints untouched


def test_fit_contact_term_keeps_feet(tmp_path):
    pytest.importorskip("smplx", reason="smplx not installed (optional extra 'smpl')")
    path = _tiny_model(tmp_path / "m.pkl")
    with resources.as_file(resources.files("mocap_fast") / "assets" / "demo_clip.npz") as p:
        X = np.load(p)["joints"][:20].astype(np.float64)
    C = np.zeros((20, 4), bool)
    C[:, 0] = True  # declare the left ankle planted for the whole clip
    res = smpl.fit(X, path, contacts=C, w_contact=50.0, iters=80, device="cpu")
    free = smpl.fit(X, path, contacts=False, iters=80, device="cpu")
    step = lambda Y: np.linalg.norm(np.diff(Y[:, 7], axis=0), axis=-1).mean()  # noqa: E731
    assert step(res.joints) < step(free.joints)
    with pytest.raises(ValueError, match="contacts"):
        smpl.fit(X, path, contacts=np.zeros((3, 4), bool), iters=1, device="cpu")


def _residual(R, A, B):
    return np.linalg.norm(A @ R.T - B, axis=-1).mean()


def test_orientation_init_identity_half_turn_near_half_turn_and_mirror():
    """The initial SMPL orientation (rigid Umeyama + scipy Rotation), including a person facing away."""
    from scipy.spatial.transform import Rotation

    rng = np.random.default_rng(0)
    A = rng.normal(size=(11, 3))
    A -= A.mean(0)
    Rs = Rotation.concatenate([
        Rotation.identity(),
        Rotation.from_rotvec([0.0, np.pi, 0.0]),                     # exactly 180 degrees: facing away
        Rotation.from_rotvec([np.pi, 0.0, 0.0]),
        Rotation.from_rotvec(np.array([1.0, 2.0, -0.5]) / np.linalg.norm([1.0, 2.0, -0.5]) * (np.pi - 1e-7)),
        Rotation.random(4, random_state=3),
    ])
    B = np.einsum("tij,nj->tni", Rs.as_matrix(), A) + np.array([0.3, 1.0, -2.0])  # translated: fit centres
    rv = smpl._orientation_rotvec(torch.from_numpy(A), torch.from_numpy(B)).numpy()
    np.testing.assert_allclose(Rotation.from_rotvec(rv).as_matrix(), Rs.as_matrix(), atol=1e-9)
    np.testing.assert_allclose(rv[0], 0.0, atol=1e-12)
    np.testing.assert_allclose(np.linalg.norm(rv[1:3], axis=-1), np.pi, atol=1e-9)
    # a mirrored body (left/right swapped) gets the best proper rotation, never a reflection
    M = (A * np.array([-1.0, 1.0, 1.0]))[None]
    rv = smpl._orientation_rotvec(torch.from_numpy(A), torch.from_numpy(M)).numpy()
    R = Rotation.from_rotvec(rv[0]).as_matrix()
    assert abs(np.linalg.det(R) - 1.0) < 1e-12
    others = Rotation.random(2000, random_state=4).as_matrix()
    assert _residual(R, A, M[0]) <= min(_residual(Q, A, M[0]) for Q in others) + 1e-12
