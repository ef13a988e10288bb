"""Closed-loop episodes in the simulated world, through the node graph a real arm uses.

Two drivers of the follower: the scripted expert (leader arm -> leader driver -> teleop_node) or a policy
(policy_node -> executor_node). Either way the joints reach MuJoCo only through the real follower driver
and its simulated Feetech bus, and the policy sees the world only through the two camera nodes and the
driver's joint states. An episode: the world resets to the next seed (the arm back home), the policy and
the executor start a new episode (empty history, ramp from where the arm is), and the world's clock runs
until the task succeeds (the world's own check, robolearn_sim.task_success) or the episode's simulated time
runs out. With a recorder in the graph, each episode is recorded; ``keep`` decides which are saved (the
others are discarded, and a further seed is run in their place).
"""

from __future__ import annotations

import collections
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import rclpy
from diagnostic_msgs.msg import DiagnosticArray
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import Image
from std_msgs.msg import String
from std_srvs.srv import Trigger
from tqdm import tqdm

from robolearn_eval.sim_graph import SimGraph

#: Simulated seconds after the expert is done that the cube gets to come to rest on the target.
SETTLE_S = 1.5
#: Wall seconds the policy node may take to load and warm up before it answers its first reset
POLICY_READY_TIMEOUT_S = 300.0
#: Wall seconds after the world's reset before the policy and executor start a new episode: the driver's
#: joint states must already show the arm at home, where the executor's start-up ramp begins.
RESET_SETTLE_WALL_S = 0.2
#: Wall seconds a service's answer may take before the request counts as lost and is sent again. Fast DDS drops
#: a response when the server has not yet matched the client's reply reader (the server's log then says "failed
#: to send response (timeout): client will not receive response"); seen in make test on the policy node's first
#: reset, after which evaluate waited on that answer for the whole POLICY_READY_TIMEOUT_S.
ANSWER_WAIT_S = 15.0
#: Services whose refusal of a request sent again after a lost answer says that the first one was done
#: (robolearn_core's EpisodeRecorder and DatasetWriter refusals). Resetting the policy, the executor or restarting
#: the world twice changes nothing; the world's reset (the next seed) passes ``took_effect`` instead.
DONE_BEFORE = {'/recorder/start_episode': 'is still in progress',
               '/recorder/save_episode': 'no episode in progress',
               '/recorder/discard_episode': 'no episode in progress'}


@dataclass
class EpisodePlan:
    """What to run: seeds from ``first_seed``, how each ends, what is kept when recording."""

    first_seed: int
    episodes: int
    policy: bool                          # False: the scripted expert
    max_sim_s: float = 30.0               # a policy episode fails when the task is not done by then
    wall_timeout_s: float = 120.0         # an episode that takes longer than this is stuck: an error
    record: bool = False
    keep: Callable[[dict], bool] = lambda result: True   # recording: which episodes are saved
    max_seeds: int | None = None          # recording: give up after this many seeds
    progress: bool = True
    results: list[dict] = field(default_factory=list)


class EpisodeWatcher(Node):
    """The evaluator's node: the world's episode, camera frames, the executor's diagnostics, the services."""

    def __init__(self) -> None:
        super().__init__('evaluate')
        self.episode: dict | None = None
        self.frames = collections.Counter()
        self.executor_status: dict[str, str] = {}
        self.executor_status_stamp = 0.0
        self.create_subscription(String, '/sim/episode', self._on_episode, 10)
        self.create_subscription(DiagnosticArray, '/diagnostics', self._on_diagnostics, 50)
        for camera in ('front', 'wrist'):
            self.create_subscription(Image, f'/cameras/{camera}/image_raw', lambda _m, c=camera: self.frames.update([c]),
                                     qos_profile_sensor_data)
        self.clients_by_name = {name: self.create_client(Trigger, name) for name in (
            '/world_node/reset', '/world_node/restart', '/executor_node/reset', '/policy_node/reset',
            '/recorder/start_episode', '/recorder/save_episode', '/recorder/discard_episode')}

    def _on_episode(self, msg: String) -> None:
        self.episode = json.loads(msg.data)

    def _on_diagnostics(self, msg: DiagnosticArray) -> None:
        for s in msg.status:
            if s.name.startswith('executor_node:'):
                self.executor_status = {kv.key: kv.value for kv in s.values}
                self.executor_status_stamp = time.monotonic()


