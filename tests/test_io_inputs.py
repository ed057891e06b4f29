"""Keypoint readers (OpenPose, COCO, MMPose, npz/npy, VideoPose3D) and camera files (JSON, OpenCV YAML)."""

import json
import math

import numpy as np
import pytest

from mocap_fast import Camera
from mocap_fast.io.camera_file import parse_opencv_yaml, read_camera, write_camera
from mocap_fast.io.keypoints import BODY25_TO_COCO17, COCO18_TO_COCO17, load_keypoints
from mocap_fast.joints import from_smpl22

CAM = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=1.5, pitch_deg=-8)


def _coco_2d(T=20, x0=0.0):
    """(T, 17, 2) COCO-17 pixels of a synthetic figure walking along x, 5 m in front of CAM."""
    from test_lift import walk

    X = walk(T, offset=(x0, -5.0))
    return CAM.project(from_smpl22(X, "coco17"))


def _body25(kp17, conf17):
    """Embed COCO-17 into OpenPose BODY_25 (neck, mid-hip, feet filled with plausible points)."""
    T = kp17.shape[0]
    kp = np.zeros((T, 25, 2))
    c = np.zeros((T, 25))
    kp[:, list(BODY25_TO_COCO17)] = kp17
    c[:, list(BODY25_TO_COCO17)] = conf17
    kp[:, 1] = kp17[:, [5, 6]].mean(1)
    kp[:, 8] = kp17[:, [11, 12]].mean(1)
    c[:, [1, 8]] = 0.9
    for k in range(19, 25):
        kp[:, k] = kp17[:, 15 if k < 22 else 16] + [3.0, 5.0]
        c[:, k] = 0.5
    return kp, c


def _openpose_person(kp, c, pid=None):
    flat = np.concatenate([kp, c[:, None]], 1).reshape(-1)
    d = {"person_id": [-1 if pid is None else pid], "pose_keypoints_2d": [float(v) for v in flat]}
    return d


def test_openpose_body25_folder_two_people_and_gap(tmp_path):
    kp17 = _coco_2d(20)
    other = _coco_2d(20, x0=2.5)
    conf = np.full((20, 17), 0.9)
    conf[3, 9] = 0.0  # one missing wrist
    a, ca = _body25(kp17, conf)
    b, cb = _body25(other, np.full((20, 17), 0.3))
    for t in range(20):
        people = [] if t == 7 else [_openpose_person(a[t], ca[t]), _openpose_person(b[t], cb[t])]
        if t % 2:
            people = people[::-1]  # detection order changes; the tracker keeps identities
        (tmp_path / f"clip_{t:012d}_keypoints.json").write_text(json.dumps({"version": 1.3, "people": people}))
    d = load_keypoints(tmp_path)
    assert d.source == "openpose" and d.joint_format == "coco17" and d.info["layout"] == "body25"
    assert d.keypoints.shape == (20, 17, 2) and d.confidence.shape == (20, 17)
    assert d.info["tracks"] == 2 and d.info["track_ids_from"] == "tracker"
    ok = d.confidence > 0
    np.testing.assert_allclose(d.keypoints[ok], kp17[ok], atol=1e-9)
    assert np.isnan(d.keypoints[7]).all() and (d.confidence[7] == 0).all()  # no detection: a gap
    assert d.confidence[3, 9] == 0 and np.isnan(d.keypoints[3, 9]).all()
    np.testing.assert_allclose(d.confidence[0], 0.9)
    # the other person by tracker id
    e = load_keypoints(tmp_path, person=1 - d.info["person"])
    okb = e.confidence > 0
    np.testing.assert_allclose(e.keypoints[okb], other[okb], atol=1e-9)
    with pytest.raises(ValueError, match="person"):
        load_keypoints(tmp_path, person=5)
    with pytest.raises(ValueError, match="coco17"):
        load_keypoints(tmp_path, joint_format="h36m17")


