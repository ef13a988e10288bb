"""GPU-only paths of `fit`: batches from the host reaching a CUDA policy, the training step as a CUDA graph, and DDP
on two GPUs. Skipped where torch sees no GPU (CI); run on a GPU box with
``python -m pytest --noconftest src/robolearn_core/test/test_training_gpu.py`` (src/robolearn_core and
src/robolearn_train on PYTHONPATH).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from robolearn_core.dataset.synthetic import rotating_arm_dataset
from robolearn_core.policies import load_policy
from robolearn_core.training.trainer import fit
from tests.harness.tiny_policies import WITH_IMAGES, quick_settings

pytestmark = pytest.mark.skipif(not torch.cuda.is_available(), reason='needs a CUDA GPU')


@pytest.mark.parametrize('step', [{}, {'cuda_graph': 'off'}], ids=['default', 'eager'])
def test_batches_from_the_host_reach_a_cuda_policy(tmp_path, step):
    """--data-on-device no (and the automatic fallback, which takes the same path) with a CUDA policy: training
    and validation batches are moved to the GPU. Before, validation passed CPU batches and fit died at step 0."""
    source = rotating_arm_dataset(num_episodes=4, length=20, cameras=2)
    settings = quick_settings(tmp_path, 30, device='cuda', data_on_device='no', workers=2, **step)
    summary = fit(source, 'act', settings, WITH_IMAGES['act'])
    assert summary['data_path'] == 'cache' and summary['device'].startswith('cuda')
    assert summary['cuda_graph'] == (not step), 'one GPU captures the step unless told not to'
    assert summary['best_val_loss'] < summary['first_val_loss'], summary


def test_a_graphed_step_computes_what_the_eager_step_does():
    """Same model, batches and learning-rate schedule: eager steps and (3 eager warm-up steps + replays) agree."""
    from robolearn_core.training.graphed_step import GraphedStep

    torch.backends.cuda.matmul.allow_tf32 = False
    batches = [{'x': torch.randn(8, 16), 'y': torch.randn(8, 4)} for _ in range(8)]
    results = []
    for graphed in (False, True):
        torch.manual_seed(0)
        model = torch.nn.Sequential(torch.nn.Linear(16, 32), torch.nn.Tanh(), torch.nn.Linear(32, 4)).cuda()
        optimizer = torch.optim.AdamW([{'params': model.parameters(), 'lr': torch.tensor(1e-2, device='cuda')}],
                                      fused=True, capturable=True)

        def step(batch, model=model, optimizer=optimizer):
            loss = torch.nn.functional.mse_loss(model(batch['x']), batch['y'])
            loss.backward()
            torch.nn.utils.clip_grad_norm_(model.parameters(), 0.5, foreach=True)
            optimizer.step()
            return loss.detach()

        runner = GraphedStep(step, lambda optimizer=optimizer: optimizer.zero_grad(set_to_none=True))
        losses = []
        for i, batch in enumerate(batches):
            optimizer.param_groups[0]['lr'].fill_(1e-2 * (1 - i / 8))
            if graphed:
                losses.append(float(runner({k: v.pin_memory() for k, v in batch.items()})))
            else:
                optimizer.zero_grad(set_to_none=True)
                losses.append(float(step({k: v.cuda() for k, v in batch.items()})))
        assert (runner.graph is not None) == graphed
        results.append((losses, [p.detach().cpu() for p in model.parameters()]))
    np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-5, atol=1e-6)
    for a, b in zip(results[0][1], results[1][1]):
        torch.testing.assert_close(a, b, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('name', ['act', 'diffusion', 'flow'])
def test_graphed_training_trains_and_its_checkpoint_loads(tmp_path, name):
    source = rotating_arm_dataset(num_episodes=4, length=20, cameras=1, image_hw=(32, 32))
    overrides = {**WITH_IMAGES[name], 'crop_ratio': 0.875, 'color_jitter': 0.1}
    summary = fit(source, name, quick_settings(tmp_path, 150, device='cuda', batch_size=32, lr=3e-3), overrides)
    assert summary['cuda_graph'] and summary['data_path'] == 'device', summary
    # flow's velocity target falls more slowly (test_policy_training gives it twice the steps); 2x in 150 steps
    assert summary['best_val_loss'] * (2 if name == 'flow' else 3) < summary['first_val_loss'], summary
    policy = load_policy(summary['last_checkpoint'], device='cuda')
    chunk = policy.predict_chunk({k: source[3][k] for k in ('observation.state', 'observation.images.cam0')})
    assert chunk.shape == (policy.config.horizon, 6) and np.isfinite(chunk).all()


@pytest.mark.skipif(torch.cuda.device_count() < 2, reason='needs two GPUs')
def test_two_gpus_under_torchrun_train_a_policy_that_loads_like_a_one_gpu_one(tmp_path):
    core = Path(sys.modules['robolearn_core'].__file__).resolve().parents[1]  # src/robolearn_core
    env = {**os.environ, 'PYTHONPATH': os.pathsep.join([str(core), str(core.parent / 'robolearn_train'),
                                                        os.environ.get('PYTHONPATH', '')])}
    common = ['--synthetic', 'rotating_arm', '--policy', 'act', '--set', 'vision_width=8', '--set', 'd_model=64',
              '--set', 'n_heads=4', '--set', 'dim_feedforward=128', '--set', 'horizon=16', '--steps', '200',
              '--batch-size', '32', '--lr', '1e-3', '--warmup-steps', '20', '--val-every', '200', '--workers', '2',
              '--no-progress']
    runs = {}
    for n in (1, 2):
        res = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', str(n),
                              '-m', 'robolearn_train.fit', *common, '--output', str(tmp_path / f'gpus{n}')],
                             capture_output=True, text=True, timeout=500, env=env)
        assert res.returncode == 0, res.stderr[-3000:]
        runs[n] = json.loads([line for line in res.stdout.splitlines() if line.startswith('{')][-1])
    assert runs[2]['world_size'] == 2 and runs[1]['world_size'] == 1
    errors = {}
    source = rotating_arm_dataset()
    for n, summary in runs.items():
        policy = load_policy(summary['last_checkpoint'], device='cuda')
        err = []
        for i in (5, 45, 85, 125):  # chunks inside one 40-frame episode
            policy.reset()
            chunk = policy.predict_chunk({k: source[i][k] for k in ('observation.state', 'observation.images.cam0')})
            target = np.stack([source[i + j]['action'] for j in range(16)])
            err.append(np.abs(chunk - target).mean())
        errors[n] = float(np.mean(err))
    assert errors[2] < 2 * errors[1] + 0.5 and errors[2] < 5.0, errors
