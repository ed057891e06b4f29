"""Shared test fixtures: random well-conditioned camera rigs and motions (torch, float64)."""

from __future__ import annotations

import contextlib
import math
import os
import pickle
import warnings
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
import torch

from mocap_fast.reference.camera import Camera, intrinsics, look_at


SHARED_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"
"""``../shared/data`` beside the repository root (found from this file, never an absolute path)."""
REQUIRE_SHARED = os.environ.get("MOCAP_FAST_REQUIRE_SHARED") == "1"
"""CI sets ``MOCAP_FAST_REQUIRE_SHARED=1`` (``.ci/run``): absent shared data is then a failure, not a skip."""


def have_shared(path: Path) -> bool:
    """Whether ``path`` (under :data:`SHARED_DATA`) exists; absent with ``MOCAP_FAST_REQUIRE_SHARED=1``
    is a failure (at collection time: the module errors)."""
    if path.exists():
        return True
    if REQUIRE_SHARED:
        pytest.fail(f"shared data {path} absent, and MOCAP_FAST_REQUIRE_SHARED=1 requires it "
                    "(clone the repository beside ../shared)", pytrace=False)
    return False


def needs_shared(path: Path) -> pytest.MarkDecorator:
    """Skip marker for a test that reads ``path`` (see :func:`have_shared`)."""
    return pytest.mark.skipif(not have_shared(path), reason=f"shared data {path} absent (../shared beside the repository)")


def shared_or_skip(path: Path) -> Path:
    """``path`` when present; otherwise skip the test (fail with ``MOCAP_FAST_REQUIRE_SHARED=1``)."""
    if not have_shared(path):
        pytest.skip(f"shared data {path} absent (../shared beside the repository)")
    return path


def random_rig(gen: torch.Generator, num_views: int, batch: tuple[int, ...] = (), target=None):
    """Cameras 3-8 m from ``target`` (default ~(0, 1, 0)), spread around it, looking at it.

    Returns ``(K [*batch, V, 3, 3], T_w2c [*batch, V, 4, 4], image_size [*batch, V, 2])``, float64.
    Views are spread over azimuth so every pair of rays meets at >= ~20 degrees.
    """
    shape = (*batch, num_views)
    if target is None:
        target = torch.tensor([0.0, 1.0, 0.0], dtype=torch.float64) + 0.2 * torch.randn(*batch, 1, 3, generator=gen, dtype=torch.float64)
    base = 2 * math.pi * torch.rand(*batch, 1, generator=gen, dtype=torch.float64)
    azim = base + 2 * math.pi * torch.arange(num_views, dtype=torch.float64) / num_views
    azim = azim + 0.3 * (torch.rand(shape, generator=gen, dtype=torch.float64) - 0.5)
    dist = 3 + 5 * torch.rand(shape, generator=gen, dtype=torch.float64)
    height = 0.5 + 2.5 * torch.rand(shape, generator=gen, dtype=torch.float64)
    centre = torch.stack([target[..., 0] + dist * torch.sin(azim), height, target[..., 2] + dist * torch.cos(azim)], -1)
    roll = 0.2 * (torch.rand(shape, generator=gen, dtype=torch.float64) - 0.5)
    T = look_at(centre, target.expand(*shape, 3), roll)
    f = 600 + 1000 * torch.rand(shape, generator=gen, dtype=torch.float64)
    landscape = torch.rand(shape, generator=gen) < 0.5
    W = torch.where(landscape, torch.tensor(1920.0), torch.tensor(1080.0)).double()
    H = torch.where(landscape, torch.tensor(1080.0), torch.tensor(1920.0)).double()
    K = intrinsics(f, f, W / 2, H / 2)
    return K, T, torch.stack([W, H], -1)


def points_near(gen: torch.Generator, shape: tuple[int, ...], centre=(0.0, 1.0, 0.0), spread: float = 0.8):
    """Random world points ``[*shape, 3]`` within ``spread`` metres of ``centre``."""
    c = torch.tensor(centre, dtype=torch.float64)
    return c + spread * (2 * torch.rand(*shape, 3, generator=gen, dtype=torch.float64) - 1)


SMPL_PARENTS = [-1, 0, 0, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 9, 9, 12, 13, 14, 16, 17, 18, 19, 20, 21]


def tiny_smpl_model(path, per_joint=4, seed=0):
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


def tiny_random_model(**config):
    """A ``TINY``-config multi-view model (fields replaced by ``config``, e.g. ``diffusion_steps``)
    with random (seeded) weights and unit-ish statistics: fast enough for lift() tests on the CPU,
    meaningless output."""
    from dataclasses import replace

    from mocap_fast.model.config import TINY
    from mocap_fast.model.io import LoadedModel
    from mocap_fast.model.network import MotionDenoiser
    from mocap_fast.reference.representation import Standardizer

    cfg = replace(TINY, **config)
    torch.manual_seed(0)
    net = MotionDenoiser(cfg).eval()
    with torch.no_grad():
        for p in net.parameters():
            p.add_(0.05 * torch.randn_like(p))
    stats = Standardizer(torch.zeros(cfg.channels), torch.full((cfg.channels,), 0.3))
    return LoadedModel(net, stats, {"name": "tiny-random"})


