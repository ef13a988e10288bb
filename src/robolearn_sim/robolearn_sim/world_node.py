"""world_node: runs the simulated world in real time and publishes its state.

Each tick (``physics_rate`` Hz) advances the physics to the wall-clock time since the episode began
(timer jitter does not accumulate), but by at most a few ticks' worth: when the process cannot keep up,
simulated time falls behind wall time and ``real_time_factor`` says so (robolearn_sim.world_runner).

Publishes (for the simulated cameras, rviz and the evaluator):
- ``/sim/joint_states`` (sensor_msgs/JointState): the follower's true joints, rad, ``state_rate`` Hz
- ``/sim/cube_pose``, ``/sim/target_pose`` (geometry_msgs/PoseStamped, frame ``table``)
- ``/sim/success`` (std_msgs/Bool, 10 Hz): the task success of robolearn_sim.task_success
- ``/sim/episode`` (std_msgs/String, JSON, 10 Hz): seed, strategy, retries, sim_time, expert_done, success,
  real_time_factor, lost_s (wall seconds the physics fell too far behind to catch up, this episode)
Services: ``~/reset`` (std_srvs/Trigger): start the next episode (seeds count up from ``seed``);
``~/restart``: start the current seed's episode again from home (the first episode starts on its own when
the drivers connect, so a recorder or evaluator that comes up later restarts it rather than record its tail).

The joints reach ROS only through the real driver: this node serves two simulated Feetech buses
(robolearn_core.feetech.sim_bus) on pseudo-terminals at ``follower_port`` and ``leader_port``, with the
world's follower (MuJoCo) and leader (moved by the scripted expert, ``expert: true``) JointBackends, and
writes the matching calibration files (``follower_calibration``, ``leader_calibration``). Two unchanged
so100_driver nodes open those ports once this node logs ``simulated buses ready``
(robolearn_sim.graph_paths; the launch files and the evaluator wait for that line). An episode's clock
starts only when both drivers are talking to their buses, so no episode runs while the graph comes up.
"""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
from geometry_msgs.msg import PoseStamped
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_ros.diagnostics import OK, WARN, Status, publish_status_every
from robolearn_ros.node_main import run_node
from robolearn_ros.parameters import declare, refuse_invalid
from robolearn_ros.poses import pose_stamped
from robolearn_sim.arm_model import DEFAULT_MESH_CELL
from robolearn_sim.episode_layout import seed_split
from robolearn_sim.graph_paths import ROLES, bus_port, calibration_file
from robolearn_sim.world_runner import WorldRunner


class WorldNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('world_node', **kwargs)
        p = lambda *a: declare(self, *a)  # noqa: E731
        self.physics_rate = p('physics_rate', 100.0, 'ticks per second; each advances the physics 1/rate s')
        self.state_rate = p('state_rate', 50.0, 'rate of /sim/joint_states and the poses, Hz')
        seed = p('seed', 5000, 'seed of the first episode; ~/reset counts up (train 0..4999, eval 5000..9999)')
        expert = p('expert', True, 'the scripted expert moves the leader arm')
        fumbles = p('expert_fumbles', 0.0, "share of episodes whose first grasp the expert fumbles on purpose and then "
                    "makes again (recovery demonstrations; 0..1)")
        ports = {role: p(f'{role}_port', bus_port(role),
                         f"path of the symlink to the {role} arm's simulated bus (a pty) for its so100_driver") for role in ROLES}
        calibrations = {role: p(f'{role}_calibration', calibration_file(role),
                                f'where to write the calibration of the simulated {role} arm (LeRobot JSON) for its '
                                'so100_driver') for role in ROLES}
        mesh_cell = p('mesh_cell', DEFAULT_MESH_CELL, 'render-mesh simplification grid, m (0: as shipped)')
        problems = [
            f'physics_rate {self.physics_rate} is outside 10..1000 Hz' if not 10.0 <= self.physics_rate <= 1000.0 else '',
            f'state_rate {self.state_rate} must be in (0, physics_rate]'
            if not 0.0 < self.state_rate <= self.physics_rate
            else '',
            *(f'{role}_port and {role}_calibration must be paths' for role in ROLES if not ports[role] or not calibrations[role]),
            f'follower_port and leader_port are both {ports["leader"]}: each arm needs its own bus'
            if ports['follower'] == ports['leader']
            else '',
        ]
        if not 0.0 <= fumbles <= 1.0:
            problems.append(f'expert_fumbles {fumbles} is outside 0..1')
        try:
            seed_split(seed)
        except ValueError as e:
            problems.append(str(e))
        refuse_invalid(self, problems)

        log = self.get_logger()
        self.runner = WorldRunner(ports, calibrations, seed, expert, mesh_cell, self.physics_rate, log.info, log.warning,
                                  expert_fumbles=fumbles)
        self.joint_pub = self.create_publisher(JointState, '/sim/joint_states', 10)
        self.cube_pub = self.create_publisher(PoseStamped, '/sim/cube_pose', 10)
        self.target_pub = self.create_publisher(PoseStamped, '/sim/target_pose', 10)
        self.success_pub = self.create_publisher(Bool, '/sim/success', 10)
        self.episode_pub = self.create_publisher(String, '/sim/episode', 10)
        self.create_service(Trigger, '~/reset', self._on_reset)
        self.create_service(Trigger, '~/restart', self._on_restart)
        self._ticks = 0
        self._publish_every = max(1, round(self.physics_rate / self.state_rate))
        self.create_timer(1.0 / self.physics_rate, self._tick)
        self.create_timer(0.1, self._publish_episode)
        publish_status_every(self, 1.0, 'simulated world', self._status)

    def stop(self) -> None:
        self.runner.stop_buses()

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        return self._start_episode(response, self.runner.reset)

    def _on_restart(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        return self._start_episode(response, self.runner.restart)

    def _start_episode(self, response: Trigger.Response, start: Callable[[], str]) -> Trigger.Response:
        if not self.runner.episode_started:
            response.success, response.message = (
                False,
                'the world is still loading or waiting for the drivers; try again in a few seconds',
            )
            return response
        try:
            response.message = start()
            response.success = True
        except ValueError as e:  # a seed past the documented ranges
            response.success, response.message = False, str(e)
        return response

    def _tick(self) -> None:
        if not self.runner.tick():
            return
        self._ticks += 1
        if self._ticks % self._publish_every:
            return
        world, stamp = self.runner.world, self.get_clock().now().to_msg()
        f = world.follower_backend
        msg = JointState(
            name=list(JOINT_NAMES), position=f.present_positions().tolist(), velocity=f.present_velocities().tolist()
        )
        msg.header.stamp = stamp
        self.joint_pub.publish(msg)
        position, quat = world.cube_pose()
        self.cube_pub.publish(pose_stamped(position, quat, stamp, 'table'))
        self.target_pub.publish(pose_stamped(np.array([*world.target_xy(), 0.0]), (1.0, 0.0, 0.0, 0.0), stamp, 'table'))

    def _publish_episode(self) -> None:
        if not self.runner.episode_started:
            return
        episode = self.runner.episode()
        self.success_pub.publish(Bool(data=episode['success']))
        self.episode_pub.publish(String(data=json.dumps(episode)))

    def _status(self) -> Status | None:
        if not self.runner.episode_started:
            return None
        rtf = self.runner.real_time_factor()
        slow = rtf < 0.95
        values = {
            'real_time_factor': f'{rtf:.3f}',
            'seed': self.runner.world.layout.seed,
            **{f'{role}_bus_requests': bus.requests for role, bus in self.runner.buses.items()},
        }
        return Status(
            WARN if slow else OK,
            f'simulation slower than real time (factor {rtf:.2f})' if slow else 'running in real time',
            values,
            hardware_id='mujoco',
        )


def main(args: list[str] | None = None) -> None:
    run_node(WorldNode, args=args)
