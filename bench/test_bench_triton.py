"""GPU kernels: the plain-PyTorch references vs the Triton kernels (skipped without CUDA).

Groups (``benchmark.extra_info["impl"]``; ``"reference"`` is the baseline of every ratio that
``bench/write_results.py`` prints):

- ``cuda triangulate N x 4``: reference SVD (``triangulate_dlt``, float64 as the authors' code),
  the reference on float32 inputs (it still computes in float64), the public
  ``triangulate(..., backend="fast")`` on float32 (argument checks + Triton) and the bare Triton
  launcher (float32, no condition numbers). N = 1e3 .. 1e6 points, 4 views, one shared rig.
- ``cuda view attention G x H x 4 x Dh``: ``scaled_dot_product_attention`` (what the model
  runs otherwise) vs the Triton 4-token kernel, float32 and bfloat16, on the model's head-split
  (strided) views.
- ``cuda posterior step B x 4 x T x 46``: the reference ``posterior_step`` with ``world_noise``
  (rotated noise materialised) vs the 3D noise draw + the fused Triton step
  (``kernels/posterior_triton.py``): what one full-schedule sampler step costs besides the network.

Every timed call ends with ``torch.cuda.synchronize()``. Every benchmark records in
``extra_info["bytes"]`` the least memory traffic of its op in the Triton kernel's dtypes (inputs
read once, outputs written once; the same for every row of a group), from which
``bench/bandwidth.py`` reports achieved GB/s beside the device's peak (``bench/gpu_check.sh``
prints it). Run: ``python -m pytest bench/test_bench_triton.py --benchmark-only``.
"""

from __future__ import annotations

import pytest
import torch
import torch.nn.functional as F

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device: Triton benchmarks need a GPU")
pytest.importorskip("triton", reason="triton cannot be imported")

from bandwidth import tensor_bytes  # noqa: E402
from helpers import noisy_views  # noqa: E402
from mocap_fast import triangulate  # noqa: E402
from mocap_fast.reference.triangulation import triangulate_dlt  # noqa: E402

V = 4
DEV = "cuda"


def _timed(benchmark, fn, rounds: int = 20):
    def run():
        fn()
        torch.cuda.synchronize()

    run()  # warm-up: Triton compile / cuSOLVER handles
    run()
    benchmark.pedantic(run, rounds=rounds, iterations=1, warmup_rounds=1)


# --------------------------------------------------------------------------------------- triangulate
def tri_data(n: int):
    uv, P, w, _ = noisy_views(0, V, n, 1.0, min_weight=0.5)  # 1 px noise
    return uv.contiguous().to(DEV), P.to(DEV), w.to(DEV)


TRI_SIZES = [1_000, 10_000, 100_000, 1_000_000]


@pytest.mark.parametrize("n", TRI_SIZES)
@pytest.mark.parametrize("impl", ["reference", "reference fp32 in", "triton public", "triton kernel"])
def test_triangulate_cuda(benchmark, n, impl):
    uv, P, w = tri_data(n)
    benchmark.group = f"cuda triangulate {n:.0e} points x {V} views"
    benchmark.extra_info.update(impl=impl, points=n, views=V, device=torch.cuda.get_device_name())
    # float32 points, weights and the one rig read, X [n, 3] written
    benchmark.extra_info["bytes"] = 4 * (uv.numel() + w.numel() + P.numel() + n * 3)
    if impl == "reference":
        Pb = P.expand(n, V, 3, 4)
        fn = lambda: triangulate_dlt(uv, Pb, w)  # noqa: E731
    elif impl == "reference fp32 in":
        u32, P32, w32 = uv.float(), P.expand(n, V, 3, 4).float(), w.float()
        fn = lambda: triangulate_dlt(u32, P32, w32)  # noqa: E731
    elif impl == "triton public":
        u32, P32, w32 = uv.float(), P.float(), w.float()
        fn = lambda: triangulate(u32, P32, w32, backend="fast")  # noqa: E731
    else:
        from mocap_fast.kernels.triangulate_triton import triangulate_triton_flat

        u32, P32, w32 = uv.float(), P[None].float(), w.float()
        fn = lambda: triangulate_triton_flat(u32, P32, None, w32, condition=False)  # noqa: E731
    _timed(benchmark, fn, rounds=5 if impl.startswith("reference") and n >= 1_000_000 else 20)


