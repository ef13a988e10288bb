#!/usr/bin/env python3
"""Render cost of the simulated cameras (MuJoCo, MUJOCO_GL=egl on the CPU), per frame, at two sizes.

The arm moves between frames (as in an episode), so nothing is cached. Last line: one JSON object.

    scripts/with-env python bench/render.py [--frames 60] [--mesh-cell 0.002]
"""

from __future__ import annotations

import argparse
import json
import os
import time

import numpy as np

from robolearn_sim.arm_model import DEFAULT_MESH_CELL
from robolearn_sim.scene import build_scene
from robolearn_sim.scene_renderer import SceneRenderer
from robolearn_sim.world import HOME_POSITIONS


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--frames', type=int, default=60, help='frames timed per camera and size')
    parser.add_argument('--mesh-cell', type=float, default=DEFAULT_MESH_CELL,
                        help='mesh simplification grid in metres (0: the meshes as shipped)')
    args = parser.parse_args()
    start = time.perf_counter()
    model = build_scene(args.mesh_cell)
    load_s = time.perf_counter() - start
    result = {
        'benchmark': 'render', 'mujoco_gl': os.environ.get('MUJOCO_GL'), 'mesh_cell_m': args.mesh_cell,
        'mesh_triangles': int(model.nmeshface), 'scene_load_s': round(load_s, 3),
    }
    rng = np.random.default_rng(0)
    for height, width in ((96, 128), (480, 640)):
        renderer = SceneRenderer(height, width, model=model)
        for camera in ('front', 'wrist'):
            renderer.render(camera)  # warm-up
            times = []
            for _ in range(args.frames):
                renderer.set_state(joints=HOME_POSITIONS + rng.normal(0.0, 0.05, 6))
                t = time.perf_counter()
                renderer.render(camera)
                times.append(time.perf_counter() - t)
            result[f'{camera}_{height}x{width}_ms_p50'] = round(1000 * float(np.median(times)), 2)
            result[f'{camera}_{height}x{width}_ms_p90'] = round(1000 * float(np.percentile(times, 90)), 2)
        renderer.close()
    print(json.dumps(result))


if __name__ == '__main__':
    main()
