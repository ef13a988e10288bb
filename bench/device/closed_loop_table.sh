#!/usr/bin/env bash
# The closed-loop table of docs/closed-loop.md on an H200 machine (nvidia-h200-x2: the runs share its two GPUs) in two
# calls, the 10-minute limit per call:
#   call 1: bash bench/device/closed_loop_table.sh train DATASET MINUTES   (carry DATASET and .whl-sim)
#     trains act, act with random crops, diffusion, flow, mlp and make demo's CPU-sized act (its step count on 2
#     CPU cores in 30 minutes) together (bench/device/train_sweep.sh); the
#     checkpoints come back as tar parts and stay in /tmp/runs while the machine is warm
#   call 1b, at once: call 1 again: every run the time limit stopped goes on to the end of its schedule (flow's
#     30,000 steps need two calls: about 33 steps/s with three runs on one H200); the checkpoints come back again
#   call 2, at once, while the machine is warm: bash bench/device/closed_loop_table.sh eval   (carry .whl-sim)
#     every checkpoint closed loop on 50 held-out seeds on simulated time, two streams at a time: act and act_crop
#     (temporal ensembling), the better act again with `replace`, with 100 ms more delay and with a sampled latent,
#     mlp (blend), diffusion and flow (temporal ensembling from the noise's mean, 10 denoising steps per chunk: ~2.5
#     minutes each; flow trained with state noise and time_power 0.5 for 30,000 steps, docs/closed-loop.md "Flow
#     copied the state" and "A longer schedule")
set -uo pipefail
R=/tmp/runs
TE="--aggregation temporal_ensemble --threshold 0.8"
ACT="--policy act --set horizon=50 --set d_model=128 --set n_heads=4 --set dim_feedforward=512 --set n_encoder_layers=3 \
--set n_vae_encoder_layers=2 --set vision_width=24 --batch-size 64 --lr 2e-4"
SAMPLER="--set crop_ratio=0.9 --set down_dims=[48,96,192] --set vision_width=24 --set num_inference_steps=10 --batch-size 64"
if [ "$1" = train ]; then
  bash bench/device/train_sweep.sh "$2" "$3" 50 \
    "diffusion:--policy diffusion --recipe diffusion-paper $SAMPLER --steps ${SAMPLER_STEPS:-16000}" \
    "flow:--policy flow --recipe flow-paper $SAMPLER --set state_noise=0.1 --set time_power=0.5 --steps ${FLOW_STEPS:-30000}" \
    "act:$ACT --steps ${ACT_STEPS:-20000}" \
    "act_crop:$ACT --set crop_ratio=0.9 --steps ${ACT_STEPS:-20000}" \
    "mlp:--policy mlp --set vision_width=24 --batch-size 64 --lr 3e-4 --steps ${ACT_STEPS:-20000}" \
    "actdemo:--policy act $(PYTHONPATH=src/robolearn_eval python3 -c 'from robolearn_eval.demo import DEMO_FIT; print(" ".join(DEMO_FIT["act"]))' \
      2>/dev/null || echo MISSING) --steps ${DEMO_STEPS:-8000}"
else
  export WORKERS=$(( $(nproc) / 2 - 1 ))
  { bash bench/device/lockstep_runs.sh 50 "$R/act|$TE --delay 0.3" "$R/act_crop|$TE --delay 0.3" \
      "$R/mlp|--aggregation blend --threshold 0.5 --delay 0.3" "$R/actdemo|$TE --delay 0.3" > $OUT/stream1.log 2>&1
    # the variants of whichever act did better
    best=$(python3 -c "import json,sys; r={n: json.loads(open(f'$OUT/{n}.seed5000.eval.log').read().strip().splitlines()[-1])['success_rate'] for n in ('act','act_crop')}; print(max(r, key=r.get))")
    cp -r $R/$best $R/${best}_prior_latent && sed -i 's/"inference_latent": "zero"/"inference_latent": "prior"/' \
      $R/${best}_prior_latent/checkpoints/best/config.json
    cp -r $R/$best $R/${best}_replace && cp -r $R/$best $R/${best}_delay100
    bash bench/device/lockstep_runs.sh 50 "$R/${best}_replace|--aggregation replace --threshold 0.8 --delay 0.3" \
      "$R/${best}_delay100|$TE --delay 0.4" "$R/${best}_prior_latent|$TE --delay 0.3" >> $OUT/stream1.log 2>&1; } &
  bash bench/device/lockstep_runs.sh 50 "$R/diffusion|$TE --delay 0.1 --inference inference_noise=zero" \
    "$R/flow|$TE --delay 0.1 --inference inference_noise=zero" > $OUT/stream2.log 2>&1
  wait
  cat $OUT/stream1.log $OUT/stream2.log | cut -c1-700
  (cd $OUT && tar cJf evals.tar.xz *.eval.log stream*.log && rm -f *.eval.log stream*.log)  # 8 files come back at most
fi