def test_openpose_coco18_and_person_ids(tmp_path):
    kp17 = _coco_2d(10)
    kp18 = np.zeros((10, 18, 2))
    kp18[:, list(COCO18_TO_COCO17)] = kp17
    kp18[:, 1] = kp17[:, [5, 6]].mean(1)
    c18 = np.ones((10, 18))
    far = kp18 + [300.0, 0.0]
    for t in range(10):
        people = [_openpose_person(far[t], 0.2 * c18[t], pid=4), _openpose_person(kp18[t], c18[t], pid=9),
                  {"person_id": [-1], "pose_keypoints_2d": [], "face_keypoints_2d": [1.0, 2.0, 0.5]}]  # face only
        (tmp_path / f"f{t}.json").write_text(json.dumps({"people": people}))
    d = load_keypoints(tmp_path)
    assert d.info["layout"] == "coco18" and d.info["track_ids_from"] == "file" and d.info["person"] == 9
    np.testing.assert_allclose(d.keypoints, kp17, atol=1e-9)
    assert load_keypoints(tmp_path, person="4").info["person"] == 4
    one = load_keypoints(tmp_path / "f3.json")  # a single OpenPose JSON file is one frame
    assert one.keypoints.shape == (1, 17, 2)


def test_coco_results_with_gaps_tracks_and_visibility(tmp_path):
    kp = _coco_2d(12)
    res = []
    for t in range(12):
        if t == 5:
            continue  # image 105 has no detection -> missing frame
        trip = np.concatenate([kp[t], np.full((17, 1), 0.8)], 1)
        res.append({"image_id": 100 + t, "category_id": 1, "keypoints": trip.reshape(-1).tolist(), "score": 0.9,
                    "track_id": 1})
        res.append({"image_id": 100 + t, "category_id": 1, "keypoints": (trip + [50, 0, -0.7]).reshape(-1).tolist(),
                    "score": 0.5, "track_id": 2})
    p = tmp_path / "results.json"
    p.write_text(json.dumps(res))
    d = load_keypoints(p)
    assert d.source == "coco" and d.keypoints.shape == (12, 17, 2) and d.info["person"] == 1
    assert (d.confidence[5] == 0).all() and np.isnan(d.keypoints[5]).all()
    np.testing.assert_allclose(d.keypoints[:5], kp[:5], atol=1e-9)
    np.testing.assert_allclose(d.confidence[0], 0.8)
    assert load_keypoints(p, person=2).info["person"] == 2
    # COCO annotation file: visibility flags 0/1/2
    trip = np.concatenate([kp[0], np.full((17, 1), 2.0)], 1)
    trip[3, 2] = 0
    ann = {"annotations": [{"image_id": i, "keypoints": trip.reshape(-1).tolist()} for i in range(9)]}
    q = tmp_path / "ann.json"
    q.write_text(json.dumps(ann))
    e = load_keypoints(q)
    assert e.confidence[0, 3] == 0 and e.confidence[0, 4] == 1.0 and e.keypoints.shape == (9, 17, 2)


def test_mmpose_json_forms(tmp_path):
    kp = _coco_2d(9)
    frames = [{"frame_id": t + 1, "instances": [{"keypoints": kp[t].tolist(), "keypoint_scores": [0.7] * 17,
                                                 "bbox": [[0, 0, 10, 10]], "bbox_score": 0.9}]} for t in range(9)]
    p = tmp_path / "mm.json"
    p.write_text(json.dumps({"meta_info": {"dataset_name": "coco"}, "instance_info": frames}))
    d = load_keypoints(p)
    assert d.source == "mmpose" and d.joint_format == "coco17"
    np.testing.assert_allclose(d.keypoints, kp, atol=1e-9)
    np.testing.assert_allclose(d.confidence, 0.7)
    q = tmp_path / "rtm.json"  # a list of per-frame instance lists
    q.write_text(json.dumps([[{"keypoints": kp[t].tolist(), "keypoint_scores": [0.6] * 17}] for t in range(9)]))
    e = load_keypoints(q, joint_format="h36m17")
    assert e.joint_format == "h36m17" and e.keypoints.shape == (9, 17, 2)


