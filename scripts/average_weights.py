"""Average the network weights of several checkpoints of one training run (a "soup" along the
trajectory: less of the last steps' noise than any single checkpoint).

    python scripts/average_weights.py runs/ft4/avg.safetensors runs/ft4/snaps/step4*.safetensors

Every input must have the same configuration and standardisation statistics (checkpoints of one
run do); the output keeps the last input's statistics and metadata and records its sources in
``info["averaged"]``. Judge the result with ``mocap-fast eval --model OUT`` like any model.
"""

from __future__ import annotations

import argparse
import sys

import torch

from mocap_fast.model.io import load_model, save_model


def average(paths: list[str]):
    """The :class:`~mocap_fast.model.io.LoadedModel` of ``paths[-1]`` with the mean of every
    floating-point weight over ``paths``. Raises ``ValueError`` naming the file that does not match."""
    if not paths:
        raise ValueError("checkpoints: need at least one file")
    models = [load_model(p) for p in paths]
    last = models[-1]
    for p, m in zip(paths, models):
        if m.cfg.to_dict() != last.cfg.to_dict():
            raise ValueError(f"checkpoints: {p} has another configuration than {paths[-1]}")
        if not (torch.equal(m.stats.mean, last.stats.mean) and torch.equal(m.stats.std, last.stats.std)):
            raise ValueError(f"checkpoints: {p} has other standardisation statistics than {paths[-1]} (another run?)")
    states = [m.net.state_dict() for m in models]
    mean = {k: (torch.stack([s[k].double() for s in states]).mean(0).to(v.dtype) if v.is_floating_point() else v)
            for k, v in states[-1].items()}
    last.net.load_state_dict(mean)
    last.info = dict(last.info, averaged=list(paths))
    return last


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("out", help="model file to write (safetensors)")
    p.add_argument("checkpoints", nargs="+", help="model files of one run (safetensors)")
    args = p.parse_args(argv)
    try:
        save_model(average(args.checkpoints), args.out)
    except (ValueError, OSError) as e:
        print(f"average_weights: error: {e}", file=sys.stderr)
        return 2
    print(f"wrote {args.out}: mean of {len(args.checkpoints)} checkpoints")
    return 0


if __name__ == "__main__":
    sys.exit(main())
