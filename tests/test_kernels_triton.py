"""Triton kernels vs their references, on the CPU under the Triton interpreter and on CUDA when present.

Device ``"cpu"``: the kernel modules are loaded as private copies with ``TRITON_INTERPRET=1`` set
(Triton decides at ``@triton.jit`` time whether a kernel is interpreted; the variable also stays
set while the kernels run, and the part of Triton it imports lazily at the first launch is
imported beforehand without it: see :func:`kernels`). This works although pytest imported Triton
without the interpreter because the kernels use no ``@jit`` function of Triton's standard
library (checked by the tests themselves: such a call fails under the interpreter). Device ``"cuda"``: the library's own modules, compiled; skipped without a GPU.

Tolerances:

- triangulation, float32 (the GPU path's arithmetic): ``|X - X_ref| / (|X_ref| + 1) < TOL32``
  (= 1e-4) on well-conditioned rigs (observed ~1e-6) against the float64 SVD reference
  ``reference/triangulation.py::triangulate_dlt``; on arbitrary rigs (V = 2 opposite cameras are
  nearly degenerate for points between them) every point is either that accurate or flagged by
  a condition number < ``FLAG`` (= 100) (there 1e-3); inconsistent observations: finite, and within
  ``1e-5 / (1 - 1 / cond)`` (observed < 4e-7 at cond 1.4-5.4). Interpreted, a program handles
  ``INTERPRET_BLOCK`` (= 32) points and the tests pass up to 64: later programs' offsets and masks run;
- triangulation, float64 inputs (float64 arithmetic): 1e-6 as the numba kernel, and the
  condition number equal to the numba kernel's to 1e-3 relative where it is < 1e6;
- view attention: ``atol 1e-5`` (float32, unit-variance q, k, v; ``1e-4`` for inputs scaled by 4,
  i.e. logits up to ~100) against ``torch.nn.functional.scaled_dot_product_attention``,
  gradients (PyTorch recompute) ``atol 1e-5``, float16 ``atol 2e-3``.
"""

from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path

import numpy as np
import pytest
import torch
import torch.nn.functional as F
from hypothesis import example, given, settings
from hypothesis import strategies as st

pytest.importorskip("triton", reason="triton is not installed / cannot be imported: no Triton kernels to test")

from helpers import interpret_env, points_near, random_rig  # noqa: E402
from mocap_fast.kernels.triangulate_numba import triangulate_numba  # noqa: E402
from mocap_fast.reference.camera import project, projection_matrix  # noqa: E402
from mocap_fast.reference.triangulation import triangulate_dlt  # noqa: E402