# ---------------------------------------------------------------------------------- view attention
ATT_SIZES = [(4_096, 4, 32), (65_536, 4, 32), (262_144, 8, 64)]  # groups G (= B x L), heads, Dh


@pytest.mark.parametrize("dtype", [torch.float32, torch.bfloat16], ids=["fp32", "bf16"])
@pytest.mark.parametrize("size", ATT_SIZES, ids=[f"G{g}xH{h}xD{d}" for g, h, d in ATT_SIZES])
@pytest.mark.parametrize("impl", ["reference", "triton"])
def test_view_attention_cuda(benchmark, size, dtype, impl):
    from mocap_fast.kernels.view_attention_triton import view_attention_forward

    G, H, D = size
    gen = torch.Generator(device=DEV).manual_seed(0)
    x = torch.randn(G, 4, 3 * H * D, generator=gen, device=DEV, dtype=dtype)  # as the model's q | kv
    q, k, v = (t.unflatten(-1, (H, D)).transpose(1, 2) for t in x.chunk(3, dim=-1))
    benchmark.group = f"cuda view attention G={G} H={H} Dh={D} {str(dtype).split('.')[-1]}"
    benchmark.extra_info.update(impl=impl, groups=G, heads=H, head_dim=D, device=torch.cuda.get_device_name())
    benchmark.extra_info["bytes"] = tensor_bytes(q, k, v) + tensor_bytes(q)  # q, k, v read, out (as q) written
    if impl == "reference":
        fn = lambda: F.scaled_dot_product_attention(q, k, v)  # noqa: E731
    else:
        fn = lambda: view_attention_forward(q, k, v)  # noqa: E731
    with torch.no_grad():
        _timed(benchmark, fn)


# ---------------------------------------------------------------------------------- posterior step
POST_SIZES = [(16, 64), (256, 64), (1024, 120)]  # clips B, frames T


@pytest.mark.parametrize("size", POST_SIZES, ids=[f"B{b}xT{t}" for b, t in POST_SIZES])
@pytest.mark.parametrize("impl", ["reference", "triton"])
def test_posterior_step_cuda(benchmark, size, impl):
    from mocap_fast.kernels.posterior_triton import posterior_step_triton
    from mocap_fast.reference.diffusion import (
        cosine_schedule, posterior_coefficients, posterior_step, world_noise, world_noise_samples,
    )

    B, T = size
    C = 46
    gen = torch.Generator(device=DEV).manual_seed(0)
    x_t = torch.randn(B, V, T, C, generator=gen, device=DEV)
    x0 = torch.randn(B, V, T, C, generator=gen, device=DEV)
    R = torch.linalg.qr(torch.randn(B, V, 3, 3, generator=gen, device=DEV))[0]
    sched = cosine_schedule(100)
    benchmark.group = f"cuda posterior step {B} x {V} x {T} x {C}"
    benchmark.extra_info.update(impl=impl, clips=B, frames=T, device=torch.cuda.get_device_name())
    # x_t, x0 read, x_{t-1} (as x_t) written; the 3D noise samples [B, T, C / 2, 3] float32 drawn and read
    benchmark.extra_info["bytes"] = tensor_bytes(x_t, x0, x_t) + 2 * B * T * (C // 2) * 3 * 4
    if impl == "reference":
        fn = lambda: posterior_step(x_t, x0, 50, world_noise(R, (B, T, C), gen), sched)  # noqa: E731
    else:
        def fn():
            n = world_noise_samples((B, T, C), gen, R.dtype, DEV)
            return posterior_step_triton(x_t, x0, n, R, *posterior_coefficients(sched, 50))
    _timed(benchmark, fn)