def noisy_views(seed: int, V: int, N: int, noise_px: float, min_weight: float = 0.05):
    """N random points seen by a :func:`random_rig` of V views, projected, plus Gaussian pixel noise.

    Returns ``(uv [N, V, 2], P [V, 3, 4], weights [N, V] in [min_weight, min_weight + 1), X [N, 3])``, float64.
    """
    from mocap_fast.reference.camera import project, projection_matrix

    gen = torch.Generator().manual_seed(seed)
    K, T, _ = random_rig(gen, V)
    X = points_near(gen, (N,))
    uv = project(X[None].expand(V, N, 3), K, T).transpose(0, 1)
    uv = uv + noise_px * torch.randn(uv.shape, generator=gen, dtype=torch.float64)
    w = torch.rand(N, V, generator=gen, dtype=torch.float64) + min_weight
    return uv, projection_matrix(K, T), w, X


def walk(T=24, yaw=0.0, offset=(0.0, -5.0)):
    """A synthetic walking figure ``(T, 22, 3)``: a rest pose moving along x."""
    rest = np.array([
        [0, .95, 0], [.08, .9, 0], [-.08, .9, 0], [0, 1.05, 0], [.09, .5, 0], [-.09, .5, 0], [0, 1.2, 0],
        [.09, .08, 0], [-.09, .08, 0], [0, 1.3, 0], [.09, .02, .12], [-.09, .02, .12], [0, 1.5, 0],
        [.07, 1.42, 0], [-.07, 1.42, 0], [0, 1.65, 0], [.18, 1.42, 0], [-.18, 1.42, 0], [.22, 1.15, 0],
        [-.22, 1.15, 0], [.24, .9, 0], [-.24, .9, 0]])
    t = np.arange(T)[:, None, None]
    X = rest[None] + np.array([0.04, 0, 0]) * t
    X[:, [4, 7, 10], 2] += 0.1 * np.sin(t[:, 0] / 3)
    c, s = np.cos(yaw), np.sin(yaw)
    X = X @ np.array([[c, 0, s], [0, 1, 0], [-s, 0, c]]).T
    X[..., 0] += offset[0]
    X[..., 2] += offset[1]
    return X


