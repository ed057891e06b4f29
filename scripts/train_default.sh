#!/usr/bin/env bash
# Rebuilds the packaged default model (mocap_fast/assets/default_small.safetensors) from scratch
# with the recorded recipe of MODEL_CARD.md ("Training recipe"). Every stage resumes when rerun
# (same command, same --out). CPU: about 6 hours on 2 cores; a GPU: minutes.
# Usage: scripts/train_default.sh [RUNS_DIR]   (default runs/default)
set -euo pipefail
cd "$(dirname "$0")/.."
R=${1:-runs/default}
D=../shared/data
CMU="$D/mocap30"
ALL="$D/mocap30 $D/cmu_more $D/hdm05"
# stage 1: single-view 2D pretraining
mocap-fast train --stage 1 --config small --data $CMU --out $R/s1 --steps 600 --lr 4e-4 --seed 0
# stage 2a-2c: multi-view on mocap30 (2c: with the COCO-17 / H36M-17 inputs, as every stage now has)
mocap-fast train --stage 2 --config small --data $CMU --out $R/s2a --init $R/s1/last.safetensors --steps 8000 --lr 3e-4 --seed 0
mocap-fast train --stage 2 --config small --data $CMU --out $R/s2b --init $R/s2a/last.safetensors --steps 4000 --lr 1.5e-4 --seed 1
mocap-fast train --stage 2 --config small --data $CMU --out $R/s2c --init $R/s2b/last.safetensors --steps 3000 --lr 1e-4 --seed 2
# stage 3: all three data sets, skeleton re-proportioning, cameras 2-20 m, short clips padded
mocap-fast train --stage 2 --config small --data $ALL --out $R/s3 --init $R/s2c/last.safetensors --steps 5000 --lr 1.5e-4 --seed 1
cp $R/s3/last.safetensors $R/default_small.safetensors
echo "wrote $R/default_small.safetensors (package it with: python scripts/package_model.py $R/default_small.safetensors --sampler ddim --steps 10 --licence 'CC BY-SA 3.0 (trained on HDM05), see MODEL_CARD.md')"