class EpisodeRunner:
    def __init__(self, graph: SimGraph, node: EpisodeWatcher, answer_wait_s: float = ANSWER_WAIT_S) -> None:
        self.graph, self.node, self.answer_wait_s = graph, node, answer_wait_s
        self._rejected_before = 0.0  # the executor's rejected chunks (a count over its life) at the last episode's end

    def spin_until(self, predicate: Callable[[], Any], timeout: float, what: str) -> None:
        deadline = time.monotonic() + timeout
        while not predicate():
            if time.monotonic() > deadline:
                raise TimeoutError(f'timed out after {timeout:.0f} s waiting for {what}')
            if self.graph.crashed():
                raise RuntimeError('a node of the simulated graph died: ' + '\n'.join(self.graph.crashed()))
            rclpy.spin_once(self.node, timeout_sec=0.05)

    def call(self, service: str, timeout: float = 60.0, retry_while: str = '',
             took_effect: Callable[[], bool] | None = None) -> str:
        """Call a Trigger service; while its answer contains ``retry_while``, ask again (e.g. streams not up yet).

        An answer that has not come after ``answer_wait_s`` is taken as lost (ANSWER_WAIT_S) and the request is
        sent again, unless ``took_effect()`` already shows the first one was done (for a service whose repeat
        is not harmless); a refusal in DONE_BEFORE after a lost answer means the same.
        """
        client, deadline = self.node.clients_by_name[service], time.monotonic() + timeout
        self.spin_until(client.service_is_ready, timeout, f'the service {service}')
        lost = 0
        while True:
            future, answer_by = client.call_async(Trigger.Request()), time.monotonic() + self.answer_wait_s
            self.spin_until(lambda f=future, by=answer_by: f.done() or time.monotonic() > by, timeout,
                            f'{service} to answer')
            if not future.done():
                client.remove_pending_request(future)
                lost += 1
                if took_effect is not None and took_effect():
                    return '(answer lost; the request was done)'
                if time.monotonic() > deadline:
                    raise TimeoutError(f'{service} did not answer any of {lost} requests in {timeout:.0f} s')
                print(f'evaluate: no answer from {service} within {self.answer_wait_s:g} s (a lost DDS response, or '
                      'the node still busy starting); asking again', file=sys.stderr, flush=True)
                continue
            result = future.result()
            if result.success:
                return result.message
            if lost and service in DONE_BEFORE and DONE_BEFORE[service] in result.message:
                return f'(answer lost; the request was done: {result.message})'
            if not retry_while or retry_while not in result.message or time.monotonic() > deadline:
                raise RuntimeError(f'{service} failed: {result.message}')
            rclpy.spin_once(self.node, timeout_sec=0.5)

    def run(self, plan: EpisodePlan) -> list[dict]:
        node = self.node
        self.spin_until(lambda: node.episode is not None and node.episode['seed'] == plan.first_seed, 120.0,
                        'the world to start')
        self.spin_until(lambda: sum(node.frames.values()) > 0, 60.0, 'the first camera frame')
        if plan.record:  # the recorder can take seconds to see every stream: not while an episode's clock runs
            self.call('/recorder/start_episode', retry_while='cannot start')
            self.call('/recorder/discard_episode')
        limit = plan.max_seeds or plan.episodes
        kept = 0
        bar = tqdm(total=plan.episodes, desc='episodes', unit='ep', disable=not plan.progress, file=sys.stderr)
        for i in range(limit):
            if kept >= plan.episodes:
                break
            seed = plan.first_seed + i
            # the first seed's episode started on its own when the drivers connected, so it may be under way
            # (with the expert: mid-task, and a recording begun there is the tail of a demonstration)
            # (a reset sent twice would skip a seed: a lost answer is checked against the episode published;
            # a restart sent twice changes nothing)
            if i == 0:
                self.call('/world_node/restart')
            else:
                self.call('/world_node/reset', took_effect=lambda s=seed: node.episode['seed'] == s)
            self.spin_until(lambda s=seed: node.episode['seed'] == s and node.episode['sim_time'] < 0.5, 30.0,
                            f'episode {seed} to start')
            if plan.policy:
                settle_end = time.monotonic() + RESET_SETTLE_WALL_S
                self.spin_until(lambda end=settle_end: time.monotonic() > end, 5.0, 'the joint states at home')
                # the policy node answers once its warm-up is over: minutes for a peer's model served from another
                # environment on a loaded CPU (the LeRobot adapter)
                self.call('/policy_node/reset', timeout=POLICY_READY_TIMEOUT_S)
                self.call('/executor_node/reset')
            if plan.record:
                if not plan.policy:
                    # the world's clock starts once the follower's driver commands home again: by then the joint
                    # states have caught up with the reset too, and the first frames are not the last episode's pose
                    self.spin_until(lambda s=seed: node.episode['seed'] == s and node.episode['sim_time'] > 0.0, 30.0,
                                    f'episode {seed} to settle at home')
                self.call('/recorder/start_episode', retry_while='cannot start')
            result = self._episode(seed, plan)
            if plan.record:
                save = plan.keep(result)
                self.call('/recorder/save_episode' if save else '/recorder/discard_episode')
                result['recorded'] = save
            kept += int(plan.keep(result))
            plan.results.append(result)
            bar.update(int(plan.keep(result)))
            bar.set_postfix(success=f'{sum(r["success"] for r in plan.results)}/{len(plan.results)}')
        bar.close()
        return plan.results

    def _episode(self, seed: int, plan: EpisodePlan) -> dict:
        node = self.node
        wall_start, frames_start = time.monotonic(), sum(node.frames.values())
        sim_start = node.episode['sim_time']
        expert_done_at = None

        def finished() -> bool:
            nonlocal expert_done_at
            e = node.episode
            if e['success']:
                return True
            if plan.policy:
                return e['sim_time'] - sim_start >= plan.max_sim_s
            if e['expert_done'] and expert_done_at is None:
                expert_done_at = e['sim_time']
            return expert_done_at is not None and e['sim_time'] - expert_done_at > SETTLE_S

        self.spin_until(finished, plan.wall_timeout_s, f'episode {seed} to end')
        wall = time.monotonic() - wall_start
        e = node.episode
        result = {
            'seed': seed,
            'strategy': e['strategy'],
            'retries': e.get('retries'),  # the expert's grasps made again (None for a policy)
            'success': bool(e['success']),
            'time_to_success_s': round(e['sim_time'] - sim_start, 3) if e['success'] else None,
            'sim_s': e['sim_time'] - sim_start,
            'wall_s': wall,
            # the world's own clocks, read at one instant: simulated time and wall time since its reset
            'lost_s': e['lost_s'],
            'world_sim_s': e['sim_time'],
            'world_wall_s': e['sim_time'] / max(e['real_time_factor'], 1e-9),
            'camera_fps': (sum(node.frames.values()) - frames_start) / wall / 2,
        }
        if plan.policy:
            result |= self._motion(wall_start)
        return result

    def _motion(self, since: float) -> dict:
        """The executor's per-episode motion figures, from its first /diagnostics after the episode ended."""
        ended = time.monotonic()
        self.spin_until(lambda: self.node.executor_status_stamp > ended, 5.0, "the executor's diagnostics")
        s = self.node.executor_status
        number = lambda key: float(s[key]) if key in s and s[key] not in ('', 'none') else None  # noqa: E731
        rejected = number('rejected_chunks')
        if rejected is not None:
            rejected, self._rejected_before = rejected - self._rejected_before, rejected
        return {'max_switch_jump_rad': number('max_switch_jump_rad'), 'max_switch_added_rad': number('max_switch_added_rad'),
                'max_step_rad': number('max_step_rad'),
                'rms_jerk': number('rms_jerk'), 'held_fraction': number('held_fraction'), 'stalls': number('stalls'),
                'chunks': number('chunks'), 'rejected_chunks': rejected, 'delay_estimate_s': number('delay_estimate_s')}


