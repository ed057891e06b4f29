"""``mocap-fast lift`` end to end: OpenPose folder + camera file -> BVH / GLB / JSON, and its errors."""

import json

import numpy as np
import pytest

from helpers import SHARED_DATA, have_shared
from mocap_fast import Camera
from mocap_fast.cli import build_parser, main
from mocap_fast.data.bvh import read_bvh
from mocap_fast.io.export import read_glb
from mocap_fast.io.keypoints import BODY25_TO_COCO17
from mocap_fast.joints import SMPL22, from_smpl22

MOCAP30 = SHARED_DATA / "mocap30" / "clips" / "cmu_131_02.npy"
CAM = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=1.5, pitch_deg=-8)
T = 60


@pytest.fixture(scope="module")
def inputs(tmp_path_factory):
    """An OpenPose BODY_25 folder of a real clip seen by CAM, and CAM as a from_ground camera JSON."""
    root = tmp_path_factory.mktemp("cli")
    if have_shared(MOCAP30):
        X = np.load(MOCAP30).astype(np.float64)[:T]
    else:
        from mocap_fast.cli import load_demo

        X = load_demo()[0][:T]
    X = X - X[0, 0] * np.array([1.0, 0.0, 1.0]) + np.array([0.0, 0.0, -4.5])  # 4.5 m in front of the camera
    kp17 = CAM.project(from_smpl22(X, "coco17"))
    folder = root / "openpose"
    folder.mkdir()
    for t in range(T):
        kp = np.zeros((25, 3))
        kp[list(BODY25_TO_COCO17), :2] = kp17[t]
        kp[list(BODY25_TO_COCO17), 2] = 0.9
        people = [] if t == 30 else [{"person_id": [-1], "pose_keypoints_2d": kp.reshape(-1).tolist()}]
        (folder / f"clip_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    cam = root / "cam.json"
    cam.write_text(json.dumps({"K": CAM.K.tolist(), "image_size": [1280, 720], "height": 1.5, "pitch_deg": -8,
                               "roll_deg": 0}))
    return folder, cam, X


def test_lift_openpose_folder_exports_bvh_gltf_json(inputs, tmp_path, capsys):
    folder, cam, X = inputs
    out = tmp_path / "out"
    rc = main(["lift", str(folder), "--camera", str(cam), "--out", str(out), "--export", "bvh,gltf,json",
               "--steps", "2", "--force", "--fps", "30"])
    assert rc == 0
    printed = capsys.readouterr().out
    assert "60 frames of 17 coco17 keypoints (openpose)" in printed
    assert sorted(p.name for p in out.iterdir()) == ["cameras.json", "lifted.bvh", "lifted.glb", "lifted.json"]
    d = json.loads((out / "lifted.json").read_text())
    J = np.asarray(d["joints"])
    assert J.shape == (T, 22, 3) and np.isfinite(J).all()
    assert d["metadata"]["version"] and "default" in d["metadata"]["model"]
    assert d["metadata"]["input_source"] == "openpose" and d["metadata"]["steps"] == 2
    assert np.asarray(d["confidence"])[30].max() == 0  # the frame without a detection was missing
    assert abs(np.median(J[:, 0, 2]) - np.median(X[:, 0, 2])) < 2.0  # roughly where the person was (m)
    m = read_bvh(out / "lifted.bvh")
    assert m.num_frames == T and m.fps == 30.0
    idx = [m.names.index(n) for n in d["joint_names"]]
    np.testing.assert_allclose(m.positions[:, idx[0]], J[:, 0], atol=1e-5)  # root exact
    ref = J.copy()  # the BVH holds every bone at its observed direction and its mean length
    for c, p in enumerate(SMPL22.parents):
        if p >= 0:
            dv = J[:, c] - J[:, p]
            L = np.linalg.norm(dv, axis=-1)
            ref[:, c] = ref[:, p] + L.mean() * dv / L[:, None]
    np.testing.assert_allclose(m.positions[:, idx], ref, atol=1e-3)
    gltf, binary = read_glb(out / "lifted.glb")
    anim = gltf["animations"][0]
    assert all(gltf["accessors"][s["output"]]["count"] == T for s in anim["samplers"])
    assert gltf["buffers"][0]["byteLength"] == len(binary)
    cams = json.loads((out / "cameras.json").read_text())["cameras"]
    np.testing.assert_allclose(cams[0]["T_w2c"], CAM.T_w2c.numpy(), atol=1e-9)


def test_default_export_is_npz_and_quiet(inputs, tmp_path, capsys):
    folder, cam, _ = inputs
    out = tmp_path / "o"
    assert main(["lift", str(folder), "--camera", str(cam), "--out", str(out), "--steps", "2", "--force", "--quiet",
                 "--format", "coco17", "--person", "0", "--export", "npz,c3d"]) == 0
    assert capsys.readouterr().out == ""
    z = np.load(out / "lifted.npz")
    assert z["joints"].shape == (T, 22, 3) and json.loads(str(z["metadata"]))["person"] == 0
    assert (out / "lifted.c3d").is_file()


@pytest.mark.parametrize("extra, match", [
    (["--export", "bvh,fbx"], "unknown format"),
    (["--format", "h36m17"], "coco17"),
    (["--person", "3"], "person"),
    (["--device", "cuda:99"], "device"),
    (["--device", "nonsense"], "device"),
    (["--fps", "0"], "fps"),
    (["--steps", "0"], "steps"),
])
def test_bad_options_one_line_error(inputs, tmp_path, capsys, extra, match):
    folder, cam, _ = inputs
    rc = main(["lift", str(folder), "--camera", str(cam), "--out", str(tmp_path / "o")] + extra)
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("mocap-fast lift: error:") and match in err[0]
    assert not (tmp_path / "o").exists()


def test_bad_files_one_line_error(inputs, tmp_path, capsys):
    folder, cam, _ = inputs
    (tmp_path / "bad.yml").write_text("%YAML:1.0\ncamera_matrix: !!opencv-matrix\n   rows: 3\n")
    (tmp_path / "empty").mkdir()
    (tmp_path / "few.npy").write_bytes(b"garbage")
    cases = [
        ([str(folder), "--camera", str(tmp_path / "bad.yml")], "bad.yml"),
        ([str(folder), "--camera", str(tmp_path / "missing.json")], "missing.json"),
        ([str(tmp_path / "empty"), "--camera", str(cam)], "empty"),
        ([str(tmp_path / "few.npy"), "--camera", str(cam)], "few.npy"),
    ]
    for args, name in cases:
        assert main(["lift"] + args + ["--out", str(tmp_path / "o")]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and name in err[0], err


@pytest.mark.parametrize("command", [[], ["demo"], ["lift"], ["eval"], ["train"]])
def test_help_on_every_command(command, capsys):
    with pytest.raises(SystemExit) as info:
        build_parser().parse_args(command + ["--help"])
    assert info.value.code == 0
    out = capsys.readouterr().out
    assert "usage: mocap-fast" in out
    if command == ["lift"]:
        for opt in ("--camera", "--format", "--person", "--out", "--export", "--fps", "--steps", "--device", "--quiet"):
            assert opt in out


def test_lift_foot_lock_and_smpl_fit(inputs, tmp_path, capsys):
    pytest.importorskip("smplx", reason="smplx not installed (optional extra 'smpl')")
    from helpers import tiny_smpl_model

    folder, cam, _ = inputs
    models = tmp_path / "smpl"
    models.mkdir()
    tiny_smpl_model(models / "SMPL_NEUTRAL.npz")
    out = tmp_path / "out"
    rc = main(["lift", str(folder), "--camera", str(cam), "--out", str(out), "--export", "json", "--steps", "2", "--force",
               "--fps", "30", "--foot-lock", "--smpl", str(models)])
    assert rc == 0
    assert "smpl: mean joint distance" in capsys.readouterr().out
    d = json.loads((out / "lifted.json").read_text())
    assert d["metadata"]["foot_lock"] is True
    z = np.load(out / "smpl.npz")
    assert z["body_pose"].shape == (T, 69) and z["transl"].shape == (T, 3) and z["joints"].shape == (T, 22, 3)
    assert np.isfinite(z["joints"]).all() and str(z["gender"]) == "neutral"


def test_lift_smpl_missing_model_fails_before_lifting(inputs, tmp_path, capsys):
    pytest.importorskip("smplx", reason="smplx not installed (optional extra 'smpl')")
    folder, cam, _ = inputs
    out = tmp_path / "out"
    rc = main(["lift", str(folder), "--camera", str(cam), "--out", str(out), "--steps", "2", "--smpl", str(tmp_path)])
    assert rc == 2
    err = capsys.readouterr().err
    assert "SMPL_NEUTRAL" in err and "smpl.is.tue.mpg.de" in err
    assert not out.exists()
