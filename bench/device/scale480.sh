#!/usr/bin/env bash
# Training at the size users record, robolearn against LeRobot 0.6.1 on one GPU (docs/policies.md, "Training at
# users' scale"): 50 episodes x 600 frames (20 s at 30 fps), two 480x640 AV1 cameras written by robolearn's
# DatasetWriter; each framework in a fresh process, same batch, same workers, same training resolution (robolearn's
# --image-size; LeRobot resizes through its dataset's image_transforms hook), data pipeline and setup counted.
# Peak host memory of each run is sampled from outside (summed PSS of the process and its DataLoader workers).
#
# Write the dataset here first (the GPU machine's PyAV segfaults encoding AV1; about 30 s an episode on 2 cores):
#
#   python bench/train.py --policy act --make-dataset .carry-data/ds480 --writer robolearn --episodes 50 \
#       --frames 600 --cameras 2 --height 480 --width 640 --write-only
#   bash bench/device/scale480.sh .carry-data/ds480 STEPS [HxW] [POLICY]   (needs carry of .whl-lerobot and the dataset)
#
# Back in $OUT: scale480.log (everything bench/train.py printed) and summary.log (its JSON result).
set -uo pipefail
DS=$1
STEPS=${2:-1000}
SIZE=${3:-240x320}
POLICY=${4:-act}
export PYTHONUNBUFFERED=1 HF_HUB_OFFLINE=1 HF_DATASETS_OFFLINE=1
export NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
if [ ! -d /tmp/site/lerobot ]; then
  python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl-lerobot/*.whl \
    && tar xJf .whl-lerobot/av-15.1.0-slim-site.tar.xz -C /tmp/site || { echo 'scale480: wheel install failed'; exit 1; }
fi
export PYTHONPATH=/tmp/site:$PWD/src/robolearn_core:$PWD/src/robolearn_train:$PWD
WORKERS=$(( $(nproc) - 1 > 15 ? 15 : $(nproc) - 1 ))
python3 bench/train.py --policy "$POLICY" --dataset "$DS" --image-size "$SIZE" --batch-size 64 \
  --steps "$STEPS" --workers "$WORKERS" 2>&1 | grep -v -i warning > "$OUT/scale480.log"
tail -1 "$OUT/scale480.log" > "$OUT/summary.log"
cut -c1-3000 "$OUT/summary.log"
