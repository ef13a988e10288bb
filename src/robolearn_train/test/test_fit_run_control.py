"""`fit` processes stopped by a real signal or a time limit save `last` and report; torchrun runs it on several
processes; recipes and the pretrained-backbone option reach the run."""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest
import torch
from safetensors.torch import save_file

FIT = shutil.which('fit')
pytestmark = pytest.mark.skipif(FIT is None, reason='fit is not on PATH: run through scripts/with-env (make test)')
LONG_RUN = ['--synthetic', 'two_path', '--policy', 'mlp', '--set', 'hidden_dims=[32]', '--batch-size', '8',
            '--steps', '1000000', '--log-every', '1', '--val-every', '1000000', '--save-every', '1000000',
            '--workers', '0', '--no-progress']


def _summary(stdout: str) -> dict:
    return json.loads(stdout.strip().splitlines()[-1])


def _logged_steps(out) -> list[int]:
    path = out / 'metrics.jsonl'
    return [json.loads(line)['step'] for line in path.read_text().splitlines()] if path.is_file() else []


@pytest.mark.parametrize('sig, code', [(signal.SIGINT, 130), (signal.SIGTERM, 143)])
def test_a_signalled_run_saves_last_and_prints_its_summary(tmp_path, sig, code):
    out = tmp_path / 'run'
    proc = subprocess.Popen([FIT, *LONG_RUN, '--output', str(out)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True)
    deadline = time.monotonic() + 120
    while len(_logged_steps(out)) < 3:  # metrics.jsonl is flushed at every log line, while the run goes on
        assert proc.poll() is None and time.monotonic() < deadline, proc.communicate()
        time.sleep(0.1)
    proc.send_signal(sig)
    stdout, stderr = proc.communicate(timeout=60)
    assert proc.returncode == code, stderr
    summary = _summary(stdout)
    assert summary['interrupted'] == signal.Signals(sig).name and 0 < summary['steps_done'] < 1000000
    saved = json.loads((out / 'checkpoints' / 'last' / 'config.json').read_text())
    assert saved['step'] == summary['steps_done'] == _logged_steps(out)[-1]
    assert json.loads((out / 'summary.json').read_text())['steps_done'] == summary['steps_done']
    assert (out / 'checkpoints' / 'last' / 'training_state.pt').is_file()


def test_a_time_limit_stops_the_run_cleanly(tmp_path):
    out = tmp_path / 'run'
    res = subprocess.run([FIT, *LONG_RUN, '--output', str(out), '--time-limit', '1s'], capture_output=True, text=True,
                         timeout=180)
    assert res.returncode == 0, res.stderr
    summary = _summary(res.stdout)
    assert summary['interrupted'] == 'time_limit' and summary['steps_done'] > 0
    assert json.loads((out / 'checkpoints' / 'last' / 'config.json').read_text())['step'] == summary['steps_done']


def test_torchrun_trains_one_policy_on_two_processes(tmp_path):
    """DDP (gloo on CPU here; NCCL on GPUs): one summary, rank 0's checkpoint, samples counted over both ranks."""
    out = tmp_path / 'ddp'
    env = {**os.environ, 'OMP_NUM_THREADS': '1'}
    res = subprocess.run([sys.executable, '-m', 'torch.distributed.run', '--standalone', '--nproc-per-node', '2', FIT,
                          '--synthetic', 'two_path', '--policy', 'mlp', '--set', 'hidden_dims=[64]', '--device', 'cpu',
                          '--steps', '40', '--batch-size', '16', '--lr', '3e-3', '--workers', '0', '--val-every', '40',
                          '--log-every', '10', '--output', str(out), '--no-progress'],
                         capture_output=True, text=True, timeout=240, env=env)
    assert res.returncode == 0, res.stderr[-3000:]
    summaries = [json.loads(line) for line in res.stdout.splitlines() if line.startswith('{')]
    assert len(summaries) == 1, res.stdout  # rank 0 reports; the other rank trains silently
    summary = summaries[0]
    assert summary['world_size'] == 2 and summary['steps_done'] == 40
    assert summary['best_val_loss'] < summary['first_val_loss'], summary
    from robolearn_core.policies import load_policy
    policy = load_policy(summary['last_checkpoint'])
    assert policy.predict_chunk({'observation.state': [0.0, -1.0]}).shape == (16, 2)


def test_a_recipe_and_a_pretrained_backbone_reach_the_run(tmp_path):
    from robolearn_core.policies.common.vision import ResNet18

    weights = {k: torch.rand_like(v) + 0.5 if k.endswith('running_var') else v
               for k, v in ResNet18(8, norm='batch').state_dict().items()}
    save_file(weights, tmp_path / 'r18.safetensors')
    out = tmp_path / 'recipe'
    res = subprocess.run([FIT, '--synthetic', 'rotating_arm', '--recipe', 'diffusion-paper', '--set', 'down_dims=[16,32]',
                          '--set', 'vision_width=8', '--set', 'horizon=8', '--pretrained-backbone',
                          str(tmp_path / 'r18.safetensors'), '--steps', '3', '--batch-size', '4', '--workers', '0',
                          '--output', str(out), '--no-progress'], capture_output=True, text=True, timeout=240)
    assert res.returncode == 0, res.stderr
    settings = json.loads((out / 'settings.json').read_text())
    assert settings['train']['recipe'] == 'diffusion-paper' and settings['train']['adam_betas'] == [0.95, 0.999]
    assert settings['train']['ema_decay'] == 0.9999 and settings['deployment']['execute_steps'] == 8
    policy = settings['policy']
    assert policy['crop_ratio'] == 0.9 and policy['down_dims'] == [16, 32] and policy['vision_norm'] == 'frozen_batch'
    from robolearn_train.fit import main
    with pytest.raises(SystemExit, match='trains act, not --policy flow'):
        main(['--synthetic', 'rotating_arm', '--recipe', 'act-paper', '--policy', 'flow'])
