"""Long clips: lift() runs windows in chunks of ``max_batch_windows`` so memory stays bounded, and stays
deterministic (issue 8). Tiny random model, steps=1."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np

import mocap_fast.lifting as lift_mod
from helpers import CAM, pacing
from mocap_fast.lifting import _windows, lift
from mocap_fast.model.config import TINY


def test_windows_are_sampled_in_bounded_chunks(tiny, monkeypatch):
    real = lift_mod.sample_fast
    sizes = []

    def spy(model, problem, steps, seed, backend, progress=None):
        sizes.append(problem.K_g.shape[0])
        return real(model, problem, steps, seed, backend)

    monkeypatch.setattr(lift_mod, "sample_fast", spy)
    T = 120
    res = lift(pacing(T), CAM, model=tiny, steps=1, max_batch_windows=4)
    assert res.joints.shape == (T, 22, 3) and np.isfinite(res.joints).all()
    assert max(sizes) <= 4 and sum(sizes) == len(_windows(T, TINY.window)) and len(sizes) > 1


def test_deterministic_with_chunks(tiny):
    kp = pacing(100)
    a = lift(kp, CAM, model=tiny, steps=2, seed=5, max_batch_windows=4).joints
    b = lift(kp, CAM, model=tiny, steps=2, seed=5, max_batch_windows=4).joints
    c = lift(kp, CAM, model=tiny, steps=2, seed=6, max_batch_windows=4).joints
    np.testing.assert_array_equal(a, b)
    assert np.abs(a - c).max() > 1e-6
    d = lift(kp, CAM, model=tiny, steps=2, seed=5).joints  # one call: each window has its own generator
    np.testing.assert_allclose(a, d, rtol=0, atol=1e-5)


def test_one_chunk_output_does_not_depend_on_chunk_limit(tiny):
    kp = pacing(50)
    n = len(_windows(50, TINY.window))  # 6 windows of 16
    a = lift(kp, CAM, model=tiny, steps=2, seed=1).joints
    b = lift(kp, CAM, model=tiny, steps=2, seed=1, max_batch_windows=n).joints
    np.testing.assert_array_equal(a, b)


_MEASURE = textwrap.dedent(
    """
    import gc, json, resource, sys, warnings
    sys.path.insert(0, {tests!r})
    warnings.simplefilter("ignore")
    import numpy as np
    from helpers import CAM, pacing, tiny_random_model
    from mocap_fast.lifting import lift

    def status(key):
        return next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith(key))

    def peak_growth(T):
        gc.collect()
        try:
            open("/proc/self/clear_refs", "w").write("5")  # reset the peak-RSS mark (Linux)
            base, res = status("VmRSS:"), lift(pacing(T), CAM, model=tiny, steps=1)
            grown = status("VmHWM:") - base
        except OSError:  # no clear_refs: high-water mark of the whole process
            base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            res = lift(pacing(T), CAM, model=tiny, steps=1)
            grown = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - base
        assert np.isfinite(res.joints).all() and res.joints.shape == (T, 22, 3)
        return grown

    tiny = tiny_random_model()
    lift(pacing(64), CAM, model=tiny, steps=1)  # warm-up: imports, numba compilation
    print(json.dumps(peak_growth({T})))
    """
)


def test_long_clip_memory_is_bounded():
    """3000 frames (375 windows of the tiny model) against 600: peak-RSS growth well under the 5x of T.

    Unchunked, the network's activations for all windows at once grow with T (about 5x here)."""
    kb = {}
    for T in (600, 3000):  # a fresh process each: RSS high-water marks are per process
        code = _MEASURE.format(tests=str(Path(__file__).parent), T=T)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=300)
        assert out.returncode == 0, out.stderr[-2000:]
        kb[T] = json.loads(out.stdout.strip().splitlines()[-1])
    ratio = kb[3000] / max(kb[600], 8 * 1024)
    assert ratio < 3.0, kb
