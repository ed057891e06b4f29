#!/usr/bin/env bash
# One short GPU loan, one go (budget: under 6 minutes on one modern GPU):
#   1. the device and versions;  2. every CUDA test (`pytest -k cuda tests`);
#   3. the Triton benchmarks (bench/test_bench_triton.py), then their achieved GB/s next to the device's
#      peak (bench/bandwidth.py: datasheet peak by device name, "unknown" for others);
#   4. the lift() benchmark on CUDA.
# Results go under $OUT (set by the device tool; default a new temporary folder): log.txt, tests.xml (JUnit),
# triton.json, bandwidth.md, lift.json and RESULTS_gpu.md (tables in bench/RESULTS.md's format, to paste
# there, then the bandwidth table).
# Every stage has its own time limit, so a hang in one still leaves the others' results.
#
# Usage (repository root):  bash bench/gpu_check.sh [--allow-no-gpu]
#   --allow-no-gpu  without a CUDA device say so and exit 0 (a dry run of the script on a CPU
#                   machine); without the flag a missing GPU is an error (exit 2).
# Env: PYTHON (default python), OUT.
set -uo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
PY=${PYTHON:-python}
OUT=${OUT:-$(mktemp -d -t gpu_check.XXXX)}
ALLOW_NO_GPU=0
for arg in "$@"; do
    case $arg in
        --allow-no-gpu) ALLOW_NO_GPU=1 ;;
        *) echo "gpu_check.sh: unknown argument $arg (expected --allow-no-gpu)" >&2; exit 2 ;;
    esac
done
mkdir -p "$OUT"
exec > >(tee -a "$OUT/log.txt") 2>&1
START=$SECONDS
stage() { echo; echo "=== $1 ($((SECONDS - START)) s since start)"; }

stage "device"
echo "results: $OUT"
date -u
command -v nvidia-smi >/dev/null && nvidia-smi --query-gpu=name,memory.total,driver_version,clocks.max.memory --format=csv
# mocap_fast.reference / .kernels live in reference/ and kernels/ (pyproject package-dir): they
# import only through an install. Offline machine: an editable install without dependencies.
where() {  # the folder holding mocap_fast/ and reference/ as imported, when it is one folder
    "$PY" -c "import os, mocap_fast as m, mocap_fast.reference as r
d = {os.path.dirname(os.path.dirname(os.path.realpath(x.__file__))) for x in (m, r)}
print(d.pop() if len(d) == 1 else sorted(d))" 2>/dev/null
}
if [ "$(where)" != "$ROOT" ]; then
    echo "mocap_fast is not installed from $ROOT (found: '$(where)'): pip install --no-deps --no-build-isolation -e ."
    "$PY" -m pip install -q --no-deps --no-build-isolation -e . || { echo "gpu_check: install failed"; exit 1; }
fi
"$PY" - <<'EOF'
import torch
print(f"torch {torch.__version__}, CUDA build {torch.version.cuda}")
try:
    import triton
    print(f"triton {triton.__version__}")
except Exception as exc:  # the CUDA tests then skip or fail loudly below
    print(f"triton cannot be imported: {exc}")
if torch.cuda.is_available():
    import sys
    sys.path.insert(0, "bench")
    from bandwidth import peak_gb_s

    p = torch.cuda.get_device_properties(0)
    peak = peak_gb_s(p.name)
    print(f"device 0: {p.name}, {p.total_memory / 2**30:.0f} GiB, {p.multi_processor_count} SMs, capability {p.major}.{p.minor}, "
          f"peak memory bandwidth {'unknown' if peak is None else f'{peak:.0f} GB/s'} (datasheet)")
EOF
if ! "$PY" -c "import sys, torch; sys.exit(0 if torch.cuda.is_available() else 1)"; then
    echo "gpu_check: no CUDA device visible to torch: the GPU stages are skipped"
    if [ "$ALLOW_NO_GPU" = 1 ]; then exit 0; fi
    exit 2
fi

FAILED=()
run_stage() {  # name, time limit in seconds, command...
    local name=$1 limit=$2
    shift 2
    stage "$name (limit $limit s)"
    timeout -k 10 "$limit" "$@"
    local rc=$?
    echo "--- $name: exit $rc"
    [ $rc = 0 ] || FAILED+=("$name (exit $rc)")
}
export PYTHONDONTWRITEBYTECODE=1
run_stage "CUDA tests" 140 "$PY" -m pytest -q -p no:cacheprovider -k cuda tests -rs --junitxml="$OUT/tests.xml"
run_stage "Triton benchmarks" 110 "$PY" -m pytest -q -p no:cacheprovider bench/test_bench_triton.py --benchmark-only \
    --benchmark-json="$OUT/triton.json"
stage "Triton benchmarks: achieved GB/s vs the device's peak"
OUT="$OUT" "$PY" - <<'EOF'
import json, os, sys
from pathlib import Path

sys.path.insert(0, "bench")
from bandwidth import bandwidth_lines

import torch

f = Path(os.environ["OUT"]) / "triton.json"
if f.is_file():
    lines = bandwidth_lines(json.loads(f.read_text()), torch.cuda.get_device_properties(0).name)
    (f.parent / "bandwidth.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))
else:
    print("no triton.json: the Triton benchmark stage failed, see above")
EOF
run_stage "lift() benchmark on CUDA" 80 "$PY" -m pytest -q -p no:cacheprovider bench/test_bench_lift.py -k cuda \
    --benchmark-only --benchmark-json="$OUT/lift.json"

stage "RESULTS_gpu.md"
OUT="$OUT" "$PY" - <<'EOF'
import json, os, sys
from pathlib import Path

sys.path.insert(0, "bench")
from write_results import render_run  # the tables of bench/RESULTS.md

import torch

out = Path(os.environ["OUT"])
lines = [f"GPU: {torch.cuda.get_device_name(0)}, torch {torch.__version__} (bench/gpu_check.sh)", ""]
for name, title in (("triton.json", "CUDA: Triton kernels vs references"), ("lift.json", "CUDA: lift() on a 10 s clip")):
    f = out / name
    if not f.is_file():
        lines += [f"## {title}", "", f"(no {name}: that stage failed, see log.txt)", ""]
        continue
    body, _ = render_run(title, json.loads(f.read_text()), None, None, 0.0)
    lines += [line for line in body if not line.startswith("torch threads")]  # CPU run facts
if (out / "bandwidth.md").is_file():
    lines += (out / "bandwidth.md").read_text().splitlines()
(out / "RESULTS_gpu.md").write_text("\n".join(lines) + "\n")
print("\n".join(lines))
EOF

stage "done in $((SECONDS - START)) s"
if [ ${#FAILED[@]} -gt 0 ]; then
    printf 'FAILED: %s\n' "${FAILED[@]}"
    exit 1
fi
echo "all stages passed"
