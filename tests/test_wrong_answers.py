"""The three silent wrong answers of issue 15, each now a right answer or a message naming the cause,
and the plausibility check they rest on (packaged default model, 64 frames = one window)."""

import json
import warnings

import numpy as np
import pytest

from mocap_fast import Camera
from mocap_fast.cli import load_demo, main
from mocap_fast.joints import from_smpl22
from mocap_fast.lifting import lift
from mocap_fast.plausibility import implausible

T = 40


@pytest.fixture(scope="module")
def clip():
    joints, cam, _ = load_demo()
    return joints[:T], cam


@pytest.fixture(scope="module")
def right(clip):
    X, cam = clip
    return quiet_lift(cam.project(X), cam)


def quiet_lift(*a, **k):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        return lift(*a, quiet=True, **k)


def test_right_input_gives_no_warning(right):
    assert right.warnings == [] and (right.sampler, right.steps) == ("ddim", 2)


def test_h36m_read_as_coco_warns_and_auto_reads_h36m(clip):
    """Issue: H36M-17 keypoints read as COCO-17 put the person under the ground with exit code 0."""
    X, cam = clip
    kp = cam.project(from_smpl22(X, "h36m17"))
    with pytest.warns(RuntimeWarning, match="implausible output.*joint format"):
        wrong = lift(kp, cam, joint_format="coco17", quiet=True)
    assert wrong.warnings and "under the ground" in wrong.warnings[0]
    auto = quiet_lift(kp, cam, joint_format="auto")  # read as H36M: the right answer
    assert auto.warnings == []
    assert abs(np.median(auto.joints[:, 15, 1]) - np.median(X[:, 15, 1])) < 0.15  # head height, metres


def test_wrong_image_size_is_caught(clip):
    """Issue: keypoints of a 1920x1080 frame with a camera for 1280x720 put the person 3 m away, silently."""
    X, cam = clip
    W, H = cam.image_size
    K = np.asarray(cam.K).copy()
    K[:2] *= 1280 / W
    small = Camera(K, np.asarray(cam.T_w2c), (1280, 720))
    res = quiet_lift(cam.project(X), small)
    assert res.warnings and "outside the camera's 1280x720 image" in res.warnings[0]
    assert "image size" in res.warnings[0]


def test_normalized_keypoints_refused_or_scaled(clip, right):
    """Issue: keypoints in [0, 1] (MediaPipe) only warned, then the person floated 1.7 m up."""
    X, cam = clip
    kp = cam.project(X)
    unit = kp / np.asarray(cam.image_size, dtype=np.float64)
    with pytest.raises(ValueError, match=r"keypoints: .*normalised.*normalized=True"):
        lift(unit, cam, quiet=True)
    a = quiet_lift(unit, cam, normalized=True)
    assert a.warnings == [] and np.allclose(a.joints, right.joints, atol=1e-6)
    with pytest.raises(ValueError, match="normalized"):
        lift(kp, cam, normalized=True)


def test_cli_exits_nonzero_on_implausible_output_unless_forced(clip, tmp_path, capsys):
    X, cam = clip
    kp = cam.project(from_smpl22(X, "h36m17"))
    np.savez(tmp_path / "kp.npz", keypoints=kp)
    (tmp_path / "cam.json").write_text(json.dumps({"K": np.asarray(cam.K).tolist(), "T_w2c": np.asarray(cam.T_w2c).tolist(),
                                                   "image_size": list(cam.image_size)}))
    args = ["lift", str(tmp_path / "kp.npz"), "--camera", str(tmp_path / "cam.json"), "--format", "coco17", "--quiet"]
    assert main(args + ["--out", str(tmp_path / "a")]) == 2
    err = capsys.readouterr().err
    assert "implausible output" in err and "--force" in err and not (tmp_path / "a" / "lifted.npz").exists()
    assert all(line.startswith("mocap-fast lift: ") for line in err.splitlines())  # one line each, no source
    assert main(args + ["--out", str(tmp_path / "b"), "--force"]) == 0
    assert (tmp_path / "b" / "lifted.npz").exists()
    from mocap_fast.io.keypoints import load_keypoints

    assert load_keypoints(tmp_path / "kp.npz").joint_format == "h36m17"  # --format auto: the right layout


def test_implausible_flags_each_symptom(clip):
    X, _ = clip
    import torch

    Xt = torch.as_tensor(X)
    assert implausible(Xt) == []
    assert "body height" in " ".join(implausible(Xt * 2))
    assert "never come within" in " ".join(implausible(Xt + torch.tensor([0.0, 1.0, 0.0])))
    assert "under the ground" in " ".join(implausible(Xt - torch.tensor([0.0, 1.0, 0.0])))


def test_closed_pipe_ends_quietly(monkeypatch, capsys):
    """`mocap-fast demo | head`: the reader closing the pipe is exit 0 with nothing on stderr."""
    import mocap_fast.cli as cli

    def demo(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(cli, "cmd_demo", demo)
    assert cli.main(["demo"]) == 0
    assert capsys.readouterr().err == ""


def test_cli_warning_is_one_line(capsys):
    from mocap_fast.cli import _one_line_warnings

    with warnings.catch_warnings():
        _one_line_warnings("lift")
        warnings.warn("something\n odd", RuntimeWarning)
    assert capsys.readouterr().err == "mocap-fast lift: warning: something odd\n"
