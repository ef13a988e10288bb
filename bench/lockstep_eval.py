#!/usr/bin/env python3
"""A checkpoint in the simulated world on simulated time, in one process (no ROS): a diagnostic beside `evaluate`.

Why beside the graph evaluation: `evaluate --checkpoint` runs the real graph on the wall clock, so what it
measures mixes the policy with the machine (inference time, load). Here the world waits for the policy:
the same pieces the nodes wire (DeployedPolicy, ChunkExecutor with its safety filter, the scene renderer,
the follower's position servos) run in lock step at 50 Hz, each chunk passes the executor node's checks
(chunk_validation: joint limits with their tolerance, age), and arrives a fixed ``--delay``
of simulated seconds after its observation. The result depends on the checkpoint and the delay only, not on
machine load, so it separates "the policy cannot do the task" from "the graph or the machine spoils it",
and it runs episodes in parallel processes. Each failed episode is classified from the cube's path:
``never lifted`` (the grasp missed), ``dropped`` (lifted, then on the table away from the target),
``placed off target`` / ``not released``.

    scripts/with-env python bench/lockstep_eval.py --checkpoint DIR --episodes 20 --seed 5000 \
        --aggregation temporal_ensemble --threshold 0.8 --delay 0.3 --workers 2

``--sweep`` runs the deployment comparison instead (docs/deployment.md): every ``--modes`` x g in {0.2, 0.5,
0.8} x delay in {0, 0.1, 0.2} s on the same ``--episodes`` seeds, and per cell the seams at chunk switches
(the largest switch step, and what a switch added beyond the replaced plan's and the new chunk's own step:
robolearn_core.control.motion_stats), the largest step between switches, the policy's own step per tick, RMS
jerk, stalls and time held;
``--table FILE`` writes them as markdown. On simulated time a slow CPU does not starve the arm, so the
delays are the injected ones only.

    scripts/with-env python bench/lockstep_eval.py --checkpoint DIR --sweep --modes rtc,blend --episodes 1 \
        --max-episode-s 8 --workers 2 --table FILE

Last line: one JSON object.
"""

from __future__ import annotations

import argparse
import collections
import itertools
import json
import multiprocessing as mp
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from robolearn_core.control.chunk_executor import ExecutorSettings
from robolearn_sim.scene import CUBE_HALF
from robolearn_train.fit import parse_overrides

CONTROL_RATE = 50.0
CAMERA_FPS = 30.0
LIFTED_Z = CUBE_HALF + 0.0225  # m: the cube's centre 22.5 mm above its resting height
DROPPED_DISTANCE = 0.06  # m from the target's centre: further, the cube fell on the way, not while placed
SEAM_KEYS = ('max_switch_jump_rad', 'max_switch_added_rad', 'max_step_rad')
SWEEP_THRESHOLDS, SWEEP_DELAYS = (0.2, 0.5, 0.8), (0.0, 0.1, 0.2)
SWEEP_COLUMNS = ('aggregation', 'threshold', 'delay_s', 'max_switch_jump_rad', 'max_switch_added_rad', 'max_step_rad',
                 'policy_step_rad', 'rms_jerk', 'stalls', 'held_fraction', 'chunks')


