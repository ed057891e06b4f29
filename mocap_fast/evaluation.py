"""Evaluation on held-out clips as users meet them: every val set apart, seeded realistic cameras,
several input conditions and seeds, locomotion and in-place motion apart, the ground cut-out
baseline (DESIGN §8) beside every row.

A *case* is one clip seen by one seeded random camera: 2-20 m away, 0.5-3 m high, tilt and roll
jitter, horizontal FOV 35-95°, landscape, portrait or square images, the person in frame (the
training camera distribution of :mod:`mocap_fast.train.sampling`, without body changes). The
person moves as the motion capture moves: across the image, towards or away from the camera.

Conditions (:data:`CONDITIONS`): ``clean`` exact SMPL-22 projections; ``noisy`` 3 px Gaussian
noise (at 1920 px) and 10 % of joints missing; ``coco17`` COCO-17 keypoints synthesised from the
joints (:func:`mocap_fast.joints.from_smpl22`); ``calib`` exact 2D lifted with a camera whose focal
length is off by 2 %, height by 4 cm and pitch by 0.7° (signs drawn per case).

Methods: ``model`` (:func:`~mocap_fast.lift` with the given options), ``model_footlock`` (that output
after :func:`~mocap_fast.footlock.foot_lock` with the observed 2D and camera, as ``lift(foot_lock=True)``
does it) and ``ground_cutout``.

Every number is the mean over cases of one seed (camera placement, corruption and the sampler's
seed all follow it), then mean and standard deviation over seeds.
"""

from __future__ import annotations

import json
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
from scipy.spatial.transform import Rotation
import torch

from .baseline import ground_cutout
from .data.floor import level_floor
from .footlock import foot_lock
from .joints import from_smpl22, to_smpl22
from .lifting import lift
from .metrics import evaluate
from .model.io import LoadedModel
from .reference.camera import Camera
from .train.sampling import Augment, input_camera, place_motion

EVAL_AUG = Augment(body_scale=(1.0, 1.0), mirror_prob=0.0, roll_std=2.0, tilt_std=4.0, distance=(2.0, 20.0),
                   cam_height=(0.5, 3.0), bone_scale_std=0.0)
"""Camera distribution of the evaluation: the training one without body scaling, mirroring or
re-proportioning, slightly less tilt and roll jitter."""
LOCOMOTION_SPEED = 0.5
"""m/s: a clip whose pelvis moves faster than this over 1 s windows (mean, horizontal) is locomotion."""
CALIB_ERROR = (0.02, 0.04, 0.7)
"""Calibration error of the ``calib`` condition: focal length fraction, camera height in metres,
pitch in degrees (each with a random sign per case)."""
METRICS = ("pa_mpjpe", "mpjpe", "w_mpjpe", "wa_mpjpe", "abs_mpjpe", "accel", "jitter", "foot_sliding", "t_root", "rte")
UNITS = {"accel": "mm/frame²", "jitter": "m/s³", "foot_sliding": "mm/frame", "rte": "%"}
"""Units of the metrics that are not millimetres."""


@dataclass(frozen=True)
class Condition:
    """An input condition: 2D noise (px at 1920 px width), fraction of joints missing, detector
    layout, and whether the camera given to the lifter is off (:data:`CALIB_ERROR`)."""

    noise_px: float = 0.0
    missing: float = 0.0
    joint_format: str = "smpl22"
    calib_error: bool = False


CONDITIONS = {
    "clean": Condition(),
    "noisy": Condition(noise_px=3.0, missing=0.10),
    "coco17": Condition(joint_format="coco17"),
    "calib": Condition(calib_error=True),
}


@dataclass
class EvalCase:
    """One clip seen by one camera: ground truth ``joints (T, 22, 3)`` world metres, exact
    SMPL-22 ``keypoints (T, 22, 2)`` pixels, the camera, the val set and the kind of motion."""

    name: str
    joints: np.ndarray
    keypoints: np.ndarray
    camera: Camera
    dataset: str = ""
    motion: str = ""


def motion_kind(joints: np.ndarray, fps: float = 30.0) -> str:
    """``"locomotion"`` if the pelvis moves faster than :data:`LOCOMOTION_SPEED` (mean horizontal
    displacement over 1 s windows), else ``"in_place"``. ``joints (T, 22, 3)`` metres, y up."""
    p = np.asarray(joints)[:, 0, [0, 2]]
    lag = max(1, min(int(round(fps)), p.shape[0] - 1))
    if p.shape[0] < 2:
        return "in_place"
    speed = np.linalg.norm(p[lag:] - p[:-lag], axis=-1).mean() * fps / lag
    return "locomotion" if speed > LOCOMOTION_SPEED else "in_place"


