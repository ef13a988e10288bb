#!/usr/bin/env bash
# Second round of the table's policies (docs/closed-loop.md says why): ACT with Diffusion Policy's random crop,
# a wider ACT, and diffusion/flow with 48-step (1.6 s) chunks, so that a CPU policy node's inference delay
# leaves part of each chunk to play. Trained together on one GPU; same outputs as train_table.sh.
#
#   bash bench/device/train_round2.sh DATASET MINUTES [NAMES]   (needs carry of .whl-lerobot and the dataset's folder;
#   NAMES picks some of: act_crop act_wide diffusion48 flow48, default all)
set -uo pipefail
DS=$1
MIN=${2:-4}
NAMES=${3:-"act_crop act_wide diffusion48 flow48"}
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
mkdir -p /tmp/site && tar xJf .whl-lerobot/av-15.1.0-slim-site.tar.xz -C /tmp/site || exit 1
export PYTHONPATH=/tmp/site:$PWD/src/robolearn_core:$PWD/src/robolearn_train:$PWD
R=/tmp/runs
mkdir -p $R
FIT="python3 -m robolearn_train.fit --dataset $DS --cache-dir /tmp/cache --no-progress --workers 6 --log-every 500"
T0=$(date +%s)
$FIT --policy mlp --set vision_width=8 --steps 1 --val-every 1 --output $R/warm96 > $R/warm96.log 2>&1
echo "cache built in $(( $(date +%s) - T0 )) s" > $OUT/summary.log
run() {  # name, fit arguments
  local name=$1; shift
  [[ " $NAMES " == *" $name "* ]] || return 0
  $FIT "$@" --time-limit ${MIN}m --val-every 1000 --save-every 100000 --output $R/$name > $R/$name.log 2>&1
}
ACT="--policy act --set horizon=50 --set n_heads=4 --set n_encoder_layers=3 --set n_vae_encoder_layers=2 --set latent_dim=32"
ACT="$ACT --batch-size 64 --lr 2e-4 --warmup-steps 500 --steps 20000"
run act_crop $ACT --set d_model=128 --set dim_feedforward=512 --set vision_width=24 --set crop_ratio=0.9 &
run act_wide $ACT --set d_model=160 --set dim_feedforward=640 --set vision_width=32 --set n_heads=8 &
run diffusion48 --recipe diffusion-paper --set horizon=48 --set down_dims=[48,96,192] --set vision_width=24 --steps 12000 &
run flow48 --recipe flow-paper --set horizon=48 --set down_dims=[48,96,192] --set vision_width=24 --steps 12000 &
wait
for name in $NAMES; do
  echo "== $name: $(grep '^{' $R/$name.log | tail -1 | cut -c1-900)" >> $OUT/summary.log
  grep -i 'error\|traceback' $R/$name.log | head -5 >> $OUT/summary.log
  tar -cJf - --exclude training_state.pt -C $R/$name checkpoints/best loss_curve.png metrics.jsonl settings.json \
    | split -b 15M - $OUT/$name.tar.xz.part
done
echo "done in $(( $(date +%s) - T0 )) s" >> $OUT/summary.log
cat $OUT/summary.log | cut -c1-500
