"""The GLB export in real glTF tools: the Khronos validator (node) and three.js in headless Chromium.

Both need tools outside Python: node with ``npm install --prefix .gl gltf-validator three`` in the
repository root, and a ``chromium`` binary. Locally the tests skip when those are absent; ``.ci/run``
installs them, so CI runs them.
"""

from __future__ import annotations

import functools
import http.server
import json
import os
import shutil
import subprocess
import threading
from pathlib import Path

import numpy as np
import pytest

from mocap_fast.cli import load_demo
from mocap_fast.io.export import BODY_COLOR, write_gltf

ROOT = Path(__file__).resolve().parents[1]
NODE_MODULES = ROOT / ".gl" / "node_modules"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def _clip(n: int = 45) -> np.ndarray:
    return load_demo()[0][:n]


def _need(module: str) -> None:
    if shutil.which("node") is None or not (NODE_MODULES / module).is_dir():
        pytest.skip(f"needs node and `npm install --prefix .gl {module}` in the repository root")


def test_glb_passes_khronos_validator_with_skinned_mesh(tmp_path):
    _need("gltf-validator")
    path = write_gltf(tmp_path / "m.glb", _clip(), 30.0)
    script = (
        "const v = require(process.argv[1]); const fs = require('fs');"
        "v.validateBytes(new Uint8Array(fs.readFileSync(process.argv[2])))"
        ".then(r => console.log(JSON.stringify(r)), e => { console.error(e); process.exit(1); });"
    )
    out = subprocess.run(["node", "-e", script, str(NODE_MODULES / "gltf-validator"), str(path)],
                         capture_output=True, text=True, timeout=60, check=True)
    report = json.loads(out.stdout)
    issues = report["issues"]
    assert issues["numErrors"] == 0, issues["messages"]
    codes = {m["code"] for m in issues["messages"]}
    assert "UNUSED_OBJECT" not in codes and "NODE_SKIN_NO_SCENE" not in codes, issues["messages"]
    info = report["info"]
    assert info["hasSkins"] and info["drawCallCount"] >= 1 and info["totalTriangleCount"] > 1000
    assert info["animationCount"] == 1


_PAGE = """<!DOCTYPE html><html><body style="margin:0;background:#fff">
<script type="importmap">{"imports": {"three": "./three/build/three.module.js", "three/addons/": "./three/examples/jsm/"}}</script>
<script type="module">
import * as THREE from 'three';
import { GLTFLoader } from 'three/addons/loaders/GLTFLoader.js';
const renderer = new THREE.WebGLRenderer({antialias: false, preserveDrawingBuffer: true});
renderer.setSize(400, 400);
document.body.appendChild(renderer.domElement);
const scene = new THREE.Scene();
scene.background = new THREE.Color(0xffffff);
scene.add(new THREE.AmbientLight(0xffffff, 1.0));
const sun = new THREE.DirectionalLight(0xffffff, 1.5); sun.position.set(1, 2, 3); scene.add(sun);
new GLTFLoader().load('m.glb', (gltf) => {
  scene.add(gltf.scene);
  const mixer = new THREE.AnimationMixer(gltf.scene);
  mixer.clipAction(gltf.animations[0]).play();
  mixer.update(0.5);
  gltf.scene.traverse(o => { if (o.isMesh) o.frustumCulled = false; });
  gltf.scene.updateMatrixWorld(true);
  const p = new THREE.Vector3(); gltf.scene.getObjectByName('pelvis').getWorldPosition(p);
  const cam = new THREE.PerspectiveCamera(45, 1, 0.05, 100);
  cam.position.set(p.x + 2.5, p.y + 0.5, p.z + 3.0); cam.lookAt(p);
  renderer.render(scene, cam);
  document.title = 'rendered';
}, undefined, (e) => { document.title = 'error ' + e; });
</script></body></html>"""


def _serve(folder: Path):
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _body_fraction(png: Path) -> float:
    import matplotlib.image

    img = matplotlib.image.imread(str(png))[..., :3].astype(np.float64)  # (H, W, 3) in [0, 1]
    r, g, b = img[..., 0], img[..., 1], img[..., 2]
    return float(((r > 0.3) & (r > g + 0.15) & (r > b + 0.15)).mean())  # BODY_COLOR is red-orange


@pytest.mark.skipif(CHROMIUM is None, reason="needs a chromium binary (apt-get install chromium)")
def test_glb_body_visible_in_threejs_headless_chromium(tmp_path):
    _need("three")
    assert BODY_COLOR[0] > BODY_COLOR[1] + 0.3 and BODY_COLOR[0] > BODY_COLOR[2] + 0.3
    write_gltf(tmp_path / "m.glb", _clip(), 30.0)
    (tmp_path / "index.html").write_text(_PAGE)
    os.symlink(NODE_MODULES / "three", tmp_path / "three")
    server = _serve(tmp_path)
    shot = tmp_path / "shot.png"
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/index.html"
        cmd = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu-sandbox", "--use-gl=angle", "--use-angle=swiftshader",
               "--enable-unsafe-swiftshader", "--hide-scrollbars", "--window-size=400,400",
               "--virtual-time-budget=15000", f"--screenshot={shot}", url]
        subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    finally:
        server.shutdown()
    assert shot.is_file(), "chromium wrote no screenshot"
    frac = _body_fraction(shot)
    assert frac > 0.01, f"body pixels: {100 * frac:.2f}% of the screenshot"
