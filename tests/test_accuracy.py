"""Accuracy floor of the packaged model on the embedded demo clip (CMU 131_02, a validation subject).

A broken model, sampler, consistency step or anchor cannot land green: the first
``frames`` frames are lifted with ``steps`` (null: the model's recommended sampler) for seeds ``0 .. test_seeds-1`` (one batched
call) and every seed must score within the bounds of ``accuracy_floor.json``: the worst of 8 seeds
measured by ``bench/accuracy_floor.py`` times 1 + margin (15 %). That file also records the packaged
model's SHA-256: after replacing the model, ``python bench/accuracy_floor.py --write`` derives and
stores the new bounds (one command). Independently of the file, the model must beat the ground
cut-out baseline (DESIGN §8) on PA-MPJPE and MPJPE for every seed.
"""

import json
from pathlib import Path

import numpy as np
import pytest

from mocap_fast import lift
from mocap_fast.baseline import ground_cutout
from mocap_fast.cli import load_demo
from mocap_fast.metrics import evaluate

FLOOR = json.loads((Path(__file__).parent / "accuracy_floor.json").read_text())


@pytest.fixture(scope="module")
def scores():
    import sys

    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
    from accuracy_floor import packaged_model_sha256

    assert packaged_model_sha256() == FLOOR["model_sha256"], (
        "the packaged model changed: derive its bounds with `python bench/accuracy_floor.py --write`")
    joints, cam, _ = load_demo()
    X = joints[:FLOOR["frames"]]
    kp = cam.project(X)
    res = lift(np.repeat(kp[None], FLOOR["test_seeds"], 0), cam, steps=FLOOR["steps"], seed=0)
    return [evaluate(j, X) for j in res.joints], evaluate(ground_cutout(kp, cam), X)


@pytest.mark.parametrize("metric", sorted(FLOOR["bounds_mm"]))
def test_packaged_model_meets_its_floor_on_the_demo_clip(scores, metric):
    per_seed, _ = scores
    bound = FLOOR["bounds_mm"][metric]
    got = [round(s[metric], 1) for s in per_seed]
    assert all(np.isfinite(got)) and max(got) <= bound, f"{metric} per seed {got} mm > bound {bound} mm"


def test_packaged_model_beats_the_ground_cutout(scores):
    per_seed, base = scores
    for m in ("pa_mpjpe", "mpjpe"):
        assert max(s[m] for s in per_seed) < base[m], (m, [s[m] for s in per_seed], base[m])