def stepping_walk(T: int = 120, speed: float = 0.04, period: int = 20) -> np.ndarray:
    """``(T, 22, 3)``: :func:`walk` along x with feet that stand still half of each step."""
    X = walk(T, offset=(0.0, 0.0))
    t = np.arange(T)
    for foot, phase in (((7, 10), 0), ((8, 11), period // 2)):
        k, r = np.divmod(t + phase, period)
        stance = r < period // 2
        plant = speed * (k * period - phase + period // 2)  # pelvis x at mid-stance
        nxt = plant + speed * period
        x = np.where(stance, plant, plant + (nxt - plant) * (r - period // 2) / (period // 2))
        lift_y = np.where(stance, 0.0, 0.05 * np.sin(np.pi * (r - period // 2) / (period // 2)))
        for j in foot:
            X[:, j, 0] = x + (X[0, j, 0] - X[0, 0, 0])
            X[:, j, 1] = X[0, j, 1] + lift_y
            X[:, j, 2] = X[0, j, 2]
    return X


CAM = Camera.from_ground(1000, 1000, 640, 360, (1280, 720), height=1.5, pitch_deg=-8)


def approaching_walk(T: int = 120, start: float = 10.0) -> np.ndarray:
    """``(T, 22, 3)``: :func:`stepping_walk` (1.2 m/s) turned to walk straight towards :data:`CAM`
    from ``start`` metres away (CAM stands at the origin looking along -z)."""
    X = stepping_walk(T)
    X = X - X[:1, :1] * np.array([1.0, 0.0, 1.0])  # pelvis starts above the origin
    turned = np.stack([-X[..., 2], X[..., 1], X[..., 0]], -1)  # +x (walking) -> +z, still right-handed
    turned[..., 2] -= start
    return turned


def slid_along_rays(X: np.ndarray, cam: Camera, amplitude: float = 0.04, period: int = 40) -> np.ndarray:
    """``X`` scaled each frame about ``cam``'s centre by ``1 + amplitude sin(2 pi t / period)``: every
    joint moves along its own ray (same 2D), as a lift's smooth depth error moves a planted foot."""
    c = cam.centre.double().numpy()
    k = 1 + amplitude * np.sin(2 * np.pi * np.arange(len(X)) / period)
    return c + k[:, None, None] * (X - c)


def pacing(T: int) -> np.ndarray:
    """``(T, 22, 2)`` pixels of a person pacing 2 m left and right in front of CAM (stays in view)."""
    X = walk(T)
    x = X[:, :1, 0] - X[:1, :1, 0]
    X[..., 0] += np.abs((x + 2.0) % 4.0 - 2.0) - 1.0 - x
    return CAM.project(X)


TRITON_MODULES = ("triangulate_triton", "view_attention_triton", "posterior_triton", "consistency_triton")
"""The modules of the CUDA column of :data:`mocap_fast.backends.OPS` (and what they import)."""


@contextlib.contextmanager
def interpret_env():
    """``TRITON_INTERPRET=1`` for the duration (Triton decides at ``@triton.jit`` time whether a
    kernel is interpreted, and the interpreter reads it again at launch). The part of Triton
    imported lazily at the first launch is imported beforehand without it. This works in a process
    that imported Triton normally because the kernels use no ``@jit`` function of Triton's
    standard library. Numpy warnings of masked-out lanes are silenced."""
    with contextlib.suppress(ImportError):
        import triton.experimental.gluon  # noqa: F401
    old = os.environ.get("TRITON_INTERPRET")
    os.environ["TRITON_INTERPRET"] = "1"
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="numpy")
            warnings.filterwarnings("ignore", category=RuntimeWarning, module="triton")
            yield
    finally:
        if old is None:
            del os.environ["TRITON_INTERPRET"]
        else:
            os.environ["TRITON_INTERPRET"] = old


@contextlib.contextmanager
def cuda_route_on_cpu():
    """Run the CUDA column of :data:`mocap_fast.backends.OPS` on CPU tensors: its modules imported
    afresh under their own names with the Triton interpreter, :func:`mocap_fast.backends.route`
    answering ``"cuda"`` for the CPU, the dispatch choices forgotten. Everything is restored on
    exit. Yields the dict of interpreted modules (name -> module)."""
    import importlib
    import sys

    import mocap_fast.kernels as pkg
    from mocap_fast import backends

    names = [f"mocap_fast.kernels.{n}" for n in TRITON_MODULES]
    saved = {n: sys.modules.pop(n, None) for n in names}
    saved_attrs = {n: pkg.__dict__.pop(n, None) for n in TRITON_MODULES}
    real_route = backends.route
    backends.reset()
    try:
        with interpret_env():
            mods = {n.rsplit(".", 1)[1]: importlib.import_module(n) for n in names}
            backends.route = lambda device: "cuda" if torch.device(device).type == "cpu" else real_route(device)
            yield mods
    finally:
        backends.route = real_route
        backends.reset()
        for n, m in saved.items():
            sys.modules.pop(n, None)
            if m is not None:
                sys.modules[n] = m
        for n, m in saved_attrs.items():
            pkg.__dict__.pop(n, None)
            if m is not None:
                setattr(pkg, n, m)


def failing_kernel(*args, **kwargs):
    """Stands in for a fast kernel whose launch fails (counts its calls in ``failing_kernel.calls``)."""
    failing_kernel.calls += 1
    raise RuntimeError("CUDA error: no kernel image is available for execution on the device")


failing_kernel.calls = 0


def glb_joint_positions(path) -> dict:
    """Independent forward kinematics of a GLB written by ``write_gltf``: ``{node name: (T, 3)}`` world
    positions (metres) from its nodes, root translation channel and rotation channels (float32 data)."""
    from scipy.spatial.transform import Rotation

    from mocap_fast.io.export import read_glb

    gltf, binary = read_glb(path)

    def accessor(k):
        acc = gltf["accessors"][k]
        view = gltf["bufferViews"][acc["bufferView"]]
        n = {"SCALAR": 1, "VEC3": 3, "VEC4": 4}[acc["type"]]
        return np.frombuffer(binary, "<f4", acc["count"] * n, view["byteOffset"]).reshape(acc["count"], n).astype(float)

    anim = gltf["animations"][0]
    rot, trans = {}, None
    for ch in anim["channels"]:
        out = accessor(anim["samplers"][ch["sampler"]]["output"])
        if ch["target"]["path"] == "rotation":
            rot[ch["target"]["node"]] = out
        else:
            trans = out
    nodes = gltf["nodes"]
    parent = {c: i for i, n in enumerate(nodes) for c in n.get("children", [])}
    G, pos, got = {}, {}, {}
    for i, n in enumerate(nodes):  # parents precede children
        if i not in rot:  # the mesh node
            continue
        R = Rotation.from_quat(rot[i]).as_matrix()
        if i not in parent:
            G[i], pos[i] = R, trans
        else:
            p = parent[i]
            G[i] = G[p] @ R
            pos[i] = pos[p] + np.einsum("tab,b->ta", G[p], np.array(n["translation"]))
        got[n["name"]] = pos[i]
    return got
