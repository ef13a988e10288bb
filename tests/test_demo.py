"""make demo's program end to end on a tiny run: record, validate, plot, train, evaluate, roll out, report;
and an interrupted run continued: finished stages are kept."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from robolearn_core.dataset.reader import DatasetReader
from tests.harness.ros_graph import DomainLease

REPO = Path(__file__).resolve().parents[1]


def demo(tmp_path, *args):
    lease = DomainLease()
    try:
        env = {**os.environ, 'ROS_DOMAIN_ID': str(lease.domain_id), 'ROS_AUTOMATIC_DISCOVERY_RANGE': 'LOCALHOST'}
        return subprocess.run(['demo', '--runs', str(tmp_path), *args], capture_output=True, text=True, timeout=900,
                              cwd=REPO, env=env)
    finally:
        lease.release()


@pytest.mark.slow
def test_demo_runs_end_to_end_and_an_interrupted_run_continues(tmp_path):
    tiny = ['--episodes', '2', '--policy', 'mlp', '--eval-episodes', '1', '--device', 'cpu', '--max-episode-s', '4']
    first = demo(tmp_path, *tiny, '--steps', '0')          # fit refuses 0 steps: the run stops after the plots
    assert first.returncode == 1 and 'fit failed' in first.stderr, first.stdout + first.stderr
    (run,) = tmp_path.iterdir()
    state = json.loads((run / 'state.json').read_text())
    assert state['record']['done'] and state['record']['recorded_episodes'] == 2 and 'fit' not in state
    # evaluate retries start_episode right after each reset: the recorder's refusals are warnings, not ERROR lines
    assert state['record']['result']['error_lines'].get('recorder') is None, state['record']['result']['error_lines']
    recorded_in = state['record']['seconds']
    # each demonstration is whole, the first one too (the world starts its first seed on its own while the
    # cameras and the recorder come up; evaluate restarts it): the expert takes > 8 s, a tail of one less
    reader = DatasetReader(run / 'dataset')
    lengths = [end - start for start, end in map(reader.episode_range, range(reader.num_episodes))]
    assert min(lengths) > 6 * reader.fps, lengths
    # ...and starts at home, not with frames of the last episode's pose (recording starts once the world's clock
    # runs again, when the joint states have caught up with the reset)
    first = np.stack([reader.episode_arrays(e, ['observation.state'])['observation.state'][0]
                      for e in range(reader.num_episodes)])
    # (the expert may have turned the wrist ~15 units by the first frame; the last episode's pose has the jaws
    # open, 26 units from home's closed ones, and the arm 30+ units away)
    assert np.abs(first[:, 5] - first[0, 5]).max() < 5.0 and np.abs(first - first[0]).max() < 25.0, first
    assert all(e['sim_s'] > 6.0 for e in state['record']['result']['per_episode']), state['record']['result']

    # continue with a valid budget (the run's settings are kept, except what the new invocation cannot change)
    state['settings']['steps'] = 20
    (run / 'state.json').write_text(json.dumps(state))
    second = demo(tmp_path, *tiny)
    assert second.returncode == 0, second.stdout + second.stderr
    assert f'continuing {run}' in second.stdout
    report = json.loads((run / 'report.json').read_text())
    assert report['record']['seconds'] == recorded_in                      # not recorded again
    assert report['evaluate']['result']['episodes'] == 1 and report['evaluate']['result']['first_seed'] == 5000
    motion = report['evaluate']['result']['motion']  # the policy's chunks reached the executor and were played
    assert motion['episodes_without_a_chunk'] == 0 and motion['rejected_chunks'] == 0, motion
    assert (run / 'dataset' / 'meta' / 'info.json').exists() and list((run / 'plots').glob('*.png'))
    assert (run / 'train' / 'checkpoints' / 'best' / 'model.safetensors').exists()
    assert (run / 'rollout_front.mp4').stat().st_size > 0 and (run / 'rollout_plots' / 'episode_0_frames.png').exists()
    text = (run / 'report.md').read_text()
    assert 'success rate' in text and '| seed | success |' in text and 'loss_curve.png' in text

    # the same checkpoint on simulated time, without ROS (bench/lockstep_eval.py, the load-independent diagnostic)
    checkpoint = run / 'train' / 'checkpoints' / 'best'
    lockstep = subprocess.run([sys.executable, 'bench/lockstep_eval.py', '--checkpoint', str(checkpoint),
                               '--episodes', '1', '--max-episode-s', '2', '--sheets', str(tmp_path / 'sheets')],
                              capture_output=True, text=True, timeout=300, cwd=REPO)
    assert lockstep.returncode == 0, lockstep.stdout + lockstep.stderr
    episode, summary = (json.loads(line) for line in lockstep.stdout.strip().splitlines()[-2:])
    assert summary['episodes'] == 1 and sum(summary['outcomes'].values()) == 1 and episode['seed'] == 5000
    assert episode['outcome'] in ('success', 'never lifted', 'dropped', 'placed off target', 'not released')
    assert list((tmp_path / 'sheets').glob('5000_*.png'))

    # how far its chunk follows the state (bench/state_gain.py): one history frame, so both shifts are the same one
    gain = subprocess.run([sys.executable, 'bench/state_gain.py', '--checkpoint', str(checkpoint), '--dataset',
                           str(run / 'dataset'), '--episodes', '0', '--stride', '100', '--joints', 'wrist_roll.pos'],
                          capture_output=True, text=True, timeout=300, cwd=REPO)
    assert gain.returncode == 0, gain.stdout + gain.stderr
    result = json.loads(gain.stdout.strip().splitlines()[-1])
    assert result['frames'] >= 2 and list(result['gain']) == ['wrist_roll.pos'], result
    wrist = result['gain']['wrist_roll.pos']
    assert wrist['history'] == wrist['latest'] and all(np.isfinite(v) for v in wrist['history'].values()), wrist