def summarize(results: list[dict], plan: EpisodePlan, cpu: dict[str, float], extra: dict[str, Any]) -> dict:
    """The report: success rate, timing, motion quality, and every episode."""
    n = len(results)
    sim, wall = sum(r['sim_s'] for r in results), sum(r['wall_s'] for r in results)
    world_sim, world_wall = sum(r['world_sim_s'] for r in results), sum(r['world_wall_s'] for r in results)
    successes = [r for r in results if r['success']]
    report = {
        'success_rate': len(successes) / n,
        'episodes': n,
        'first_seed': plan.first_seed,
        'real_time_factor': world_sim / world_wall,
        'sim_time_lost_s': sum(r['lost_s'] for r in results),
        'seconds_per_episode': wall / n,
        'sim_seconds_per_episode': sim / n,
        'mean_time_to_success_s': sum(r['time_to_success_s'] for r in successes) / len(successes) if successes else None,
        'strategy_share': {k: v / n for k, v in sorted(collections.Counter(r['strategy'] for r in results).items())},
        **({} if plan.policy else {'expert_retries': sum(r.get('retries') or 0 for r in results)}),
        'camera_fps_mean': sum(r['camera_fps'] for r in results) / n,
        'cpu_cores_by_node': {k: round(v, 3) for k, v in cpu.items()},
        'failed_seeds': [r['seed'] for r in results if not r['success']],
        **extra,
    }
    if plan.record:
        report['recorded_episodes'] = sum(bool(r.get('recorded')) for r in results)
        report['discarded_seeds'] = [r['seed'] for r in results if not r.get('recorded')]
    if plan.policy:
        def values(key):
            return [r[key] for r in results if r.get(key) is not None]

        def mean(key):
            return sum(values(key)) / len(values(key)) if values(key) else None

        report['motion'] = {
            'max_switch_jump_rad': max(values('max_switch_jump_rad'), default=None),
            # beyond the replaced plan's and the new chunk's own step: what the switches themselves added
            'max_switch_added_rad': max(values('max_switch_added_rad'), default=None),
            'max_step_rad': max(values('max_step_rad'), default=None),
            'rms_jerk_mean': mean('rms_jerk'),
            'held_fraction_mean': mean('held_fraction'),
            'stalls': sum(values('stalls')),
            'rejected_chunks': sum(values('rejected_chunks')),
            # episodes in which not one chunk reached the queue: the arm never moved (look at rejected_chunks)
            'episodes_without_a_chunk': sum(1 for r in results if r.get('chunks') == 0),
        }
    report['per_episode'] = [{k: (round(v, 4) if isinstance(v, float) else v) for k, v in r.items()
                              if k not in ('world_sim_s', 'world_wall_s')} for r in results]
    return report


def write_table(report: dict, path: Path) -> None:
    """The per-episode outcomes as a markdown table (for reports)."""
    motion = 'max_switch_jump_rad' in (report['per_episode'] or [{}])[0]
    columns = ['seed', 'success', 'time to success (s)']
    columns += ['max switch jump (rad)', 'RMS jerk (rad/s^3)', 'held fraction'] if motion else ['strategy']
    lines = ['| ' + ' | '.join(columns) + ' |', '|' + ' --- |' * len(columns)]
    for r in report['per_episode']:
        cells = [r['seed'], 'yes' if r['success'] else 'no', r['time_to_success_s'] if r['success'] else '']
        cells += [r.get('max_switch_jump_rad'), r.get('rms_jerk'), r.get('held_fraction')] if motion else [r['strategy']]
        lines.append('| ' + ' | '.join('' if c is None else str(c) for c in cells) + ' |')
    path.write_text('\n'.join(lines) + '\n')
