"""The grid that chose the weights of :mod:`mocap_fast.skeleton_fit` (``SIGMA_3D``, ``SIGMA_2D_MIN``,
``SIGMA_FOOT``): PA-MPJPE / MPJPE / Abs-MPJPE of the val splits for several weight sets.

Each val clip (first ``--max-frames``) is seen by each seed's camera of ``mocap-fast eval`` (clean
SMPL-22 input, levelled floor) and lifted once at ``lift()``'s defaults; what the skeleton fit
receives (the lifted joints before the fit, the observed 2D, the camera) is kept, and every weight
set refits it (the default Adam loop; the weights travel in each clip's ``FitProblem``) and is scored.

    python bench/skeleton_fit_weights.py [--model FILE] [--seeds 0 1 2] [--max-frames 150]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mocap_fast import lifting, skeleton_fit
from mocap_fast.data.clips import load_motion_folder
from mocap_fast.evaluation import make_cases
from mocap_fast.metrics import evaluate
from mocap_fast.model.io import DEFAULT_MODEL, load_model

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"
NAMES = ("SIGMA_3D", "SIGMA_2D_MIN", "SIGMA_FOOT")
GRID = ((0.03, 2.0, 0.01), (0.05, 2.0, 0.01), (0.03, 1.0, 0.01), (0.03, 0.5, 0.01), (0.1, 0.5, 0.01), (0.1, 0.5, 0.02),
        (0.1, 0.5, 0.05), (0.1, 0.5, 0.1))
"""(SIGMA_3D m, SIGMA_2D_MIN px, SIGMA_FOOT m); the first is the former default."""
METRICS = ("pa_mpjpe", "mpjpe", "abs_mpjpe")


def fit_inputs(model, sets, seeds, max_frames):
    """``{set: [(ground truth, fit arguments)]}`` of the default lift of every case."""
    caught = {}
    real = lifting.fit_clip_skeleton

    def spy(X, kp, conf, K, T, fps, backend="auto"):
        caught["args"] = (X.clone(), kp.clone(), conf.clone(), K.clone(), T.clone(), fps)
        return real(X, kp, conf, K, T, fps, backend=backend)

    out = {}
    lifting.fit_clip_skeleton = spy
    try:
        for ds in sets:
            clips = {c.name: c.joints for c in load_motion_folder(DATA / ds, split="val")}
            out[ds] = []
            for seed in seeds:
                for case in make_cases(clips, seed=seed, max_frames=max_frames, dataset=ds):
                    lifting.lift(case.keypoints, case.camera, seed=seed, model=model, quiet=True)
                    out[ds].append((case.joints, caught["args"]))
    finally:
        lifting.fit_clip_skeleton = real
    return out


def score(inputs, weights) -> dict[str, np.ndarray]:
    """Mean PA-MPJPE, MPJPE, Abs-MPJPE (mm) per set after refitting with ``weights``."""
    saved = [getattr(skeleton_fit, n) for n in NAMES]
    try:
        for n, w in zip(NAMES, weights):  # read when each clip's problem is built
            setattr(skeleton_fit, n, w)
        out = {}
        for ds, rows in inputs.items():
            vals = []
            for gt, (X, kp, conf, K, T, fps) in rows:
                Y = skeleton_fit.fit_clip_skeleton(X, kp, conf, K, T, fps)[0]
                m = evaluate(Y.numpy(), gt)
                vals.append([m[k] for k in METRICS])
            out[ds] = np.mean(vals, axis=0)
        return out
    finally:
        for n, w in zip(NAMES, saved):
            setattr(skeleton_fit, n, w)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", default=str(Path(skeleton_fit.__file__).parent / "assets" / DEFAULT_MODEL))
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--max-frames", type=int, default=150)
    p.add_argument("--sets", nargs="+", default=["mocap30", "cmu_more", "hdm05"])
    args = p.parse_args(argv)
    inputs = fit_inputs(load_model(args.model), args.sets, args.seeds, args.max_frames)
    print("| SIGMA_3D (m), SIGMA_2D_MIN (px), SIGMA_FOOT (m) | " + " | ".join(args.sets) + " |")
    print("|" + "---|" * (len(args.sets) + 1))
    for weights in GRID:
        s = score(inputs, weights)
        print(f"| {weights} | " + " | ".join(" / ".join(f"{v:.1f}" for v in s[ds]) for ds in args.sets) + " |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
