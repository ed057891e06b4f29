"""Measure ``mocap_fast.grounding.CONTACT_HEIGHT``: the ``CONTACT_QUANTILE`` over frames of the lowest
SMPL-22 foot joint's height (ankles, feet) in the train splits of the given sets (the captured frames,
as the training sampler reads them).

    python bench/contact_height.py [--sets mocap30 cmu_more hdm05]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from mocap_fast.data.clips import load_motion_folder
from mocap_fast.footlock import FOOT_JOINTS
from mocap_fast.grounding import CONTACT_QUANTILE

DATA = Path(__file__).resolve().parents[1].parent / "shared" / "data"


def lowest_foot_heights(data_dir: Path) -> np.ndarray:
    """``(frames,)`` metres: per frame of every train clip, the height of the lowest foot joint."""
    return np.concatenate([c.joints[:, FOOT_JOINTS, 1].min(1) for c in load_motion_folder(data_dir, split="train")])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--sets", nargs="+", default=["mocap30", "cmu_more", "hdm05"])
    args = p.parse_args(argv)
    heights = {ds: lowest_foot_heights(DATA / ds) for ds in args.sets}
    for ds, h in heights.items():
        print(f"{ds}: {len(h)} frames, quantile {CONTACT_QUANTILE}: {np.quantile(h, CONTACT_QUANTILE):.4f} m")
    h = np.concatenate(list(heights.values()))
    print(f"all: {len(h)} frames, quantile {CONTACT_QUANTILE}: {np.quantile(h, CONTACT_QUANTILE):.4f} m")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
