#!/usr/bin/env bash
# The closed-loop table's policies, trained together on one GPU in one wall-clock budget (docs/closed-loop.md):
# robolearn's act, diffusion, flow and mlp, the demo's CPU-sized act (as many steps as 30 minutes on 2 CPU
# cores give), and LeRobot 0.6.1's ACT (bench/lerobot_peer/gpu_run.sh), all from the same dataset.
#
#   bash bench/device/train_table.sh DATASET MINUTES        (needs carry of .whl-lerobot and the dataset's folder)
#
# Back in $OUT: each robolearn checkpoint (checkpoints/best, loss curve, metrics) as <name>.tar.xz.part*, and
# summary.log (every run's JSON summary, LeRobot's train and offline results, robolearn act's offline chunk error).
# LeRobot's exported checkpoint stays in /tmp/lerobot_out/lerobot/ (too big for the same $OUT): a second call on
# the warm machine copies it.
set -uo pipefail
DS=$1
MIN=${2:-6}
export PYTHONUNBUFFERED=1 NCCL_NVLS_ENABLE=0 TORCH_SYMM_MEM_DISABLE_MULTICAST=1 NVSHMEM_DISABLE_NVLS=1
python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --target /tmp/site .whl-lerobot/*.whl \
  && tar xJf .whl-lerobot/av-15.1.0-slim-site.tar.xz -C /tmp/site || { echo 'train_table: wheel install failed'; exit 1; }
export PYTHONPATH=/tmp/site:$PWD/src/robolearn_core:$PWD/src/robolearn_train:$PWD
R=/tmp/runs
mkdir -p $R
FIT="python3 -m robolearn_train.fit --dataset $DS --cache-dir /tmp/cache --no-progress --workers 6 --log-every 500"
ACT_SMALL="--set horizon=30 --set d_model=96 --set n_heads=4 --set dim_feedforward=384 --set n_encoder_layers=2"
ACT_SMALL="$ACT_SMALL --set n_vae_encoder_layers=1 --set vision_width=12"
T0=$(date +%s)
# decode the dataset once per image size, so that the runs below share the cache
$FIT --policy mlp --set vision_width=8 --steps 1 --val-every 1 --output $R/warm96 > $R/warm96.log 2>&1
$FIT --policy act --image-size 48x64 $ACT_SMALL --steps 1 --val-every 1 --output $R/warm48 > $R/warm48.log 2>&1
echo "caches built in $(( $(date +%s) - T0 )) s" > $OUT/summary.log
OUT=/tmp/lerobot_out bash bench/lerobot_peer/gpu_run.sh "$DS" 100000 $(( MIN * 60 )) 64 --set chunk_size=50 \
  --set n_action_steps=50 --set optimizer_lr=1e-4 --set optimizer_lr_backbone=1e-4 > $R/lerobot.log 2>&1 &
LEROBOT=$!
run() {  # name, fit arguments
  local name=$1; shift
  $FIT "$@" --time-limit ${MIN}m --val-every 1000 --save-every 100000 --output $R/$name > $R/$name.log 2>&1
}
run act --policy act --set horizon=50 --set d_model=128 --set n_heads=4 --set dim_feedforward=512 \
  --set n_encoder_layers=3 --set n_vae_encoder_layers=2 --set vision_width=24 --set latent_dim=32 \
  --batch-size 64 --lr 2e-4 --warmup-steps 500 --steps 12000 &
run diffusion --recipe diffusion-paper --set down_dims=[48,96,192] --set vision_width=24 --steps 12000 &
run flow --recipe flow-paper --set down_dims=[48,96,192] --set vision_width=24 --steps 12000 &
run mlp --policy mlp --set vision_width=24 --batch-size 64 --lr 3e-4 --steps 12000 &
run act_cpu --policy act --image-size 48x64 $ACT_SMALL --batch-size 32 --lr 3e-4 --steps 3500 &
# the GPU tests (skipped without CUDA in make test) run beside the training
python3 -m pytest --noconftest -p no:cacheprovider -q -rA -k "not two_gpus" src/robolearn_core/test/test_policy_gpu.py \
  src/robolearn_core/test/test_policy_guided_gpu.py src/robolearn_core/test/test_training_gpu.py > $R/gpu_tests.log 2>&1 &
wait $(jobs -p | grep -v "^$LEROBOT$")
echo "== GPU tests: $(grep -E 'passed|failed' $R/gpu_tests.log | tail -1)" >> $OUT/summary.log
grep -E '^(FAILED|ERROR)' $R/gpu_tests.log | head -10 >> $OUT/summary.log
for name in act diffusion flow mlp act_cpu; do
  echo "== $name: $(grep '^{' $R/$name.log | tail -1 | cut -c1-1500)" >> $OUT/summary.log
  grep -i 'error\|traceback' $R/$name.log | head -5 >> $OUT/summary.log
  tar -cJf - --exclude training_state.pt -C $R/$name checkpoints/best loss_curve.png metrics.jsonl settings.json | split -b 15M - $OUT/$name.tar.xz.part
done
python3 bench/offline_chunk_error.py --checkpoint $R/act/checkpoints/best --dataset "$DS" 2>&1 | tail -1 \
  | sed 's/^/== robolearn act offline: /' >> $OUT/summary.log
wait $LEROBOT
echo "== lerobot:" >> $OUT/summary.log
grep '^{' $R/lerobot.log /tmp/lerobot_out/lerobot/lerobot.log 2>/dev/null | cut -c1-1500 >> $OUT/summary.log
tail -5 $R/lerobot.log >> $OUT/summary.log
echo "done in $(( $(date +%s) - T0 )) s" >> $OUT/summary.log
cat $OUT/summary.log | cut -c1-600