def make_cases(clips: dict[str, np.ndarray], seed: int = 0, max_frames: int = 300, cameras_per_clip: int = 1,
               dataset: str = "", level: bool = True) -> list[EvalCase]:
    """Seeded random cameras (:data:`EVAL_AUG`) for each clip (its first ``max_frames`` frames).

    With ``level`` (default) each clip is first turned so the plane of its foot contacts is level
    (:func:`mocap_fast.data.floor.level_floor`): the cameras are then calibrated to the floor the
    person walks on, as a user's are; without it, a capture floor tilted against the data's y = 0
    (CMU subject 07: about 10 cm over a 4-5 m walk) acts as a calibration error."""
    rng = np.random.default_rng(seed)
    cases = []
    for name in sorted(clips):
        X0 = np.asarray(clips[name], dtype=np.float64)[:max_frames]
        if level:
            X0, _ = level_floor(X0)
        kind = motion_kind(X0)
        for k in range(cameras_per_clip):
            while True:
                X, height = place_motion(X0, rng, EVAL_AUG)
                cam = input_camera(X, height, rng, EVAL_AUG)
                if cam is not None:
                    break
            K, T, size = cam
            camera = Camera(K, T, size.tolist())
            cases.append(EvalCase(f"{name}#{k}", X, camera.project(X), camera, dataset, kind))
    return cases


def corrupt_input(kp: np.ndarray, cam: Camera, noise_px: float, missing: float, rng: np.random.Generator):
    """Add Gaussian 2D noise (std scaled by image size / 1920) and drop a fraction of joints (NaN, conf 0)."""
    kp = kp + rng.normal(0, noise_px * max(cam.image_size) / 1920, kp.shape)
    conf = (rng.random(kp.shape[:-1]) >= missing).astype(np.float64)
    kp[conf == 0] = np.nan
    return kp, conf


def miscalibrated(cam: Camera, rng: np.random.Generator, error: tuple[float, float, float] = CALIB_ERROR) -> Camera:
    """``cam`` with its focal length scaled by ``1 ± error[0]``, its centre raised or lowered by
    ``error[1]`` metres and pitched by ``± error[2]`` degrees about its own x axis."""
    sign = rng.choice([-1.0, 1.0], size=3)
    K = cam.K.clone()
    K[0, 0] *= 1 + sign[0] * error[0]
    K[1, 1] *= 1 + sign[0] * error[0]
    R, t = cam.T_w2c[:3, :3], cam.T_w2c[:3, 3]
    centre = -R.T @ t + torch.tensor([0.0, sign[1] * error[1], 0.0], dtype=R.dtype)
    R2 = _rotate_about_camera_x(R, math.radians(sign[2] * error[2]))
    T = torch.eye(4, dtype=R.dtype)
    T[:3, :3], T[:3, 3] = R2, -R2 @ centre
    return Camera(K, T, list(cam.image_size))


def _rotate_about_camera_x(R: torch.Tensor, angle: float) -> torch.Tensor:
    """World-to-camera rotation ``R`` turned by ``angle`` radians about the camera's own x axis."""
    return torch.from_numpy(Rotation.from_euler("x", angle).as_matrix()).to(R) @ R


def condition_input(case: EvalCase, cond: Condition, rng: np.random.Generator):
    """What the lifter and the cut-out receive for ``case`` under ``cond``.

    Returns ``(kp, conf, joint_format, camera, kp22, conf22)``: the input keypoints in the
    condition's layout, their confidence, the layout, the camera given to the methods, and the
    SMPL-22 keypoints / confidence the cut-out takes."""
    camera = case.camera
    if cond.joint_format == "smpl22":
        kp = case.keypoints
    else:
        src = from_smpl22(case.joints, cond.joint_format)
        kp = camera.project(src.reshape(-1, 3)).reshape(src.shape[0], -1, 2)
    kp, conf = corrupt_input(np.asarray(kp, dtype=np.float64), camera, cond.noise_px, cond.missing, rng)
    kp22, conf22 = to_smpl22(np.nan_to_num(kp), conf, cond.joint_format) if cond.joint_format != "smpl22" else (kp, conf)
    if cond.calib_error:
        camera = miscalibrated(camera, rng)
    return kp, conf, cond.joint_format, camera, np.asarray(kp22), np.asarray(conf22)


