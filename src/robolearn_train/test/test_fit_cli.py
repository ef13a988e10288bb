"""`fit` as users run it: the installed console script, --help, a short run, resume, and clear failures."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest

FIT = shutil.which('fit')
pytestmark = pytest.mark.skipif(FIT is None, reason='fit is not on PATH: run through scripts/with-env (make test)')


def _fit(*args: str, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run([FIT, *args], capture_output=True, text=True, timeout=timeout)


def test_help_documents_every_option():
    out = _fit('--help').stdout
    for option in ('--dataset', '--synthetic', '--policy', '--steps', '--batch-size', '--lr', '--schedule',
                   '--warmup-steps', '--device', '--amp', '--workers', '--seed', '--output', '--resume',
                   '--val-episodes', '--val-every', '--save-every', '--set', 'per-policy defaults', '--recipe',
                   '--image-size', '--pretrained-backbone', '--backbone-lr', '--adam-betas', '--ema', '--cache-dir',
                   '--cuda-graph', '--time-limit', 'torchrun', 'act-paper', 'diffusion-paper-full'):
        assert option in out, option


def test_short_run_then_resume(tmp_path, capsys):
    out = tmp_path / 'run'
    common = ['--synthetic', 'rotating_arm', '--set', 'vision_width=8', '--set', 'hidden_dims=[64]',
              '--set', 'horizon=4', '--batch-size', '16', '--lr', '1e-3', '--warmup-steps', '2', '--workers', '1',
              '--val-every', '5', '--save-every', '5', '--log-every', '5', '--output', str(out), '--no-progress']
    first = _fit('--policy', 'mlp', '--steps', '10', *common)
    assert first.returncode == 0, first.stderr
    summary = json.loads(first.stdout.strip().splitlines()[-1])
    assert summary['policy'] == 'mlp' and summary['steps'] == 10 and summary['device'] == 'cpu'
    assert (out / 'loss_curve.png').is_file() and (out / 'checkpoints' / 'step_0000005' / 'model.safetensors').is_file()

    second = _fit('--resume', str(out / 'checkpoints' / 'last'), '--steps', '15', *common)
    assert second.returncode == 0, second.stderr
    steps = [json.loads(line)['step'] for line in (out / 'metrics.jsonl').read_text().splitlines()
             if 'loss' in json.loads(line)]
    assert steps == [5, 10, 15]
    assert json.loads((out / 'checkpoints' / 'last' / 'config.json').read_text())['step'] == 15

    from robolearn_train.fit import main  # in this process: the refusal comes before any training
    assert main(['--resume', str(out / 'checkpoints' / 'last'), '--steps', '20', '--lr', '0.5',
                 *[a for a in common if a not in ('--lr', '1e-3')]]) == 2
    assert '--lr 0.5 (the run has 0.001)' in capsys.readouterr().err


def test_bad_inputs_fail_clearly(tmp_path):
    res = _fit('--policy', 'act', '--synthetic', 'two_path', '--set', 'camera_keys=["observation.images.top"]',
               '--steps', '1', '--output', str(tmp_path / 'x'), '--no-progress')
    assert res.returncode == 2 and 'observation.images.top' in res.stderr
    res = _fit('--policy', 'act', '--synthetic', 'two_path', '--set', 'heads=3', '--output', str(tmp_path / 'y'))
    assert res.returncode == 2 and "no field 'heads'" in res.stderr
    res = _fit('--resume', str(tmp_path / 'nope'), '--synthetic', 'two_path')
    assert res.returncode == 2 and 'config.json' in res.stderr
    res = _fit('--policy', 'act', '--dataset', str(tmp_path / 'no_dataset'), '--output', str(tmp_path / 'z'))
    assert res.returncode == 2 and 'meta/info.json' in res.stderr, res.stderr
