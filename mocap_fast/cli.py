"""The ``mocap-fast`` command line: ``demo``, ``lift``, ``eval``, ``train``.

Every command prints a one-line reason and exits non-zero on bad input.
"""

from __future__ import annotations

import argparse
import io
import json
import logging
import os
import sys
from importlib import resources
from pathlib import Path

import numpy as np

DEMO_CLIP = "demo_clip.npz"
DEMO_EXPORTS = "npz,bvh,gltf,html,png"


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def load_demo():
    """The embedded demo: a CMU validation clip (subject 131, never trained on) and its camera.

    Returns ``(joints (T, 22, 3) metres, Camera, name)``.
    """
    from .reference.camera import Camera

    with resources.as_file(resources.files("mocap_fast") / "assets" / DEMO_CLIP) as p:
        d = np.load(p)
        joints = d["joints"].astype(np.float64)
        cam = Camera(d["K"], d["T_w2c"], d["image_size"].tolist())
        name = str(d["name"])
    return joints, cam, name


def cmd_demo(args) -> int:
    from .baseline import ground_cutout
    from .lifting import lift
    from .metrics import evaluate

    joints, cam, name = load_demo()
    keypoints = cam.project(joints)
    say = (lambda *a: None) if args.quiet else print
    say(f"demo: lifting {joints.shape[0]} frames of {name} seen by {cam}")
    res = lift(keypoints, cam, steps=args.steps, seed=args.seed, skeleton=args.skeleton, quiet=args.quiet)
    ours = evaluate(res.joints, joints)
    base = evaluate(ground_cutout(keypoints, cam), joints)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    say(f"{'metric':14} {'model':>10} {'ground cut-out':>15}")
    for k in ours:
        say(f"{k:14} {ours[k]:10.1f} {base[k]:15.1f}")
    _write_json(out / "metrics.json", {"clip": name, "model": ours, "ground_cutout": base,
                                       "units": "mm (accel mm/frame^2, rte %, see mocap_fast.metrics)"})
    _write_json(out / "cameras.json", {"cameras": [c.to_dict() for c in res.cameras]})
    from .io.export import export_result, metadata

    meta = metadata(model="packaged default", input=name, sampler=res.sampler, steps=res.steps, seed=args.seed,
                    skeleton=args.skeleton)
    written = export_result(res, out, DEMO_EXPORTS, meta, keypoints=keypoints,
                            npz_extra={"keypoints": keypoints, "ground_truth": joints})
    say(f"wrote {out}/metrics.json, cameras.json, " + ", ".join(p.name for p in written.values()))
    return 0


def _read_camera(path: str):
    from .io.camera_file import read_camera

    return read_camera(path)


def _auto_camera(args, data, fps: float, say):
    """``--camera auto``: :func:`mocap_fast.camera_estimation.estimate_camera_details` from the keypoints."""
    import math

    from .camera_estimation import estimate_camera_details

    if args.image_size is None:
        raise ValueError("image-size: --camera auto needs the image size, e.g. --image-size 1920 1080")
    W, H = args.image_size
    focal = None
    if args.fov is not None:
        if not 1.0 <= args.fov <= 179.0:
            raise ValueError(f"fov: expected a field of view in degrees (1-179), got {args.fov}")
        focal = (max(W, H) / 2) / math.tan(math.radians(args.fov) / 2)
    est = estimate_camera_details(data.keypoints, (W, H), joint_format=data.joint_format, confidence=data.confidence,
                                  fps=fps, focal_px=focal, person_height=args.person_height)
    say(f"camera auto: focal {est.focal_px:.0f} px ({est.focal_source}), height {est.height:.2f} m ({est.height_source}), "
        f"pitch {est.pitch_deg:.1f} deg, roll {est.roll_deg:.1f} deg from {est.frames_used} upright frames")
    return est.camera


def _parse_person(value: str | None):
    if value is None:
        return None
    v = value.strip()
    return int(v) if v.lstrip("-").isdigit() else v