def _run_episode(args: argparse.Namespace, seed: int, state: dict) -> dict:
    """One closed-loop episode on simulated time; ``state`` holds the per-process world and policy."""
    from robolearn_core.control.chunk_executor import ChunkExecutor
    from robolearn_core.control.chunk_validation import ChunkRejected, validate_chunk
    from robolearn_core.control.motion_stats import chunk_step_per_tick
    from robolearn_core.control.safety import SafetyFilter
    from robolearn_core.so_arm.joints import JOINT_NAMES

    world, renderer, policy, calibration = state['world'], state['renderer'], state['policy'], state['calibration']
    settings = ExecutorSettings(aggregation=args.aggregation, threshold=args.threshold, ensemble_m=args.ensemble_m,
                                blend_window=args.blend_window)
    executor = ChunkExecutor(settings, SafetyFilter.from_calibration(calibration, settings.max_step,
                                                                      settings.ramp_speed, settings.period))
    world.reset(seed)
    policy.reset()
    dt = 1.0 / CONTROL_RATE
    enabled = np.ones(6, dtype=bool)
    in_flight: list[tuple[float, object]] = []  # (arrival time, chunk)
    policy_steps: list[float] = []  # per chunk: its largest setpoint-to-setpoint motion per tick
    next_frame, last_obs_t = 0.0, None
    lifted, max_z, t_success = False, 0.0, None
    tiles: list[np.ndarray] = []  # every 0.5 s, the cameras side by side (--sheets)
    lower, upper = calibration.limits_radians()
    rejected = 0
    trace: dict[str, list] = collections.defaultdict(list)  # --trace: per tick, for a failure hunt
    steps = int(round(args.max_episode_s * CONTROL_RATE))
    for k in range(steps):
        t = k * dt
        joints = world.follower_backend.present_positions()
        if t + 1e-9 >= next_frame:
            pos, quat = world.cube_pose()
            renderer.set_state(joints, pos, quat, world.target_xy())
            images = {cam: renderer.render(cam) for cam in policy.cameras}
            policy.observe(t, joints, images)
            if args.sheets and round(t * CAMERA_FPS) % 15 == 0:
                tiles.append(np.concatenate([images[c] for c in policy.cameras], axis=1))
            last_obs_t = t
            next_frame += 1.0 / CAMERA_FPS
        while in_flight and in_flight[0][0] <= t + 1e-9:
            chunk = in_flight.pop(0)[1]
            try:  # the executor node's checks (joint limits with their tolerance, age) before the queue
                executor.on_chunk(validate_chunk(JOINT_NAMES, chunk.positions, chunk.times, chunk.stamp, t,
                                                 lower=lower, upper=upper), t)
            except ChunkRejected:
                rejected += 1
        executor.on_state(joints)
        tick = executor.tick(t)
        if tick.command is not None:
            world.follower_backend.set_goal_positions(tick.command, enabled)
        if tick.requested and last_obs_t is not None:
            chunk = policy.infer(last_obs_t, pending=tick.request, delay=args.delay + (t - last_obs_t))
            if chunk is not None:
                in_flight.append((t + args.delay, chunk))
                if len(chunk.times) > 1:
                    policy_steps.append(chunk_step_per_tick(chunk.positions, float(np.median(np.diff(chunk.times))), dt))
                if args.trace:  # what the policy asked for, before aggregation and the safety filter
                    trace['chunk_t'].append(t)
                    trace['chunk_obs_t'].append(last_obs_t)
                    trace['chunk_positions'].append(chunk.positions)
        world.step(dt)
        cube_pos, cube_quat = world.cube_pose()
        if args.trace:
            trace['t'].append(t)
            trace['joints'].append(joints)
            trace['command'].append(tick.command if tick.command is not None else np.full(6, np.nan))
            trace['cube_pos'].append(cube_pos)
            trace['cube_quat'].append(cube_quat)
        z = float(cube_pos[2])
        max_z = max(max_z, z)
        lifted |= z > LIFTED_Z
        if world.success():
            t_success = t + dt
            break
    cube = world.cube_pose()[0]
    distance = float(np.linalg.norm(cube[:2] - world.target_xy()))
    if t_success is not None:
        outcome = 'success'
    elif not lifted:
        outcome = 'never lifted'
    elif cube[2] > LIFTED_Z:
        outcome = 'not released'
    else:  # on the table, off the target square or on it but not at rest (task_success)
        outcome = 'dropped' if distance > DROPPED_DISTANCE else 'placed off target'
    if args.trace:
        Path(args.trace).mkdir(parents=True, exist_ok=True)
        np.savez(Path(args.trace) / f'{seed}_{outcome.replace(" ", "_")}.npz',
                 **{k: np.asarray(v, dtype=float) for k, v in trace.items()})
    if args.sheets:
        _write_sheet(Path(args.sheets) / f'{seed}_{outcome.replace(" ", "_")}.png', tiles)
    motion = executor.motion.summary()
    return {'seed': seed, 'success': t_success is not None, 'outcome': outcome, 'time_to_success_s': t_success,
            'cube_target_distance_m': round(distance, 4), 'max_cube_z_m': round(max_z, 4),
            'stalls': executor.stalls, 'rejected_chunks': rejected,
            'held_fraction': round(executor.held_ticks / max(executor.ticks, 1), 4),
            'rms_jerk': round(float(motion.get('rms_jerk', float('nan'))), 1),
            **{k: round(motion[k], 4) for k in SEAM_KEYS},
            'policy_step_rad': round(float(np.median(policy_steps)), 4) if policy_steps else None,
            'chunks': executor.chunks}


