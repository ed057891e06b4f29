"""Evaluation on held-out clips: project each clip into seeded random cameras, lift it, and score
it with every metric of :func:`mocap_fast.metrics.evaluate`, beside the ground cut-out baseline
(DESIGN §8), for clean 2D and for noisy 2D (3 px noise, 10 % of joints missing).

Methods per condition: ``model`` (:func:`~mocap_fast.lift`), ``model_footlock`` (the same output
after :func:`~mocap_fast.footlock.foot_lock`: foot sliding before / after) and ``ground_cutout``."""

from __future__ import annotations

import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import torch

from .baseline import ground_cutout
from .footlock import foot_lock
from .lifting import lift
from .metrics import evaluate
from .model.io import LoadedModel
from .reference.camera import Camera
from .train.sampling import Augment, input_camera, place_motion

EVAL_AUG = Augment(body_scale=(1.0, 1.0), mirror_prob=0.0, roll_std=2.0, tilt_std=4.0, distance=(3.0, 10.0),
                   bone_scale_std=0.0)
CONDITIONS = {"clean": (0.0, 0.0), "noisy": (3.0, 0.10)}
"""Input conditions: (2D noise std in pixels at 1920 px image width, fraction of joints missing)."""


@dataclass
class EvalCase:
    """One clip seen by one camera: ground truth, keypoints and camera."""

    name: str
    joints: np.ndarray
    keypoints: np.ndarray
    camera: Camera


@dataclass
class EvalReport:
    """Mean metrics per method and condition, per-case rows, and run metadata."""

    means: dict = field(default_factory=dict)
    rows: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def table(self) -> str:
        keys = ["pa_mpjpe", "mpjpe", "w_mpjpe", "wa_mpjpe", "abs_mpjpe", "accel", "jitter", "foot_sliding", "t_root", "rte"]
        head = f"{'condition':8} {'method':14} " + " ".join(f"{k:>12}" for k in keys)
        lines = [head, "-" * len(head)]
        for cond, methods in self.means.items():
            for method, vals in methods.items():
                lines.append(f"{cond:8} {method:14} " + " ".join(f"{vals[k]:12.1f}" for k in keys))
        return "\n".join(lines)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"means": self.means, "rows": self.rows, "meta": self.meta}, indent=1))


def make_cases(clips: dict[str, np.ndarray], seed: int = 0, max_frames: int = 300, cameras_per_clip: int = 1) -> list[EvalCase]:
    """Seeded random cameras (the training distribution without body-scale or mirroring) for each clip."""
    rng = np.random.default_rng(seed)
    cases = []
    for name in sorted(clips):
        X0 = np.asarray(clips[name], dtype=np.float64)[:max_frames]
        for k in range(cameras_per_clip):
            while True:
                X, height = place_motion(X0, rng, EVAL_AUG)
                cam = input_camera(X, height, rng, EVAL_AUG)
                if cam is not None:
                    break
            K, T, size = cam
            camera = Camera(K, T, size.tolist())
            cases.append(EvalCase(f"{name}#{k}", X, camera.project(X), camera))
    return cases


def corrupt_input(kp: np.ndarray, cam: Camera, noise_px: float, missing: float, rng: np.random.Generator):
    """Add Gaussian 2D noise (std scaled by image size / 1920) and drop a fraction of joints (NaN, conf 0)."""
    kp = kp + rng.normal(0, noise_px * max(cam.image_size) / 1920, kp.shape)
    conf = (rng.random(kp.shape[:-1]) >= missing).astype(np.float64)
    kp[conf == 0] = np.nan
    return kp, conf


def run_eval(
    model: LoadedModel, cases: list[EvalCase], steps: int | None = None, seed: int = 0,
    conditions: dict = CONDITIONS, backend: str = "auto", progress=None,
) -> EvalReport:
    """Lift every case under every condition; score the model and the ground cut-out baseline."""
    report = EvalReport(meta={"steps": steps, "seed": seed, "cases": len(cases), "model": model.info.get("name", "")})
    t0 = time.time()
    for cond, (noise, missing) in conditions.items():
        rng = np.random.default_rng(seed + 7)
        per = {"model": [], "model_footlock": [], "ground_cutout": []}
        for case in cases:
            kp, conf = corrupt_input(case.keypoints, case.camera, noise, missing, rng)
            res = lift(kp, case.camera, confidence=conf, steps=steps, seed=seed, backend=backend, model=model)
            scores = {
                "model": evaluate(res.joints, case.joints),
                "model_footlock": evaluate(foot_lock(res.joints, res.fps)[0], case.joints),
                "ground_cutout": evaluate(ground_cutout(kp, case.camera, conf), case.joints),
            }
            for k, v in scores.items():
                per[k].append(v)
            report.rows.append({"case": case.name, "condition": cond, **scores})
            if progress is not None:
                progress(cond, case.name)
        report.means[cond] = {k: {key: float(np.nanmean([r[key] for r in v])) for key in v[0]} for k, v in per.items()}
    report.meta["seconds"] = round(time.time() - t0, 1)
    report.meta["torch_threads"] = torch.get_num_threads()
    return report
