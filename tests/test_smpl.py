"""mocap_fast.smpl.fit on a tiny synthetic SMPL-structured model (the real files are licensed)."""

import pickle
import sys
from importlib import resources

import numpy as np
import pytest
import torch

from mocap_fast import smpl

SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]


def _tiny_model(path, per_joint=4, seed=0):
    """An SMPL-structured model with 24 joints and 24 * per_joint + 4 = 100 vertices."""
    rng = np.random.default_rng(seed)
    with resources.as_file(resources.files("mocap_fast") / "assets" / "demo_clip.npz") as p:
        J22 = np.load(p)["joints"][0].astype(np.float64)
    J = np.concatenate([J22, J22[20:22] + (J22[20:22] - J22[18:20]) * 0.4], 0)  # hands beyond the wrists
    J = J - J[0]
    offs = rng.normal(0, 0.03, (per_joint, 3))
    offs -= offs.mean(0)  # vertex ring centred on its joint: J_regressor (mean) gives the joint back
    V = np.concatenate([(J[:, None] + offs[None]).reshape(-1, 3), J[[0, 0, 15, 15]] + rng.normal(0, 0.05, (4, 3))])
    nv = len(V)
    Jreg = np.zeros((24, nv))
    weights = np.zeros((nv, 24))
    for j in range(24):
        Jreg[j, j * per_joint:(j + 1) * per_joint] = 1.0 / per_joint
        weights[j * per_joint:(j + 1) * per_joint, j] = 1.0
    weights[24 * per_joint:, [0, 0, 15, 15]] = 0
    weights[np.arange(24 * per_joint, nv), [0, 0, 15, 15]] = 1.0
    shapedirs = rng.normal(0, 0.01, (nv, 3, 10))
    posedirs = rng.normal(0, 1e-3, (nv, 3, 207))
    kintree = np.array([[4294967295] + SMPL_PARENTS[1:], list(range(24))], dtype=np.int64)
    faces = np.array([[i, i + 1, i + 2] for i in range(0, nv - 2, 3)], dtype=np.int64)
    data = dict(v_template=V, shapedirs=shapedirs, posedirs=posedirs, J_regressor=Jreg, weights=weights,
                kintree_table=kintree, f=faces)
    if str(path).endswith(".npz"):
        np.savez(path, **data)
    else:
        with open(path, "wb") as fh:
            pickle.dump(data, fh)
    return path


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
