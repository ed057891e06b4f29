"""The grid that chose ``mocap_fast.grounding.RAY_WEIGHTS``: Abs-MPJPE and T_root of the val splits
for several (ankle, body) weight pairs of :func:`~mocap_fast.grounding.ray_ground_anchor`.

Each val clip (first ``--max-frames``) is seen by the seed's camera of ``mocap-fast eval``, lifted
once with the ray anchor off (weights (0, 0)); every pair is then applied to that output (the
lifted depth keeps ``1 - sum(weights)``) and scored. Clean SMPL-22 input, 10 DDIM steps.

    python bench/anchor_weights.py [--model FILE] [--seed 0] [--max-frames 150]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np
import torch

from mocap_fast import grounding, lift
from mocap_fast.data.clips import load_motion_folder
from mocap_fast.evaluation import make_cases
from mocap_fast.metrics import abs_mpjpe, t_root
from mocap_fast.model.io import DEFAULT_MODEL, load_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
GRID = ((0.0, 0.0), (0.25, 0.1), (0.3, 0.2), (0.4, 0.2), (0.5, 0.25), (0.2, 0.3), (0.6, 0.0), (0.0, 0.5))


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(Path(grounding.__file__).parent / "assets" / DEFAULT_MODEL))
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--max-frames", type=int, default=150)
    p.add_argument("--sets", nargs="+", default=["mocap30", "cmu_more", "hdm05"])
    args = p.parse_args(argv)
    model = load_model(args.model)
    lifted = {}
    saved = grounding.RAY_WEIGHTS
    grounding.RAY_WEIGHTS = (0.0, 0.0)
    try:
        for ds in args.sets:
            clips = {c.name: c.joints for c in load_motion_folder(DATA / ds, split="val")}
            lifted[ds] = [(case, lift(case.keypoints, case.camera, seed=args.seed, model=model, steps=10, quiet=True).joints)
                          for case in make_cases(clips, seed=args.seed, max_frames=args.max_frames, dataset=ds)]
    finally:
        grounding.RAY_WEIGHTS = saved
    print("| weights (ankle, body) | " + " | ".join(args.sets) + " | mean |")
    print("|" + "---|" * (len(args.sets) + 2))
    for weights in GRID:
        grounding.RAY_WEIGHTS = weights
        cells, means = [], []
        for ds in args.sets:
            scores = []
            for case, X in lifted[ds]:
                kp = torch.as_tensor(case.keypoints)[None]
                Xa, _ = grounding.ray_ground_anchor(torch.as_tensor(X, dtype=torch.float64)[None], kp, torch.ones(kp.shape[:-1]),
                                                    case.camera.K[None], case.camera.T_w2c[None])
                scores.append((abs_mpjpe(Xa[0], case.joints), t_root(Xa[0], case.joints)))
            a, t = np.mean(scores, axis=0)
            cells.append(f"{a:.1f} / {t:.1f}")
            means.append((a, t))
        a, t = np.mean(means, axis=0)
        print(f"| {weights} | " + " | ".join(cells) + f" | {a:.1f} / {t:.1f} |")
    grounding.RAY_WEIGHTS = saved
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
