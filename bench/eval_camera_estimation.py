"""Evaluate :func:`mocap_fast.estimate_camera` the way ``mocap-fast eval`` evaluates lift.

Cases: the val clips of ../shared/data/mocap30 and ../shared/data/hdm05, each seen by the seeded
random cameras of :func:`mocap_fast.evaluation.make_cases` (2-20 m, 0.5-3 m high, FOV 35-95°),
input exact 2D (``clean``) and 3 px noise at 1920 px (``noise3``). Reported: median and 90th
percentile of the focal error (%), height error (cm), pitch and roll error (deg), how often the
focal length came from the geometry, and (``--lift``) lift's PA-MPJPE / MPJPE / Abs-MPJPE (mm, mean
over cases) with the estimated camera (``auto``), with the true focal length given (``focal known``)
and with the true camera (``true``).

The estimated camera has yaw 0 (nothing in the 2D fixes the heading); it is given the true
camera's yaw before lifting so that world-frame errors compare like with like.

    PYTHONPATH=$PWD python bench/eval_camera_estimation.py --max-frames 90 --lift --steps 10
"""

from __future__ import annotations

import argparse
import math
import sys
import time

import numpy as np
import torch

from mocap_fast.camera_estimation import estimate_camera_details
from mocap_fast.data.clips import load_motion_folder
from mocap_fast.evaluation import corrupt_input, make_cases
from mocap_fast.metrics import evaluate
from mocap_fast.reference.camera import Camera

SETS = ("/work/shared/data/mocap30", "/work/shared/data/hdm05")
NOISE = {"clean": 0.0, "noise3": 3.0}


def true_pose(cam: Camera) -> dict:
    """Focal (px), height (m), pitch, roll and yaw (deg) of a camera of the evaluation."""
    R = cam.R.numpy()
    fwd = R[2]  # optical axis in world coordinates
    tilt, roll, h = (float(v) for v in cam.pose_embedding())
    return {"f": float(cam.K[0, 0]), "h": h, "pitch": math.degrees(tilt), "roll": math.degrees(roll),
            "yaw": math.degrees(math.atan2(-fwd[0], -fwd[2]))}


def with_yaw(est, yaw_deg: float) -> Camera:
    c = est.camera
    return Camera.from_ground(est.focal_px, est.focal_px, float(c.K[0, 2]), float(c.K[1, 2]), c.image_size,
                              height=est.height, pitch_deg=est.pitch_deg, roll_deg=est.roll_deg, yaw_deg=yaw_deg)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--max-frames", type=int, default=90, help="frames per clip (its beginning)")
    ap.add_argument("--seed", type=int, default=0, help="camera placement seed")
    ap.add_argument("--lift", action="store_true", help="also lift with auto / focal-known / true cameras")
    ap.add_argument("--steps", type=int, default=10, help="lift denoising steps")
    ap.add_argument("--max-cases", type=int, default=0, help="cases per set (0 = all)")
    args = ap.parse_args(argv)
    model = None
    if args.lift:
        from mocap_fast.model.io import load_model

        model = load_model(None, "cpu")
    rows = []
    t0 = time.time()
    for path in SETS:
        ds = path.rstrip("/").split("/")[-1]
        clips = {c.name: c.joints for c in load_motion_folder(path, split="val")}
        cases = make_cases(clips, seed=args.seed, max_frames=args.max_frames, dataset=ds)
        if args.max_cases:
            cases = cases[: args.max_cases]
        for cond, noise in NOISE.items():
            rng = np.random.default_rng([args.seed, 16, int(noise)])
            for case in cases:
                kp, conf = corrupt_input(np.asarray(case.keypoints, dtype=np.float64), case.camera, noise, 0.0, rng)
                tp = true_pose(case.camera)
                row = {"set": ds, "cond": cond, "case": case.name, "motion": case.motion}
                try:
                    est = estimate_camera_details(kp, case.camera.image_size, confidence=conf)
                    fk = estimate_camera_details(kp, case.camera.image_size, confidence=conf, focal_px=tp["f"])
                except ValueError as exc:
                    print(f"{case.name}: {exc}", file=sys.stderr)
                    continue
                row.update(f_err=100 * abs(est.focal_px / tp["f"] - 1), h_err=100 * abs(est.height - tp["h"]),
                           p_err=abs(est.pitch_deg - tp["pitch"]), r_err=abs(est.roll_deg - tp["roll"]),
                           geometry=est.focal_source == "geometry", fk_h_err=100 * abs(fk.height - tp["h"]),
                           fk_p_err=abs(fk.pitch_deg - tp["pitch"]))
                if model is not None:
                    for name, cam in (("auto", with_yaw(est, tp["yaw"])), ("focal_known", with_yaw(fk, tp["yaw"])),
                                      ("true", case.camera)):
                        res = lift(kp, cam, confidence=conf, steps=args.steps, seed=args.seed, model=model)
                        m = evaluate(res.joints, case.joints)
                        row.update({f"{name}_{k}": m[k] for k in ("pa_mpjpe", "mpjpe", "abs_mpjpe")})
                rows.append(row)
                print(f"{ds} {cond} {case.name} {time.time() - t0:.0f} s", file=sys.stderr, flush=True)
    print(f"{len(rows)} cases, {time.time() - t0:.0f} s, torch threads {torch.get_num_threads()}")
    print(table(rows, args))
    return 0


def table(rows, args) -> str:
    q = lambda v: f"{np.median(v):.1f} / {np.percentile(v, 90):.1f}"  # noqa: E731
    head = ("| set | input | cases | focal % | height cm | pitch ° | roll ° | focal from geometry | "
            "height cm (focal known) | pitch ° (focal known) |")
    lines = [f"max_frames {args.max_frames}, seed {args.seed}; errors median / 90th percentile", "", head,
             "|" + "---|" * 10]
    lift_lines = []
    for ds in dict.fromkeys(r["set"] for r in rows):
        for cond in NOISE:
            sel = [r for r in rows if r["set"] == ds and r["cond"] == cond]
            if not sel:
                continue
            g = lambda k: [r[k] for r in sel]  # noqa: E731
            lines.append(f"| {ds} | {cond} | {len(sel)} | {q(g('f_err'))} | {q(g('h_err'))} | {q(g('p_err'))} | "
                         f"{q(g('r_err'))} | {100 * np.mean(g('geometry')):.0f} % | {q(g('fk_h_err'))} | {q(g('fk_p_err'))} |")
            if "auto_mpjpe" in sel[0]:
                for cam in ("auto", "focal_known", "true"):
                    lift_lines.append(f"| {ds} | {cond} | {cam} | " + " | ".join(
                        f"{np.mean(g(f'{cam}_{k}')):.0f} (median {np.median(g(f'{cam}_{k}')):.0f})"
                        for k in ("pa_mpjpe", "mpjpe", "abs_mpjpe")) + " |")
    if lift_lines:
        lines += ["", f"lift, steps {args.steps}: mean (median) over cases, mm", "",
                  "| set | input | camera | PA-MPJPE | MPJPE | Abs-MPJPE |", "|---|---|---|---|---|---|"] + lift_lines
    return "\n".join(lines)


if __name__ == "__main__":
    from mocap_fast.lifting import lift

    sys.exit(main())
