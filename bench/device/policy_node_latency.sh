#!/usr/bin/env bash
# policy_node over DDS on the GPU machine (bench/policy_node_latency.py): observation-to-chunk latency per
# checkpoint, CUDA graph + bf16 and eager fp32. Carry .whl-ros312 (bench/device/ros_wheels.sh) and DIR.
#   bash bench/device/policy_node_latency.sh DIR [SECONDS]   (DIR: follower.json and one checkpoint folder per policy)
# Back in $OUT: node_latency.log, one JSON line per checkpoint and setting.
set -uo pipefail
DIR=$1; SECONDS_EACH=${2:-30}
source bench/device/ros_site.sh
python3 -c 'import rclpy, torch; print("rclpy ok; cuda", torch.cuda.is_available())' || exit 1
: > "$OUT/node_latency.log"
for ckpt in "$DIR"/*/; do
  for opts in "--dtype bfloat16 --cuda-graph" "--dtype float32"; do
    timeout 240 python3 bench/policy_node_latency.py --checkpoint "$ckpt" --calibration "$DIR/follower.json" \
      --device cuda $opts --seconds "$SECONDS_EACH" 2> "$OUT/last_node.err" | tail -1 >> "$OUT/node_latency.log"
  done
done
cut -c1-600 "$OUT/node_latency.log"; tail -5 "$OUT/last_node.err"
