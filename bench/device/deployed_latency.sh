#!/usr/bin/env bash
# The policy node's compute per chunk on the GPU machine (bench/inference.py --checkpoint: DeployedPolicy.observe +
# infer, as policy_node runs them, without DDS), for trained checkpoints, then the GPU tests of the policies.
#
#   bash bench/device/deployed_latency.sh DIR     (DIR: follower.json and one checkpoint folder per policy; carry it)
#
# Back in $OUT: latency.log (one JSON line per checkpoint and setting) and gpu_tests.log.
set -uo pipefail
DIR=$1
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/src/robolearn_core
: > "$OUT/latency.log"
for ckpt in "$DIR"/*/; do
  for opts in "--cuda-graph --dtype bfloat16" ""; do
    python3 bench/inference.py --checkpoint "$ckpt" --calibration "$DIR/follower.json" --device cuda $opts \
      --iters 100 --warmup 10 2>&1 | tail -1 >> "$OUT/latency.log"
  done
done
cut -c1-400 "$OUT/latency.log"
timeout 300 python3 -m pytest --noconftest -q -p no:cacheprovider src/robolearn_core/test/test_policy_gpu.py \
  src/robolearn_core/test/test_policy_guided_gpu.py > "$OUT/gpu_tests.log" 2>&1
tail -3 "$OUT/gpu_tests.log"
