"""CPU kernels of the consistency step: plain-PyTorch reference vs torch vectorised vs numba.

Groups (``benchmark.extra_info["impl"]``; ``"reference"`` is the baseline of every ratio that
``bench/write_results.py`` prints):

- ``triangulate N x 4``: reference SVD (``triangulate_dlt``), ``torch.compile`` of it (skipped
  for the remaining sizes once one compile took > 2 min), the public ``triangulate(...,
  backend="fast")`` (argument checks + numba) and the bare numba launcher. N = 1e3 .. 1e6.
- ``triangulate 1e+05 points x 4 views, per-point float32 cameras``: reference SVD, public
  ``triangulate`` and the bare numba launcher on float32 input with one camera set per point.
- ``reencode N clips x 4 views x 64 frames``: the reference per-(clip, view) loop
  (``reproject_encode``), the torch vectorised version (as ``kernels/consistency_triton.py`` runs it around the Triton triangulation) and
  the fused numba kernel. N = 16, 256.
- ``decode ...``: reference decode + view-0 overwrite + weights vs the numba decode kernel.
- ``consistency step ...``: the whole step: reference ``consistency_step`` vs the CPU
  ``"consistency"`` op (``kernels/consistency_numba.py``).

Run: ``python -m pytest bench/test_bench_kernels.py --benchmark-only`` (a few minutes on 2 cores),
or ``python bench/write_results.py`` to also write ``bench/RESULTS.md``. ``BENCH_THREADS=1`` runs
torch and numba on one thread each (timings free of thread-pool oversubscription on a shared
machine).
"""

from __future__ import annotations

import os
import time

import numba
import numpy as np
import pytest
import torch

from helpers import noisy_views, points_near, random_rig
from mocap_fast import triangulate
from mocap_fast.kernels.decode_numba import decode_numba
from mocap_fast.kernels.reencode_numba import reencode_numba
from mocap_fast.kernels.triangulate_numba import triangulate_numba
from mocap_fast.reference.camera import normalized_intrinsics, project
from mocap_fast.reference.consistency import consistency_step, decode_observed, reproject_encode
from mocap_fast.reference.representation import Standardizer, encode
from mocap_fast.reference.triangulation import triangulate_dlt
from mocap_fast.kernels.consistency_numba import consistency as consistency_numba

V = 4
J = 22
THREADS = int(os.environ.get("BENCH_THREADS", "0"))  # 0: library defaults (all cores)
if THREADS:
    torch.set_num_threads(THREADS)
    numba.set_num_threads(THREADS)


@pytest.fixture(autouse=True)
def _record_threads(benchmark):
    benchmark.extra_info.update(torch_threads=torch.get_num_threads(), numba_threads=numba.get_num_threads())
    if THREADS:
        numba.set_num_threads(THREADS)  # per thread of execution in numba: set again in this one
COMPILE_LIMIT_S = 120.0
_compiled: dict = {"too_slow": False}


def _rounds(seconds_per_call: float, budget: float = 3.0, lo: int = 3, hi: int = 30) -> int:
    return int(min(hi, max(lo, budget / max(seconds_per_call, 1e-6))))


# --------------------------------------------------------------------------------------- triangulate
def tri_data(n: int):
    uv, P, w, _ = noisy_views(0, V, n, 1.0, min_weight=0.5)  # 1 px noise
    return uv.contiguous(), P, w


TRI_SIZES = [1_000, 10_000, 100_000, 1_000_000]


@pytest.mark.parametrize("n", TRI_SIZES)
@pytest.mark.parametrize("impl", ["reference", "torch.compile", "numba public", "numba kernel"])
def test_triangulate(benchmark, n, impl):
    uv, P, w = tri_data(n)
    benchmark.group = f"triangulate {n:.0e} points x {V} views"
    benchmark.extra_info.update(impl=impl, points=n, views=V)
    if impl == "reference":
        Pb = P.expand(n, V, 3, 4)
        fn = lambda: triangulate_dlt(uv, Pb, w)  # noqa: E731
    elif impl == "torch.compile":
        if _compiled["too_slow"]:
            pytest.skip(f"torch.compile took > {COMPILE_LIMIT_S:.0f} s on a smaller size")
        Pb = P.expand(n, V, 3, 4)
        comp = torch.compile(triangulate_dlt, dynamic=False)
        t0 = time.perf_counter()
        comp(uv, Pb, w)
        took = time.perf_counter() - t0
        benchmark.extra_info["compile_s"] = round(took, 1)
        if took > COMPILE_LIMIT_S:
            _compiled["too_slow"] = True
        fn = lambda: comp(uv, Pb, w)  # noqa: E731
    elif impl == "numba public":
        fn = lambda: triangulate(uv, P, w, backend="fast")  # noqa: E731
    else:
        un, Pn, wn = uv.numpy(), P[None].numpy(), w.numpy()
        ci = np.zeros(n, dtype=np.int64)
        fn = lambda: triangulate_numba(un, Pn, ci, wn, condition=False)  # noqa: E731
    _time_triangulate(benchmark, fn, slow=impl in ("reference", "torch.compile") and n >= 1_000_000)


