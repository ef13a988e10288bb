"""world_node: runs the simulated world in real time and publishes its state.

Each tick (``physics_rate`` Hz) advances the physics to the wall-clock time since the episode began
(timer jitter does not accumulate), but by at most ``MAX_CATCH_UP_TICKS`` ticks' worth: when the process
cannot keep up, simulated time falls behind wall time and ``real_time_factor`` says so.

Publishes (for the simulated cameras, rviz and the evaluator):
- ``/sim/joint_states`` (sensor_msgs/JointState): the follower's true joints, rad, ``state_rate`` Hz
- ``/sim/cube_pose``, ``/sim/target_pose`` (geometry_msgs/PoseStamped, frame ``table``)
- ``/sim/success`` (std_msgs/Bool, 10 Hz): the task success of robolearn_sim.task_success
- ``/sim/episode`` (std_msgs/String, JSON, 10 Hz): seed, strategy, sim_time, expert_done, success,
  real_time_factor, lost_s (wall seconds the physics fell too far behind to catch up, this episode)
Services: ``~/reset`` (std_srvs/Trigger): start the next episode (seeds count up from ``seed``).

The joints reach ROS only through the real driver: this node serves two simulated Feetech buses
(robolearn_core.feetech.sim_bus) on pseudo-terminals at ``follower_port`` and ``leader_port``, with the
world's follower (MuJoCo) and leader (moved by the scripted expert, ``expert: true``) JointBackends, and
writes the matching calibration files (``follower_calibration``, ``leader_calibration``). Two unchanged
so100_driver nodes open those ports once this node logs ``simulated buses ready`` (the launch file and
SimGraph wait for that line). An episode's clock starts only when both drivers are talking to their
buses, so no episode runs while the graph is still coming up.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np
import rclpy
from diagnostic_msgs.msg import DiagnosticArray, DiagnosticStatus, KeyValue
from geometry_msgs.msg import PoseStamped
from rcl_interfaces.msg import ParameterDescriptor
from rclpy.executors import ExternalShutdownException
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Bool, String
from std_srvs.srv import Trigger

from robolearn_core.feetech.sim_bus import SimulatedBus
from robolearn_core.interrupt_once import raise_on_first_sigint
from robolearn_core.so_arm.joints import JOINT_NAMES
from robolearn_sim.arm_model import DEFAULT_MESH_CELL
from robolearn_sim.episode_layout import seed_split
from robolearn_sim.inverse_kinematics import TopDownIK
from robolearn_sim.scripted_expert import ScriptedExpert
from robolearn_sim.world import HOME_POSITIONS, World

EXPERT_RATE = 50.0
MAX_CATCH_UP_TICKS = 5
#: Requests each simulated bus must have served before the first episode starts (a driver polling at
#: 125 Hz gets there in well under a second once it runs).
DRIVER_REQUESTS_TO_START = 50
#: Printed once both buses serve: the launch file and SimGraph start the drivers on this line.
BUSES_READY = 'simulated buses ready'
#: After a reset the arm is put back home at once, but the commands on their way (teleop, driver) still
#: aim at the old pose: the episode clock starts when a goal within this distance of home (rad) arrives...
SETTLED_GOAL_RAD = 0.03
#: ...or after this many wall seconds, whichever comes first.
SETTLE_TIMEOUT_S = 3.0


def pose_msg(position: np.ndarray, quat_wxyz: np.ndarray, stamp, frame_id: str = 'table') -> PoseStamped:
    msg = PoseStamped()
    msg.header.stamp, msg.header.frame_id = stamp, frame_id
    p, q = msg.pose.position, msg.pose.orientation
    p.x, p.y, p.z = (float(v) for v in position)
    q.w, q.x, q.y, q.z = (float(v) for v in quat_wxyz)
    return msg


def joint_state_msg(positions: np.ndarray, velocities: np.ndarray | None, stamp) -> JointState:
    msg = JointState(name=list(JOINT_NAMES), position=[float(v) for v in positions])
    if velocities is not None:
        msg.velocity = [float(v) for v in velocities]
    msg.header.stamp = stamp
    return msg


class WorldNode(Node):
    def __init__(self, **kwargs) -> None:
        super().__init__('world_node', **kwargs)
        ro = dict(read_only=True)
        self.physics_rate = self.declare_parameter(
            'physics_rate', 100.0, ParameterDescriptor(description='ticks per second; each advances the physics 1/rate s', **ro)
        ).value
        self.state_rate = self.declare_parameter(
            'state_rate', 50.0, ParameterDescriptor(description='rate of /sim/joint_states and the poses, Hz', **ro)
        ).value
        self.seed = self.declare_parameter(
            'seed', 5000, ParameterDescriptor(description='seed of the first episode; ~/reset counts up (train 0..4999, eval 5000..9999)', **ro)
        ).value
        self.expert_enabled = self.declare_parameter(
            'expert', True, ParameterDescriptor(description='the scripted expert moves the leader arm', **ro)
        ).value
        self.ports = {role: self.declare_parameter(
            f'{role}_port', f'/tmp/robolearn_sim/{role}',
            ParameterDescriptor(description=f'path of the symlink to the {role} arm\'s simulated bus (a pty) for its so100_driver', **ro),
        ).value for role in ('follower', 'leader')}
        self.calibration_files = {role: self.declare_parameter(
            f'{role}_calibration', f'/tmp/robolearn_sim/{role}.json',
            ParameterDescriptor(description=f'where to write the calibration of the simulated {role} arm (LeRobot JSON) for its so100_driver', **ro),
        ).value for role in ('follower', 'leader')}
        self.mesh_cell = self.declare_parameter(
            'mesh_cell', DEFAULT_MESH_CELL, ParameterDescriptor(description='render-mesh simplification grid, m (0: as shipped)', **ro)
        ).value
        problems = []
        if not 10.0 <= self.physics_rate <= 1000.0:
            problems.append(f'physics_rate {self.physics_rate} is outside 10..1000 Hz')
        if not 0.0 < self.state_rate <= self.physics_rate:
            problems.append(f'state_rate {self.state_rate} must be in (0, physics_rate]')
        try:
            seed_split(self.seed)
        except ValueError as e:
            problems.append(str(e))
        for role in ('follower', 'leader'):
            if not self.ports[role] or not self.calibration_files[role]:
                problems.append(f'{role}_port and {role}_calibration must be paths')
        if self.ports['follower'] == self.ports['leader']:
            problems.append(f'follower_port and leader_port are both {self.ports["leader"]}: each arm needs its own bus')
        if problems:
            raise ValueError(f'{self.get_name()}: invalid parameters: ' + '; '.join(problems))

        self.joint_pub = self.create_publisher(JointState, '/sim/joint_states', 10)
        self.cube_pub = self.create_publisher(PoseStamped, '/sim/cube_pose', 10)
        self.target_pub = self.create_publisher(PoseStamped, '/sim/target_pose', 10)
        self.success_pub = self.create_publisher(Bool, '/sim/success', 10)
        self.episode_pub = self.create_publisher(String, '/sim/episode', 10)
        self.diag_pub = self.create_publisher(DiagnosticArray, '/diagnostics', 10)
        self.create_service(Trigger, '~/reset', self._on_reset)

        self.world: World | None = None
        self.ik: TopDownIK | None = None
        self.expert: ScriptedExpert | None = None
        self.buses: dict[str, SimulatedBus] = {}
        self._episode_started = False
        self._settle_writes: int | None = None
        self._next_seed = self.seed
        self._ticks = 0
        self._episode_wall_start = 0.0
        self._expert_due = 0.0
        self.create_timer(1.0 / self.physics_rate, self._tick)
        self.create_timer(0.1, self._publish_episode)
        self.create_timer(1.0, self._publish_diagnostics)

    # --- episode -------------------------------------------------------------------------------------
    def _start(self) -> None:
        """Build the world (seconds: the meshes are simplified here, not in the constructor)."""
        self.world = World(self.mesh_cell)
        self.ik = TopDownIK(self.world.model)
        self.world.reset(self._next_seed)  # both arms at home while the drivers connect
        backends = {'follower': self.world.follower_backend, 'leader': self.world.leader_backend}
        for role, backend in backends.items():
            bus = SimulatedBus(self.ports[role], backend)
            Path(self.calibration_files[role]).parent.mkdir(parents=True, exist_ok=True)
            bus.calibration.save(self.calibration_files[role])
            self.buses[role] = bus.start()
        # A new bus powers its servos up limp; the follower holds home until its driver takes over.
        self.world.follower_backend.set_goal_positions(self.world.follower_backend.present_positions(), np.ones(6, dtype=bool))
        self.get_logger().info(
            f'{BUSES_READY}: follower on {self.ports["follower"]} (calibration {self.calibration_files["follower"]}), '
            f'leader on {self.ports["leader"]} (calibration {self.calibration_files["leader"]}); '
            'the first episode starts when both so100_drivers are talking to them'
        )

    def _settled(self) -> bool:
        """Whether the follower's driver has sent a goal near home since the reset (or waited long enough)."""
        f = self.world.follower_backend
        fresh = f.goal_writes > self._settle_writes + 1
        near = fresh and bool(np.all(np.abs(f.last_goals - HOME_POSITIONS) < SETTLED_GOAL_RAD))
        if near or time.monotonic() > self._settle_until:
            if not near:
                self.get_logger().warning(f'no goal near home from the follower driver {SETTLE_TIMEOUT_S:g} s after the reset; starting anyway')
            return True
        return False

    def _drivers_connected(self) -> bool:
        return all(bus.requests >= DRIVER_REQUESTS_TO_START for bus in self.buses.values())

    def stop_buses(self) -> None:
        """Remove the ptys and their symlinks (the drivers see the adapters vanish)."""
        for bus in self.buses.values():
            bus.stop()
        self.buses = {}

    def _reset(self) -> str:
        seed = self._next_seed
        layout = self.world.reset(seed)
        self._next_seed = seed + 1
        self.expert = ScriptedExpert(self.ik, layout) if self.expert_enabled else None
        self._settle_writes = self.world.follower_backend.goal_writes
        self._settle_until = time.monotonic() + SETTLE_TIMEOUT_S
        self._start_joints = self.world.follower_backend.present_positions()
        self._episode_wall_start = time.monotonic()
        self._lost = 0.0  # wall seconds the simulation could not keep up with, this episode
        self._expert_due = 0.0
        self._episode_started = True
        strategy = self.expert.strategy if self.expert else 'none'
        self.get_logger().info(f'episode seed={seed} strategy={strategy}')
        return f'seed={seed} strategy={strategy}'

    def _on_reset(self, request: Trigger.Request, response: Trigger.Response) -> Trigger.Response:
        if not self._episode_started:
            response.success, response.message = False, 'the world is still loading or waiting for the drivers; try again in a few seconds'
            return response
        try:
            response.message = self._reset()
            response.success = True
        except ValueError as e:  # a seed past the documented ranges
            response.success, response.message = False, str(e)
        return response

    # --- ticks ---------------------------------------------------------------------------------------
    def _tick(self) -> None:
        if self.world is None:
            self._start()
            return
        if not self._episode_started:
            if self._drivers_connected():
                self._reset()
            return
        world = self.world
        if self._settle_writes is not None:
            if not self._settled():
                world.follower_backend.hold(HOME_POSITIONS)  # the world waits at home, its clock stopped
                self._episode_wall_start = time.monotonic()
                return
            self._settle_writes = None
            world.follower_backend.set_goal_positions(world.follower_backend.last_goals, world.follower_backend.torque_enabled)
        t = world.time
        if self.expert is not None and not self.expert.done(t) and t >= self._expert_due:
            follower = world.follower_backend.present_positions()
            goal = self.expert.leader_goal(t, follower, 1.0 / EXPERT_RATE, self._start_joints, world.cube_pose()[0])
            world.leader_backend.move_to(goal, 1.0 / EXPERT_RATE)
            self._expert_due += 1.0 / EXPERT_RATE
        behind = (time.monotonic() - self._episode_wall_start - self._lost) - world.time
        seconds = min(behind, MAX_CATCH_UP_TICKS / self.physics_rate)
        if behind > seconds:  # too far behind to catch up: that wall time is lost to the simulation
            self._lost += behind - seconds
        if seconds >= world.model.opt.timestep:
            world.step(seconds)
        self._ticks += 1
        stamp = self.get_clock().now().to_msg()
        every = max(1, round(self.physics_rate / self.state_rate))
        if self._ticks % every == 0:
            f = world.follower_backend
            self.joint_pub.publish(joint_state_msg(f.present_positions(), f.present_velocities(), stamp))
            position, quat = world.cube_pose()
            self.cube_pub.publish(pose_msg(position, quat, stamp))
            target = np.array([*world.target_xy(), 0.0])
            self.target_pub.publish(pose_msg(target, np.array([1.0, 0.0, 0.0, 0.0]), stamp))

    def real_time_factor(self) -> float:
        wall = time.monotonic() - self._episode_wall_start
        return self.world.time / wall if self.world is not None and wall > 0 else 0.0

    def _publish_episode(self) -> None:
        if not self._episode_started:
            return
        success = self.world.success()
        self.success_pub.publish(Bool(data=success))
        self.episode_pub.publish(String(data=json.dumps({
            'seed': self.world.layout.seed,
            'strategy': self.expert.strategy if self.expert else None,
            'sim_time': round(self.world.time, 4),
            'expert_done': bool(self.expert.done(self.world.time)) if self.expert else None,
            'success': success,
            'real_time_factor': round(self.real_time_factor(), 6),
            'lost_s': round(self._lost, 4),
        })))

    def _publish_diagnostics(self) -> None:
        if not self._episode_started:
            return
        rtf = self.real_time_factor()
        problems = []
        if rtf < 0.95:
            problems.append(f'simulation slower than real time (factor {rtf:.2f})')
        status = DiagnosticStatus(
            level=DiagnosticStatus.WARN if problems else DiagnosticStatus.OK,
            name=f'{self.get_name()}: simulated world', hardware_id='mujoco',
            message='; '.join(problems) or 'running in real time',
            values=[
                KeyValue(key='real_time_factor', value=f'{rtf:.3f}'),
                KeyValue(key='seed', value=str(self.world.layout.seed)),
                *(KeyValue(key=f'{role}_bus_requests', value=str(bus.requests)) for role, bus in self.buses.items()),
            ],
        )
        msg = DiagnosticArray(status=[status])
        msg.header.stamp = self.get_clock().now().to_msg()
        self.diag_pub.publish(msg)


def main(args: list[str] | None = None) -> None:
    raise_on_first_sigint()  # a second Ctrl-C (ros2 launch forwards one) must not cut the clean-up short
    rclpy.init(args=args)
    node = None
    try:
        node = WorldNode()
        rclpy.spin(node)
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        if node is not None:
            node.stop_buses()
        rclpy.try_shutdown()