def _check_device(name: str | None):
    """``torch.device(name)`` (None stays None); ``ValueError`` for an unknown or unavailable device."""
    if name is None:
        return None
    import torch

    try:
        dev = torch.device(name)
    except (RuntimeError, TypeError) as exc:
        raise ValueError(f"device: {name!r} is not a torch device ({exc})") from None
    if dev.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"device: {name!r} requested but CUDA is not available")
    if dev.type == "cuda" and dev.index is not None and dev.index >= torch.cuda.device_count():
        raise ValueError(f"device: {name!r} does not exist ({torch.cuda.device_count()} CUDA device(s))")
    if dev.type == "mps" and not (hasattr(torch.backends, "mps") and torch.backends.mps.is_available()):
        raise ValueError(f"device: {name!r} requested but MPS is not available")
    return dev


def cmd_lift(args) -> int:
    from .io.export import export_result, metadata, parse_formats
    from .io.keypoints import load_keypoints
    from .lifting import lift

    formats = parse_formats(args.export)
    if not formats:
        raise ValueError("export: no format given")
    if args.fps is not None and not (args.fps > 0):
        raise ValueError(f"fps: must be > 0, got {args.fps}")
    if args.steps is not None and args.steps < 1:
        raise ValueError(f"steps: must be a positive integer, got {args.steps}")
    device = _check_device(args.device)
    data = load_keypoints(args.input, joint_format=args.format, person=_parse_person(args.person))
    if args.normalized:
        size = args.image_size if args.camera == "auto" else _read_camera(args.camera).image_size
        if size is None:
            raise ValueError("--normalized: with --camera auto, --image-size W H is needed to scale the keypoints")
        data.keypoints = data.keypoints * np.asarray(size, dtype=np.float64)
    fps = args.fps if args.fps is not None else (data.fps or 30.0)
    say = (lambda *a: None) if args.quiet else print
    cam = _auto_camera(args, data, fps, say) if args.camera == "auto" else _read_camera(args.camera)
    T, J = data.keypoints.shape[:2]
    extra = f", person {data.info['person']} of {data.info['tracks']}" if data.info.get("tracks", 1) > 1 else ""
    say(f"lift: {T} frames of {J} {data.joint_format} keypoints ({data.source}{extra}) at {fps:g} fps, {cam}")
    if args.smpl is not None:
        from .smpl import check_model

        try:
            check_model(args.smpl, args.gender)  # fail before lifting
        except ValueError as exc:
            msg = str(exc).removeprefix("model_path: ").removeprefix("smpl: ")
            raise ValueError(f"--smpl {args.smpl}: {msg}") from None
    if args.video is not None and not Path(args.video).is_file():
        raise ValueError(f"--video: no such file {args.video!r}")
    if args.video is not None and "overlay" not in formats:
        raise ValueError("--video: only used by --export overlay; add overlay to --export")
    res = lift(data.keypoints, cam, joint_format=data.joint_format, confidence=data.confidence, fps=fps,
               steps=args.steps, seed=args.seed, device=device, model=args.model, foot_lock=args.foot_lock,
               smooth=args.smooth, skeleton=args.skeleton, samples=args.samples, quiet=args.quiet)
    if res.warnings and not args.force:
        raise ValueError(f"{res.warnings[0]} Nothing written; check the inputs, or pass --force to write it anyway")
    meta = metadata(model=args.model or "packaged default (mocap_fast/assets/default_small.safetensors)",
                    input=str(args.input), input_source=data.source, input_format=data.joint_format,
                    person=data.info.get("person"), sampler=res.sampler, steps=res.steps, seed=args.seed, fps=float(fps),
                    foot_lock=bool(args.foot_lock), smooth=float(args.smooth), skeleton=args.skeleton,
                    samples=res.samples)
    out = Path(args.out)
    written = export_result(res, out, formats, meta, keypoints=data.keypoints, joint_format=data.joint_format,
                            keypoint_confidence=data.confidence, video=args.video)
    _write_json(out / "cameras.json", {"cameras": [c.to_dict() for c in res.cameras]})
    paths = [str(p) for p in written.values()] + [str(out / "cameras.json")]
    if args.smpl is not None:
        paths.append(str(_write_smpl(out / "smpl.npz", res, args.smpl, args.gender, fps, say)))
    say(f"wrote {', '.join(paths)}")
    return 0


