"""The ``mocap-fast`` command line: ``demo``, ``lift``, ``eval``, ``train``.

Every command prints a one-line reason and exits non-zero on bad input.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from importlib import resources
from pathlib import Path

import numpy as np

DEMO_CLIP = "demo_clip.npz"


def _write_json(path: Path, data: dict) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    tmp.write_text(json.dumps(data, indent=1))
    tmp.replace(path)


def _save_npz(path: Path, **arrays) -> None:
    tmp = path.with_name(path.stem + ".tmp.npz")
    np.savez_compressed(tmp, **arrays)
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
    from .lift import lift
    from .metrics import evaluate

    joints, cam, name = load_demo()
    keypoints = cam.project(joints)
    say = (lambda *a: None) if args.quiet else print
    say(f"demo: lifting {joints.shape[0]} frames of {name} seen by {cam}")
    res = lift(keypoints, cam, steps=args.steps, seed=args.seed)
    ours = evaluate(res.joints, joints)
    base = evaluate(ground_cutout(keypoints, cam), joints)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    say(f"{'metric':14} {'model':>10} {'ground cut-out':>15}")
    for k in ours:
        say(f"{k:14} {ours[k]:10.1f} {base[k]:15.1f}")
    _save_npz(out / "lifted.npz", joints=res.joints, joints_cam=res.joints_cam, views_2d=res.views_2d,
              keypoints=keypoints, ground_truth=joints, confidence=res.confidence, fps=res.fps)
    _write_json(out / "metrics.json", {"clip": name, "model": ours, "ground_cutout": base,
                                       "units": "mm (accel mm/frame^2, rte %, see mocap_fast.metrics)"})
    _write_json(out / "cameras.json", {"cameras": [c.to_dict() for c in res.cameras]})
    say(f"wrote {out}/lifted.npz, metrics.json, cameras.json")
    return 0


def _read_camera(path: str):
    from .reference.camera import Camera

    try:
        d = json.loads(Path(path).read_text())
    except (OSError, json.JSONDecodeError) as exc:
        raise ValueError(f"camera: cannot read {path}: {exc}") from None
    if "T_w2c" in d:
        return Camera.from_dict(d)
    K = np.asarray(d.get("K"), dtype=np.float64)
    if K.shape != (3, 3):
        raise ValueError(f"camera: {path} needs K (3x3) and T_w2c or height/pitch_deg/roll_deg")
    return Camera.from_ground(K[0, 0], K[1, 1], K[0, 2], K[1, 2], d.get("image_size"), height=d.get("height", 1.6),
                              pitch_deg=d.get("pitch_deg", 0.0), roll_deg=d.get("roll_deg", 0.0))


def _read_keypoints(path: str):
    p = Path(path)
    if not p.is_file():
        raise ValueError(f"INPUT: no such file {path}")
    try:
        if p.suffix == ".npy":
            return np.load(p), None
        if p.suffix == ".npz":
            d = np.load(p)
            key = next((k for k in ("keypoints", "kp", "positions_2d", "arr_0") if k in d), None)
            if key is None:
                raise ValueError(f"INPUT: {path} has no 'keypoints' array (found {list(d.keys())})")
            return d[key], d["confidence"] if "confidence" in d else None
    except (OSError, ValueError, EOFError) as exc:
        raise ValueError(f"INPUT: cannot read {path}: {exc}") from None
    raise ValueError(f"INPUT: unsupported file type {p.suffix!r} (expected .npy or .npz)")


def cmd_lift(args) -> int:
    from .lift import lift

    kp, conf = _read_keypoints(args.input)
    if kp.ndim == 3 and kp.shape[-1] == 3 and conf is None:
        kp, conf = kp[..., :2], kp[..., 2]
    cam = _read_camera(args.camera)
    res = lift(kp, cam, joint_format=args.format, confidence=conf, fps=args.fps, steps=args.steps,
               seed=args.seed, device=args.device, model=args.model)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    _save_npz(out / "lifted.npz", joints=res.joints, joints_cam=res.joints_cam, views_2d=res.views_2d,
              confidence=res.confidence, fps=res.fps)
    _write_json(out / "cameras.json", {"cameras": [c.to_dict() for c in res.cameras]})
    if not args.quiet:
        print(f"lifted {res.joints.shape[0]} frames -> {out}/lifted.npz")
    return 0


def _val_clips(data: str, split: str):
    from .data.clips import load_motion_folder

    clips = load_motion_folder(data, split=split)
    if not clips:
        raise ValueError(f"data: no clips with split {split!r} in {data}")
    return {c.name: c.joints for c in clips}


def cmd_eval(args) -> int:
    from .evaluation import make_cases, run_eval
    from .model.io import load_model

    model = load_model(args.model)
    cases = make_cases(_val_clips(args.data, args.split), seed=args.seed, max_frames=args.max_frames)
    report = run_eval(model, cases, steps=args.steps, seed=args.seed)
    print(report.table())
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
    cfg = get_config(args.config)
    train = [c.joints for c in load_motion_folder(args.data, split="train")]
    val = [c.joints for c in load_motion_folder(args.data, split="val")] or None
    if not train:
        raise ValueError(f"data: no training clips in {args.data}")
    opts = TrainOptions(stage=args.stage, steps=args.steps, batch_size=args.batch_size, lr=args.lr, seed=args.seed)
    trainer = Trainer(cfg, train, args.out, opts, init=args.init, val_clips=val)
    model = trainer.run(max_seconds=None if args.max_minutes is None else 60 * args.max_minutes)
    save_model(model, Path(args.out) / "model.safetensors")
    print(f"step {trainer.step}: val x0-loss {trainer.val_loss():.4f}; wrote {args.out}/model.safetensors")
    return 0


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="mocap-fast", description="Metric 3D motion from 2D keypoints of one calibrated camera.")
    sub = p.add_subparsers(dest="command", required=True)

    d = sub.add_parser("demo", help="lift the embedded demo clip with the default model")
    d.add_argument("--out", default="mocap_fast_demo", help="output folder (default ./mocap_fast_demo)")
    d.add_argument("--steps", type=int, default=None, help="denoising steps (default: full schedule)")
    d.add_argument("--seed", type=int, default=0)
    d.add_argument("--quiet", action="store_true")
    d.set_defaults(func=cmd_demo)

    lf = sub.add_parser("lift", help="lift a keypoint file (.npy (T,J,2|3) or .npz with 'keypoints')")
    lf.add_argument("input")
    lf.add_argument("--camera", required=True, help="camera JSON: K, T_w2c, image_size (or K, height, pitch_deg, roll_deg)")
    lf.add_argument("--format", default="smpl22", choices=["smpl22", "coco17", "h36m17"])
    lf.add_argument("--out", default="mocap_fast_out")
    lf.add_argument("--fps", type=float, default=30.0)
    lf.add_argument("--steps", type=int, default=None)
    lf.add_argument("--seed", type=int, default=0)
    lf.add_argument("--device", default=None)
    lf.add_argument("--model", default=None, help="model file (default: the packaged model)")
    lf.add_argument("--quiet", action="store_true")
    lf.set_defaults(func=cmd_lift)

    e = sub.add_parser("eval", help="evaluate a model on held-out clips beside the ground cut-out baseline")
    e.add_argument("--model", default=None)
    e.add_argument("--data", required=True, help="clip folder (index.json + clips/*.npy), .npy folder or BVH folder")
    e.add_argument("--split", default="val")
    e.add_argument("--steps", type=int, default=None)
    e.add_argument("--seed", type=int, default=0)
    e.add_argument("--max-frames", type=int, default=300)
    e.add_argument("--out", default=None, help="JSON report path")
    e.set_defaults(func=cmd_eval)

    t = sub.add_parser("train", help="train stage 1 (2D) or stage 2 (multi-view); resumes from --out")
    t.add_argument("--stage", type=int, choices=[1, 2], required=True)
    t.add_argument("--config", default="small", choices=["small", "paper", "tiny"])
    t.add_argument("--data", required=True)
    t.add_argument("--out", required=True)
    t.add_argument("--init", default=None, help="stage-1 model to start stage 2 from")
    t.add_argument("--steps", type=int, default=1000)
    t.add_argument("--batch-size", type=int, default=16)
    t.add_argument("--lr", type=float, default=3e-4)
    t.add_argument("--seed", type=int, default=0)
    t.add_argument("--max-minutes", type=float, default=None, help="stop (with a checkpoint) after this long")
    t.set_defaults(func=cmd_train)
    return p


def main(argv: list[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except ValueError as exc:
        print(f"mocap-fast {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
