"""Package a trained model file as the default: copy it into ``mocap_fast/assets`` and store the
recommended sampler in its safetensors metadata (``lift(steps=None)`` runs it).

    python scripts/package_model.py runs/s2/last.safetensors --sampler ddim --steps 10
    python scripts/package_model.py --set-only mocap_fast/assets/default_small.safetensors --sampler ddim --steps 10

Choose ``--sampler/--steps`` from the evaluation (``mocap-fast eval --steps N``): the best
accuracy for its time. ``ddpm`` means the full ancestral schedule (``--steps`` = its length).
"""

from __future__ import annotations

import argparse
import shutil
import sys
from pathlib import Path

from mocap_fast.model.io import DEFAULT_MODEL, load_model, set_metadata, set_recommended_sampler

ASSETS = Path(__file__).resolve().parents[1] / "mocap_fast" / "assets"


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("model", help="trained model file (safetensors)")
    p.add_argument("--sampler", choices=["ddim", "ddpm"], default="ddim")
    p.add_argument("--steps", type=int, default=10)
    p.add_argument("--samples", type=int, default=1, help="draws per window that lift(samples=None) averages")
    p.add_argument("--out", default=str(ASSETS / DEFAULT_MODEL), help="destination (default: the packaged default)")
    p.add_argument("--licence", default=None,
                   help="licence note stored in the file's metadata (e.g. the data licences the weights inherit)")
    p.add_argument("--set-only", action="store_true", help="only write the sampler metadata into MODEL in place")
    args = p.parse_args(argv)
    try:
        dst = Path(args.model)
        if not args.set_only:
            load_model(args.model)  # refuse a broken file before overwriting the default
            dst = Path(args.out)
            if dst.resolve() != Path(args.model).resolve():
                shutil.copyfile(args.model, dst)
        set_recommended_sampler(dst, args.sampler, args.steps, args.samples)
        if args.licence is not None:
            set_metadata(dst, licence=args.licence)
        loaded = load_model(dst)
        print(f"{dst}: recommended sampler {args.sampler}, {loaded.recommended_steps()[1]} steps, {loaded.samples} samples")
    except ValueError as exc:
        print(f"package_model: error: {exc}", file=sys.stderr)
        return 2
    return 0


if __name__ == "__main__":
    sys.exit(main())
