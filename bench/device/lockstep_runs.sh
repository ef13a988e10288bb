#!/usr/bin/env bash
# Closed loop on simulated time (bench/lockstep_eval.py, 15 processes, inference on the GPU) for fit runs, on held-out
# seeds 5000..; each run's log goes to $OUT. Needs .whl-sim carried (bench/device/sim_site.sh).
#
#   bash bench/device/lockstep_runs.sh EPISODES "RUN_DIR|EVAL ARGS" ...
set -uo pipefail
EPISODES=$1; shift
source bench/device/sim_site.sh
for spec in "$@"; do
  run=${spec%%|*}; ev=${spec#*|}; name=$(basename $run)
  python3 bench/lockstep_eval.py --checkpoint $run/checkpoints/best --episodes $EPISODES --seed 5000 --workers ${WORKERS:-15} \
    --device cuda $ev 2>&1 | grep -v 'lockstep episodes' > $OUT/$name.eval.log
  echo "== $name lockstep ($ev): $(tail -1 $OUT/$name.eval.log | cut -c1-600)"
done