def test_arrays_npy_npz_multi_person_and_videopose3d(tmp_path):
    kp = _coco_2d(10)
    np.save(tmp_path / "a.npy", kp)
    d = load_keypoints(tmp_path / "a.npy")
    assert d.joint_format == "coco17" and (d.confidence == 1).all()
    kp3 = np.concatenate([kp, np.full((10, 17, 1), 0.5)], -1)
    kp3[2, 4, 2] = 0.0
    np.savez(tmp_path / "b.npz", keypoints=kp3, fps=np.float64(25.0))
    d = load_keypoints(tmp_path / "b.npz")
    assert d.fps == 25.0 and d.confidence[2, 4] == 0 and np.isnan(d.keypoints[2, 4]).all()
    np.savez(tmp_path / "c.npz", keypoints=kp, keypoint_scores=np.full((10, 17), 0.4), joint_format="h36m17")
    d = load_keypoints(tmp_path / "c.npz")
    assert d.joint_format == "h36m17" and np.allclose(d.confidence, 0.4)
    multi = np.stack([kp + [400.0, 0.0], kp], 1)  # (T, 2, 17, 2)
    conf = np.stack([np.full((10, 17), 0.2), np.full((10, 17), 0.9)], 1)
    np.savez(tmp_path / "m.npz", keypoints=multi, scores=conf)
    d = load_keypoints(tmp_path / "m.npz")
    np.testing.assert_allclose(d.keypoints, kp, atol=1e-9)
    # SMPL-22 by joint count
    np.save(tmp_path / "s.npy", np.zeros((10, 22, 3)) + 0.5)
    assert load_keypoints(tmp_path / "s.npy").joint_format == "smpl22"
    # VideoPose3D custom dataset: pickled {subject: {action: [cameras]}} + metadata
    meta = np.array({"layout_name": "h36m", "num_joints": 17}, dtype=object)
    pos = np.array({"S1": {"walk": [kp]}}, dtype=object)
    np.savez(tmp_path / "data_2d_custom_x.npz", positions_2d=pos, metadata=meta)
    d = load_keypoints(tmp_path / "data_2d_custom_x.npz")
    assert d.source == "videopose3d" and d.joint_format == "h36m17"
    np.testing.assert_allclose(d.keypoints, kp)
    np.savez(tmp_path / "vp.npz", positions_2d=kp)  # plain positions_2d array
    assert load_keypoints(tmp_path / "vp.npz").joint_format == "coco17"


@pytest.mark.parametrize("make, match", [
    (lambda p: p / "missing.npy", "no such file"),
    (lambda p: (p / "x.txt").write_text("hi") and p / "x.txt", "unsupported"),
    (lambda p: (p / "bad.json").write_text("{oops") and p / "bad.json", "invalid JSON"),
    (lambda p: (p / "o.json").write_text('{"foo": 1}') and p / "o.json", "unknown JSON layout"),
    (lambda p: np.save(p / "w.npy", np.zeros((10, 12, 2))) or p / "w.npy", "12 joints"),
    (lambda p: np.save(p / "v.npy", np.zeros((10, 17))) or p / "v.npy", "expected shape"),
    (lambda p: np.savez(p / "k.npz", foo=np.zeros(3)) or p / "k.npz", "no keypoint array"),
    (lambda p: (p / "t.npz").write_bytes(b"not a zip") and p / "t.npz", "cannot read"),
    (lambda p: (p / "op").mkdir() or p / "op", "no OpenPose JSON"),
])
def test_bad_inputs_name_the_file(tmp_path, make, match):
    path = make(tmp_path)
    with pytest.raises(ValueError, match=match) as info:
        load_keypoints(path)
    assert str(path.name) in str(info.value) or "INPUT" in str(info.value)
    with pytest.raises(ValueError, match="format"):
        load_keypoints(path, joint_format="body25")


# ------------------------------------------------------------------------------------------- cameras


def _rodrigues_vec(R):  # an independent oracle for the reader's scipy Rotation (valid below 180 degrees)
    q = math.acos(max(-1.0, min(1.0, (np.trace(R) - 1) / 2)))
    v = np.array([R[2, 1] - R[1, 2], R[0, 2] - R[2, 0], R[1, 0] - R[0, 1]])
    return v / (2 * math.sin(q)) * q


