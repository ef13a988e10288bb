#!/usr/bin/env python3
"""Scripted-expert benchmark: success rate and strategy split over N seeds, in plain Python (no ROS).

The expert moves the invisible leader arm; the follower copies the leader at 50 Hz through its
position servos in the MuJoCo physics (the same world the ROS graph runs). Last line: one JSON object.

    scripts/with-env python bench/expert.py --episodes 100 --seed 5000
"""

from __future__ import annotations

import argparse
import collections
import json
import time

from tqdm import tqdm

from robolearn_sim.expert_episode import run_expert_episode
from robolearn_sim.inverse_kinematics import TopDownIK
from robolearn_sim.world import World


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--episodes', type=int, default=100, help='number of episodes (seeds seed..seed+N-1)')
    parser.add_argument('--seed', type=int, default=5000, help='first seed (evaluation seeds are 5000..9999)')
    parser.add_argument('--fumbles', type=float, default=0.0, metavar='P',
                        help='share of episodes whose first grasp the expert fumbles on purpose (default 0)')
    args = parser.parse_args()
    if args.episodes < 1:
        parser.error('--episodes must be >= 1')

    world = World()
    ik = TopDownIK(world.model)
    results = []
    start = time.perf_counter()
    for seed in tqdm(range(args.seed, args.seed + args.episodes), desc='expert episodes', unit='ep'):
        results.append(run_expert_episode(world, ik, seed, fumble_probability=args.fumbles))
    wall = time.perf_counter() - start
    sim = sum(r.sim_time for r in results)
    strategies = collections.Counter(r.strategy for r in results)
    by_strategy = {
        name: sum(r.success for r in results if r.strategy == name) / count for name, count in strategies.items()
    }
    failed = [r.seed for r in results if not r.success]
    print(f'failed seeds: {failed}')
    print(json.dumps({
        'benchmark': 'expert',
        'episodes': len(results),
        'first_seed': args.seed,
        'success_rate': sum(r.success for r in results) / len(results),
        'strategy_share': {k: v / len(results) for k, v in sorted(strategies.items())},
        'success_rate_by_strategy': dict(sorted(by_strategy.items())),
        'fumbled': sum(r.fumble is not None for r in results),
        'retries': sum(r.retries for r in results),
        'mean_episode_sim_s': sim / len(results),
        'sim_speed_vs_real_time': sim / wall,
        'wall_s': wall,
    }))


if __name__ == '__main__':
    main()
