"""Print the all / locomotion / in-place rows of several ``mocap-fast eval --out`` reports side by side
(markdown, mean ± std over seeds), e.g. two models or two step counts on the same cases:

    python scripts/compare_evals.py old=eval_old.json new=eval_new.json [--condition clean]
"""

from __future__ import annotations

import argparse
import json

from mocap_fast.evaluation import UNITS

COLUMNS = ("pa_mpjpe", "mpjpe", "wa_mpjpe", "abs_mpjpe", "t_root", "foot_sliding", "accel")


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("reports", nargs="+", help="LABEL=PATH of a JSON report of mocap-fast eval --out")
    p.add_argument("--condition", default="clean", help="input condition to print (default clean)")
    p.add_argument("--cutout", action="store_true", help="also print the ground cut-out (same cases in every report)")
    args = p.parse_args(argv)
    reports = []
    for item in args.reports:
        label, _, path = item.partition("=")
        reports.append((label, json.load(open(path or label))["summary"]))
    unit = lambda k: UNITS.get(k, "mm")  # noqa: E731
    print("| set | motion (cases) | method | " + " | ".join(f"{k} ({unit(k)})" for k in COLUMNS) + " |")
    print("|" + "---|" * (3 + len(COLUMNS)))
    for ds in reports[0][1]:
        for motion in ("all", "locomotion", "in_place"):
            rows = [(label, "model", s[ds][args.condition].get(motion)) for label, s in reports]
            rows += [(label, "model_footlock", s[ds][args.condition].get(motion)) for label, s in reports[-1:]]
            if args.cutout:
                rows.append(("", "ground_cutout", reports[0][1][ds][args.condition].get(motion)))
            for label, method, stats in rows:
                if stats is None:
                    continue
                cells = " | ".join(f"{stats[method][k][0]:.1f} ± {stats[method][k][1]:.1f}" for k in COLUMNS)
                print(f"| {ds} | {motion} ({stats['cases']}) | {label} {method} | {cells} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