@dataclass
class EvalReport:
    """Per-case rows (every set, condition, seed, case and method) and run metadata;
    :meth:`summary` and :meth:`table` aggregate them."""

    rows: list = field(default_factory=list)
    meta: dict = field(default_factory=dict)

    def summary(self) -> dict:
        """``{dataset: {condition: {motion: {method: {metric: [mean, std over seeds]}}}}}``;
        motion ``"all"``, ``"locomotion"``, ``"in_place"``; also ``"cases"`` per motion."""
        out: dict = {}
        keys = sorted({(r["dataset"], r["condition"]) for r in self.rows}, key=lambda k: (k[0], list(CONDITIONS).index(k[1]) if k[1] in CONDITIONS else 99))
        for ds, cond in keys:
            rows = [r for r in self.rows if r["dataset"] == ds and r["condition"] == cond]
            per_motion = {}
            for motion in ("all", "locomotion", "in_place"):
                sel = [r for r in rows if motion == "all" or r["motion"] == motion]
                if not sel:
                    continue
                seeds = sorted({r["seed"] for r in sel})
                methods = {}
                for method in sel[0]["scores"]:
                    stats = {}
                    for key in METRICS:
                        per_seed = [np.nanmean([r["scores"][method][key] for r in sel if r["seed"] == s]) for s in seeds]
                        stats[key] = [float(np.mean(per_seed)), float(np.std(per_seed))]
                    methods[method] = stats
                methods["cases"] = len(sel) // len(seeds)
                per_motion[motion] = methods
            out.setdefault(ds, {})[cond] = per_motion
        return out

    def table(self, motions: tuple[str, ...] = ("all", "locomotion", "in_place")) -> str:
        """Markdown table: mean ± std over seeds, one row per set, condition, motion and method."""
        unit = lambda k: UNITS.get(k, "mm")  # noqa: E731
        head = "| set | input | motion (cases) | method | " + " | ".join(f"{k} ({unit(k)})" for k in METRICS) + " |"
        lines = [head, "|" + "---|" * (4 + len(METRICS))]
        for ds, conds in self.summary().items():
            for cond, motions_ in conds.items():
                for motion, methods in motions_.items():
                    if motion not in motions:
                        continue
                    for method, stats in methods.items():
                        if method == "cases":
                            continue
                        cells = " | ".join(f"{m:.1f} ± {s:.1f}" for m, s in (stats[k] for k in METRICS))
                        lines.append(f"| {ds} | {cond} | {motion} ({methods['cases']}) | {method} | {cells} |")
        return "\n".join(lines)

    def to_json(self, path: str | Path) -> None:
        Path(path).write_text(json.dumps({"summary": self.summary(), "rows": self.rows, "meta": self.meta}, indent=1))


def run_eval(
    model: LoadedModel,
    sets: dict[str, dict[str, np.ndarray]],
    seeds: tuple[int, ...] = (0, 1, 2),
    conditions: dict[str, Condition] | None = None,
    max_frames: int = 300,
    cameras_per_clip: int = 1,
    lift_options: dict | None = None,
    progress: Callable[[str], None] | None = None,
    level: bool = True,
) -> EvalReport:
    """Lift every case of every set under every condition and seed; score model and cut-out.

    Args:
        model: the model to evaluate.
        sets: ``{set name: {clip name: (T, 22, 3) joints}}``, each set reported apart.
        seeds: one full evaluation per seed (cameras, corruption and sampler follow it).
        conditions: subset of :data:`CONDITIONS` (default all).
        max_frames: frames per clip (its beginning).
        cameras_per_clip: cameras drawn per clip and seed.
        lift_options: extra :func:`~mocap_fast.lift` arguments (``steps``, ``smooth``, ``anchor``, ...).
        progress: called with a short description after each case.
        level: level each clip's floor first (:func:`make_cases`).
    """
    conditions = CONDITIONS if conditions is None else conditions
    opts = dict(lift_options or {})
    report = EvalReport(meta={"seeds": list(seeds), "conditions": list(conditions), "max_frames": max_frames,
                              "lift_options": opts, "model": model.info.get("name", ""), "level_floor": level,
                              "sets": {k: len(v) for k, v in sets.items()}})
    t0 = time.time()
    for seed in seeds:
        for ds, clips in sets.items():
            cases = make_cases(clips, seed=seed, max_frames=max_frames, cameras_per_clip=cameras_per_clip, dataset=ds,
                               level=level)
            for cond_name, cond in conditions.items():
                rng = np.random.default_rng([seed, 7, list(CONDITIONS).index(cond_name) if cond_name in CONDITIONS else 99])
                for case in cases:
                    kp, conf, fmt, camera, kp22, conf22 = condition_input(case, cond, rng)
                    res = lift(kp, camera, joint_format=fmt, confidence=conf, seed=seed, model=model, **opts)
                    scores = {
                        "model": evaluate(res.joints, case.joints),
                        "model_footlock": evaluate(foot_lock(res.joints, res.fps, keypoints=kp22, camera=camera,
                                                             confidence=conf22)[0], case.joints),
                        "ground_cutout": evaluate(ground_cutout(kp22, camera, conf22), case.joints),
                    }
                    report.rows.append({"dataset": ds, "condition": cond_name, "seed": seed, "case": case.name,
                                        "motion": case.motion, "scores": scores})
                    if progress is not None:
                        progress(f"seed {seed} {ds} {cond_name} {case.name}")
    report.meta["seconds"] = round(time.time() - t0, 1)
    report.meta["torch_threads"] = torch.get_num_threads()
    return report
