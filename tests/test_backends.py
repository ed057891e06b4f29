"""The dispatch table :data:`mocap_fast.backends.OPS`: every entry exists, ``backend="reference"``
runs only the reference, a failing fast kernel falls back once with one warning, and ``lift()``
runs end to end through the CUDA column (Triton kernels interpreted on CPU tensors).

Tolerance of the CUDA route against the numba route of ``lift()``: 1e-5 m on the output joints
(the Triton triangulation computes in float32, numba in float64; the tiny model's 5-step loop
carries the difference through every step; observed 3e-7 m with 10 steps).
"""

from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
import torch

import helpers
from helpers import CAM, cuda_route_on_cpu, failing_kernel, noisy_views, tiny_random_model, walk
from mocap_fast import backends, triangulate
from mocap_fast.lifting import lift

pytest.importorskip("triton", reason="triton is not installed: no CUDA column to run")


@pytest.fixture(autouse=True)
def fresh_dispatch():
    backends.reset()
    yield
    backends.reset()


@pytest.fixture(scope="module")
def tiny5():
    """The tiny model with a 5-step schedule: the full DDPM loop (the fused posterior step) is short."""
    return tiny_random_model(diffusion_steps=5)


def test_every_entry_of_the_table_imports():
    for op, entry in backends.OPS.items():
        assert entry.reference.startswith("mocap_fast.reference."), op
        for target in (entry.cpu, entry.cuda, entry.reference):
            if target is not None:
                assert callable(backends._load(target)), target


def _break_every_fast_kernel(monkeypatch):
    for op, entry in list(backends.OPS.items()):
        monkeypatch.setitem(backends.OPS, op, dataclasses.replace(entry, cpu="helpers:failing_kernel", cuda="helpers:failing_kernel"))


def test_reference_backend_runs_only_the_reference(tiny5, monkeypatch):
    """Every fast kernel of both columns replaced by one that raises, CPU tensors routed as CUDA
    ones: ``backend="reference"`` never calls one and warns nothing."""
    _break_every_fast_kernel(monkeypatch)
    monkeypatch.setattr(backends, "route", lambda device: "cuda")
    failing_kernel.calls = 0
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        got = lift(CAM.project(walk(T=16)), CAM, model=tiny5, backend="reference", seed=2).joints
    assert failing_kernel.calls == 0 and not backends._failed
    assert np.isfinite(got).all()


@pytest.mark.parametrize("target", ["helpers:failing_kernel", "mocap_fast.kernels.no_such_kernel:run"])
def test_failing_fast_kernel_falls_back_once_with_one_warning(monkeypatch, target):
    """A kernel that raises at launch (or cannot be imported) is called once, the call is rerun on the
    reference, one RuntimeWarning names the op and the error, and later calls go to the reference."""
    uv, P, w, X = noisy_views(0, 3, 50, 0.0)
    monkeypatch.setitem(backends.OPS, "triangulate", dataclasses.replace(backends.OPS["triangulate"], cpu=target))
    failing_kernel.calls = 0
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        outs = [triangulate(uv, P, w, backend="fast") for _ in range(3)]
    msgs = [str(r.message) for r in rec if issubclass(r.category, RuntimeWarning)]
    assert len(msgs) == 1 and "fast triangulate kernel failed on cpu" in msgs[0]
    assert ("no kernel image" in msgs[0]) if target.startswith("helpers") else ("ModuleNotFoundError" in msgs[0])
    assert failing_kernel.calls == (1 if target.startswith("helpers") else 0)
    for out in outs:
        assert ((out - X).abs().max(-1).values / (X.norm(dim=-1) + 1)).max() < 1e-9


def test_value_error_of_a_fast_kernel_is_not_a_failure(monkeypatch):
    """``ValueError`` means bad input: raised as is, the kernel stays in use, nothing is warned."""

    def bad_input(*args):
        raise ValueError("points: bad")

    monkeypatch.setattr(helpers, "bad_input", bad_input, raising=False)
    monkeypatch.setitem(backends.OPS, "triangulate", dataclasses.replace(backends.OPS["triangulate"], cpu="helpers:bad_input"))
    uv, P, w, _ = noisy_views(0, 3, 5, 0.0)
    with warnings.catch_warnings():
        warnings.simplefilter("error", RuntimeWarning)
        with pytest.raises(ValueError, match="points: bad"):
            triangulate(uv, P, w, backend="fast")
    assert not backends._failed


def test_lift_through_the_cuda_route_matches_the_numba_route(tiny5):
    """lift() on the full 5-step DDPM loop with the CUDA column of the table: the fused posterior
    step, the view attention, the consistency step with the Triton triangulation, all interpreted
    on CPU tensors; compared with the numba (CPU) route, same seed."""
    from triton.runtime.interpreter import InterpretedFunction

    kp = CAM.project(walk(T=16))
    want = lift(kp, CAM, model=tiny5, backend="fast", seed=4).joints
    with cuda_route_on_cpu() as mods:
        assert isinstance(mods["triangulate_triton"]._triangulate_kernel, InterpretedFunction)
        assert isinstance(mods["posterior_triton"]._posterior_kernel, InterpretedFunction)
        assert isinstance(mods["view_attention_triton"]._view_attention_kernel, InterpretedFunction)
        got = lift(kp, CAM, model=tiny5, backend="fast", seed=4).joints
        used = {op for (op, kind, column), fn in backends._chosen.items() if kind == "fast" and column == "cuda"
                and isinstance(fn, backends._Guarded) and fn.fn is not None}
        assert used == {"consistency", "posterior_step", "view_attention"} and not backends._failed
    assert np.isfinite(got).all()
    np.testing.assert_allclose(got, want, atol=1e-5, rtol=0)


@pytest.mark.parametrize("route", ["cpu", "cuda"])
def test_non_finite_prediction_takes_the_same_path_on_every_route(route):
    """A NaN in the network's prediction: the consistency op raises nothing on either route and gives
    non-finite joints exactly where the prediction is NaN (lift() then repairs them, see
    tests/test_degenerate.py), the rest finite and equal across routes."""
    from mocap_fast.reference.camera import normalized_intrinsics, project
    from mocap_fast.reference.representation import Standardizer, encode

    gen = torch.Generator().manual_seed(0)
    K, Tw, size = helpers.random_rig(gen, 4, batch=(2,))
    Kg = normalized_intrinsics(K, size)
    X = helpers.points_near(gen, (2, 5, 22), spread=0.5)
    g = project(X[:, None].expand(2, 4, 5, 22, 3).reshape(2, 4, 110, 3), Kg, Tw).reshape(2, 4, 5, 22, 2)
    stats = Standardizer(torch.zeros(46), torch.ones(46))
    x0 = stats.standardize(encode(g)).float()
    x0[1, 2, 3, 10] = float("nan")  # one channel of one view of one frame of clip 1
    conf = torch.ones(2, 5, 22)
    args = (x0, g[:, 0].float(), conf, Kg.float(), Tw.float(), stats, 10.0)
    if route == "cuda":
        with cuda_route_on_cpu():
            xc, Xo = backends.kernel("consistency", "fast", "cpu")(*args)
            assert not backends._failed
    else:
        xc, Xo = backends.kernel("consistency", "fast", "cpu")(*args)
    bad = ~torch.isfinite(Xo).all(-1)
    assert bad.any() and bad[1, 3].any() and not bad[0].any() and not bad[1, [0, 1, 2, 4]].any()
    torch.testing.assert_close(Xo[0].double(), X[0], atol=1e-4, rtol=0)
