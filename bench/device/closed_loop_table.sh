#!/usr/bin/env bash
# The closed-loop table of docs/closed-loop.md on one H200 in two calls (the 10-minute limit per call):
#   call 1: bash bench/device/closed_loop_table.sh train DATASET MINUTES   (carry DATASET and .whl-sim)
#     trains act, diffusion, flow and mlp together (bench/device/train_sweep.sh), then runs act and mlp closed
#     loop on 50 held-out seeds, act again with `replace`, with 100 ms more delay, and with a sampled latent
#   call 2, at once, while the machine is warm: bash bench/device/closed_loop_table.sh samplers   (carry .whl-sim)
#     diffusion and flow closed loop (rtc), 10 denoising steps per chunk: ~2.5 minutes each
set -uo pipefail
R=/tmp/runs
TE="--aggregation temporal_ensemble --threshold 0.8"
if [ "$1" = train ]; then
  bash bench/device/train_sweep.sh "$2" "$3" 50 \
    "act:--policy act --set horizon=50 --set d_model=128 --set n_heads=4 --set dim_feedforward=512 --set n_encoder_layers=3 --set n_vae_encoder_layers=2 --set vision_width=24 --batch-size 64 --lr 2e-4 --steps 12000|$TE --delay 0.3" \
    "diffusion:--policy diffusion --recipe diffusion-paper --set crop_ratio=0.9 --set down_dims=[48,96,192] --set vision_width=24 --set num_inference_steps=10 --batch-size 64 --steps 12000" \
    "flow:--policy flow --recipe flow-paper --set crop_ratio=0.9 --set down_dims=[48,96,192] --set vision_width=24 --set num_inference_steps=10 --batch-size 64 --steps 12000" \
    "mlp:--policy mlp --set vision_width=24 --batch-size 64 --lr 3e-4 --steps 12000|--aggregation blend --threshold 0.5 --delay 0.3"
  # the same act checkpoint with ACT's z sampled from the prior instead of its mean, for the variants below
  cp -r $R/act $R/act_prior_latent && sed -i 's/"inference_latent": "zero"/"inference_latent": "prior"/' \
    $R/act_prior_latent/checkpoints/best/config.json
  cp -r $R/act $R/act_replace && cp -r $R/act $R/act_delay100
  bash bench/device/lockstep_runs.sh 50 "$R/act_replace|--aggregation replace --threshold 0.8 --delay 0.3" \
    "$R/act_delay100|$TE --delay 0.4" "$R/act_prior_latent|$TE --delay 0.3"
else
  bash bench/device/lockstep_runs.sh 50 "$R/diffusion|--aggregation rtc --threshold 0.5 --delay 0.1" \
    "$R/flow|--aggregation rtc --threshold 0.5 --delay 0.1"
fi