KERNEL_DIR = Path(__file__).resolve().parents[1] / "kernels"
NAMES = ("triangulate_triton", "view_attention_triton")
FLAG = 100.0
TOL32 = 1e-4
INTERPRET_BLOCK = 32
"""Points per program of the interpreted triangulation (the library's BLOCK is 128): small shapes then
span several programs, so the offsets and masks of every program after the first run too."""
seeds = st.integers(0, 2**31 - 1)
DEVICES = [
    "cpu",
    pytest.param("cuda", marks=pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")),
]
_interpreted: dict = {}


@contextlib.contextmanager
def kernels(device: str):
    """Yield ``(triangulate module, view attention module)`` for ``device``."""
    if device == "cuda":
        from mocap_fast.kernels import triangulate_triton, view_attention_triton

        yield triangulate_triton, view_attention_triton
        return
    with interpret_env():
        if not _interpreted:
            for name in NAMES:
                spec = importlib.util.spec_from_file_location(f"_interpreted_{name}", KERNEL_DIR / f"{name}.py")
                mod = importlib.util.module_from_spec(spec)
                spec.loader.exec_module(mod)
                _interpreted[name] = mod
            _interpreted["triangulate_triton"].BLOCK = INTERPRET_BLOCK
        yield tuple(_interpreted[n] for n in NAMES)


def test_interpreter_really_runs_the_kernels():
    from triton.runtime.interpreter import InterpretedFunction

    with kernels("cpu") as (tri, att):
        assert isinstance(tri._triangulate_kernel, InterpretedFunction)
        assert isinstance(att._view_attention_kernel, InterpretedFunction)
        assert tri.BLOCK == INTERPRET_BLOCK
        X, _ = tri.triangulate_triton_flat(torch.zeros(3, 2, 2), torch.randn(1, 2, 3, 4))
        assert X.device.type == "cpu"


# ---------------------------------------------------------------- triangulation


def views(seed, V, N, noise_px, well_conditioned=True):
    """Exact projections of random points (+ noise) into a random rig; V = 2 on a well-conditioned
    rig uses two cameras ~90 degrees apart (random_rig's two cameras face each other)."""
    gen = torch.Generator().manual_seed(seed)
    K, T, _ = random_rig(gen, 4 if (V == 2 and well_conditioned) else V)
    K, T = K[:V], T[:V]
    X = points_near(gen, (N,))
    uv = project(X[None].expand(V, N, 3), K, T).transpose(0, 1)
    uv = uv + noise_px * torch.randn(uv.shape, generator=gen, dtype=torch.float64)
    w = torch.rand(N, V, generator=gen, dtype=torch.float64) + 0.05
    return uv, projection_matrix(K, T), w, X


def rel_err(out, ref):
    return ((out.double().cpu() - ref).abs().amax(-1) / (ref.norm(dim=-1) + 1))


@pytest.mark.parametrize("device", DEVICES)
@given(seed=seeds, V=st.integers(2, 8), N=st.integers(1, 64), noise=st.sampled_from([0.0, 0.5, 5.0]))
@example(seed=0, V=2, N=1, noise=0.0)
@example(seed=1, V=3, N=2 * INTERPRET_BLOCK + 5, noise=0.5)  # three programs, the last one partly masked
@example(seed=4, V=8, N=INTERPRET_BLOCK + 3, noise=5.0)  # eight views, two programs
def test_triangulate_fp32_matches_reference(device, seed, V, N, noise):
    uv, P, w, X = views(seed, V, N, noise)
    ref = triangulate_dlt(uv, P.expand(N, V, 3, 4), w)
    with kernels(device) as (tri, _):
        out, cond = tri.triangulate_triton(uv.float().to(device), P.float().to(device), w.float().to(device), condition=True)
    assert out.dtype == torch.float32 and out.shape == (N, 3) and cond.shape == (N,)
    assert rel_err(out, ref).max() < TOL32
    if noise == 0:
        assert (cond.cpu() > FLAG).all()


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=25)
@given(seed=seeds, V=st.integers(2, 8), N=st.integers(1, 64), noise=st.sampled_from([0.0, 0.5, 5.0]))
def test_triangulate_fp32_accurate_or_flagged_on_any_rig(device, seed, V, N, noise):
    uv, P, w, _ = views(seed, V, N, noise, well_conditioned=False)
    ref = triangulate_dlt(uv, P.expand(N, V, 3, 4), w)
    with kernels(device) as (tri, _):
        out, cond = tri.triangulate_triton(uv.float().to(device), P.float().to(device), w.float().to(device), condition=True)
    assert torch.isfinite(out).all()
    bad = rel_err(out, ref) >= 1e-3
    assert (cond.cpu()[bad] < FLAG).all()


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=25)
@given(seed=seeds, V=st.integers(2, 8), N=st.integers(1, 64), noise=st.sampled_from([0.0, 0.5, 5.0]))
def test_triangulate_fp64_matches_reference_and_numba(device, seed, V, N, noise):
    uv, P, w, X = views(seed, V, N, noise, well_conditioned=False)
    ref = triangulate_dlt(uv, P.expand(N, V, 3, 4), w)
    with kernels(device) as (tri, _):
        out, cond = tri.triangulate_triton(uv.to(device), P.to(device), w.to(device), condition=True)
    assert out.dtype == torch.float64
    assert ((out.cpu() - ref).abs() / (X.norm(dim=-1, keepdim=True) + 1)).max() < 1e-6
    _, cond_nb = triangulate_numba(uv.numpy(), P[None].numpy(), np.zeros(N, dtype=np.int64), w.numpy())
    # lambda_1 carries ~1e-16 absolute error (trace-normalised): the ratio is reproducible to
    # ~1e-16 cond / lambda_2, compared where it is below 1e6; above, both must say "large"
    cond = cond.cpu().numpy()
    small = cond_nb < 1e6
    np.testing.assert_allclose(cond[small], cond_nb[small], rtol=1e-3)
    assert (cond[~small] > 1e5).all()


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=8)  # 4 launches per example: keep the interpreter's share of the run small
@given(seed=seeds)
def test_triangulate_batch_shapes_and_shared_cameras(device, seed):
    uv, P, w, _ = views(seed, 3, 2 * 3 * 7, 1.0)  # 42 points > INTERPRET_BLOCK: the gather in later programs too
    gen = torch.Generator().manual_seed(seed)
    uv, w = uv.reshape(2, 3, 7, 3, 2), w.reshape(2, 3, 7, 3)
    P_each = P * (1 + torch.rand(2, 3, 7, 1, 1, 1, generator=gen, dtype=torch.float64))  # per point (scale only)
    P_rows = P_each[:, :, :1]  # [2, 3, 1, V, 3, 4]: shared along one axis -> cam_index gather
    with kernels(device) as (tri, _):
        for proj in (P, P_each, P_rows):  # one set for all; one per point; broadcast along an axis
            ref = triangulate_dlt(uv, proj.expand(2, 3, 7, 3, 3, 4), w)
            out = tri.triangulate_triton(uv.float().to(device), proj.float().to(device), w.float().to(device))
            assert out.shape == (2, 3, 7, 3)
            assert rel_err(out, ref).max() < TOL32
        out = tri.triangulate_triton(uv.float().to(device), P.float().to(device))  # weights None
        assert rel_err(out, triangulate_dlt(uv, P.expand(2, 3, 7, 3, 3, 4))).max() < TOL32


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=12)
@given(seed=seeds, garbage=st.sampled_from([1e6, float("nan"), float("inf")]))
def test_zero_weight_views_are_ignored(device, seed, garbage):
    uv, P, w, X = views(seed, 4, 40, 0.0)
    w[:, 2:] = 0
    uv[:, 2:] = garbage
    with kernels(device) as (tri, _):
        out = tri.triangulate_triton(uv.float().to(device), P.float().to(device), w.float().to(device))
    assert torch.isfinite(out).all()
    assert rel_err(out, X).max() < TOL32


