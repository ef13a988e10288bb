"""The ``sim`` frame source of camera_node: renders one camera of the simulated world.

The world node publishes its state (``/sim/joint_states``, ``/sim/cube_pose``, ``/sim/target_pose``);
this source keeps the latest of each and renders its own copy of the scene with it. Rendering in the
camera process, not in the world's, keeps the physics' real-time loop free of the render cost and lets
the two cameras render in parallel on other cores (docs/sim.md has the numbers).
"""

from __future__ import annotations

import atexit

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from rclpy.qos import qos_profile_sensor_data
from sensor_msgs.msg import JointState

from robolearn_core.so_arm.joints import JointMessageError, positions_by_name


class SimFrameSource:
    """Subscribes to the world's state on ``node``; ``frame()`` renders camera ``camera`` (RGB) or None."""

    def __init__(self, node: Node, camera: str, height: int, width: int) -> None:
        # The world's package; imported only for source: sim.
        from robolearn_sim.scene import CAMERA_NAMES
        from robolearn_sim.scene_renderer import MAX_SIZE, MIN_SIZE

        if camera not in CAMERA_NAMES:
            raise ValueError(f"camera_name {camera!r}: the simulated world has cameras {', '.join(CAMERA_NAMES)}")
        if not (MIN_SIZE[0] <= height <= MAX_SIZE[0] and MIN_SIZE[1] <= width <= MAX_SIZE[1]):
            raise ValueError(
                f'height x width {height}x{width}: simulated cameras render '
                f'{MIN_SIZE[0]}x{MIN_SIZE[1]} to {MAX_SIZE[0]}x{MAX_SIZE[1]}'
            )
        self.camera, self.height, self.width = camera, height, width
        self._renderer = None
        self._joints: np.ndarray | None = None
        self._cube: tuple[np.ndarray, np.ndarray] | None = None
        self._target: np.ndarray | None = None
        node.create_subscription(JointState, '/sim/joint_states', self._on_joints, qos_profile_sensor_data)
        node.create_subscription(PoseStamped, '/sim/cube_pose', self._on_cube, qos_profile_sensor_data)
        node.create_subscription(PoseStamped, '/sim/target_pose', self._on_target, qos_profile_sensor_data)

    def _on_joints(self, msg: JointState) -> None:
        try:
            self._joints = positions_by_name(msg.name, msg.position, allow_extra=True)
        except JointMessageError:
            pass  # not the world's arm: keep rendering the last good state

    def _on_cube(self, msg: PoseStamped) -> None:
        p, q = msg.pose.position, msg.pose.orientation
        self._cube = np.array([p.x, p.y, p.z]), np.array([q.w, q.x, q.y, q.z])

    def _on_target(self, msg: PoseStamped) -> None:
        self._target = np.array([msg.pose.position.x, msg.pose.position.y])

    def frame(self) -> np.ndarray | None:
        """The camera's view of the latest world state; None until the world has published one."""
        if self._joints is None or self._cube is None:
            return None
        if self._renderer is None:  # seconds: loads and simplifies the meshes, opens the EGL context
            from robolearn_sim.scene_renderer import SceneRenderer

            self._renderer = SceneRenderer(self.height, self.width)
            atexit.register(self._renderer.close)  # free the EGL context before the interpreter tears down
        self._renderer.set_state(self._joints, self._cube[0], self._cube[1], self._target)
        return self._renderer.render(self.camera)
