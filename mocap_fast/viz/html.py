"""A single self-contained HTML player for a lifted motion (no network, no external scripts).

:func:`write_html` embeds the joints, the cameras' frusta and the root trajectory as JSON and a
small hand-written canvas-2D perspective renderer: drag to orbit, wheel to zoom, space or the
button to play/pause, a slider to pick the frame. After drawing a frame the page records on
``<body>`` ``data-ready="1"``, ``data-frame`` (the frame index) and ``data-bones`` (the number of
bones drawn); a script error sets ``data-error`` (used by the headless-browser test).
"""

from __future__ import annotations

import html as _html
import json
from pathlib import Path

import numpy as np

from ..joints import SMPL22
from .plots import _np, frustum_lines, result_arrays

__all__ = ["write_html"]

_TEMPLATE = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>__TITLE__</title>
<style>
 body{margin:0;font:13px sans-serif;background:#f4f4f4;color:#222}
 #bar{display:flex;gap:8px;align-items:center;padding:6px 10px;background:#fff;border-bottom:1px solid #ddd}
 #slider{flex:1} canvas{display:block;background:#fff;cursor:grab}
 #help{color:#777;font-size:11px}
</style></head>
<body data-ready="0">
<div id="bar"><button id="play">Pause</button><input id="slider" type="range" min="0" value="0" step="1">
<span id="label">0</span><span id="help">drag: orbit &middot; wheel: zoom &middot; space: play/pause</span></div>
<canvas id="view" width="960" height="600"></canvas>
<script id="motion-data" type="application/json">__DATA__</script>
<script>
"use strict";
window.addEventListener("error", function (e) { document.body.dataset.error = String(e.message || e); });
(function () {
  var D = JSON.parse(document.getElementById("motion-data").textContent);
  var J = D.joints, T = J.length, E = D.edges, canvas = document.getElementById("view");
  var ctx = canvas.getContext("2d"), slider = document.getElementById("slider");
  var label = document.getElementById("label"), btn = document.getElementById("play");
  slider.max = String(T - 1);
  var orbit = {yaw: 0.6, pitch: 0.35, dist: D.radius * 2.0, target: D.center};
  var frame = 0, playing = true, last = null, acc = 0;
  function sub(a, b) { return [a[0] - b[0], a[1] - b[1], a[2] - b[2]]; }
  function dot(a, b) { return a[0] * b[0] + a[1] * b[1] + a[2] * b[2]; }
  function cross(a, b) { return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]]; }
  function norm(a) { var n = Math.sqrt(dot(a, a)) || 1; return [a[0] / n, a[1] / n, a[2] / n]; }
  function basis() {
    var cp = Math.cos(orbit.pitch), t = orbit.target;
    var eye = [t[0] + orbit.dist * cp * Math.sin(orbit.yaw), t[1] + orbit.dist * Math.sin(orbit.pitch),
               t[2] + orbit.dist * cp * Math.cos(orbit.yaw)];
    var f = norm(sub(t, eye)), r = norm(cross(f, [0, 1, 0])), u = cross(r, f);
    return {eye: eye, f: f, r: r, u: u, F: 0.9 * Math.min(canvas.width, canvas.height)};
  }
  function proj(B, p) {
    var d = sub(p, B.eye), z = dot(d, B.f);
    if (z < 0.05) return null;
    return [canvas.width / 2 + B.F * dot(d, B.r) / z, canvas.height / 2 - B.F * dot(d, B.u) / z];
  }
  function seg(B, a, b, color, width) {
    var p = proj(B, a), q = proj(B, b);
    if (!p || !q) return false;
    ctx.strokeStyle = color; ctx.lineWidth = width;
    ctx.beginPath(); ctx.moveTo(p[0], p[1]); ctx.lineTo(q[0], q[1]); ctx.stroke();
    return true;
  }
  function draw() {
    var B = basis(), i, c = D.center, h = D.grid, n = 10, s, bones = 0;
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, canvas.width, canvas.height);
    for (i = 0; i <= n; i++) {  // ground grid, y = 0
      s = -h + 2 * h * i / n;
      seg(B, [c[0] + s, 0, c[2] - h], [c[0] + s, 0, c[2] + h], "#ddd", 1);
      seg(B, [c[0] - h, 0, c[2] + s], [c[0] + h, 0, c[2] + s], "#ddd", 1);
    }
    D.cameras.forEach(function (cam, v) {
      cam.forEach(function (sg) { seg(B, sg[0], sg[1], v === 0 ? "#e8891c" : "#3a9a4a", 1.2); });
    });
    for (i = 1; i < T; i++) {  // root trajectory
      seg(B, [D.root[i - 1][0], 0, D.root[i - 1][2]], [D.root[i][0], 0, D.root[i][2]], "#c9b3e6", 1);
      seg(B, D.root[i - 1], D.root[i], i <= frame ? "#7b3fbf" : "#d7c6ee", 1.5);
    }
    var P = J[frame];
    E.forEach(function (e, k) {
      if (seg(B, P[e[0]], P[e[1]], D.colors[k], 3)) bones++;
    });
    ctx.fillStyle = "#222";
    P.forEach(function (p) { var q = proj(B, p); if (q) { ctx.beginPath(); ctx.arc(q[0], q[1], 2.5, 0, 6.2832); ctx.fill(); } });
    slider.value = String(frame); label.textContent = frame + " / " + (T - 1);
    document.body.dataset.frame = String(frame); document.body.dataset.bones = String(bones);
    document.body.dataset.ready = "1";
  }
  function tick(ts) {
    if (playing && last !== null) {
      acc += (ts - last) / 1000 * D.fps;
      if (acc >= 1) { frame = (frame + Math.floor(acc)) % T; acc -= Math.floor(acc); draw(); }
    }
    last = ts; window.requestAnimationFrame(tick);
  }
  function setPlaying(p) { playing = p; btn.textContent = p ? "Pause" : "Play"; }
  btn.addEventListener("click", function () { setPlaying(!playing); });
  slider.addEventListener("input", function () { setPlaying(false); frame = parseInt(slider.value, 10) || 0; draw(); });
  window.addEventListener("keydown", function (e) { if (e.code === "Space") { e.preventDefault(); setPlaying(!playing); } });
  var drag = null;
  canvas.addEventListener("mousedown", function (e) { drag = [e.clientX, e.clientY]; });
  window.addEventListener("mouseup", function () { drag = null; });
  window.addEventListener("mousemove", function (e) {
    if (!drag) return;
    orbit.yaw -= (e.clientX - drag[0]) * 0.01;
    orbit.pitch = Math.max(-1.45, Math.min(1.45, orbit.pitch + (e.clientY - drag[1]) * 0.01));
    drag = [e.clientX, e.clientY]; draw();
  });
  canvas.addEventListener("wheel", function (e) {
    e.preventDefault(); orbit.dist = Math.max(0.3, orbit.dist * Math.exp(e.deltaY * 0.001)); draw();
  }, {passive: false});
  function resize() {
    canvas.width = Math.max(320, window.innerWidth);
    canvas.height = Math.max(240, window.innerHeight - document.getElementById("bar").offsetHeight);
    draw();
  }
  window.addEventListener("resize", resize);
  resize();
  window.requestAnimationFrame(tick);
})();
</script></body></html>
"""


def _color(a: int, b: int) -> str:
    names = SMPL22.joint_names
    if names[a].startswith("left_") or names[b].startswith("left_"):
        return "#2f6fd0"
    if names[a].startswith("right_") or names[b].startswith("right_"):
        return "#d0342f"
    return "#444444"


def write_html(result, path: str | Path = "motion.html", clip: int = 0, title: str = "mocap_fast motion",
               frustum_depth: float = 0.4, decimals: int = 4) -> Path:
    """Write a self-contained HTML page that plays the lifted motion of ``result``.

    The page (no network access, no external scripts) shows the skeleton, the ground grid (y = 0),
    every camera of ``result.cameras`` as a frustum (view 0 orange), and the root trajectory, with
    orbit/zoom controls, play/pause and a frame slider.

    Args:
        result: a :class:`~mocap_fast.lifting.LiftResult` (one clip of a batch via ``clip``).
        path: output ``.html`` file.
        decimals: coordinates are rounded to this many decimals (metres) to keep the file small.

    Returns:
        the path written.
    """
    joints, _, cams, fps = result_arrays(result, clip)
    if not np.isfinite(joints).all():
        raise ValueError("result.joints: contains non-finite values")
    r = lambda a: np.round(np.asarray(a, dtype=np.float64), decimals).tolist()  # noqa: E731
    frusta = [r(frustum_lines(c, frustum_depth)) for c in cams]
    centres = np.array([-_np(c.T_w2c)[:3, :3].T @ _np(c.T_w2c)[:3, 3] for c in cams]).reshape(-1, 3)
    lo, hi = joints.reshape(-1, 3).min(0), joints.reshape(-1, 3).max(0)
    center = (lo + hi) / 2
    allp = np.concatenate([joints.reshape(-1, 3), centres], 0)
    radius = float(max(np.linalg.norm(allp - center, axis=-1).max() * 0.75, 1.0))
    grid = float(max(np.abs(allp[:, [0, 2]] - center[[0, 2]]).max() * 1.1, 1.5))
    data = {
        "fps": fps,
        "joints": r(joints),
        "root": r(joints[:, 0]),
        "edges": [list(e) for e in SMPL22.edges],
        "colors": [_color(a, b) for a, b in SMPL22.edges],
        "cameras": frusta,
        "center": r(center),
        "radius": radius,
        "grid": grid,
    }
    payload = json.dumps(data, separators=(",", ":")).replace("</", "<\\/")
    page = _TEMPLATE.replace("__TITLE__", _html.escape(title)).replace("__DATA__", payload)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(page, encoding="utf-8")
    return path
