#!/usr/bin/env bash
# Train several policies together on the machine's GPUs (in turn) for MINUTES each into /tmp/runs/NAME; the checkpoints come back as
# tar parts. Carry the dataset's folder and .whl-sim/av-15.1.0-slim-site.tar.xz (a copy of .whl-lerobot's slim
# PyAV). When .whl-sim/sim-site.tar.xz is carried too, each best checkpoint then runs closed loop on simulated
# time (bench/device/lockstep_runs.sh); otherwise run that script in the next call, while the machine is warm.
# SAVE_EVERY=N keeps checkpoints/step_N on the machine (for a closed-loop choice of checkpoint in the next call).
# RETURN=0 leaves the checkpoints on the machine only (xz takes ~12 s per checkpoint; a later call returns them).
# A spec without "|EVAL ARGS" is trained only (its closed loop then goes into the next call: the 10-minute limit).
# Called again on the warm machine with the same specs, a run that --time-limit stopped goes on from its last
# checkpoint to its --steps (a schedule longer than one call), and a finished one is left as it is.
#
#   bash bench/device/train_sweep.sh DATASET MINUTES EPISODES "NAME:FIT ARGS|EVAL ARGS" ...
set -uo pipefail
DS=$1; MIN=$2; EPISODES=$3; shift 3
export PYTHONUNBUFFERED=1 PYTHONPATH=$PWD/src/robolearn_core:$PWD/src/robolearn_train:$PWD NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
mkdir -p /tmp/site && tar xJf .whl-sim/av-15.1.0-slim-site.tar.xz -C /tmp/site || exit 1
export PYTHONPATH=/tmp/site:$PYTHONPATH
R=/tmp/runs; mkdir -p $R
FIT="python3 -m robolearn_train.fit --dataset $DS --cache-dir /tmp/cache --no-progress --workers 3 --log-every 500"
T0=$(date +%s)
$FIT --policy mlp --set vision_width=8 --steps 1 --val-every 1 --output $R/warm > $R/warm.log 2>&1 || tail -5 $R/warm.log
echo "cache built in $(( $(date +%s) - T0 )) s" | tee $OUT/summary.log
GPUS=$(nvidia-smi -L | wc -l); i=0  # the runs take the GPUs in turn (nvidia-h200-x2: half of them each)
for spec in "$@"; do
  name=${spec%%:*}; rest=${spec#*:}; fit=${rest%%|*}
  if [ -f $R/$name/summary.json ]; then  # trained in an earlier call: continue it if the time limit stopped it
    grep -q '"interrupted": "time_limit"' $R/$name/summary.json || continue
    fit="--resume $R/$name/checkpoints/last $(grep -o -- '--steps [0-9]*' <<< "$fit")"
  fi
  CUDA_VISIBLE_DEVICES=$(( i++ % GPUS )) \
    $FIT $fit --time-limit ${MIN}m --val-every 1000 --save-every ${SAVE_EVERY:-100000} --output $R/$name >> $R/$name.log 2>&1 &
done
wait
echo "trained in $(( $(date +%s) - T0 )) s" | tee -a $OUT/summary.log
evals=()
for spec in "$@"; do
  name=${spec%%:*}; rest=${spec#*:}
  echo "== $name: $(grep '^{' $R/$name.log | tail -1 | cut -c1-400)" >> $OUT/summary.log
  grep -i 'error\|traceback' $R/$name.log | head -5 >> $OUT/summary.log
  [ "${RETURN:-1}" = 0 ] || tar -cJf - --exclude training_state.pt -C $R/$name checkpoints/best loss_curve.png metrics.jsonl \
    settings.json | split -b 15M - $OUT/$name.tar.xz.part
  [[ $rest == *"|"* ]] && evals+=("$R/$name|${rest#*|}")
done
[ -f .whl-sim/sim-site.tar.xz ] && [ ${#evals[@]} -gt 0 ] && bash bench/device/lockstep_runs.sh $EPISODES "${evals[@]}" >> $OUT/summary.log
echo "done in $(( $(date +%s) - T0 )) s" >> $OUT/summary.log
cat $OUT/summary.log | cut -c1-700
