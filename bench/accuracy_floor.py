"""Derive the accuracy floor of ``tests/test_accuracy.py`` for the packaged model (one command).

Lifts the first ``FRAMES`` frames of the embedded demo clip (CMU 131_02, a validation subject)
with the packaged default model at its recommended sampler (``steps=STEPS``, ``None``), for ``SEEDS`` seeds (one batched call: clip
``b`` uses seed ``b``), scores each with :func:`mocap_fast.metrics.evaluate`, and sets every
bound to the worst seed's value times ``1 + MARGIN``, rounded up to 0.1 mm. Prints the per-seed
values, their spread and the bounds; ``--write`` stores them in ``tests/accuracy_floor.json``
(which the test reads, with the packaged model's SHA-256 so a new model cannot meet old bounds
unnoticed). After replacing the packaged model::

    python bench/accuracy_floor.py --write
"""

from __future__ import annotations

import argparse
import hashlib
import json
import math
import time
from importlib import resources
from pathlib import Path

import numpy as np

FRAMES = 96  # two overlapping 64-frame windows: the blend runs too
STEPS = None  # the model file's recommended sampler: what users get
SEEDS = 8
TEST_SEEDS = 3  # the test lifts seeds 0..TEST_SEEDS-1
MARGIN = 0.15
METRICS = ("pa_mpjpe", "mpjpe", "abs_mpjpe")
OUT = Path(__file__).resolve().parents[1] / "tests" / "accuracy_floor.json"


def packaged_model_sha256() -> str:
    with resources.as_file(resources.files("mocap_fast") / "assets" / "default_small.safetensors") as p:
        return hashlib.sha256(Path(p).read_bytes()).hexdigest()


def measure(seeds: int, frames: int = FRAMES, steps: int = STEPS) -> list[dict[str, float]]:
    """Per-seed ``evaluate`` dicts (seeds ``0 .. seeds-1``) of the packaged model on the demo clip."""
    from mocap_fast import lift
    from mocap_fast.cli import load_demo
    from mocap_fast.metrics import evaluate

    joints, cam, _ = load_demo()
    X = joints[:frames]
    kp = np.repeat(cam.project(X)[None], seeds, 0)
    res = lift(kp, cam, steps=steps, seed=0)  # clip b of the batch uses seed b
    return [evaluate(res.joints[b], X) for b in range(seeds)]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--write", action="store_true", help=f"store the bounds in {OUT}")
    args = ap.parse_args()
    t0 = time.time()
    per_seed = measure(SEEDS)
    print(f"packaged model, demo clip first {FRAMES} frames, steps={STEPS}, seeds 0-{SEEDS - 1} ({time.time() - t0:.0f} s)")
    bounds, spread = {}, {}
    for m in METRICS:
        v = np.array([d[m] for d in per_seed])
        bounds[m] = math.ceil(v.max() * (1 + MARGIN) * 10) / 10
        spread[m] = {"min": round(float(v.min()), 2), "mean": round(float(v.mean()), 2), "max": round(float(v.max()), 2)}
        print(f"{m:10} " + " ".join(f"{x:6.1f}" for x in v) + f"   min {v.min():.1f} mean {v.mean():.1f} max {v.max():.1f}"
              f" -> bound {bounds[m]:.1f} mm (max x {1 + MARGIN:g})")
    floor = dict(
        model_sha256=packaged_model_sha256(), frames=FRAMES, steps=STEPS, test_seeds=TEST_SEEDS, margin=MARGIN,
        measured_seeds=SEEDS, measured=spread, bounds_mm=bounds,
        command="python bench/accuracy_floor.py --write",
    )
    print(json.dumps(floor, indent=1))
    if args.write:
        OUT.write_text(json.dumps(floor, indent=1) + "\n")
        print(f"wrote {OUT}")


if __name__ == "__main__":
    main()
