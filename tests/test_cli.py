import json

import numpy as np
import pytest
import torch

from helpers import walk
from mocap_fast import Camera
from mocap_fast.cli import main
from mocap_fast.model.config import TINY
from mocap_fast.model.io import LoadedModel, save_model
from mocap_fast.model.network import MotionDenoiser
from mocap_fast.reference.representation import Standardizer


@pytest.fixture(scope="module")
def tiny_file(tmp_path_factory):
    path = tmp_path_factory.mktemp("m") / "tiny.safetensors"
    torch.manual_seed(0)
    save_model(LoadedModel(MotionDenoiser(TINY), Standardizer(torch.zeros(TINY.channels), torch.ones(TINY.channels))), path)
    return path


def test_demo_runs_with_packaged_model(tmp_path, capsys):
    assert main(["demo", "--out", str(tmp_path / "demo"), "--steps", "10"]) == 0
    out = capsys.readouterr().out
    assert "pa_mpjpe" in out and "ground cut-out" in out
    metrics = json.loads((tmp_path / "demo" / "metrics.json").read_text())
    assert set(metrics["model"]) == set(metrics["ground_cutout"])
    d = np.load(tmp_path / "demo" / "lifted.npz")
    assert d["joints"].shape == d["ground_truth"].shape and np.isfinite(d["joints"]).all()
    from test_cli_outputs import LIFT_NPZ_KEYS  # the NPZ of `lift`: same writer, same keys

    assert set(d.files) == LIFT_NPZ_KEYS | {"keypoints", "ground_truth"}
    assert json.loads(str(d["metadata"]))["skeleton"] == "clip"


def test_lift_command(tmp_path, tiny_file):
    cam = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=1.5, pitch_deg=-8)
    (tmp_path / "cam.json").write_text(json.dumps(cam.to_dict()))
    np.save(tmp_path / "kp.npy", cam.project(walk()))
    rc = main(["lift", str(tmp_path / "kp.npy"), "--camera", str(tmp_path / "cam.json"), "--out", str(tmp_path / "o"),
               "--model", str(tiny_file), "--steps", "3", "--quiet", "--force"])  # random weights
    assert rc == 0
    assert np.load(tmp_path / "o" / "lifted.npz")["joints"].shape == (24, 22, 3)
    assert len(json.loads((tmp_path / "o" / "cameras.json").read_text())["cameras"]) == 4


def test_errors_exit_nonzero_with_one_line(tmp_path, capsys, tiny_file):
    (tmp_path / "cam.json").write_text("{not json")
    np.save(tmp_path / "kp.npy", np.zeros((24, 22, 2)))
    assert main(["lift", str(tmp_path / "kp.npy"), "--camera", str(tmp_path / "cam.json")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "camera" in err[0]
    assert main(["lift", str(tmp_path / "missing.npy"), "--camera", str(tmp_path / "cam.json")]) == 2
    assert main(["eval", "--model", str(tmp_path / "nope.safetensors"), "--data", str(tmp_path)]) == 2


def test_bench_command_prints_a_table(capsys):
    assert main(["bench", "--steps", "1", "--points", "1000", "--rounds", "1"]) == 0
    out = capsys.readouterr().out
    assert "lift, 1 steps" in out and "triangulate, 1e+03 points" in out