def _write_sheet(path: Path, tiles: list[np.ndarray], columns: int = 6) -> None:
    """A contact sheet of the episode, one tile per 0.5 s, left to right then down."""
    import cv2

    blank = np.zeros_like(tiles[0])
    rows = [np.concatenate((tiles[i:i + columns] + [blank] * columns)[:columns], axis=1)
            for i in range(0, len(tiles), columns)]
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), cv2.cvtColor(np.concatenate(rows, axis=0), cv2.COLOR_RGB2BGR))


_STATE: dict = {}


def _init_worker(args: argparse.Namespace) -> None:
    import torch

    from robolearn_core.feetech.sim_bus import matching_calibration
    from robolearn_core.policies.policy_ensemble import deploy_checkpoints
    from robolearn_sim.scene_renderer import MIN_SIZE, SceneRenderer
    from robolearn_sim.world import World

    torch.set_num_threads(args.torch_threads)
    calibration = matching_calibration()
    policy = deploy_checkpoints(args.checkpoint, args.device, calibration, inference=args.inference)
    h, w = policy.deployment.cameras[f'observation.images.{policy.cameras[0]}']
    h, w = max(h, MIN_SIZE[0]), max(w, MIN_SIZE[1])  # smaller training images: the policy resizes, as in the graph
    world = World()
    _STATE.update(world=world, renderer=SceneRenderer(h, w, model=world.model), policy=policy, calibration=calibration)


def _worker(job: tuple[argparse.Namespace, int]) -> dict:
    args, seed = job
    if not _STATE:
        _init_worker(args)
    return _run_episode(args, seed, _STATE)


