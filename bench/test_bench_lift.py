"""lift() on a 10 s clip (300 frames) with the packaged default model: ``backend="auto"`` vs
``"reference"`` at equal steps (2 and 10 DDIM steps, 100 DDPM steps), same clip and seed; the row at
the model's recommended step count is labelled "defaults".

``skeleton="clip"`` (lift's default) includes the one-skeleton-per-clip fit, whose Adam loop the
backend also picks (numba kernel or autograd reference); the ``skeleton="free"`` rows time the
sampler and the rest of lift() without it.

Run: ``python -m pytest bench/test_bench_lift.py --benchmark-only`` (CPU; CUDA too when present);
``-k "not 100"`` leaves out the slow full-schedule rows.
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
@pytest.mark.parametrize("skeleton", ["clip", "free"])
@pytest.mark.parametrize("steps", [2, 10, 100])
@pytest.mark.parametrize("backend", ["reference", "auto"])
def test_lift_10s(benchmark, device, backend, steps, skeleton):
    if skeleton == "free" and steps == 100:
        pytest.skip("the full schedule is timed with lift's default skeleton only")
    kp, cam = ten_second_clip()
    model = default_model(torch.device(device))
    sampler, n = ("ddim", steps) if steps < 100 else ("ddpm", 100)
    label = "defaults, " if (sampler, n) == tuple(model.recommended_steps()) else ""
    benchmark.group = f"lift 300 frames {device}, {label}{n} steps ({sampler}), skeleton {skeleton}"
    benchmark.extra_info.update(impl=backend, device=device, steps=n, sampler=sampler, skeleton=skeleton,
                                torch_threads=torch.get_num_threads(), numba_threads=numba.get_num_threads())
    res = benchmark.pedantic(lambda: lift(kp, cam, steps=steps, seed=0, backend=backend, device=device, model=model,
                                          skeleton=skeleton, quiet=True),
                             rounds=2, iterations=1, warmup_rounds=1)
    assert res.joints.shape == (300, 22, 3) and res.steps == n and res.sampler == sampler
