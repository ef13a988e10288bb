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
source bench/device/lerobot_site.sh
python3 bench/train.py --policy "$POLICY" --dataset "$DS" --image-size "$SIZE" --batch-size 64 \
  --steps "$STEPS" --workers "$WORKERS" 2>&1 | grep -v -i warning > "$OUT/scale480.log"
tail -1 "$OUT/scale480.log" > "$OUT/summary.log"
cut -c1-3000 "$OUT/summary.log"