def test_camera_json_forms_and_roundtrip(tmp_path):
    p = tmp_path / "cam.json"
    write_camera(p, CAM)
    assert not [f for f in tmp_path.iterdir() if f.name != "cam.json"]  # atomic: no temp left behind
    c = read_camera(p)
    np.testing.assert_allclose(c.T_w2c.numpy(), CAM.T_w2c.numpy())
    assert c.image_size == CAM.image_size
    g = tmp_path / "ground.json"
    g.write_text(json.dumps({"K": CAM.K.tolist(), "image_size": [1280, 720], "height": 1.5, "pitch_deg": -8}))
    np.testing.assert_allclose(read_camera(g).T_w2c.numpy(), CAM.T_w2c.numpy(), atol=1e-12)


def test_opencv_yaml_R_T_rvec_and_z_up(tmp_path):
    K, T = CAM.K.numpy(), CAM.T_w2c.numpy()
    R, t = T[:3, :3], T[:3, 3]
    data = ", ".join(f"{v:.17g}" for v in R.reshape(-1))
    kd = ", ".join(f"{v:.17g}" for v in K.reshape(-1))
    text = f"""%YAML:1.0
---
calibration_time: "Mon Nov  3 10:00:00 2025"
image_width: 1280
image_height: 720
camera_matrix: !!opencv-matrix
   rows: 3
   cols: 3
   dt: d
   data: [ {kd} ]
distortion_coefficients: !!opencv-matrix
   rows: 1
   cols: 5
   dt: d
   data: [ 0., 0., 0., 0., 0. ]
R: !!opencv-matrix
   rows: 3
   cols: 3
   dt: d
   data: [ {data.replace(', ', ',' + chr(10) + '       ', 3)} ]
T: !!opencv-matrix
   rows: 3
   cols: 1
   dt: d
   data: [ {t[0]:.17g}, {t[1]:.17g}, {t[2]:.17g} ]
"""
    p = tmp_path / "calib.yml"
    p.write_text(text)
    c = read_camera(p)
    np.testing.assert_allclose(c.T_w2c.numpy(), T, atol=1e-12)
    np.testing.assert_allclose(c.K.numpy(), K)
    # rvec / tvec form
    r = _rodrigues_vec(R)
    q = tmp_path / "rv.yaml"
    q.write_text(text.split("R: !!")[0] + f"rvec: [ {r[0]:.17g}, {r[1]:.17g}, {r[2]:.17g} ]\n"
                 f"tvec: [ {t[0]:.17g}, {t[1]:.17g}, {t[2]:.17g} ]\n")
    np.testing.assert_allclose(read_camera(q).T_w2c.numpy(), T, atol=1e-9)
    # a z-up world (ground z = 0): x_z = (x, -z, y) of the y-up point
    A = np.array([[1, 0, 0], [0, 0, 1], [0, -1, 0]], dtype=float)  # y-up <- z-up
    Rz = R @ A
    z = tmp_path / "zup.json"
    z.write_text(json.dumps({"camera_matrix": {"type_id": "opencv-matrix", "rows": 3, "cols": 3, "dt": "d",
                                               "data": K.reshape(-1).tolist()},
                             "image_width": 1280, "image_height": 720, "R": Rz.tolist(), "T": t.tolist(),
                             "world_up": "z"}))
    np.testing.assert_allclose(read_camera(z).T_w2c.numpy(), T, atol=1e-12)
    # distortion warns
    w = tmp_path / "dist.yml"
    w.write_text(text.replace("[ 0., 0., 0., 0., 0. ]", "[ 0.1, 0., 0., 0., 0. ]"))
    with pytest.warns(RuntimeWarning, match="distortion"):
        read_camera(w)
    assert parse_opencv_yaml("a: 1\nb: [1, 2,\n 3]\n") == {"a": 1, "b": [1, 2, 3]}