def _sweep_cell(rows: list[dict]) -> dict:
    """One (mode, g, delay) cell over its episodes: the largest seams, mean jerk and time held, all stalls."""
    steps = [r['policy_step_rad'] for r in rows if r['policy_step_rad'] is not None]
    cell = {k: max(r[k] for r in rows) for k in SEAM_KEYS}
    return {**cell, 'policy_step_rad': round(float(np.median(steps)), 4) if steps else None,
            'rms_jerk': round(float(np.mean([r['rms_jerk'] for r in rows])), 1),
            'stalls': sum(r['stalls'] for r in rows),
            'held_fraction': round(float(np.mean([r['held_fraction'] for r in rows])), 4),
            'rejected_chunks': sum(r['rejected_chunks'] for r in rows), 'chunks': sum(r['chunks'] for r in rows),
            'success': sum(r['success'] for r in rows)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--checkpoint', required=True, help='a fit checkpoint directory (checkpoints/best or the run); several '
                        'of one recipe, comma-separated: their chunks averaged (ACT, mlp; flow and diffusion with '
                        '--inference inference_noise=zero)')
    parser.add_argument('--inference', action='append', default=[], metavar='KEY=VALUE',
                        help='a sampling setting that replaces the checkpoint\'s (repeatable): inference_noise='
                             'fresh|episode|zero (flow, diffusion), num_inference_steps=N, inference_latent=zero|prior (act)')
    parser.add_argument('--episodes', type=int, default=20)
    parser.add_argument('--seed', type=int, default=5000, help='first seed (evaluation seeds are 5000..9999)')
    parser.add_argument('--aggregation', default='temporal_ensemble')
    parser.add_argument('--threshold', type=float, default=0.8, help='g: request when remaining / horizon < g')
    parser.add_argument('--ensemble-m', type=float, default=ExecutorSettings.ensemble_m,
                        help='temporal_ensemble: weight exp(-m i) by age rank; < 0: the newest chunk dominates')
    parser.add_argument('--blend-window', type=float, default=ExecutorSettings.blend_window,
                        help='blend, rtc: crossfade seconds')
    parser.add_argument('--delay', type=float, default=0.3,
                        help='simulated seconds from a request to its chunk (the graph on 2 CPU cores measures '
                             '0.25-0.34 s for act)')
    parser.add_argument('--max-episode-s', type=float, default=30.0)
    parser.add_argument('--device', default='cpu')
    parser.add_argument('--workers', type=int, default=1, help='episodes in parallel processes')
    parser.add_argument('--torch-threads', type=int, default=1)
    parser.add_argument('--sheets', metavar='DIR', help='write a contact sheet per episode here (every 0.5 s)')
    parser.add_argument('--sweep', action='store_true', help='every --modes x g {0.2, 0.5, 0.8} x delay {0, 0.1, '
                        '0.2} s on the same seeds (the deployment table); --aggregation, --threshold, --delay unused')
    parser.add_argument('--modes', default='rtc,blend', help='--sweep: aggregation modes, comma-separated')
    parser.add_argument('--table', type=Path, metavar='FILE', help='--sweep: write the cells as a markdown table')
    parser.add_argument('--trace', metavar='DIR', help='write each episode\'s ticks here (npz: t, joints, command, '
                        'cube_pos, cube_quat; and per chunk asked for: chunk_t, chunk_obs_t, chunk_positions in rad)')
    args = parser.parse_args()
    args.inference = parse_overrides(args.inference, 'lockstep_eval: --inference')

    start = time.perf_counter()
    seeds = list(range(args.seed, args.seed + args.episodes))
    if args.sweep:
        cells = list(itertools.product(args.modes.split(','), SWEEP_THRESHOLDS, SWEEP_DELAYS))
        jobs = [(argparse.Namespace(**{**vars(args), 'aggregation': m, 'threshold': g, 'delay': d}), s)
                for m, g, d in cells for s in seeds]
    else:
        jobs = [(args, s) for s in seeds]
    if args.workers > 1:
        with mp.get_context('spawn').Pool(args.workers) as pool:
            results = list(tqdm(pool.imap(_worker, jobs), total=len(jobs), desc='lockstep episodes', unit='ep'))
    else:
        results = [_worker(j) for j in tqdm(jobs, desc='lockstep episodes', unit='ep')]
    if args.sweep:
        rows = [{'aggregation': j.aggregation, 'threshold': j.threshold, 'delay_s': j.delay, **r}
                for (j, _), r in zip(jobs, results)]
        table = [{'aggregation': m, 'threshold': g, 'delay_s': d, **_sweep_cell(
            [r for r in rows if (r['aggregation'], r['threshold'], r['delay_s']) == (m, g, d)])} for m, g, d in cells]
        for c in table:
            print(json.dumps(c))
        if args.table:
            from markdown_table import markdown_table  # bench/, beside this script

            args.table.write_text(markdown_table(table, SWEEP_COLUMNS))
        print(json.dumps({'benchmark': 'lockstep_sweep', 'checkpoint': args.checkpoint, 'seeds': seeds,
                          'max_episode_s': args.max_episode_s, 'cells': len(table),
                          'max_switch_added_rad': max(c['max_switch_added_rad'] for c in table),
                          'wall_s': round(time.perf_counter() - start, 1)}))
        return
    for r in results:
        print(json.dumps(r))
    outcomes = collections.Counter(r['outcome'] for r in results)
    times = [r['time_to_success_s'] for r in results if r['success']]
    print(json.dumps({
        'benchmark': 'lockstep_eval', 'checkpoint': args.checkpoint, 'episodes': len(results), 'first_seed': args.seed,
        'aggregation': args.aggregation, 'threshold': args.threshold, 'delay_s': args.delay,
        'ensemble_m': args.ensemble_m, 'blend_window': args.blend_window, 'inference': args.inference,
        'success_rate': sum(r['success'] for r in results) / len(results), 'outcomes': dict(outcomes),
        'mean_time_to_success_s': float(np.mean(times)) if times else None,
        'wall_s': round(time.perf_counter() - start, 1),
    }))


if __name__ == '__main__':
    main()
