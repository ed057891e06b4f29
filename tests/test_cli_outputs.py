"""Outputs people use directly: the overlay export, the demo NPZ, CLI help texts and messages."""

from __future__ import annotations

import argparse
import json

import numpy as np
import pytest

from mocap_fast import Camera
from mocap_fast.cli import build_parser, load_demo, main
from mocap_fast.evaluation import EvalReport
from mocap_fast.io.export import export_result
from mocap_fast.joints import from_smpl22
from mocap_fast.lifting import LiftResult

CAM = Camera.from_ground(300, 300, 160, 120, (320, 240), height=1.5, pitch_deg=-8)


def _result(T=10, shift=0.0):
    X = load_demo()[0][:T]
    X = X - X[0, 0] * np.array([1.0, 0.0, 1.0]) + np.array([0.0, 0.0, -4.0])
    kp = CAM.project(X)
    Y = X + np.array([shift, 0.0, 0.0])
    views = np.stack([CAM.project(Y)] * 4)
    return LiftResult(Y, CAM.to_camera(Y), views, [CAM] * 4, np.ones((T, 22)), 30.0), kp, X


def _colour_pixels(frame):
    f = frame[..., :3].astype(int)
    green = (f[..., 1] > f[..., 0] + 60) & (f[..., 1] > f[..., 2] + 60)
    orange = (f[..., 0] > 180) & (f[..., 0] > f[..., 2] + 100) & (f[..., 1] > 60) & (f[..., 1] < 170)
    return int(green.sum()), int(orange.sum())


def test_overlay_gif_shows_input_and_reprojection(tmp_path):
    from PIL import Image

    res, _, X = _result()
    kp17 = CAM.project(from_smpl22(X, "coco17"))
    p = export_result(res, tmp_path, "overlay", names={"overlay": "o.gif"}, keypoints=kp17, joint_format="coco17")["overlay"]
    with Image.open(p) as im:
        assert im.size == (320, 240) and im.n_frames == 10
        im.seek(5)
        g, o = _colour_pixels(np.asarray(im.convert("RGB")))
    assert g > 50 and o > 50
    with pytest.raises(ValueError, match="keypoints"):
        export_result(res, tmp_path, "overlay", keypoints=kp17, joint_format="smpl22")


def test_overlay_mp4_over_video_frames(tmp_path):
    iio = pytest.importorskip("imageio.v3")
    pytest.importorskip("imageio_ffmpeg")
    res, kp, _ = _result(shift=0.3)  # the lift 30 cm off: two skeletons apart
    video = tmp_path / "in.mp4"
    frames = np.zeros((10, 240, 320, 3), np.uint8)
    frames[..., 2] = 200  # blue footage
    iio.imwrite(video, frames, fps=30, macro_block_size=2)
    p = export_result(res, tmp_path, "overlay", keypoints=kp, video=video)["overlay"]
    assert p.name == "overlay.mp4"
    out = iio.imread(p)
    assert out.shape == (10, 240, 320, 3)
    assert out[3, 230, 5, 2] > 150 and out[3, 230, 5, 0] < 60  # the video shows through
    g, o = _colour_pixels(out[3])
    assert g > 30 and o > 30
    small = tmp_path / "small.mp4"
    iio.imwrite(small, frames[:, :120, :160], fps=30, macro_block_size=2)
    with pytest.raises(ValueError, match="video: frames are 160x120"):
        export_result(res, tmp_path, "overlay", keypoints=kp, video=small)


def test_every_option_has_help_and_export_help_lists_pictures():
    parser = build_parser()
    subs = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    for name, sub in subs.choices.items():
        for action in sub._actions:
            if isinstance(action, argparse._HelpAction):
                continue
            assert action.help, f"{name} {action.option_strings or action.dest}: no help text"
    export = next(a for a in subs.choices["lift"]._actions if "--export" in a.option_strings)
    for fmt in ("bvh", "gltf", "c3d", "json", "npz", "html", "png", "gif", "overlay"):
        assert fmt in export.help


def test_eval_table_states_units():
    rows = [{"dataset": "d", "condition": "clean", "seed": 0, "case": "c", "motion": "in_place",
             "scores": {"model": {k: 1.0 for k in ("pa_mpjpe", "mpjpe", "w_mpjpe", "wa_mpjpe", "abs_mpjpe", "accel",
                                                   "jitter", "foot_sliding", "t_root", "rte")}}}]
    head = EvalReport(rows=rows).table().splitlines()[0]
    assert "pa_mpjpe (mm)" in head and "accel (mm/frame²)" in head and "rte (%)" in head


def _inputs(tmp_path):
    J, cam, _ = load_demo()
    np.save(tmp_path / "kp.npy", cam.project(J[:24]))
    (tmp_path / "cam.json").write_text(json.dumps(cam.to_dict()))
    return [str(tmp_path / "kp.npy"), "--camera", str(tmp_path / "cam.json")]


def test_smpl_missing_names_the_option(tmp_path, capsys):
    rc = main(["lift", *_inputs(tmp_path), "--out", str(tmp_path / "o"), "--smpl", "/nonexistent"])
    assert rc == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--smpl /nonexistent:" in err[0] and "model_path" not in err[0], err
    assert "does not exist" in err[0] or "smplx" in err[0]


def test_lift_npz_keys(tmp_path):
    """The keys ``lift`` writes (``export_result``); test_cli's demo test checks the demo NPZ against them."""
    res, kp, _ = _result()
    keys = set(np.load(export_result(res, tmp_path, "npz", keypoints=kp)["npz"]).files)
    assert keys == LIFT_NPZ_KEYS


LIFT_NPZ_KEYS = {"joints", "joints_cam", "confidence", "views_2d", "fps", "joint_names", "camera_K", "camera_T_w2c",
                 "camera_image_size", "metadata"}