@pytest.mark.parametrize("device", DEVICES)
def test_near_parallel_rays_flagged_by_condition(device):
    gen = torch.Generator().manual_seed(0)
    K, T, _ = random_rig(gen, 4)
    K, T = K[:2], T[:2]
    T2 = T.clone()  # second camera almost at the first one's centre: rays nearly parallel
    T2[1] = T[0].clone()
    T2[1, 0, 3] += 1e-4
    X = points_near(gen, (5,))
    uv_bad = project(X[None].expand(2, 5, 3), K, T2).transpose(0, 1) + 0.5
    uv_ok = project(X[None].expand(2, 5, 3), K, T).transpose(0, 1) + 0.5
    with kernels(device) as (tri, _):
        out_bad, cond_bad = tri.triangulate_triton(uv_bad.float().to(device), projection_matrix(K, T2).float().to(device), condition=True)
        _, cond_ok = tri.triangulate_triton(uv_ok.float().to(device), projection_matrix(K, T).float().to(device), condition=True)
    assert torch.isfinite(out_bad).all()
    assert cond_bad.max() < FLAG < cond_ok.min()


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("depth", [1e-1, 1e-2, 1e-3])
def test_point_near_a_camera_plane(device, depth):
    """A point ``depth`` metres in front of camera 0's principal plane: huge pixel coordinates in that
    view, whose rows dwarf the others'. float32 + reference objective: finite, and accurate or flagged;
    ``normalize_rows=True`` and float64: accurate."""
    for seed in range(3):
        gen = torch.Generator().manual_seed(seed)
        K, T, _ = random_rig(gen, 3)
        P = projection_matrix(K, T)
        Xw = (torch.linalg.inv(T[0]) @ torch.tensor([0.5, 0.3, depth, 1.0], dtype=torch.float64))[:3][None]
        uv = project(Xw[None].expand(3, 1, 3), K, T).transpose(0, 1)
        ref = triangulate_dlt(uv, P[None])
        with kernels(device) as (tri, _):
            out, cond = tri.triangulate_triton(uv.float().to(device), P.float().to(device), condition=True)
            out_n = tri.triangulate_triton(uv.float().to(device), P.float().to(device), normalize_rows=True)
            out_64 = tri.triangulate_triton(uv.to(device), P.to(device))
        assert torch.isfinite(out).all()
        assert rel_err(out, ref).max() < TOL32 or cond.max() < FLAG
        assert rel_err(out_n, ref).max() < 1e-5
        assert rel_err(out_64, ref).max() < 1e-9


