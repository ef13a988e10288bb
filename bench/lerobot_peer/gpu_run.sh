#!/usr/bin/env bash
# LeRobot's ACT on the GPU machine, unattended: install the carried wheels, train, offline chunk error, export.
#
#   bash bench/lerobot_peer/gpu_run.sh DATASET STEPS [TIME_LIMIT_S] [BATCH] [more `lerobot_act.py train` options]
#
# Needs `carry` of .whl-lerobot (bench/lerobot_peer/fetch_wheels.sh) and of the dataset's folder. Writes to
# $OUT/lerobot/: lerobot.log (training log; its JSON lines: train, offline, export results) and the checkpoint
# as lerobot_act.tar.xz.part00..02 (~44 MiB: bf16 inference weights; `lerobot_act.py unpack` rebuilds it).
# EXPORT=0 leaves the checkpoint out ($OUT brings back 64 MiB and 8 files a call). The wheels go to /tmp/site;
# robolearn's DatasetReader can use the same PyAV: PYTHONPATH=/tmp/site:src/robolearn_core.
set -uo pipefail
DS=$1
STEPS=$2
TLIM=${3:-0}
BATCH=${4:-8}
shift $(( $# < 4 ? $# : 4 ))
O=${OUT:-/tmp/out}/lerobot
mkdir -p "$O"
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1 WANDB_MODE=disabled
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
if [ ! -d /tmp/site/lerobot ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl-lerobot/*.whl \
    && tar xJf .whl-lerobot/av-15.1.0-slim-site.tar.xz -C /tmp/site || { echo 'gpu_run: wheel install failed'; exit 1; }
fi
export PYTHONPATH=/tmp/site${PYTHONPATH:+:$PYTHONPATH}
R=/tmp/lerobot_act_run
rm -rf "$R"
python3 bench/lerobot_act.py train --dataset "$DS" --output "$R" --steps "$STEPS" --time-limit-s "$TLIM" \
  --batch-size "$BATCH" "$@" 2>&1 | grep -v -i warning >> "$O/lerobot.log"
C=$R/checkpoints/last/pretrained_model
[ -f "$C/model.safetensors" ] || { echo 'gpu_run: training wrote no checkpoint'; tail -20 "$O/lerobot.log"; exit 1; }
python3 bench/lerobot_act.py offline --checkpoint "$C" --dataset "$DS" 2>&1 | tail -1 >> "$O/lerobot.log"
if [ "${EXPORT:-1}" != 0 ]; then
  python3 bench/lerobot_act.py export --checkpoint "$C" --out "$O" --dataset "$DS" 2>&1 | tail -1 >> "$O/lerobot.log"
fi
grep '^{' "$O/lerobot.log" | cut -c1-1200
