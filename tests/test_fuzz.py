"""Fuzzing the public edge: malformed input raises ValueError/TypeError with a message, never another
exception, and whatever is returned is finite (issue 8). Small example counts: each test is seconds."""

from __future__ import annotations

import math
import os
import warnings

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from helpers import CAM, walk
from mocap_fast import Camera, triangulate
from mocap_fast.lifting import lift
from mocap_fast.metrics import evaluate
from mocap_fast.model.io import LoadedModel, load_model, save_model
from mocap_fast.reference.representation import Standardizer

ALLOWED = (ValueError, TypeError)
FUZZ = settings(
    max_examples=int(os.environ.get("MOCAP_FUZZ_EXAMPLES", "20")), deadline=None, suppress_health_check=list(HealthCheck)
)


def call(fn, *args, **kwargs):
    """Run ``fn``; an allowed exception must carry a message. Returns the result or ``None``."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            return fn(*args, **kwargs)
        except ALLOWED as exc:
            assert str(exc).strip(), f"{type(exc).__name__} without a message"
            return None


def all_finite(*arrays) -> bool:
    return all(np.isfinite(np.asarray(a, dtype=np.float64)).all() for a in arrays)


weird_floats = st.sampled_from([0.0, -1.0, 1e-300, 1e300, math.nan, math.inf, -math.inf, 30.0, 25.0, 1e6, 0.5])
weird_values = st.one_of(
    weird_floats, st.none(), st.just("x"), st.just([1, 2]), st.integers(-3, 3), st.booleans(),
)


@st.composite
def keypoint_arrays(draw):
    """Mostly plausible clips with one or more things wrong."""
    T = draw(st.sampled_from([0, 7, 8, 12, 20, 20]))
    J = draw(st.sampled_from([22, 22, 22, 22, 17, 21, 0]))
    D = draw(st.sampled_from([2, 2, 2, 2, 3, 1]))
    base = CAM.project(walk(max(T, 1)))[:T] if J == 22 else np.full((T, J, 2), 400.0)
    kp = np.zeros((T, J, D))
    kp[..., : min(D, 2)] = base[..., : min(D, 2)] if base.shape[:2] == (T, J) else 400.0
    kind = draw(st.sampled_from(["ok", "ok", "nan_some", "nan_all", "inf", "huge", "offimage", "noise", "batch0", "batch2", "int"]))
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    if kind == "nan_some" and kp.size:
        kp[rng.random(kp.shape[:-1]) < 0.5] = np.nan
    elif kind == "nan_all":
        kp[:] = np.nan
    elif kind == "inf" and kp.size:
        kp.flat[rng.integers(kp.size)] = np.inf
    elif kind == "huge" and kp.size:
        kp[rng.random(kp.shape[:-1]) < 0.2] = 1e30
    elif kind == "offimage":
        kp += 1e4
    elif kind == "noise":
        kp = rng.normal(0, 1e3, kp.shape)
    elif kind == "batch0":
        kp = kp[None][:0]
    elif kind == "batch2":
        kp = np.stack([kp, kp + 5.0])
    elif kind == "int":
        kp = kp.astype(np.int64) if np.isfinite(kp).all() else kp
    return kp


@st.composite
def confidences(draw, shape):
    kind = draw(st.sampled_from(["none", "ok", "zeros", "neg", "big", "nan", "inf", "shape"]))
    if kind == "none":
        return None
    rng = np.random.default_rng(draw(st.integers(0, 2**16)))
    c = rng.random(shape)
    if kind == "zeros":
        c[:] = 0
    elif kind == "neg" and c.size:
        c.flat[0] = -0.5
    elif kind == "big" and c.size:
        c.flat[0] = 1.5
    elif kind == "nan" and c.size:
        c[rng.random(shape) < 0.3] = np.nan
    elif kind == "inf" and c.size:
        c.flat[0] = np.inf
    elif kind == "shape":
        c = rng.random((*shape[:-1], shape[-1] + 1)) if len(shape) else rng.random(3)
    return c


@FUZZ
@given(data=st.data())
def test_lift_fuzz(tiny, data):
    kp = data.draw(keypoint_arrays())
    conf = data.draw(confidences(kp.shape[:-1] if kp.ndim else ()))
    odd = data.draw(st.sampled_from(["none", "none", "joint_format", "fps", "steps", "seed", "backend", "cam"]))
    kwargs = dict(joint_format="smpl22", fps=30.0, steps=1, seed=0, backend="auto")
    if odd == "joint_format":
        kwargs["joint_format"] = data.draw(st.sampled_from(["coco17", "openpose", None, 5]))
    elif odd == "fps":
        kwargs["fps"] = data.draw(st.one_of(weird_floats, st.just("30")))
    elif odd == "steps":
        kwargs["steps"] = data.draw(st.sampled_from([2, 0, -1, 1.5, math.nan, math.inf, "2", True]))
    elif odd == "seed":
        kwargs["seed"] = data.draw(st.sampled_from([3, -1, 2**70, 1.5, "a", np.int64(5)]))
    elif odd == "backend":
        kwargs["backend"] = data.draw(st.sampled_from(["fast", "reference", "cuda", None, ["auto"]]))
    cam = data.draw(st.sampled_from(["camera", None, np.eye(4)])) if odd == "cam" else CAM
    res = call(lift, kp, cam, confidence=conf, model=tiny, **kwargs)
    if res is not None:
        assert all_finite(res.joints, res.joints_cam, res.views_2d, res.confidence)
        assert np.abs(res.joints).max() < 1e3


@FUZZ
@given(
    shift=st.sampled_from([0.0, 0.0, 300.0, -1e3, 5e4]),
    scale=st.sampled_from([1.0, 0.0, 1e-6, 1e4]),
    seed=st.integers(0, 1000),
    missing=st.floats(0.0, 0.97),
)
def test_lift_fuzz_valid_but_odd(tiny, shift, scale, seed, missing):
    """Well-formed but odd clips (collapsed, shifted, mostly missing): finite or a clear error."""
    rng = np.random.default_rng(seed)
    kp = CAM.project(walk(16))
    kp = (kp - kp.mean((0, 1))) * scale + kp.mean((0, 1)) + shift
    conf = (rng.random(kp.shape[:-1]) >= missing).astype(float)
    res = call(lift, kp, CAM, confidence=conf, model=tiny, steps=1, seed=seed)
    if res is not None:
        assert all_finite(res.joints, res.joints_cam, res.views_2d, res.confidence)
        assert np.linalg.norm(res.joints - CAM.centre.numpy(), axis=-1).max() <= 1000.0


@FUZZ
@given(
    V=st.integers(0, 4),
    lead=st.sampled_from([(), (3,), (2, 5)]),
    kind=st.sampled_from(["ok", "nan", "inf", "zeros", "negw", "shape", "proj_shape", "huge", "zeroweights"]),
    seed=st.integers(0, 1000),
)
def test_triangulate_fuzz(V, lead, kind, seed):
    rng = np.random.default_rng(seed)
    pts = rng.uniform(0, 1000, (*lead, V, 2))
    P = rng.normal(size=(*lead, V, 3, 4))
    w = rng.random((*lead, V)) + 0.1
    if kind == "nan" and pts.size:
        pts.flat[0] = np.nan
    elif kind == "inf" and P.size:
        P.flat[0] = np.inf
    elif kind == "zeros":
        P[:] = 0
    elif kind == "negw" and w.size:
        w.flat[0] = -1
    elif kind == "shape":
        pts = pts[..., :1]
    elif kind == "proj_shape":
        P = P[..., :3]
    elif kind == "huge":
        pts *= 1e300
    elif kind == "zeroweights":
        w[:] = 0
    X = call(triangulate, pts, P, w)
    if X is not None:
        assert X.shape == (*lead, 3)
        if kind not in ("zeros", "huge"):  # all-zero cameras / overflowing pixels have no solution
            assert all_finite(X)


@FUZZ
@given(
    K=st.one_of(
        st.just("ok"),
        st.just("ok"),
        st.just("ok"),
        st.lists(weird_floats, min_size=9, max_size=9),
        st.sampled_from(["singular", "skew", "rank", None, "str", "tiny_f"]),
    ),
    T=st.sampled_from(["ok", "ok", "ok", "scaled", "reflect", "lastrow", "nan", "shape", "far"]),
    size=st.sampled_from([(1280, 720), (1280, 720), (0, 720), (math.inf, 720), (math.nan, 1), (100, 100), "ab", (1, 2, 3), None, (1e12, 1e12)]),
)
def test_camera_fuzz(K, T, size):
    good = Camera.from_ground(1000, 1000, 640, 360, (1280, 720))
    Kv = {
        "ok": good.K.numpy(), "singular": np.zeros((3, 3)), "skew": np.array([[1e3, 1e9, 640], [0, 1e3, 360], [0, 0, 1]]),
        "rank": np.ones(2), None: None, "str": "K", "tiny_f": np.diag([1e-12, 1e-12, 1.0]),
    }.get(K if not isinstance(K, list) else None, None) if not isinstance(K, list) else np.array(K).reshape(3, 3)
    Tv = good.T_w2c.numpy().copy()
    if T == "scaled":
        Tv[:3, :3] *= 2
    elif T == "reflect":
        Tv[:3, 0] *= -1
    elif T == "lastrow":
        Tv[3, 0] = 1
    elif T == "nan":
        Tv[0, 3] = np.nan
    elif T == "shape":
        Tv = Tv[:3]
    elif T == "far":
        Tv[:3, 3] = 1e200
    cam = call(Camera, Kv, Tv, size)
    if cam is not None:
        assert all_finite(cam.K, cam.T_w2c, cam.image_size)
        assert call(lambda: cam.project(np.array([0.0, 1.0, -5.0]))) is not None


def mostly(valid):
    return st.one_of(st.just(valid), st.just(valid), st.just(valid), weird_values)


@FUZZ
@given(
    args=st.tuples(mostly(1000.0), mostly(1000.0), mostly(640.0), mostly(360.0)),
    kw=st.fixed_dictionaries({
        "height": mostly(1.5), "pitch_deg": mostly(-10.0), "roll_deg": mostly(0.0),
        "position_xz": st.sampled_from([(0.0, 0.0), (0.0, 0.0), (1.0,), 3.0, (math.nan, 0.0), "ab", (1e300, 0.0)]),
    }),
    size=st.sampled_from([(1280, 720), (1280, 720), (-1, 720), "x", (math.inf, 5)]),
)
def test_camera_from_ground_fuzz(args, kw, size):
    cam = call(Camera.from_ground, *args, size, **kw)
    if cam is not None:
        assert all_finite(cam.K, cam.T_w2c)


@FUZZ
@given(
    T=st.sampled_from([0, 1, 3, 4, 10]),
    J=st.sampled_from([22, 22, 17, 0]),
    kind=st.sampled_from(["ok", "nan", "inf", "shape", "zeros", "list", "str", "fps"]),
    seed=st.integers(0, 1000),
)
def test_metrics_evaluate_fuzz(T, J, kind, seed):
    rng = np.random.default_rng(seed)
    gt = rng.normal(size=(T, J, 3))
    pred = gt + 0.01 * rng.normal(size=gt.shape)
    fps = 30.0
    if kind == "nan" and pred.size:
        pred.flat[0] = np.nan
    elif kind == "inf" and gt.size:
        gt.flat[0] = np.inf
    elif kind == "shape":
        pred = pred[:, :, :2]
    elif kind == "zeros":
        pred[:] = 0
        gt[:] = 0
    elif kind == "list":
        pred = pred.tolist()
    elif kind == "str":
        gt = "gt"
    elif kind == "fps":
        fps = rng.choice([0.0, -1.0, math.nan])
    out = call(evaluate, pred, gt, fps=fps)
    if out is not None:
        nan_ok = {"foot_sliding", "rte"}  # documented: nan without gt contacts / for a static gt root
        assert all(math.isfinite(v) for k, v in out.items() if k not in nan_ok), out


@pytest.fixture(scope="module")
def model_file(tmp_path_factory, tiny):
    path = tmp_path_factory.mktemp("model") / "tiny.safetensors"
    save_model(tiny, path)
    return path


@FUZZ
@given(
    kind=st.sampled_from(["random", "truncate", "flip", "empty", "header", "ok"]),
    seed=st.integers(0, 2**16),
)
def test_load_model_fuzz(model_file, tmp_path_factory, kind, seed):
    rng = np.random.default_rng(seed)
    data = bytearray(model_file.read_bytes())
    if kind == "random":
        data = bytearray(rng.integers(0, 256, int(rng.integers(0, 4096)), dtype=np.uint8).tobytes())
    elif kind == "truncate":
        data = data[: int(rng.integers(0, len(data)))]
    elif kind == "flip":
        for i in rng.integers(0, len(data), 8):
            data[i] ^= 0xFF
    elif kind == "empty":
        data = bytearray()
    elif kind == "header":
        data[:8] = int(rng.integers(0, 2**62)).to_bytes(8, "little")
    path = tmp_path_factory.mktemp("fuzz") / "m.safetensors"
    path.write_bytes(bytes(data))
    m = call(load_model, path)
    if m is not None:
        assert all(bool(torch.isfinite(p).all()) for p in m.net.parameters())
        assert bool(torch.isfinite(m.stats.mean).all()) and bool((m.stats.std > 0).all())


def test_load_model_wrong_shapes_and_foreign_file(tmp_path, tiny):
    from safetensors.torch import save_file

    from mocap_fast.model.io import FORMAT

    path = tmp_path / "wrong.safetensors"
    save_model(LoadedModel(tiny.net, Standardizer(torch.zeros(3), torch.ones(3)), {}), path)
    with pytest.raises(ValueError, match="^model: stats.mean"):
        load_model(path)
    foreign = tmp_path / "foreign.safetensors"
    save_file({"a": torch.zeros(2)}, foreign)
    with pytest.raises(ValueError, match="^model: .*not a mocap_fast model"):
        load_model(foreign)
    lying = tmp_path / "lying.safetensors"
    save_file({"a": torch.zeros(2)}, lying, metadata={"format": FORMAT, "config": '{"width": 100000000}'})
    with pytest.raises(ValueError, match="^model: .*broken config"):
        load_model(lying)
    (tmp_path / "text.safetensors").write_text("hello world, not a model")
    with pytest.raises(ValueError, match="^model: "):
        load_model(tmp_path / "text.safetensors")
