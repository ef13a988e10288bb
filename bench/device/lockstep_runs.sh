#!/usr/bin/env bash
# Closed loop on simulated time (bench/lockstep_eval.py, 15 processes, inference on the GPU) for fit runs, on held-out
# seeds from $SEED (default 5000, the test seeds; 6000 for the validation seeds); each run's log goes to $OUT. A run
# is a fit output directory, or NAME=DIR1,DIR2,... for those runs' best checkpoints deployed as one ensemble
# (their chunks averaged). Needs .whl-sim carried (bench/device/sim_site.sh).
#
#   [SEED=6000] [WORKERS=15] bash bench/device/lockstep_runs.sh EPISODES "RUN_DIR|EVAL ARGS" "NAME=RUN1,RUN2|EVAL ARGS" ...
set -uo pipefail
EPISODES=$1; SEED=${SEED:-5000}; shift
source bench/device/sim_site.sh
for spec in "$@"; do
  run=${spec%%|*}; ev=${spec#*|}
  if [[ $run == *=* ]]; then
    name=${run%%=*}; ckpt=$(tr , '\n' <<< "${run#*=}" | sed 's|$|/checkpoints/best|' | paste -sd,)
  else
    name=$(basename $run); ckpt=$run/checkpoints/best
  fi
  log=$OUT/$name.seed$SEED.eval.log
  python3 bench/lockstep_eval.py --checkpoint $ckpt --episodes $EPISODES --seed $SEED --workers ${WORKERS:-15} \
    --device cuda $ev 2>&1 | grep -v 'lockstep episodes' > $log
  echo "== $name seeds $SEED+ lockstep ($ev): $(tail -1 $log | cut -c1-600)"
done
