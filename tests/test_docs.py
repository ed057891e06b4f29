"""Every ```python block of README.md and ../shared/API.md runs as written, on real data.

The blocks of one document run in order in one namespace (a later block may use what an earlier
one made, as a reader would), after this prelude, which defines the names the documents leave to
the reader. All of it comes from the embedded demo clip (``mocap_fast/assets/demo_clip.npz``, CMU
131_02), cut to ``FRAMES`` frames so the full-schedule lifts the examples ask for stay quick:

- ``K``, ``T_w2c``, ``W``, ``H``, ``fx``, ``fy``, ``cx``, ``cy``: the demo clip's own camera;
- ``keypoints``: ``(FRAMES, 22, 2)`` pixels of the clip, moved to stand 5 m in front of the
  ``Camera.from_ground`` camera that the document builds (:data:`DOC_CAMERAS`; the test checks
  that the document's ``cam`` is that camera), projected into it;
- ``points_2d`` ``(FRAMES * 22, 2, 2)``, ``proj`` ``(2, 3, 4)``: the clip's joints seen by the demo
  camera and that document camera.

After each block, the names it made are checked against what the documents say about them
(shapes, kinds, files written, the triangulated points equal to the clip's joints).
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest

import mocap_fast
from helpers import SHARED_DATA, have_shared
from mocap_fast import Camera
from mocap_fast.cli import load_demo

ROOT = Path(__file__).resolve().parents[1]
DOCS = {"README.md": ROOT / "README.md", "API.md": SHARED_DATA.parent / "API.md"}
FRAMES = 16
DOC_CAMERAS = {  # the from_ground camera each document's lifting example builds
    "README.md": dict(fx=1500, fy=1500, cx=960, cy=540, image_size=(1920, 1080), height=1.4, pitch_deg=-8),
    "API.md": dict(fx=1500, fy=1500, cx=960, cy=540, image_size=(1920, 1080), height=1.6, pitch_deg=-10.0),
}
NOT_YET = {"estimate_camera": "issue 16 (lifting without a calibration) adds mocap_fast.estimate_camera"}


def python_blocks(path: Path) -> list[tuple[int, str]]:
    """``[(line number, code)]`` of every fenced ```python block of ``path``."""
    text = path.read_text()
    return [(text[:m.start()].count("\n") + 1, m.group(1)) for m in re.finditer(r"^```python\n(.*?)^```", text, re.S | re.M)]


def prelude(doc: str) -> dict:
    joints, demo_cam, _ = load_demo()
    X = joints[:FRAMES] - joints[0, 0] * np.array([1.0, 0.0, 1.0]) + np.array([0.0, 0.0, -5.0])
    c = DOC_CAMERAS[doc]
    cam = Camera.from_ground(c["fx"], c["fy"], c["cx"], c["cy"], c["image_size"], height=c["height"], pitch_deg=c["pitch_deg"])
    K, T_w2c = demo_cam.K.numpy(), demo_cam.T_w2c.numpy()
    W, H = demo_cam.image_size
    both = [demo_cam, cam]
    return dict(
        K=K, T_w2c=T_w2c, W=W, H=H, fx=K[0, 0], fy=K[1, 1], cx=K[0, 2], cy=K[1, 2],
        keypoints=cam.project(X),
        points_2d=np.stack([v.project(X) for v in both], -2).reshape(-1, 2, 2),
        proj=np.stack([v.P.numpy() for v in both]),
        _joints=X, _cam=cam,
    )


def check(ns: dict, made: set[str]) -> None:
    """What the documents promise about the names a block made."""
    T = FRAMES
    if "cam" in made:
        assert isinstance(ns["cam"], Camera)
    if "res" in made:
        res = ns["res"]
        assert isinstance(res, mocap_fast.LiftResult)
        assert res.joints.shape == (T, 22, 3) and res.joints_cam.shape == (T, 22, 3)
        assert np.isfinite(res.joints).all()
        V = len(res.cameras)
        assert res.views_2d.shape == (V, T, 22, 2) and V == 4
        np.testing.assert_allclose(ns["cam"].T_w2c.numpy(), ns["_cam"].T_w2c.numpy(), atol=1e-9,
                                   err_msg="the document's camera is not the one its prelude projects into (DOC_CAMERAS)")
        np.testing.assert_allclose(res.cameras[0].T_w2c.numpy(), ns["cam"].T_w2c.numpy(), atol=1e-9)
        err = np.linalg.norm(res.joints - ns["_joints"], axis=-1).mean()
        assert err < 1.0, f"lifted joints {err:.2f} m from the clip's on average"  # metres: a sanity bound, not accuracy
    if "X" in made:
        X = np.asarray(ns["X"])
        assert X.shape == (FRAMES * 22, 3)
        np.testing.assert_allclose(X, ns["_joints"].reshape(-1, 3), atol=1e-6)  # exact projections: exact points


def run_document(doc: str, tmp_path, monkeypatch) -> None:
    path = DOCS[doc]
    if doc == "API.md" and not have_shared(path):
        pytest.skip(f"{path} absent (../shared beside the repository)")
    blocks = python_blocks(path)
    assert blocks, f"no python blocks in {path}"
    monkeypatch.chdir(tmp_path)  # examples write files ("out/")
    ns = prelude(doc)
    pending = []
    for line, code in blocks:
        missing = [n for n in NOT_YET if re.search(rf"\b{n}\b", code) and not hasattr(mocap_fast, n)]
        if missing:
            pending.append(f"{path.name}:{line} ({'; '.join(NOT_YET[n] for n in missing)})")
            continue
        before = {k: id(v) for k, v in ns.items()}
        try:
            exec(compile(code, f"{path.name}:{line}", "exec"), ns)
        except Exception as exc:
            raise AssertionError(f"{path.name}, block at line {line} fails as written:\n{code}") from exc
        check(ns, {k for k, v in ns.items() if before.get(k) != id(v)})
    if doc == "README.md":
        assert {p.name for p in (tmp_path / "out").iterdir()} >= {"lifted.bvh", "lifted.glb", "lifted.c3d"}
    if pending:
        pytest.xfail("every other block passed; not yet implemented: " + ", ".join(pending))


def test_readme_examples_run(tmp_path, monkeypatch):
    run_document("README.md", tmp_path, monkeypatch)


def test_api_examples_run(tmp_path, monkeypatch):
    run_document("API.md", tmp_path, monkeypatch)


def test_every_python_block_is_run():
    """The block pattern finds what a reader sees: as many blocks as opening fences."""
    for doc, path in DOCS.items():
        if path.is_file():
            assert len(python_blocks(path)) == path.read_text().count("```python") > 0, doc