@pytest.mark.parametrize("suffix", [".json", ".yml", ".yaml"])
def test_write_camera_roundtrip_json_and_opencv_yaml(tmp_path, suffix):
    cams = [CAM, Camera.from_ground(1500.5, 1499.25, 960.125, 540.0, (1920, 1080), height=2.25, pitch_deg=-31.5,
                                    roll_deg=3.25, yaw_deg=140.0)]
    for k, cam in enumerate(cams):
        p = write_camera(tmp_path / f"c{k}{suffix}", cam)
        text = p.read_text()
        assert text.startswith("%YAML:1.0\n---\n") == (suffix != ".json")
        if suffix != ".json":
            assert "camera_matrix: !!opencv-matrix" in text and "R: !!opencv-matrix" in text
        c = read_camera(p)
        np.testing.assert_array_equal(c.T_w2c.numpy(), cam.T_w2c.numpy())  # repr floats: bit exact
        np.testing.assert_array_equal(c.K.numpy(), cam.K.numpy())
        assert c.image_size == cam.image_size


def test_opencv_yaml_rvec_half_turn_and_readme_example(tmp_path):
    # rvec of exactly 180 degrees about x: camera upside down relative to the world axes
    body = "%YAML:1.0\n---\nimage_width: 1280\nimage_height: 720\ncamera_matrix: !!opencv-matrix\n   rows: 3\n" \
           "   cols: 3\n   dt: d\n   data: [ 1000., 0., 640., 0., 1000., 360., 0., 0., 1. ]\n"
    p = tmp_path / "half.yml"
    p.write_text(body + f"rvec: [ {math.pi!r}, 0., 0. ]\ntvec: [ 0., 1.5, 0. ]\n")
    np.testing.assert_allclose(read_camera(p).T_w2c.numpy()[:3, :3], np.diag([1.0, -1.0, -1.0]), atol=1e-15)
    # the README's example: Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=1.5, pitch_deg=-8)
    p.write_text(body + "rvec: [ -3.001966, 0., 0. ]     # comment\ntvec: [ 0., 1.485402, 0.208760 ]\n")
    np.testing.assert_allclose(read_camera(p).T_w2c.numpy(), CAM.T_w2c.numpy(), atol=2e-6)


@pytest.mark.parametrize("name, text, match", [
    ("a.json", "{broken", "invalid JSON"),
    ("b.json", '{"image_size": [640, 480], "height": 1.5}', "missing 'K'"),
    ("c.json", '{"K": [[1, 0], [0, 1]], "image_size": [640, 480], "height": 1.5}', "3x3"),
    ("d.json", '{"K": [[500, 0, 320], [0, 500, 240], [0, 0, 1]], "height": 1.5}', "image_size"),
    ("e.json", '{"K": [[500, 0, 320], [0, 500, 240], [0, 0, 1]], "image_size": [640, 480]}', "no extrinsics"),
    ("f.json", '{"K": [[500, 0, 320], [0, 500, 240], [0, 0, 1]], "image_size": [640, 480], "R": [[2, 0, 0], '
               '[0, 1, 0], [0, 0, 1]], "T": [0, -1, 0]}', "rotation"),
    ("g.yml", "%YAML:1.0\ncamera_matrix: !!opencv-matrix\n   rows: 3\n   cols: 3\n   data: [ 1, 2 ]\n", "do not fit"),
    ("h.yml", "%YAML:1.0\n---\nK: [1, 2]\n  bad: indent\n", "invalid YAML \\(line 4"),
    ("i.yml", "%YAML:1.0\nK: [1, 2,\n", "invalid YAML"),
    ("k.yml", "%YAML:1.0\n- 1\n- 2\n", "mapping"),
    ("l.yml", "%YAML:1.0\nK: !!opencv-matrix\n   rows: 3\n   cols: 3\n   data: [ a, b ]\n", "non-numeric"),
    ("j.json", '[1, 2]', "mapping"),
])
def test_bad_camera_files_name_file_and_problem(tmp_path, name, text, match):
    p = tmp_path / name
    p.write_text(text)
    with pytest.raises(ValueError, match=match) as info:
        read_camera(p)
    assert str(info.value).startswith("camera: ") and name in str(info.value)
    with pytest.raises(ValueError, match="cannot read"):
        read_camera(tmp_path / "nope.json")
