"""lift() on a 10 s clip (300 frames) with the packaged default model: the defaults (the model's
recommended sampler), and ``backend="auto"`` vs ``"reference"`` at equal steps.

Run: ``python -m pytest bench/test_bench_lift.py --benchmark-only`` (CPU; CUDA too when present).
"""

import numba
import numpy as np
import pytest
import torch

from mocap_fast.lifting import default_model, lift

DEVICES = ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])


def ten_second_clip():
    from mocap_fast.cli import load_demo

    joints, cam, _ = load_demo()
    # 300 frames: the 180-frame demo clip, then its frames 178 down to 59 (120 frames played backwards)
    X = np.concatenate([joints, joints[::-1][1:121]])
    return cam.project(X), cam


@pytest.mark.parametrize("device", DEVICES)
@pytest.mark.parametrize("steps", [None, 10, 100])
@pytest.mark.parametrize("backend", ["reference", "auto"])
def test_lift_10s(benchmark, device, backend, steps):
    kp, cam = ten_second_clip()
    model = default_model(torch.device(device))
    sampler, n = model.recommended_steps() if steps is None else (("ddim", steps) if steps < 100 else ("ddpm", 100))
    label = "defaults, " if steps is None else ""
    benchmark.group = f"lift 300 frames {device}, {label}{n} steps ({sampler})"
    benchmark.extra_info.update(impl=backend, device=device, steps=n, sampler=sampler,
                                torch_threads=torch.get_num_threads(), numba_threads=numba.get_num_threads())
    res = benchmark.pedantic(lambda: lift(kp, cam, steps=steps, backend=backend, device=device, model=model, quiet=True),
                             rounds=2, iterations=1, warmup_rounds=1)
    assert res.joints.shape == (300, 22, 3) and res.steps == n