@pytest.mark.parametrize("device", DEVICES)
def test_inconsistent_observations_finite_and_accurate_for_their_conditioning(device):
    """Arbitrary observations (all at pixel (0, 0)): the least-squares point is still defined; its
    float32 error grows as the two smallest eigenvalues meet (eigenvector error ~ eps / gap)."""
    for seed in range(6):
        gen = torch.Generator().manual_seed(seed)
        K, T, _ = random_rig(gen, 3)
        P = projection_matrix(K, T)
        uv = torch.zeros(1, 3, 2, dtype=torch.float64)
        with kernels(device) as (tri, _):
            out, cond = tri.triangulate_triton(uv.float().to(device), P.float().to(device), condition=True)
        ref = triangulate_dlt(uv, P[None])
        assert torch.isfinite(out).all() and torch.isfinite(ref).all()
        c = cond.item()
        assert c >= 1 - 1e-4  # lambda_2 / lambda_1, second-smallest over smallest
        assert rel_err(out, ref).max() < 1e-5 / max(1 - 1 / c, 1e-12), (seed, c)


def test_public_triangulate_dispatches_to_triton_on_cuda():
    from mocap_fast.backends import OPS

    assert OPS["triangulate"].cuda == "mocap_fast.kernels.triangulate_triton:triangulate_flat"
    assert OPS["triangulate"].cpu == "mocap_fast.kernels.triangulate_numba:triangulate_flat"


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_public_triangulate_on_cuda_matches_reference():
    from mocap_fast import triangulate

    uv, P, w, _ = views(3, 4, 48, 1.0)
    uv, w = uv.reshape(4, 12, 4, 2), w.reshape(4, 12, 4)
    ref = triangulate(uv, P, w, backend="reference")
    for dtype, tol in ((torch.float32, TOL32), (torch.float64, 1e-6)):
        out = triangulate(uv.to("cuda", dtype), P.to("cuda", dtype), w.to("cuda", dtype), backend="auto")
        assert out.device.type == "cuda" and out.dtype == dtype
        assert rel_err(out, ref).max() < tol


# ---------------------------------------------------------------- view attention


