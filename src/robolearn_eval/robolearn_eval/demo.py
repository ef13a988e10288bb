"""`make demo`: from demonstrations to a policy that does the task, in the simulated world, end to end.

1. record: the scripted expert demonstrates the task through the teleop/recording graph (world with simulated
   Feetech buses, both so100_drivers, teleop, two sim cameras, recorder_node); failed demonstrations, and
   those in which the expert lost the cube and grasped it again, are discarded and replaced by further seeds,
   as a careful operator would (`evaluate --expert --record`);
2. validate and plot the dataset (`dataset validate`, `dataset plot`);
3. train a policy on it (`fit`; ACT by default, sized to reach the goal on 2 CPU cores; the GPU when there is one);
4. evaluate it closed-loop through the deployment graph (policy_node + 50 Hz executor_node) on held-out seeds
   (`evaluate --checkpoint`);
5. record one more held-out rollout of the policy for the report's contact sheet and video.

Everything goes under runs/demo/<timestamp>/: dataset/, checkpoint/, rollout/, logs, report.md (success rate,
loss curve, per-episode table, contact sheet, video) and report.json. Re-running continues the newest
unfinished run: finished stages are kept, an interrupted recording continues with further seeds, an
interrupted training resumes from its last checkpoint.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from datetime import datetime, timezone
from pathlib import Path

#: fit arguments of the demo's policies: sized so that training fits the demo's budget on 2 CPU cores
DEMO_FIT = {
    # sized for 2 CPU cores (~60 samples/s): 48x64 images, a small transformer; an EMA of the weights (measured
    # on simulated time over 50 held-out seeds, docs/closed-loop.md: 38/50 with it, 32-34/50 in three runs without)
    # and random crops of 90% (the GPU recipe's; on one demo dataset 44/50 validation seeds with them, 37/50 without)
    'act': ['--image-size', '48x64', '--set', 'horizon=30', '--set', 'd_model=96', '--set', 'n_heads=4',
            '--set', 'dim_feedforward=384', '--set', 'n_encoder_layers=2', '--set', 'n_vae_encoder_layers=1',
            '--set', 'vision_width=12', '--set', 'latent_dim=32', '--set', 'kl_weight=10', '--set', 'crop_ratio=0.9',
            '--batch-size', '32', '--lr', '3e-4', '--ema', '0.999'],
    'diffusion': ['--recipe', 'diffusion-paper', '--set', 'down_dims=[64,128,256]', '--set', 'vision_width=16',
                  '--batch-size', '32'],
    # flow with state noise and training times nearer the data end (docs/closed-loop.md, "Flow copied the state")
    'flow': ['--recipe', 'flow-paper', '--set', 'down_dims=[64,128,256]', '--set', 'vision_width=16',
             '--set', 'state_noise=0.1', '--set', 'time_power=0.5', '--batch-size', '32'],
    'mlp': ['--set', 'vision_width=16', '--batch-size', '64'],
}
#: evaluate arguments of the demo's policies: the executor's merge mode and g (ensembling wants a fresh chunk
#: often), and for the samplers where they start: temporal ensembling from the noise's mean did better for diffusion
#: and flow than rtc from fresh noise (docs/closed-loop.md, "Where the samplers start")
DEMO_DEPLOY = {
    'act': ['--aggregation', 'temporal_ensemble', '--threshold', '0.8'],
    'diffusion': ['--aggregation', 'temporal_ensemble', '--threshold', '0.8', '--inference-noise', 'zero'],
    'flow': ['--aggregation', 'temporal_ensemble', '--threshold', '0.8', '--inference-noise', 'zero'],
    'mlp': ['--aggregation', 'blend', '--threshold', '0.5'],
}
STAGES = ('record', 'validate', 'plot', 'fit', 'evaluate', 'rollout', 'report')


class Stage:
    """Run one stage as its own command (as a user would): progress to the terminal, everything to its log."""

    def __init__(self, run_dir: Path, state: dict) -> None:
        self.run_dir, self.state = run_dir, state

    def done(self, name: str) -> bool:
        return self.state.get(name, {}).get('done', False)

    def run(self, name: str, cmd: list[str]) -> dict:
        print(f'\ndemo: {name}: {" ".join(cmd)}', flush=True)
        start = time.monotonic()
        log = self.run_dir / f'{name}.log'
        with open(log, 'a') as out:
            proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, bufsize=1)
            stdout: list[str] = []   # read beside stderr: a report over the pipe's 64 KiB would otherwise block both
            reader = threading.Thread(target=lambda: stdout.extend(proc.stdout.read().splitlines()), daemon=True)
            reader.start()
            for line in proc.stderr:       # progress bars and logs: shown and kept
                sys.stderr.write(line)
                out.write(line)
            reader.join()
            out.write('\n'.join(stdout) + '\n')
        proc.wait()
        if proc.returncode != 0:
            raise RuntimeError(f'{name} failed (exit {proc.returncode}); see {log}')
        lines = [line for line in stdout if line.strip()]
        for line in lines[-3:]:
            print(f'demo: {name}: {line[:300]}', flush=True)
        result = {'seconds': round(time.monotonic() - start, 1) + self.state.get(name, {}).get('seconds', 0.0),
                  'log': str(log), 'done': True}
        if lines and lines[-1].startswith('{'):
            result['result'] = json.loads(lines[-1])
        self.state[name] = result
        (self.run_dir / 'state.json').write_text(json.dumps(self.state, indent=2))
        return result


def latest_unfinished(runs: Path) -> Path | None:
    for run in sorted(runs.glob('*'), reverse=True):
        state = run / 'state.json'
        if state.is_file() and not json.loads(state.read_text()).get('report', {}).get('done'):
            return run
    return None


def recorded_episodes(dataset: Path) -> int:
    info = dataset / 'meta' / 'info.json'
    return json.loads(info.read_text())['total_episodes'] if info.is_file() else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog='demo', description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    root = Path(os.environ.get('ROBOLEARN_ROOT', Path.cwd()))
    parser.add_argument('--runs', type=Path, default=root / 'runs' / 'demo', help='parent of the runs (default: %(default)s)')
    parser.add_argument('--new', action='store_true', help='start a new run even if the newest one is unfinished')
    parser.add_argument('--episodes', type=int, default=50, help='expert demonstrations to record (default 50)')
    parser.add_argument('--policy', default='act', choices=sorted(DEMO_FIT), help='policy to train (default act)')
    parser.add_argument('--train-minutes', type=float, default=30.0, help='training budget in minutes (default 30)')
    parser.add_argument('--steps', type=int, default=8000,
                        help='training steps: the learning-rate schedule ends here (default 8000: ACT does about 5 '
                             'steps/s on 2 CPU cores, so its schedule ends inside the 30-minute budget)')
    parser.add_argument('--eval-episodes', type=int, default=20, help='held-out evaluation episodes (default 20)')
    parser.add_argument('--device', default='auto', help='training and inference device (auto: cuda if there is one)')
    parser.add_argument('--max-episode-s', type=float, default=30.0, help='simulated seconds the policy gets per episode '
                        '(default 30)')
    args = parser.parse_args(argv)
    run_dir = None if args.new else latest_unfinished(args.runs)
    if run_dir is None:
        run_dir = args.runs / datetime.now(timezone.utc).strftime('%Y%m%d-%H%M%S')
        run_dir.mkdir(parents=True)
        print(f'demo: writing to {run_dir}', flush=True)
    else:
        print(f'demo: continuing {run_dir} (finished stages are kept; `demo --new` starts over)', flush=True)
    state_file = run_dir / 'state.json'
    state = json.loads(state_file.read_text()) if state_file.is_file() else {'settings': vars(args) | {'runs': str(args.runs)}}
    settings = state['settings']
    stage = Stage(run_dir, state)
    dataset, train_dir, rollout = run_dir / 'dataset', run_dir / 'train', run_dir / 'rollout'
    checkpoint = train_dir / 'checkpoints' / 'best'
    policy = settings['policy']
    deploy = [*DEMO_DEPLOY[policy], '--device', settings['device'],
              '--max-episode-s', str(settings.get('max_episode_s', 30.0))]  # (runs from before the option: 30)
    started = time.monotonic()
    try:
        if not stage.done('record'):
            have = recorded_episodes(dataset)
            next_seed = state.get('record', {}).get('next_seed', 0)
            if have < settings['episodes']:
                r = stage.run('record', ['evaluate', '--expert', '--episodes', str(settings['episodes'] - have), '--seed',
                                         str(next_seed), '--record', str(dataset), '--json'])
                r['next_seed'] = next_seed + r['result']['episodes']
                r['recorded_episodes'] = recorded_episodes(dataset)
        if not stage.done('validate'):
            stage.run('validate', ['dataset', 'validate', str(dataset)])
        if not stage.done('plot'):
            stage.run('plot', ['dataset', 'plot', str(dataset), '--episode', '0', '--out', str(run_dir / 'plots')])
        if not stage.done('fit'):
            last = train_dir / 'checkpoints' / 'last'
            resume = ['--resume', str(last)] if (last / 'config.json').is_file() else ['--policy', policy, *DEMO_FIT[policy]]
            stage.run('fit', ['fit', '--dataset', str(dataset), *resume, '--steps', str(settings['steps']),
                              '--time-limit', str(settings['train_minutes'] * 60), '--device', settings['device'],
                              '--output', str(train_dir), '--val-every', '500', '--save-every', '1000'])
        if not stage.done('evaluate'):
            stage.run('evaluate', ['evaluate', '--checkpoint', str(checkpoint), '--episodes', str(settings['eval_episodes']),
                                   '--seed', '5000', *deploy,
                                   '--table', str(run_dir / 'episodes.md'), '--json'])
        if not stage.done('rollout'):
            shutil.rmtree(rollout, ignore_errors=True)
            stage.run('rollout', ['evaluate', '--checkpoint', str(checkpoint), '--episodes', '1', '--seed', '9000',
                                  *deploy,
                                  '--record', str(rollout), '--video-codec', 'h264', '--json'])
            stage.run('rollout_plot', ['dataset', 'plot', str(rollout), '--episode', '0', '--out', str(run_dir / 'rollout_plots'),
                                       '--frames', '10'])
            videos = sorted((rollout / 'videos').glob('observation.images.front/*/*.mp4'))
            if videos:
                shutil.copy(videos[0], run_dir / 'rollout_front.mp4')
        write_report(run_dir, state, time.monotonic() - started)
        state['report'] = {'done': True}
        state_file.write_text(json.dumps(state, indent=2))
        return 0
    except (RuntimeError, KeyError) as e:
        print(f'demo: {e}\ndemo: run `make demo` again to continue from here', file=sys.stderr)
        write_report(run_dir, state, time.monotonic() - started, error=str(e))
        return 1


def write_report(run_dir: Path, state: dict, seconds: float, error: str = '') -> None:
    """report.md and report.json: what was recorded, trained and measured, with pictures."""
    s = state['settings']
    lines = ['# robolearn demo', '', f'Run: `{run_dir}`', '']
    rec = state.get('record', {}).get('result')
    if rec:
        lines.append(f"- **Demonstrations:** {state['record'].get('recorded_episodes', rec.get('recorded_episodes'))} "
                     f"successful expert episodes recorded through the ROS graph into `dataset/` ({rec['episodes']} seeds "
                     f"tried; discarded (failed, or the cube grasped again): {rec.get('discarded_seeds', rec['failed_seeds'])}; "
                     f"real-time factor {rec['real_time_factor']:.3f}).")
    fit = state.get('fit', {}).get('result')
    if fit:
        stopped = f" (of {fit.get('steps')}: stopped by the time budget)" if fit.get('interrupted') == 'time_limit' else ''
        lines.append(f"- **Training:** `{s['policy']}` on {fit.get('device')}, {fit.get('steps_done', fit.get('steps'))} "
                     f"steps{stopped} in {state['fit']['seconds']:.0f} s; validation loss {fit.get('first_val_loss'):.4g} -> "
                     f"{fit.get('best_val_loss'):.4g} (best). ![loss curve](train/loss_curve.png)")
    ev = state.get('evaluate', {}).get('result')
    if ev:
        mean_t = ev['mean_time_to_success_s']
        lines += [f"- **Closed loop:** success rate **{ev['success_rate']:.2f}** over {ev['episodes']} held-out seeds "
                  f"({ev['first_seed']}..{ev['first_seed'] + ev['episodes'] - 1}) through policy_node + executor_node "
                  f"({ev.get('aggregation')}); mean time to success {'-' if mean_t is None else f'{mean_t:.1f} s'}; "
                  f"real-time factor {ev['real_time_factor']:.3f}, simulated time lost {ev['sim_time_lost_s']:.2f} s.",
                  f"- **Motion:** {json.dumps(ev.get('motion'))}"]
    if (run_dir / 'episodes.md').is_file():
        lines += ['', '## Episodes', '', (run_dir / 'episodes.md').read_text()]
    sheet = run_dir / 'rollout_plots' / 'episode_0_frames.png'
    if (run_dir / 'rollout_front.mp4').is_file():
        lines += ['', '## A rollout (held-out seed 9000)', '', '[front camera video](rollout_front.mp4)', '']
    if sheet.is_file():
        lines.append('![rollout contact sheet](rollout_plots/episode_0_frames.png)')
    lines += ['', '## Time by stage', '', '| stage | seconds |', '| --- | --- |']
    lines += [f'| {name} | {state[name]["seconds"]} |' for name in STAGES if name in state and 'seconds' in state[name]]
    lines.append(f'| this invocation | {seconds:.0f} |')
    if error:
        lines += ['', f'**Stopped:** {error}']
    (run_dir / 'report.md').write_text('\n'.join(lines) + '\n')
    (run_dir / 'report.json').write_text(json.dumps(state, indent=2))
    print('\n'.join(lines), flush=True)


if __name__ == '__main__':
    sys.exit(main())
