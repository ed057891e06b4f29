"""mocap_fast.viz: PNG grid, 3D animation, and the self-contained HTML player in a headless browser."""

import json
import re
import shutil
import subprocess
from importlib import resources

import numpy as np
import pytest
import torch

from mocap_fast.lifting import LiftResult
from mocap_fast.reference.camera import Camera, intrinsics, look_at

pytest.importorskip("matplotlib", reason="mocap_fast.viz plots need matplotlib")
from mocap_fast.viz import animate, plot_views, write_html  # noqa: E402


def _result(T=24, torch_arrays=False):
    with resources.as_file(resources.files("mocap_fast") / "assets" / "demo_clip.npz") as p:
        d = np.load(p)
        X = d["joints"].astype(np.float64)[:T]
        cam0 = Camera(d["K"], d["T_w2c"], d["image_size"].tolist())
    target = torch.tensor(X[:, 0].mean(0))
    cams = [cam0]
    for yaw in (1.5, 3.5):
        c = target + torch.tensor([3 * np.sin(yaw), 1.2, 3 * np.cos(yaw)])
        cams.append(Camera(intrinsics(800.0, 800.0, 480.0, 270.0), look_at(c, target), (960, 540)))
    views = np.stack([np.asarray(c.project(X)) for c in cams])
    joints_cam = np.asarray(cam0.to_camera(X))
    arr = (lambda a: torch.tensor(a, dtype=torch.float32)) if torch_arrays else (lambda a: a)
    res = LiftResult(arr(X), arr(joints_cam), arr(views), cams, arr(np.ones((T, 22))), 30.0)
    return res, views[0]


def test_plot_views_png(tmp_path):
    from PIL import Image

    res, kp = _result()
    kp = kp + np.random.default_rng(0).normal(0, 3, kp.shape)
    kp[3, 5] = np.nan
    out = plot_views(res, kp, tmp_path / "views.png")
    img = np.asarray(Image.open(out).convert("RGB")).astype(int)
    assert img.shape[0] > 100 and img.shape[1] > 300
    # coloured skeleton pixels (left blue / right red / input orange) were drawn
    sat = img.max(-1) - img.min(-1)
    assert (sat > 80).sum() > 200
    with pytest.raises(ValueError, match="keypoints"):
        plot_views(res, np.zeros((24, 17, 2)), tmp_path / "bad.png")


def test_animate_gif(tmp_path):
    from PIL import Image

    res, _ = _result(T=12, torch_arrays=True)
    out = animate(res, tmp_path / "motion.gif", stride=3, dpi=40, size=(3, 3))
    with Image.open(out) as im:
        assert im.n_frames == 4
    with pytest.raises(ValueError, match="path"):
        animate(res, tmp_path / "motion.avi")


@pytest.mark.skipif(shutil.which("ffmpeg") is None, reason="ffmpeg not installed: MP4 output untested")
def test_animate_mp4(tmp_path):
    res, _ = _result(T=6)
    out = animate(res, tmp_path / "motion.mp4", dpi=40, size=(3, 3))
    assert out.stat().st_size > 0


def test_html_is_self_contained(tmp_path):
    res, _ = _result()
    out = write_html(res, tmp_path / "motion.html")
    page = out.read_text()
    assert "<script src" not in page and "http://" not in page and "https://" not in page
    data = json.loads(re.search(r'<script id="motion-data" type="application/json">(.*?)</script>', page, re.S).group(1))
    assert np.asarray(data["joints"]).shape == (24, 22, 3)
    assert len(data["cameras"]) == 3 and len(data["edges"]) == 21


def _chromium():
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        if shutil.which(name):
            return shutil.which(name)
    return None


@pytest.mark.skipif(_chromium() is None, reason="no chromium/chrome on PATH: headless HTML check skipped")
def test_html_in_headless_browser(tmp_path):
    from PIL import Image

    res, _ = _result()
    out = write_html(res, tmp_path / "motion.html")
    base = [_chromium(), "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
            "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}", "--window-size=800,600",
            "--virtual-time-budget=1500", "--enable-logging=stderr", "--v=0"]
    url = out.resolve().as_uri()
    p = subprocess.run(base + ["--dump-dom", url], capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr[-2000:]
    body = re.search(r"<body([^>]*)>", p.stdout)
    assert body, p.stdout[:500]
    attrs = dict(re.findall(r'data-([a-z]+)="([^"]*)"', body.group(1)))
    assert "error" not in attrs, attrs
    assert attrs.get("ready") == "1" and attrs.get("bones") == "21", attrs
    console = [ln for ln in p.stderr.splitlines() if "CONSOLE" in ln and ("rror" in ln or "Uncaught" in ln)]
    assert not console, console
    shot = tmp_path / "shot.png"
    p = subprocess.run(base + [f"--screenshot={shot}", url], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert shot.exists(), p.stderr[-2000:]
    img = np.asarray(Image.open(shot).convert("RGB")).astype(int)
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    assert ((b > 150) & (r < 100)).sum() > 50  # left-side bones (blue) drawn
    assert ((r > 150) & (g < 100) & (b < 100)).sum() > 50  # right-side bones (red) drawn
