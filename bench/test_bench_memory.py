"""Memory of lift() with the packaged default model: a 10 s clip vs a 10-minute clip (18,000 frames)
on the CPU, and a batch of 64 ten-second clips on CUDA when present.

Each case runs in a fresh process (RSS high-water marks are per process): it warms up (imports,
numba compilation, model load), resets the kernel's peak-RSS mark (``/proc/self/clear_refs``), lifts,
and reports the growth of the peak RSS over the resident size before the call (``VmHWM - VmRSS``)
plus, on CUDA, ``torch.cuda.max_memory_allocated``. ``lift()``'s defaults (the model's recommended
sampler and samples per window): memory does not depend on the step count (one step's activations
at a time), time does. The benchmark's time is the lift call.

Run: ``python -m pytest bench/test_bench_memory.py --benchmark-only`` (``bench/write_results.py``
includes it).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import pytest
import torch

_MEASURE = textwrap.dedent(
    """
    import json, time, warnings
    import numpy as np
    import torch
    warnings.simplefilter("ignore")
    from mocap_fast.cli import load_demo
    from mocap_fast.lifting import default_model, lift

    def status(key):
        return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key))

    joints, cam, _ = load_demo()
    loop = np.concatenate([joints, joints[::-1][1:-1]])  # there and back: a clip of any length
    reps = -(-{frames} // len(loop))
    kp = cam.project(np.concatenate([loop] * reps)[:{frames}])
    if {batch} > 1:
        kp = np.stack([kp] * {batch})
    device = torch.device("{device}")
    model = default_model(device)
    lift(kp[..., :64, :, :], cam, steps=1, model=model, device=device)  # warm-up
    open("/proc/self/clear_refs", "w").write("5")
    if device.type == "cuda":
        torch.cuda.synchronize(); torch.cuda.reset_peak_memory_stats()
    base = status("VmRSS:")
    t0 = time.perf_counter()
    res = lift(kp, cam, model=model, device=device)  # the defaults: recommended sampler and samples
    if device.type == "cuda":
        torch.cuda.synchronize()
    took = time.perf_counter() - t0
    assert np.isfinite(res.joints).all()
    print(json.dumps(dict(seconds=took, rss_growth_mib=(status("VmHWM:") - base) / 1024,
                          rss_peak_mib=status("VmHWM:") / 1024,
                          cuda_peak_mib=torch.cuda.max_memory_allocated() / 2**20 if device.type == "cuda" else None)))
    """
)

CASES = [("cpu", 300, 1), ("cpu", 18_000, 1)]
if torch.cuda.is_available():
    CASES.append(("cuda", 300, 64))


@pytest.mark.parametrize("case", CASES, ids=[f"{d}-{f}frames-x{b}" for d, f, b in CASES])
def test_lift_memory(benchmark, case):
    device, frames, batch = case
    code = _MEASURE.format(frames=frames, batch=batch, device=device)
    result: dict = {}

    def run():
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=1800)
        assert out.returncode == 0, out.stderr[-3000:]
        result.update(json.loads(out.stdout.strip().splitlines()[-1]))

    benchmark.pedantic(run, rounds=1, iterations=1)
    benchmark.group = "lift() memory, default model, its recommended sampler"
    benchmark.extra_info.update(impl=f"{device}, {frames} frames x {batch} clip(s)", device=device, frames=frames,
                                clips=batch, torch_threads=torch.get_num_threads(), **result)
