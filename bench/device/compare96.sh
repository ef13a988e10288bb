#!/usr/bin/env bash
# The LeRobot comparison of docs/policies.md re-measured in one run on one GPU: ACT and diffusion train on a
# 20 x 300 dataset of two 96x128 AV1 cameras with each framework in a fresh process (bench/train.py: batch 64,
# 500 steps, the same DataLoader workers). Write the dataset here first (the GPU machine's PyAV segfaults
# encoding AV1, and LeRobot's writer lost its encoding process pool there):
#
#   python bench/train.py --policy act --make-dataset .carry-data/bench96 --writer robolearn --episodes 20 \
#       --frames 300 --cameras 2 --height 96 --width 128 --write-only
#   bash bench/device/compare96.sh .carry-data/bench96      (needs carry of .whl-lerobot and the dataset's folder)
#
# Back in $OUT: compare96.log (what bench/train.py printed), summary.log (its two JSON results), gpu_tests.log
# (src/robolearn_core/test/test_training_gpu.py; GPU_TESTS=0 leaves them out).
set -uo pipefail
DS=$1
source bench/device/lerobot_site.sh
: > "$OUT/summary.log"
for policy in act diffusion; do
  python3 bench/train.py --policy $policy --device cuda --dataset "$DS" --steps 500 --workers "$WORKERS" 2>&1 \
    | grep -v -i warning | tee -a "$OUT/compare96.log" | tail -1 >> "$OUT/summary.log"
done
cut -c1-2500 "$OUT/summary.log"
if [ "${GPU_TESTS:-1}" = 1 ]; then
  timeout 200 python3 -m pytest --noconftest -q -p no:cacheprovider src/robolearn_core/test/test_training_gpu.py \
    > "$OUT/gpu_tests.log" 2>&1
  tail -3 "$OUT/gpu_tests.log"
fi
