"""Task success for pick-and-place: the cube rests on the target and the arm has let go of it.

A pure function of the scene state, so the evaluator, the world node's success topic and the tests all
judge an episode the same way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from robolearn_sim.scene import CUBE_HALF, TARGET_HALF

#: How far the cube's centre may be from the table when resting (m): a cube lying on a face.
REST_HEIGHT_TOLERANCE = 0.004
#: Slower than this (m/s) counts as at rest.
REST_SPEED = 0.02


@dataclass(frozen=True)
class CubeState:
    position: np.ndarray  # (3,) m, table frame
    linear_speed: float  # m/s
    touching_arm: bool  # any contact between the cube and a geom of the arm


def cube_placed(cube: CubeState, target_xy: tuple[float, float]) -> bool:
    """True when the cube's centre is over the target square, it lies on the table at rest, released."""
    offset = np.abs(np.asarray(cube.position[:2]) - np.asarray(target_xy))
    on_target = bool(np.all(offset <= TARGET_HALF))
    on_table = abs(float(cube.position[2]) - CUBE_HALF) <= REST_HEIGHT_TOLERANCE
    return on_target and on_table and cube.linear_speed < REST_SPEED and not cube.touching_arm