def _write_smpl(path: Path, res, model_dir: str, gender: str, fps: float, say) -> Path:
    """Fit SMPL to the lifted joints (:func:`mocap_fast.smpl.fit`) and write its parameters to ``path``."""
    from .io._atomic import write_npz
    from .smpl import fit

    say(f"smpl: fitting {gender} SMPL from {model_dir} to {res.joints.shape[0]} frames")
    f = fit(res.joints, model_dir, gender=gender, fps=fps, confidence=res.confidence)
    say(f"smpl: mean joint distance after the fit {f.error_mm:.1f} mm")
    return write_npz(path, global_orient=f.global_orient, body_pose=f.body_pose, betas=f.betas, transl=f.transl,
                     joints=f.joints, faces=f.faces, error_mm=np.float64(f.error_mm), gender=np.str_(gender),
                     fps=np.float64(fps))


def _val_clips(data: str, split: str):
    from .data.clips import load_motion_folder

    clips = load_motion_folder(data, split=split)
    if not clips:
        raise ValueError(f"data: no clips with split {split!r} in {data}")
    return {c.name: c.joints for c in clips}


def cmd_eval(args) -> int:
    from .evaluation import CONDITIONS, run_eval
    from .model.io import load_model

    model = load_model(args.model, args.device)
    if args.cameras_per_clip < 1:
        raise ValueError(f"cameras-per-clip: must be >= 1, got {args.cameras_per_clip}")
    unknown = [c for c in args.conditions if c not in CONDITIONS]
    if unknown:
        raise ValueError(f"conditions: unknown {unknown}; expected some of {sorted(CONDITIONS)}")
    sets = {Path(d).resolve().name: _val_clips(d, args.split) for d in args.data}
    from .progress import progress_bar

    options = {"steps": args.steps, "smooth": args.smooth, "anchor": not args.no_anchor, "skeleton": args.skeleton,
               "samples": args.samples, "quiet": True}
    with progress_bar(None, "eval (cases)", args.quiet, "case") as bar:
        report = run_eval(model, sets, seeds=tuple(args.seeds), conditions={c: CONDITIONS[c] for c in args.conditions},
                          max_frames=args.max_frames, cameras_per_clip=args.cameras_per_clip, lift_options=options,
                          level=not args.raw_floor, progress=lambda desc: (bar.set_postfix_str(desc, refresh=False), bar.update(1)))
    report.meta["command"] = "mocap-fast eval " + " ".join(sys.argv[2:]) if len(sys.argv) > 1 else ""
    print(report.table(("all",) if args.brief else ("all", "locomotion", "in_place")))
    if args.out:
        report.to_json(args.out)
        print(f"wrote {args.out}")
    return 0