def qkv(seed, G, H, D, dtype=torch.float32, device="cpu", scale=1.0):
    gen = torch.Generator().manual_seed(seed)
    return [(scale * torch.randn(G, H, 4, D, generator=gen)).to(device, dtype) for _ in range(3)]


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=20)  # the interpreter runs each program in Python: keep this file < 60 s
@given(seed=seeds, G=st.integers(1, 32), H=st.integers(1, 4), D=st.sampled_from([1, 5, 8, 16, 32, 64]), scale=st.sampled_from([0.1, 1.0, 4.0]))
@example(seed=0, G=1, H=1, D=8, scale=1.0)
@example(seed=1, G=7, H=3, D=16, scale=1.0)
def test_view_attention_matches_sdpa(device, seed, G, H, D, scale):
    q, k, v = qkv(seed, G, H, D, device=device, scale=scale)
    with kernels(device) as (_, att):
        out = att.view_attention(q, k, v)
    assert out.shape == (G, H, 4, D) and out.dtype == torch.float32
    # logits ~ scale^2 sqrt(D): float32 rounding of exp grows with them (observed 2.6e-5 at scale 4)
    atol = 1e-5 if scale <= 1 else 1e-4
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v), atol=atol, rtol=0)


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("G", [1, 9])
def test_view_attention_strided_inputs_as_in_the_model(device, G):
    """Head-split views of the projection outputs (no copies) and an explicit scale; the output's
    ``transpose(1, 2).flatten(-2)`` is a free view."""
    H, D = 4, 8
    gen = torch.Generator().manual_seed(G)
    x = torch.randn(G, 4, H * D, generator=gen).to(device)
    kv = torch.randn(G, 4, 2 * H * D, generator=gen).to(device)

    def split(t):
        return t.unflatten(-1, (H, -1)).transpose(-2, -3)

    q = split(x)
    k, v = (split(t) for t in kv.chunk(2, dim=-1))
    assert not q.is_contiguous() and not k.is_contiguous()
    with kernels(device) as (_, att):
        out = att.view_attention(q, k, v, 0.3)
    torch.testing.assert_close(out, F.scaled_dot_product_attention(q, k, v, scale=0.3), atol=1e-5, rtol=0)
    assert out.transpose(-2, -3).flatten(-2).is_contiguous()