@pytest.mark.parametrize("impl", ["reference", "numba public", "numba kernel"])
def test_triangulate_per_point_float32(benchmark, impl):
    """1e5 points x 4 views, float32 points, weights and per-point cameras ``[N, V, 3, 4]`` (as a
    batch of moving cameras gives them): the SVD reference, the public ``triangulate`` and the bare
    numba launcher on the same arrays (``bench/write_results.py`` holds public within
    ``PUBLIC_OVER_KERNEL`` of the kernel)."""
    n = 100_000
    uv, P, w = tri_data(n)
    uv, P, w = uv.float(), P.expand(n, V, 3, 4).float().contiguous(), w.float()
    benchmark.group = f"triangulate {n:.0e} points x {V} views, per-point float32 cameras"
    benchmark.extra_info.update(impl=impl, points=n, views=V)
    if impl == "reference":
        fn = lambda: triangulate_dlt(uv, P, w)  # noqa: E731
    elif impl == "numba public":
        fn = lambda: triangulate(uv, P, w, backend="fast")  # noqa: E731
    else:
        un, Pn, wn = uv.numpy(), P.numpy(), w.numpy()
        fn = lambda: triangulate_numba(un, Pn, None, wn, condition=False)  # noqa: E731
    _time_triangulate(benchmark, fn, slow=False)


def _time_triangulate(benchmark, fn, slow: bool) -> None:
    """A warm-up call (numba compile / cache load), then 2 rounds when ``slow``, else a second call
    timed to size the rounds (``_rounds``)."""
    fn()
    if slow:
        rounds = 2
    else:
        t0 = time.perf_counter()
        fn()
        rounds = _rounds(time.perf_counter() - t0)
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)


# ------------------------------------------------------------------------------ consistency pieces
def scene(n_clips: int, frames: int = 64):
    gen = torch.Generator().manual_seed(1)
    K, Tw, size = random_rig(gen, V, batch=(n_clips,))
    Kg = normalized_intrinsics(K, size)
    X = points_near(gen, (n_clips, frames, J), spread=0.5)
    g = project(X[:, None].expand(n_clips, V, frames, J, 3).reshape(n_clips, V, frames * J, 3), Kg, Tw)
    g = g.reshape(n_clips, V, frames, J, 2) + 0.003 * torch.randn(n_clips, V, frames, J, 2, generator=gen, dtype=torch.float64)
    stats = Standardizer(0.1 * torch.randn(2 * J + 2, generator=gen, dtype=torch.float64),
                         torch.rand(2 * J + 2, generator=gen, dtype=torch.float64) + 0.5)
    conf = torch.rand(n_clips, frames, J, generator=gen, dtype=torch.float64)
    conf[conf < 0.1] = 0
    return Kg, Tw, X, g, stats, conf


def torch_reencode(X, Kg, Tw, stats):
    N, T = X.shape[:2]
    gp = project(X.reshape(N, 1, T * J, 3).expand(N, V, T * J, 3), Kg, Tw).reshape(N, V, T, J, 2)
    return stats.standardize(encode(gp))


CLIPS = [16, 256]