def cmd_train(args) -> int:
    from .data.clips import load_motion_folder
    from .model.config import get_config
    from .model.io import save_model
    from .train.trainer import Trainer, TrainOptions

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(message)s")
    distributed = int(os.environ.get("WORLD_SIZE", "1")) > 1  # launched by torchrun
    if distributed:
        import torch
        import torch.distributed as dist

        dist.init_process_group("nccl" if torch.cuda.is_available() else "gloo")
        if torch.cuda.is_available():
            torch.cuda.set_device(int(os.environ.get("LOCAL_RANK", "0")))
    cfg = get_config(args.config)
    train = [c.joints for d in args.data for c in load_motion_folder(d, split="train")]
    val = [c.joints for d in args.data for c in load_motion_folder(d, split="val")] or None
    if not train:
        raise ValueError(f"data: no training clips in {args.data}")
    opts = TrainOptions(stage=args.stage, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    trainer = Trainer(cfg, train, args.out, opts, init=args.init, val_clips=val)
    model = trainer.run(max_seconds=None if args.max_minutes is None else 60 * args.max_minutes, progress=not args.quiet)
    if trainer.rank == 0:
        save_model(model, Path(args.out) / "model.safetensors")
        print(f"step {trainer.step}: val x0-loss {trainer.val_loss():.4f}; wrote {args.out}/model.safetensors")
    if distributed:
        torch.distributed.destroy_process_group()
    return 0


def cmd_bench(args) -> int:
    """Median wall time of lift() on the embedded clip (reference vs fast) and of triangulate()."""
    import time

    import torch

    from .lifting import default_model, lift
    from .reference.camera import Camera
    from .triangulation import triangulate

    def median_time(fn, rounds: int) -> float:
        fn()  # warm-up (numba compilation, caches)
        times = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    device = _check_device(args.device) or "cpu"
    joints, cam, name = load_demo()
    kp = cam.project(joints)
    model = default_model(torch.device(device))
    print(f"device {device}, torch threads {torch.get_num_threads()}; lift() of {len(kp)} frames ({name}), "
          f"median of {args.rounds} rounds")
    print(f"{'what':34} {'reference':>10} {'fast':>10} {'speed-up':>9}")
    for steps in args.steps:
        t = {b: median_time(lambda b=b: lift(kp, cam, steps=steps, backend=b, device=device, model=model), args.rounds)
             for b in ("reference", "fast")}
        print(f"{f'lift, {steps} steps':34} {t['reference']:9.3f}s {t['fast']:9.3f}s {t['reference'] / t['fast']:8.1f}x")
    gen = np.random.default_rng(0)
    for n in args.points:
        X = gen.normal(0, 1, (n, 3)) + [0, 1, 0]
        cams = [Camera.from_ground(1000, 1000, 960, 540, (1920, 1080), height=1.5, yaw_deg=a,
                                          position_xz=(5 * np.sin(np.radians(a)), 5 * np.cos(np.radians(a))))
                for a in (0, 90, 180, 270)]
        uv = np.stack([c.project(X) for c in cams], 1)
        P = np.stack([c.P.numpy() for c in cams])
        t = {b: median_time(lambda b=b: triangulate(uv, P, backend=b), args.rounds) for b in ("reference", "fast")}
        print(f"{f'triangulate, {n:.0e} points x 4 views':34} {t['reference']:9.3f}s {t['fast']:9.3f}s "
              f"{t['reference'] / t['fast']:8.1f}x")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mocap-fast", description="Metric 3D motion from 2D keypoints of one calibrated camera.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="lift the embedded demo clip with the default model")
    d.add_argument("--out", default="mocap_fast_demo", help="output folder (default ./mocap_fast_demo)")
    d.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's recommended sampler)")
    d.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    d.add_argument("--skeleton", default="clip", choices=["clip", "free"],
                   help="clip (default): one skeleton per clip (constant bone lengths); free: per-frame joints")
    d.add_argument("--quiet", action="store_true", help="print nothing; no progress bar")
    d.set_defaults(func=cmd_demo)

    lf = sub.add_parser(
        "lift", help="lift 2D keypoints of one calibrated camera to 3D world motion",
        description="Lift 2D keypoints (OpenPose JSON folder, COCO / MMPose JSON, .npz, .npy) seen by one calibrated "
                    "camera to metric 3D SMPL-22 world motion, and export it. See README 'Input formats' and 'Exports'.",
    )
    lf.add_argument("input", help="OpenPose JSON folder, COCO results / MMPose JSON, .npz or .npy")
    lf.add_argument("--camera", required=True,
                    help="'auto' (estimate it from the person: needs --image-size; see --fov, --person-height) or a "
                         "camera file: JSON (K, T_w2c, image_size; or K, image_size, height, pitch_deg, roll_deg) "
                         "or OpenCV YAML (camera_matrix, image_width/height, R|rvec and T|tvec)")
    lf.add_argument("--image-size", type=int, nargs=2, default=None, metavar=("W", "H"),
                    help="image width and height in pixels (needed with --camera auto)")
    lf.add_argument("--fov", type=float, default=None, metavar="DEG",
                    help="with --camera auto: known horizontal field of view of the long image side, degrees "
                         "(default: estimated from the motion, else about 60)")
    lf.add_argument("--person-height", type=float, default=None, metavar="M",
                    help="with --camera auto: the person's stature in metres, sets the scale (default 1.70)")
    lf.add_argument("--format", default="auto", choices=["auto", "smpl22", "coco17", "h36m17"],
                    help="keypoint layout (default auto: 22 joints = smpl22; 17 = coco17 or h36m17 told apart by "
                         "geometry, an error when it cannot be told; OpenPose 25/18 -> coco17)")
    lf.add_argument("--normalized", action="store_true",
                    help="keypoints are normalised to [0, 1] of the image (MediaPipe): scale them by the camera's image size")
    lf.add_argument("--force", action="store_true",
                    help="write the output even when it looks implausible (body height, feet off or under the ground)")
    lf.add_argument("--person", default=None, metavar="ID",
                    help="track id to lift when frames hold several people (default: the most confident track)")
    lf.add_argument("--out", default="mocap_fast_out", help="output folder (default ./mocap_fast_out)")
    lf.add_argument("--export", default="npz", metavar="LIST",
                    help="comma list of bvh, gltf (glb), c3d, json, npz, html (3D viewer), png (2D of every view), gif "
                         "(3D animation), overlay (input 2D and reprojected lift per frame: overlay.mp4, or .gif "
                         "without imageio-ffmpeg), or all (default npz); cameras.json is always written")
    lf.add_argument("--video", default=None, metavar="FILE",
                    help="the input video: --export overlay draws over its frames instead of blank ones (needs "
                         "imageio: pip install 'mocap_fast[video]')")
    lf.add_argument("--skeleton", default="clip", choices=["clip", "free"],
                    help="clip (default): one skeleton per clip, constant left/right-symmetric bone lengths, so "
                         "BVH / GLB / C3D reproduce the joints; free: every frame's joints as lifted")
    lf.add_argument("--fps", type=float, default=None, help="input frame rate (default: from the file, else 30)")
    lf.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's recommended sampler)")
    lf.add_argument("--seed", type=int, default=0, help="random seed (default 0)")
    lf.add_argument("--samples", type=int, default=None,
                    help="draws per window, averaged (default: the model's recommendation; N costs N times the "
                         "network time)")
    lf.add_argument("--device", default=None, help="torch device for the network, e.g. cpu, cuda (default cpu)")
    lf.add_argument("--model", default=None, help="model file (default: the packaged model)")
    lf.add_argument("--smooth", type=float, default=1.0, metavar="FRAMES",
                    help="Gaussian temporal filter of the output, sigma in frames at 30 fps (default 1; 0 = off)")
    lf.add_argument("--foot-lock", action="store_true",
                    help="remove foot sliding during detected foot contacts (mocap_fast.footlock)")
    lf.add_argument("--smpl", default=None, metavar="MODEL_DIR",
                    help="also fit SMPL (pose, shape, translation) to the result and write smpl.npz; MODEL_DIR "
                         "holds SMPL_NEUTRAL.pkl etc. (licensed, from https://smpl.is.tue.mpg.de; needs smplx)")
    lf.add_argument("--gender", default="neutral", choices=["neutral", "male", "female"], help="SMPL model for --smpl")
    lf.add_argument("--quiet", action="store_true", help="print nothing on success; no progress bar")
    lf.set_defaults(func=cmd_lift)

    e = sub.add_parser("eval", help="evaluate a model on held-out clips beside the ground cut-out baseline")
    e.add_argument("--model", default=None, help="model file (default: the packaged model)")
    e.add_argument("--data", required=True, nargs="+", metavar="DIR",
                   help="one or more clip folders (index.json + clips/*.npy), each reported apart")
    e.add_argument("--split", default="val", help="split of every folder to evaluate (default val)")
    e.add_argument("--steps", type=int, default=None, help="denoising steps (default: the model's recommended sampler)")
    e.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2],
                   help="one evaluation per seed: cameras, input corruption and sampler (default 0 1 2)")
    e.add_argument("--conditions", nargs="+", default=["clean", "noisy", "coco17", "calib"],
                   help="input conditions: clean, noisy (3 px, 10%% missing), coco17, calib (2%% focal, 4 cm, 0.7 deg off)")
    e.add_argument("--max-frames", type=int, default=300, help="frames of each clip (its beginning; default 300)")
    e.add_argument("--cameras-per-clip", type=int, default=1, help="seeded random cameras per clip and seed (default 1)")
    e.add_argument("--smooth", type=float, default=1.0, help="lift(smooth=...): temporal filter sigma in frames (default 1)")
    e.add_argument("--no-anchor", action="store_true", help="lift(anchor=False): no ground anchoring")
    e.add_argument("--skeleton", default="clip", choices=["clip", "free"],
                   help="lift(skeleton=...): clip (default) one skeleton per clip, free per-frame joints")
    e.add_argument("--samples", type=int, default=None,
                   help="lift(samples=...): draws per window, averaged (default: the model's recommendation)")
    e.add_argument("--raw-floor", action="store_true",
                   help="keep each clip's floor as captured (default: turn each clip so its foot contacts are level, "
                        "mocap_fast.data.floor; a tilted capture floor otherwise acts as a calibration error)")
    e.add_argument("--brief", action="store_true", help="print only all-motion rows (the JSON has everything)")
    e.add_argument("--device", default=None, help="torch device for the network (default cpu)")
    e.add_argument("--out", default=None, help="JSON report path (summary and per-case rows)")
    e.add_argument("--quiet", action="store_true", help="no progress bar")
    e.set_defaults(func=cmd_eval)

    b = sub.add_parser("bench", help="time lift() (reference vs fast) and triangulate() on this machine")
    b.add_argument("--steps", type=int, nargs="+", default=[10, 100], help="step counts to time (default 10 100)")
    b.add_argument("--points", type=int, nargs="+", default=[10_000, 100_000],
                   help="triangulation sizes, points seen by 4 views (default 10000 100000)")
    b.add_argument("--rounds", type=int, default=3, help="timed rounds per case, after one warm-up; the median is shown (default 3)")
    b.add_argument("--device", default=None, help="torch device for the network, e.g. cpu, cuda (default cpu)")
    b.set_defaults(func=cmd_bench)

    t = sub.add_parser("train", help="train stage 1 (2D) or stage 2 (multi-view); resumes from --out")
    t.add_argument("--stage", type=int, choices=[1, 2], required=True,
                   help="1: 2D motion prior (single view); 2: multi-view model (start it from a stage-1 model with --init)")
    t.add_argument("--config", default="small", choices=["small", "paper", "tiny"],
                   help="network size: small (default, the packaged model), paper (the authors' size), tiny (tests)")
    t.add_argument("--data", required=True, nargs="+", metavar="DIR",
                   help="one or more clip folders (index.json with train/val splits, e.g. ../shared/data/mocap30 "
                        "../shared/data/cmu_more ../shared/data/hdm05); clips are drawn in proportion to their length")
    t.add_argument("--out", required=True,
                   help="run folder: checkpoints, log and the final model.safetensors; an existing run there is resumed")
    t.add_argument("--init", default=None, help="stage-1 model to start stage 2 from")
    t.add_argument("--steps", type=int, default=1000, help="optimizer steps in total (default 1000)")
    t.add_argument("--batch-size", type=int, default=16, help="clips per optimizer step and process (default 16)")
    t.add_argument("--lr", type=float, default=3e-4, help="peak learning rate of AdamW (default 3e-4)")
    t.add_argument("--seed", type=int, default=0, help="random seed of data sampling and initialisation (default 0)")
    t.add_argument("--max-minutes", type=float, default=None, help="stop (with a checkpoint) after this long")
    t.add_argument("--quiet", action="store_true", help="no progress bar (the log lines stay)")
    t.epilog = "Multi-GPU / multi-node: torchrun --nproc_per_node N -m mocap_fast.cli train ... (DDP; rank 0 writes)."
    t.set_defaults(func=cmd_train)
    return p


def _one_line_warnings(command: str) -> None:
    """Warnings as ``mocap-fast <command>: warning: ...`` on one line (no source line)."""
    import warnings

    def show(message, category, filename, lineno, file=None, line=None):
        msg = " ".join(str(message).split())
        print(f"mocap-fast {command}: warning: {msg}", file=file or sys.stderr)

    warnings.showwarning = show


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    _one_line_warnings(args.command)
    try:
        return args.func(args)
    except BrokenPipeError:  # `mocap-fast demo | head`: the reader left; end quietly
        try:  # Python's final flush of stdout must not fail again
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
            pass
        return 0
    except (ValueError, OSError) as exc:
        msg = " ".join(str(exc).split())  # one line
        print(f"mocap-fast {args.command}: error: {msg}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