@pytest.mark.parametrize("device", DEVICES)
def test_view_attention_backward_recomputes_sdpa(device):
    q, k, v = (t.requires_grad_(True) for t in qkv(0, 5, 2, 16, device=device))
    with kernels(device) as (_, att):
        out = att.view_attention(q, k, v)
    g = torch.randn_like(out)
    got = torch.autograd.grad(out, (q, k, v), g)
    want = torch.autograd.grad(F.scaled_dot_product_attention(q, k, v), (q, k, v), g)
    for a, b in zip(got, want):
        torch.testing.assert_close(a, b, atol=1e-5, rtol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_view_attention_half_precision(device):
    q, k, v = qkv(2, 6, 2, 32, dtype=torch.float16, device=device)
    with kernels(device) as (_, att):
        out = att.view_attention(q, k, v)
    assert out.dtype == torch.float16
    ref = F.scaled_dot_product_attention(q.float(), k.float(), v.float())
    torch.testing.assert_close(out.float(), ref, atol=2e-3, rtol=0)


@pytest.mark.parametrize("device", DEVICES)
def test_model_view_attention_uses_the_kernel_in_inference(device, monkeypatch):
    """``ViewAttention`` with the Triton forward (forced on the CPU by handing the module the
    interpreted kernel) equals its reference path; V != 4 and training with gradients keep the
    PyTorch path; ``backend="reference"`` asks for the reference op."""
    from mocap_fast import backends
    from mocap_fast.model import network

    torch.manual_seed(0)
    layer = network.ViewAttention(32, 4, dropout=0.1).to(device)
    torch.nn.init.normal_(layer.zero.weight, std=0.2)  # the branch starts at zero: make it visible
    x = torch.randn(2, 4, 5, 32, device=device)
    layer.eval()
    with torch.no_grad():
        want = layer(x, backend="reference")
        calls = []
        with kernels(device) as (_, att):

            def fast(op, backend, device):
                if backend == "reference":
                    return backends.kernel(op, backend, device)
                assert op == "view_attention"

                def run(q, k, v):
                    calls.append(q.shape)
                    return att.view_attention(q, k, v)

                return run

            monkeypatch.setattr(network, "kernel", fast)
            got = layer(x)
            assert calls == [(10, 4, 4, 8)]
            torch.testing.assert_close(got, want, atol=1e-5, rtol=0)
            layer(x, backend="reference")
            layer(x[:, :3])  # V = 3: PyTorch path
            assert len(calls) == 1
            layer.train()
            with torch.enable_grad():
                layer(x)  # training with gradients: PyTorch path
            assert len(calls) == 1


# ---------------------------------------------------------------- posterior step


@contextlib.contextmanager
def posterior_module(device: str):
    """``kernels/posterior_triton.py``: the library's module on CUDA, an interpreted copy on CPU."""
    if device == "cuda":
        from mocap_fast.kernels import posterior_triton

        yield posterior_triton
        return
    with interpret_env():
        if "posterior_triton" not in _interpreted:
            spec = importlib.util.spec_from_file_location("_interpreted_posterior_triton", KERNEL_DIR / "posterior_triton.py")
            mod = importlib.util.module_from_spec(spec)
            spec.loader.exec_module(mod)
            _interpreted["posterior_triton"] = mod
        yield _interpreted["posterior_triton"]


@pytest.mark.parametrize("device", DEVICES)
@settings(max_examples=10)
@given(seed=seeds, B=st.integers(1, 3), V=st.sampled_from([2, 3, 4, 8]), T=st.integers(1, 40), step=st.integers(1, 99))
@example(seed=0, B=1, V=4, T=23, step=50)  # T * C / 2 = 529 channel pairs: three blocks of 256
def test_posterior_step_matches_reference(device, seed, B, V, T, step):
    """The fused step equals ``posterior_step(x_t, x0, s, world_noise(R))`` given the same generator,
    and the op's reference ``posterior_step_world``: float32 ``atol 1e-5`` (values ~N(0, 1)); the
    kernel's grid also covers T * C / 2 beyond one block."""
    from mocap_fast.reference.camera import look_rotation
    from mocap_fast.reference.diffusion import (
        cosine_schedule, posterior_coefficients, posterior_step, posterior_step_world, world_noise, world_noise_samples,
    )

    C = 46
    gen = torch.Generator().manual_seed(seed)
    x_t = torch.randn(B, V, T, C, generator=gen)
    x0 = torch.randn(B, V, T, C, generator=gen)
    ang = torch.rand(B, V, 3, generator=gen, dtype=torch.float64) * 6.3 - 3.15
    R = look_rotation(ang[..., 0], ang[..., 1], ang[..., 2]).float()
    sched = cosine_schedule(100)
    ref = posterior_step(x_t, x0, step, world_noise(R, (B, T, C), torch.Generator().manual_seed(seed + 1)), sched)
    n = world_noise_samples((B, T, C), torch.Generator().manual_seed(seed + 1), R.dtype)
    with posterior_module(device) as mod:
        out = mod.posterior_step_triton(x_t.to(device), x0.to(device), n.to(device), R.to(device),
                                        *posterior_coefficients(sched, step))
    assert out.shape == ref.shape and out.dtype == torch.float32
    torch.testing.assert_close(out.cpu(), ref, atol=1e-5, rtol=0)
    torch.testing.assert_close(posterior_step_world(x_t, x0, n, R, *posterior_coefficients(sched, step)), ref, atol=1e-6, rtol=0)


def test_posterior_step_rejects_bad_shapes():
    with posterior_module("cpu") as mod:
        with pytest.raises(ValueError, match="noise3d"):
            mod.posterior_step_triton(torch.zeros(1, 4, 3, 46), torch.zeros(1, 4, 3, 46), torch.zeros(1, 3, 22, 3),
                                      torch.zeros(1, 4, 3, 3), 1.0, 0.0, 0.0)