@pytest.mark.parametrize("clips", CLIPS)
@pytest.mark.parametrize("impl", ["reference", "torch vectorised", "numba"])
def test_reencode(benchmark, clips, impl):
    Kg, Tw, X, _, stats, _ = scene(clips)
    benchmark.group = f"reencode {clips} clips x {V} views x 64 frames"
    benchmark.extra_info.update(impl=impl, clips=clips)
    if impl == "reference":
        fn = lambda: reproject_encode(X, Kg, Tw, stats)  # noqa: E731
    elif impl == "torch vectorised":
        fn = lambda: torch_reencode(X, Kg, Tw, stats)  # noqa: E731
    else:
        a = [t.numpy() for t in (X, Kg, Tw, stats.mean, stats.std)]
        fn = lambda: reencode_numba(*a)  # noqa: E731
    t0 = time.perf_counter()
    fn()
    benchmark.pedantic(fn, rounds=_rounds(time.perf_counter() - t0), iterations=1, warmup_rounds=1)


def ref_decode(x0, stats, g_obs, conf, view0_weight=10.0):
    return decode_observed(x0, g_obs, conf, stats, view0_weight)


@pytest.mark.parametrize("clips", CLIPS)
@pytest.mark.parametrize("impl", ["reference", "numba"])
def test_decode(benchmark, clips, impl):
    _, _, _, g, stats, conf = scene(clips)
    x0 = stats.standardize(encode(g))
    g_obs = g[:, 0].clone()
    benchmark.group = f"decode {clips} clips x {V} views x 64 frames"
    benchmark.extra_info.update(impl=impl, clips=clips)
    if impl == "reference":
        fn = lambda: ref_decode(x0, stats, g_obs, conf)  # noqa: E731
    else:
        a = [t.numpy() for t in (x0, stats.mean, stats.std, g_obs, conf)]
        fn = lambda: decode_numba(*a, 10.0)  # noqa: E731
    t0 = time.perf_counter()
    fn()
    benchmark.pedantic(fn, rounds=_rounds(time.perf_counter() - t0), iterations=1, warmup_rounds=1)


@pytest.mark.parametrize("clips", CLIPS)
@pytest.mark.parametrize("impl", ["reference", "numba"])
def test_consistency_step(benchmark, clips, impl):
    """Whole step with the dtypes lift() uses (float32 network output / conf / stats)."""
    Kg, Tw, _, g, stats, conf = scene(clips)
    stats = Standardizer(stats.mean.float(), stats.std.float())
    x0 = stats.standardize(encode(g).float())
    conf = conf.float()
    g_obs = g[:, 0].clone()
    benchmark.group = f"consistency step {clips} clips x {V} views x 64 frames"
    benchmark.extra_info.update(impl=impl, clips=clips)
    if impl == "reference":
        fn = lambda: consistency_step(x0, g_obs, conf, Kg, Tw, stats, 10.0)  # noqa: E731
    else:
        fn = lambda: consistency_numba(x0, g_obs, conf, Kg, Tw, stats, 10.0)  # noqa: E731
    t0 = time.perf_counter()
    fn()
    rounds = _rounds(time.perf_counter() - t0, budget=4.0, lo=2)
    benchmark.pedantic(fn, rounds=rounds, iterations=1, warmup_rounds=0)


# --------------------------------------------------------------------------------------- skeleton fit
@pytest.mark.parametrize("impl", ["reference", "numba"])
def test_skeleton_fit(benchmark, impl):
    """The one-skeleton-per-clip Adam loop (200 steps) on a 300-frame clip with the reprojection
    term: the autograd reference vs the numba kernel (``kernels/skeleton_fit_numba.py``)."""
    from mocap_fast.cli import load_demo
    from mocap_fast.skeleton_fit import fit_clip_skeleton

    joints, cam, _ = load_demo()
    X = torch.tensor(np.concatenate([joints, joints[::-1][1:121]]))[None]  # 300 frames
    gen = torch.Generator().manual_seed(0)
    noisy = X + 0.02 * torch.randn(X.shape, generator=gen, dtype=torch.float64)
    kp = cam.project(X[0])[None]
    obs = (kp, torch.ones(kp.shape[:-1], dtype=torch.float64), cam.K[None].double(), cam.T_w2c[None].double())
    benchmark.group = "skeleton fit 300 frames, 200 Adam steps"
    benchmark.extra_info.update(impl=impl)
    fn = lambda: fit_clip_skeleton(noisy, *obs, backend="reference" if impl == "reference" else "fast")  # noqa: E731
    t0 = time.perf_counter()
    fn()
    benchmark.pedantic(fn, rounds=_rounds(time.perf_counter() - t0, budget=4.0, lo=2), iterations=1, warmup_rounds=0)
